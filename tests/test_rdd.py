"""ck.rdd against published numbers and the reference packages (rdrobust, rddensity).

Reference values for the US Senate data (tests/data/rdrobust_RDsenate.csv, see PROVENANCE.md) are
those printed by rdrobust/rddensity and recorded in the project's validation README:
rdrobust(vote, margin) defaults -> conventional 7.4141308 (SE 1.458716), bias-corrected 7.5065025
(robust SE 1.7412584), robust 95% CI [4.0937, 10.9193], h = 17.754397, b = 28.028087, effective
N 360 / 323; rddensity(margin) -> T = -0.8753, p = 0.3814.
Tolerances (validation README): relative 1e-5 on estimates, SEs and bandwidths, exact effective
N, 1e-3 on the robust interval's ends and on the density test's T and p.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.design.rdd._density import density_test
from causal_kit.design.rdd._locpoly import kernel_weights, nn_residuals, window

DATA = Path(__file__).parent / "data" / "rdrobust_RDsenate.csv"
REL = 1e-5


@pytest.fixture(scope="module")
def senate() -> pd.DataFrame:
    d = pd.read_csv(DATA)
    d["state_code"] = pd.factorize(d["state"])[0]
    rng = np.random.default_rng(3)
    d["takeup"] = (rng.uniform(size=len(d)) < np.where(d["margin"] >= 0, 0.8, 0.2)).astype(float)
    return d


@pytest.fixture(scope="module")
def senate_est(senate: pd.DataFrame) -> ck.Estimate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        return ck.rdd(senate, outcome="vote", running="margin", cutoff=0)


def test_senate_published_numbers(senate_est: ck.Estimate) -> None:
    e = senate_est
    assert e.estimate == pytest.approx(7.4141308, rel=REL)
    assert e.details["estimate_bc"] == pytest.approx(7.5065025, rel=REL)
    assert e.details["se_conventional"] == pytest.approx(1.458716, rel=REL)
    assert e.se == pytest.approx(1.7412584, rel=REL)
    assert e.details["se_robust"] == e.se
    assert e.ci[0] == pytest.approx(4.0937, abs=1e-3)
    assert e.ci[1] == pytest.approx(10.9193, abs=1e-3)
    assert e.details["bandwidth"]["left"] == pytest.approx(17.754397, rel=REL)
    assert e.details["bandwidth"]["right"] == pytest.approx(17.754397, rel=REL)
    assert e.details["bias_bandwidth"]["left"] == pytest.approx(28.028087, rel=REL)
    assert e.details["n_effective"] == {"left": 360, "right": 323}
    assert (e.n_units, e.n_treated) == (683, 323)
    dens = e.check("density")
    assert dens.statistic == pytest.approx(-0.8753, abs=1e-3)
    assert dens.p_value == pytest.approx(0.3814, abs=1e-3)
    assert dens.passed
    assert e.method == "rdd:sharp"
    assert e.by_period is None


def test_senate_result_contract(senate_est: ck.Estimate) -> None:
    e = senate_est
    d = e.to_dict()
    json.dumps(d)
    assert d["details"]["kernel"] == "triangular" and d["details"]["vce"] == "nn"
    assert {c.name for c in e.checks} == {"density", "bandwidth_sensitivity", "placebo_cutoffs"}
    assert "covariate_balance" in e.details["checks_skipped"]
    tidy = e.tidy()
    assert tidy.loc[0, "estimate"] == e.estimate
    assert "rdd:sharp" in str(e.summary())


def _ours(d: pd.DataFrame, **kw: object) -> ck.Estimate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        return ck.rdd(d, outcome="vote", running="margin", cutoff=0, checks=False, **kw)


VARIANTS = [
    ({"p": 2}, {"p": 2}),
    ({"kernel": "uniform"}, {"kernel": "uniform"}),
    ({"kernel": "epanechnikov"}, {"kernel": "epanechnikov"}),
    ({"bandwidth": "msetwo"}, {"bwselect": "msetwo"}),
    ({"bandwidth": "cerrd"}, {"bwselect": "cerrd"}),
    ({"bandwidth": "certwo"}, {"bwselect": "certwo"}),
    ({"cluster": "state"}, {"cluster": "state_code"}),
    ({"covariates": ["presdemvoteshlag1", "population"]},
     {"covs": ["presdemvoteshlag1", "population"]}),
    ({"vce": "hc1"}, {"vce": "hc1"}),
    ({"vce": "hc3", "bandwidth": "msetwo", "kernel": "uniform"},
     {"vce": "hc3", "bwselect": "msetwo", "kernel": "uniform"}),
    ({"bandwidth": (12.0, 18.0), "bias_bandwidth": (20.0, 25.0)},
     {"h": [12.0, 18.0], "b": [20.0, 25.0]}),
    ({"treatment": "takeup"}, {"fuzzy": "takeup"}),
    ({"treatment": "takeup", "covariates": ["presdemvoteshlag1"], "cluster": "state"},
     {"fuzzy": "takeup", "covs": ["presdemvoteshlag1"], "cluster": "state_code"}),
]


@pytest.mark.parametrize(("ours", "ref"), VARIANTS, ids=[str(v[0]) for v in VARIANTS])
def test_option_variants_match_rdrobust(senate: pd.DataFrame, ours: dict, ref: dict) -> None:
    rdrobust = pytest.importorskip("rdrobust").rdrobust
    e = _ours(senate, **ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rdrobust(y="vote", x="margin", data=senate, **ref)
    got = [e.estimate, e.details["estimate_bc"], e.details["se_conventional"], e.se,
           e.details["bandwidth"]["left"], e.details["bandwidth"]["right"],
           e.details["bias_bandwidth"]["left"], e.details["bias_bandwidth"]["right"]]
    want = [r.coef.iloc[0, 0], r.coef.iloc[1, 0], r.se.iloc[0, 0], r.se.iloc[2, 0],
            r.bws.iloc[0, 0], r.bws.iloc[0, 1], r.bws.iloc[1, 0], r.bws.iloc[1, 1]]
    np.testing.assert_allclose(got, want, rtol=REL)
    np.testing.assert_allclose(e.ci, r.ci.iloc[2].to_numpy(), atol=1e-3)
    assert (e.details["n_effective"]["left"], e.details["n_effective"]["right"]) == tuple(
        int(v) for v in r.N_h)
    if "fuzzy" in ref:
        fs = e.details["first_stage"]
        assert fs["estimate"] == pytest.approx(r.tau_T.iloc[0, 0], rel=REL)
        assert fs["se"] == pytest.approx(r.se_T.iloc[0, 0], rel=REL)


def test_donut_equals_rdrobust_on_the_trimmed_sample(senate: pd.DataFrame) -> None:
    rdrobust = pytest.importorskip("rdrobust").rdrobust
    e = _ours(senate, donut=1.0)
    kept = senate[senate["margin"].abs() >= 1.0]
    r = rdrobust(y="vote", x="margin", data=kept)
    assert e.estimate == pytest.approx(r.coef.iloc[0, 0], rel=REL)
    assert e.se == pytest.approx(r.se.iloc[2, 0], rel=REL)
    assert e.details["n_obs"]["left"] + e.details["n_obs"]["right"] == int(np.sum(r.N))


def _density_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    base = rng.normal(0.2, 1, 3000)
    shifted = np.where((base > -0.3) & (base < 0) & (rng.uniform(size=3000) < 0.6),
                       -base, base)
    return {
        "smooth": rng.uniform(-1, 1, 2500) ** 3,
        "heaped": np.round(rng.normal(0.3, 1, 4000), 1),
        "manipulated": shifted,
    }


@pytest.mark.parametrize("kernel", ["triangular", "uniform", "epanechnikov"])
@pytest.mark.parametrize("case", ["smooth", "heaped", "manipulated"])
def test_density_test_matches_rddensity(case: str, kernel: str) -> None:
    rddensity = pytest.importorskip("rddensity").rddensity
    x = np.sort(_density_data()[case])
    ours = density_test(x, kernel=kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = rddensity(x, kernel=kernel)
    assert ours.statistic == pytest.approx(ref.test["t_jk"], rel=1e-6)
    assert ours.p_value == pytest.approx(ref.test["p_jk"], rel=1e-6)
    np.testing.assert_allclose(ours.h, ref.h.to_numpy(), rtol=1e-8)
    assert ours.n_effective == (int(ref.n["eff_left"]), int(ref.n["eff_right"]))
    np.testing.assert_allclose(ours.density, ref.hat.to_numpy()[:2], rtol=1e-6)


def test_nearest_neighbour_residuals_match_rdrobust() -> None:
    funs = pytest.importorskip("rdrobust.funs")
    rng = np.random.default_rng(5)
    for trial in range(120):
        n = int(rng.integers(2, 50))
        x = [rng.uniform(0, 1, n), rng.integers(0, 8, n).astype(float),
             np.round(rng.normal(size=n), 1)][trial % 3]
        x = np.sort(x)
        d = rng.normal(size=(n, 2))
        m = int(rng.integers(1, 5))
        aux = pd.DataFrame({"o": np.ones(n), "x": x})
        dups = aux.groupby("x")["o"].transform("sum").to_numpy().astype(int)
        dupsid = aux.groupby("x")["o"].transform("cumsum").to_numpy().astype(int)
        ref = funs.rdrobust_res(x, d[:, 0], d[:, 1], None, 0, 0, "nn", m, dups, dupsid, 2)
        np.testing.assert_allclose(nn_residuals(x, d, m), ref, atol=1e-12)


@pytest.mark.parametrize("kernel", ["triangular", "uniform", "epanechnikov"])
def test_window_is_exactly_the_positive_kernel_weights(kernel: str) -> None:
    rng = np.random.default_rng(8)
    x = np.sort(rng.integers(-20, 21, 5000) * 0.1)  # ~120 ties on each value, edges included
    for h in (0.3, 0.7, 1.0, 1.5, 2.0):
        for left, side in ((True, x[x < 0]), (False, x[x >= 0])):
            sl = window(side, h, kernel, left)
            positive = kernel_weights(side, h, kernel) > 0
            assert positive[sl].all()
            assert positive.sum() == sl.stop - sl.start
