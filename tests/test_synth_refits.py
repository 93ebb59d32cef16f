"""SDID refits reuse panel-wide moments: the same numbers as computing them for each donor set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_synth_checks import _weekly

import causal_kit as ck
from causal_kit.design.synth.data import load_panel
from causal_kit.design.synth.engine import Engine, Settings
from causal_kit.design.synth.estimators import Moments

KW = dict(outcome="y", unit="u", time="t", treatment="d", placebo_in_time=False,
          leave_one_out=False)


def test_moments_of_a_donor_set_equal_the_direct_ones() -> None:
    rng = np.random.default_rng(3)
    Y = rng.normal(50, 4, size=(12, 20)).cumsum(axis=1)
    engine = Engine(data=_data(Y), settings=Settings(method="sdid"))
    np.testing.assert_array_equal(engine.data.Y, Y)  # rows are the units in order
    for donors in (np.delete(np.arange(10), 4), np.array([0, 0, 1, 2, 3, 5, 6, 7, 8, 9])):
        got, want = engine.moments(15, donors), Moments.of(Y[donors, :15])
        m = Y[donors, :15].mean(axis=0)
        np.testing.assert_allclose(got.centred_gram(m, donors.size),
                                   want.centred_gram(m, donors.size), rtol=1e-10, atol=1e-8)
        assert got.noise_level == pytest.approx(want.noise_level, rel=1e-12)
        assert got.n_diffs == want.n_diffs


def test_placebo_inference_does_not_depend_on_the_outcome_level() -> None:
    # SDID differences out unit and period levels; a large common offset must change nothing,
    # also in the placebo refits' shared moments (which would cancel catastrophically uncentred).
    panel = _weekly(5, J=20, n_treated=3)
    shifted = panel.assign(y=panel["y"] + 1e7)
    a = ck.synthetic_control(panel, **KW, method="sdid", inference="placebo", seed=1)
    b = ck.synthetic_control(shifted, **KW, method="sdid", inference="placebo", seed=1)
    assert b.estimate == pytest.approx(a.estimate, abs=1e-5)
    assert b.se == pytest.approx(a.se, rel=1e-4)


def _data(Y: np.ndarray):  # a panel with two launched units at period 15
    n, T = Y.shape
    d = np.zeros_like(Y, dtype=int)
    d[10:, 15:] = 1
    frame = pd.DataFrame({"u": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n),
                          "y": Y.ravel(), "d": d.ravel()})
    return load_panel(frame, outcome="y", unit="u", time="t", treatment="d")
