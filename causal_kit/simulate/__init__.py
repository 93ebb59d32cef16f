"""A seeded launch simulator: users, events and the known true effect of a new model.

``simulate`` writes one scenario (events as parquet, users, ``truth.json``); ``make_demo`` writes
all of them. Only :mod:`causal_kit.core` is imported.
"""

from causal_kit.simulate.api import (
    SCENARIOS,
    Simulation,
    load_simulation,
    make_demo,
    read_events_schema,
    simulate,
)

__all__ = [
    "SCENARIOS",
    "Simulation",
    "load_simulation",
    "make_demo",
    "read_events_schema",
    "simulate",
]
