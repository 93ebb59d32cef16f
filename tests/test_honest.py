"""HonestDiD sensitivity: reproduce the package's published Medicaid-expansion example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from causal_kit.core.errors import SpecificationError
from causal_kit.design.did import honest

REF = json.loads((Path(__file__).parent / "data" / "honestdid_medicaid.json").read_text())
BETA = np.array(REF["betahat"])
SIGMA = np.array(REF["sigma"])
FIRST = np.array([1.0, 0.0])


def test_event_study_inputs_match_the_readme_regression() -> None:
    # fixest's printed TWFE event study of the README (2014 and 2015 effects)
    assert BETA[5] == pytest.approx(0.0464, abs=1e-4)
    assert BETA[6] == pytest.approx(0.0692, abs=1e-4)


@pytest.mark.parametrize("i", range(6))
def test_smoothness_flci_reproduces_honestdid(i: int) -> None:
    ref = REF["smoothness"]
    lo, hi = honest.flci(BETA, SIGMA, 5, FIRST, ref["M"][i])
    assert lo == pytest.approx(ref["lb"][i], abs=5e-4)
    assert hi == pytest.approx(ref["ub"][i], abs=5e-4)


@pytest.mark.parametrize("i", range(4))
def test_relative_magnitudes_reproduce_honestdid(i: int) -> None:
    ref = REF["relative_magnitudes"]
    lo, hi = honest.rm_confidence_set(BETA, SIGMA, 5, FIRST, ref["Mbar"][i])
    assert lo == pytest.approx(ref["lb"][i], abs=5e-4)
    assert hi == pytest.approx(ref["ub"][i], abs=5e-4)


def test_vertex_enumeration_matches_the_linear_programme() -> None:
    # the enumerated dual vertices and HiGHS give the same test decisions and truncation
    pieces = honest._rm_pieces(
        BETA, SIGMA, 5, np.array([0.5, 0.5]), 1.0, kappa=0.005, sims=500, seed=0
    )
    thetas = np.linspace(-0.05, 0.15, 41)
    for p in pieces[:4]:
        lp = honest._Moments(p.Y, p.a, p.X, p.S, p.lf_cv, None)
        assert np.array_equal(
            honest._accepts(p, thetas, 0.05, 0.005), honest._accepts(lp, thetas, 0.05, 0.005)
        )


def test_breakdown_values_bracket_the_table() -> None:
    s = honest.honest_sensitivity(BETA, SIGMA, 5, FIRST, m_vec=np.array(REF["smoothness"]["M"]))
    # README: significant up to Mbar = 2 (its interval at 2 just includes zero), and M ~ 0.03
    assert 1.5 < s.breakdown_rm <= 2.0
    assert 0.02 < s.breakdown_sd <= 0.03
    t = s.table
    assert list(t.columns[:4]) == ["restriction", "M", "conf_low", "conf_high"]
    assert set(t["restriction"]) == {"relative_magnitudes", "smoothness"}
    above = t[(t["restriction"] == "relative_magnitudes") & (t["M"] > s.breakdown_rm)]
    assert above["includes_zero"].all()


def test_sets_widen_with_the_bound_and_contain_the_original_interval() -> None:
    lows, highs = zip(
        *(honest.flci(BETA, SIGMA, 5, FIRST, m) for m in (0, 0.01, 0.02)), strict=True
    )
    assert np.all(np.diff(lows) < 0) and np.all(np.diff(highs) > 0)


def test_check_is_a_robustness_statement() -> None:
    s = honest.honest_sensitivity(
        BETA, SIGMA, 5, FIRST, mbar_vec=np.array([1.0]), m_vec=np.array([0.0])
    )
    c = honest.sensitivity_check(s)
    assert c.kind == "robustness" and c.passed
    assert "survives violations of parallel trends up to Mbar = " in c.message
    assert "largest pre-launch change" in c.message
    assert "conservative" not in c.message.lower()


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(SpecificationError, match="do not conform"):
        honest.flci(BETA, SIGMA, 4, FIRST, 0.0)


def test_folded_normal_quantile_holds_far_from_zero():
    # |N(mu, 1)|'s quantile is N(mu, 1)'s once the lower fold is negligible, and stays finite
    # where squaring mu would overflow (a near-zero standard error in the FLCI search)
    from scipy.stats import norm

    from causal_kit.design.did.honest import _folded_cv

    assert _folded_cv(5.0, 0.05) == pytest.approx(5.0 + norm.ppf(0.95), abs=1e-9)
    assert _folded_cv(1e200, 0.05) == pytest.approx(1e200 + norm.ppf(0.95))
    assert _folded_cv(0.0, 0.05) == pytest.approx(norm.ppf(0.975), abs=1e-9)
