"""ck.analyze_launch: which design it picks for a launch's shape, and its errors."""

from __future__ import annotations

import pytest

import causal_kit as ck


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return ck.simulate("single_market", n_users=8_000, n_days=120, seed=3,
                       out_dir=tmp_path_factory.mktemp("single"))


def test_one_launched_unit_is_analysed_by_synthetic_control(single):
    a = ck.analyze_launch(single.events, launch=single.launch, users=single.users,
                          yearly_cost=1_000.0)
    assert a.design == "sc" and a.primary.method == "sc"
    assert a.exposed == 1 and a.grain == "region-week"
    assert "× 1 region(s) launched to" in a.impact.value_model.describe()
    assert a.headline().startswith(f"{single.launch.name} changed revenue by")
    ck.validate_summary(a.to_summary())


def test_design_errors_name_the_fix(single):
    with pytest.raises(ck.SpecificationError, match=r"design='rd' is not a valid option"):
        ck.analyze_launch(single.events, launch=single.launch, design="rd")
    with pytest.raises(ck.SpecificationError, match="has no score gate; design='rdd' needs"):
        ck.analyze_launch(single.events, launch=single.launch, design="rdd")
    with pytest.raises(ck.SpecificationError, match=r"time='year' is not a valid option"):
        ck.analyze_launch(single.events, launch=single.launch, time="year")
