"""``ck.table``: a DiD, a synthetic control and an RD estimate side by side, in four formats."""

from __future__ import annotations

import re
import warnings
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def estimates() -> dict[str, ck.Estimate]:
    mpdta = pd.read_csv(DATA / "mpdta.csv")
    mpdta["treated"] = ((mpdta["first.treat"] > 0)
                        & (mpdta["year"] >= mpdta["first.treat"])).astype(int)  # fmt: skip
    prop99 = pd.read_csv(DATA / "california_prop99.csv", sep=";")
    senate = pd.read_csv(DATA / "rdrobust_RDsenate.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        return {
            "DiD": ck.did(mpdta, outcome="lemp", unit="countyreal", time="year",
                          treatment="treated"),
            "SC": ck.synthetic_control(prop99, outcome="PacksPerCapita", unit="State",
                                       time="Year", treatment="treated", method="sc"),
            "RD": ck.rdd(senate, outcome="vote", running="margin", cutoff=0, checks=False),
        }  # fmt: skip


def test_text_has_one_column_per_estimate_with_its_own_numbers(estimates):
    t = ck.table(estimates)
    text = str(t)
    header = next(line for line in text.splitlines() if "DiD" in line)
    assert header.split() == ["DiD", "SC", "RD"]
    for e in estimates.values():
        assert f"{e.estimate:.4g}" in text and f"({e.se:.4g})" in text
        assert f"[{e.ci[0]:.4g}, {e.ci[1]:.4g}]" in text
        assert e.outcome in text and e.method in text
    assert list(t.cells.columns) == ["DiD", "SC", "RD"]
    np.testing.assert_array_equal(t.values["estimate"], [e.estimate for e in estimates.values()])
    n = estimates["DiD"]
    passed = sum(c.passed for c in n.checks)
    assert t.cells.loc["Checks passed", "DiD"] == f"{passed}/{len(n.checks)}"
    assert t.cells.loc["Checks passed", "RD"] == "none"  # built with checks=False


def test_html_markdown_and_latex_carry_the_same_cells(estimates):
    t = ck.table(estimates)
    cells = [c for c in t.cells.to_numpy().ravel()]
    html = t._repr_html_()
    assert html == t.to_html() and html.count("<tr>") == len(t.cells) + 1
    md = t.to_markdown().splitlines()
    assert md[0] == "|  | DiD | SC | RD |" and md[1] == "|---|---:|---:|---:|"
    assert len([x for x in md if x.startswith("|")]) == len(t.cells) + 2
    tex = t.to_latex()
    assert tex.startswith(r"\begin{tabular}{lrrr}") and tex.rstrip().endswith(r"\end{tabular}")
    body = [x for x in tex.splitlines() if x.endswith(r"\\") and "multicolumn" not in x]
    assert len(body) == len(t.cells) + 1 and all(x.count(" & ") == 3 for x in body)
    for c in cells:
        assert html_escape(c) in html and c in t.to_markdown()
    # LaTeX escapes what it must: underscores in names, the interval's percent sign
    assert r"95\% interval" in tex and "95% interval" not in tex
    assert r"\textless{}0.001" in tex and "<" not in tex


def test_a_list_is_numbered_and_stars_mark_significance(estimates):
    ests = list(estimates.values())
    t = ck.table(ests, stars=True)
    assert list(t.cells.columns) == ["(1)", "(2)", "(3)"]
    for col, e in zip(t.cells.columns, ests, strict=True):
        stars = re.sub(r"[^*]", "", t.cells.loc["Effect on the treated", col])
        expected = 3 if e.p_value < 0.01 else 2 if e.p_value < 0.05 else 1 if e.p_value < 0.1 else 0
        assert len(stars) == expected
    assert any("p < 0.01" in n for n in t.notes)


def test_estimates_at_different_levels_say_each_level(estimates):
    a = estimates["RD"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        b = ck.rdd(pd.read_csv(DATA / "rdrobust_RDsenate.csv"), outcome="vote",
                   running="margin", cutoff=0, checks=False, level=0.9)  # fmt: skip
    t = ck.table([a, b])
    assert list(t.cells.loc["Interval level"]) == ["95%", "90%"]
    assert "Interval (level below)" in t.cells.index


def test_nothing_is_recomputed_or_modified(estimates):
    before = {k: e.to_dict() for k, e in estimates.items()}
    ck.table(estimates)
    assert {k: e.to_dict() for k, e in estimates.items()} == before


def test_bad_input_says_what_to_pass(estimates):
    with pytest.raises(ck.SpecificationError, match="empty"):
        ck.table([])
    with pytest.raises(ck.SpecificationError, match=r"estimates\['\(2\)'\] is a float"):
        ck.table([estimates["DiD"], 1.0])  # type: ignore[list-item]
    with pytest.raises(ck.SpecificationError, match=r"a list of ck\.Estimate"):
        ck.table(estimates["DiD"])  # type: ignore[arg-type]
    with pytest.raises(ck.SpecificationError, match="digits=0"):
        ck.table(estimates, digits=0)
