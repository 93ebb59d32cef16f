"""Synthetic control checks judged against noise, labelled by kind; SDID default inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.design.synth.api import auto_inference

KW = dict(outcome="y", unit="u", time="t", treatment="d")


def _weekly(seed: int, J: int = 16, n_treated: int = 4, T0: int = 26, T1: int = 8,
            noise: float = 3.0, misfit: float = 0.0) -> pd.DataFrame:
    """Noisy weekly panel: a common trend and season, unit levels, large idiosyncratic noise.

    ``misfit`` gives the treated units a trend no donor has (a poor synthetic control).
    """
    rng = np.random.default_rng(seed)
    n, T = J + n_treated, T0 + T1
    t = np.arange(T)
    common = 0.3 * t + 2 * np.sin(2 * np.pi * t / 13)
    level = rng.normal(100, 5, size=(n, 1))
    y = level + common + rng.normal(0, noise, size=(n, T))
    y[J:] += misfit * (t - T0 / 2)
    d = np.zeros((n, T), dtype=int)
    d[J:, T0:] = 1
    y = y + 2.0 * d
    return pd.DataFrame({"u": np.repeat(np.arange(n), T), "t": np.tile(t, n),
                         "y": y.ravel(), "d": d.ravel()})


@pytest.mark.parametrize("method", ["sdid", "sc"])
def test_good_fit_on_noisy_weekly_data_passes(method: str) -> None:
    passed = []
    for seed in range(5):
        panel = _weekly(seed)
        est = ck.synthetic_control(panel, **KW, method=method, inference="none",
                                   placebo_in_time=False, leave_one_out=False,
                                   intercept=method == "sc")
        check = est.check("pre_fit")
        assert check.kind == "identifying"
        passed.append(check.passed)
    assert all(passed)


@pytest.mark.parametrize("method", ["sdid", "sc"])
def test_poor_fit_on_noisy_weekly_data_fails(method: str) -> None:
    for seed in range(5):
        panel = _weekly(seed, misfit=1.0)
        est = ck.synthetic_control(panel, **KW, method=method, inference="none",
                                   placebo_in_time=False, leave_one_out=False,
                                   intercept=method == "sc")
        check = est.check("pre_fit")
        assert not check.passed
        assert check.statistic > 2.0 and "noise alone would leave" in check.message


def test_every_check_is_labelled() -> None:
    est = ck.synthetic_control(_weekly(1, n_treated=1), **KW, method="sc", n_draws=20)
    kinds = {c.name: c.kind for c in est.checks}
    assert kinds["pre_fit"] == "identifying" and kinds["donor_range"] == "identifying"
    assert kinds["placebo_in_time"] == "identifying"
    assert kinds["weight_concentration"] == "robustness"
    assert kinds["leave_one_out"] == "robustness" and kinds["placebo_rank"] == "robustness"


def test_auto_inference_rule() -> None:
    assert auto_inference("sc", 1, 10) == "placebo"
    assert auto_inference("sdid", 5, 20) == "placebo"
    assert auto_inference("sdid", 12, 12) == "bootstrap"  # too few donors to stand in
    assert auto_inference("sdid", 40, 200) == "bootstrap"
    est = ck.synthetic_control(_weekly(2, J=6, n_treated=6), **KW, method="sdid", n_draws=20,
                               placebo_in_time=False, leave_one_out=False)
    assert est.params["inference"] == "bootstrap"


def test_sdid_default_covers_with_five_treated_units() -> None:
    # CI-sized: 30 seeded panels with 5 treated units; the heavy version is in
    # benchmarks/bench_synth.py --coverage.
    hits = []
    for seed in range(30):
        panel = _weekly(100 + seed, J=20, n_treated=5, T0=20, T1=6)
        est = ck.synthetic_control(panel, **KW, method="sdid", n_draws=100,
                                   placebo_in_time=False, leave_one_out=False, seed=seed)
        assert est.params["inference"] == "placebo"
        hits.append(est.ci[0] < 2.0 < est.ci[1])
    assert 0.85 <= np.mean(hits) <= 1.0
