"""Front doors of the simulator: :func:`simulate` one scenario, :func:`make_demo` all of them."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from causal_kit.business.plan import register_plan
from causal_kit.core.errors import SpecificationError
from causal_kit.core.launch import Launch
from causal_kit.core.options import Scenario, check_option
from causal_kit.simulate.block import block_count, make_context, simulate_block
from causal_kit.simulate.scenarios import EARLY_HORIZON_DAYS, assign
from causal_kit.simulate.truth import TruthAccumulator
from causal_kit.simulate.world import BLOCK_USERS, make_world
from causal_kit.simulate.writer import (
    EVENT_SCHEMA,
    USER_SCHEMA,
    BufferedParquet,
    events_table,
    users_table,
    with_shape_columns,
)

DEFAULT_CHUNK_USERS = 100 * BLOCK_USERS
MIN_DAYS = 84
#: Scenarios read early (a 90-day outcome forecast from the first weeks) and the days they need.
EARLY_SCENARIOS = ("early_read", "surrogate_gap")
EARLY_MIN_DAYS = 252
#: make_demo writes the early read with this many times the users: a 14-day read of a 20% holdout
#: is far noisier than a 30-day one, and on 50,000 users its projection would span about
#: ±$2 per user around a 90-day effect of under $2.
EARLY_USERS_FACTOR = 4
SCENARIOS: tuple[str, ...] = get_args(Scenario)


@dataclass(frozen=True)
class Simulation:
    """A simulated launch written to disk, with its ground truth.

    Attributes
    ----------
    scenario
        Which scenario was simulated.
    out_dir
        Folder holding everything below.
    events
        Folder of ``part-*.parquet`` event files (pass it to :func:`causal_kit.build_panel`).
    users
        ``users.parquet``: ``user_id, region, segment, signup_date, score``.
    truth_file
        ``truth.json``: parameters, the launch and the realized true effects.
    truth_panel_file
        ``truth_panel.parquet``: every region x week metric with and without v2.
    launch
        The launch as :class:`~causal_kit.core.launch.Launch` (default success criteria).
    truth
        The content of ``truth.json``.
    n_users, n_days, seed, n_events
        Size and seed of the run.
    """

    scenario: str
    out_dir: Path
    events: Path
    users: Path
    truth_file: Path
    truth_panel_file: Path
    launch: Launch
    truth: dict[str, Any] = field(repr=False)
    n_users: int
    n_days: int
    seed: int
    n_events: int

    def load_users(self) -> pd.DataFrame:
        """Return ``users.parquet`` as a pandas frame (one row per user)."""
        return pd.read_parquet(self.users)

    def load_truth_panel(self) -> pd.DataFrame:
        """Return the region x week truth panel (observed and counterfactual metric values)."""
        return pd.read_parquet(self.truth_panel_file)


def simulate(
    scenario: Scenario = "staggered",
    n_users: int = 50_000,
    n_days: int = 180,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    start_date: str | dt.date = "2026-01-05",
    chunk_users: int = DEFAULT_CHUNK_USERS,
    progress: bool = False,
) -> Simulation:
    """Simulate a product whose new model (v2) reaches some users, and write its event log.

    Users in 24 regions sign up over time, are active on some days (weekly seasonality, region
    trends and shocks), open sessions, run AI tasks that succeed, fail or get retried (each a
    model call with latency and cost), buy things, and churn. v2 raises the task success
    probability, which lowers churn and raises purchases (except in ``"broken_cascade"``), and
    changes latency and cost per call. The effect differs by region.

    Parameters
    ----------
    scenario
        ``"staggered"`` (half the regions on v2 at four dates), ``"single_market"`` (one region),
        ``"score_gate"`` (users with ``score >= 0.7`` from one date, every region) or
        ``"broken_cascade"`` (as staggered, but engagement and revenue do not respond),
        ``"holdout"`` (from one date every user on v2 except a random 20% kept on v1: the
        ``arm`` column of ``users.parquet``) or ``"global_launch"`` (from one date every user of
        the app on v2; the web platform, the ``platform`` column of users and events, is the
        untouched control series), ``"early_read"`` (a holdout from day 119 or the Monday after,
        where v2 acts on revenue only by keeping users during their first 14 days on it; events
        of the first 21 days after the launch go to ``events/``, the later ones to
        ``later/events/``) or ``"surrogate_gap"`` (the same holdout, every day observed, and from
        day 30 on v2 users also buy more). Both early-read scenarios simulate 120 days after
        the launch and need ``n_days >= 252``.
    n_users
        Users, including those who signed up before the window.
    n_days
        Days simulated from ``start_date`` (at least 84).
    seed
        Random seed; the same seed gives byte-identical files.
    out_dir
        Where to write; replaced atomically if it exists. Default: a new temporary folder
        (``causal_kit-<scenario>-*`` in the system's temp directory), so a quick simulation never
        overwrites the demo data in ``data/demo/`` (use :func:`make_demo` or pass
        ``out_dir="data/demo/<scenario>"`` for that).
    start_date
        First simulated day.
    chunk_users
        Users per ``part-*.parquet`` file (rounded up to a multiple of 2048). The data do not
        depend on it; only the number of files does.
    progress
        Show a progress bar.

    Returns
    -------
    Simulation
        Paths, the launch and the ground truth.

    Raises
    ------
    SpecificationError
        For an unknown scenario or sizes that cannot support the launch.

    Notes
    -----
    Files under ``out_dir``: ``events/part-*.parquet`` (see :func:`read_events_schema`),
    ``users.parquet``, ``launch.json`` (:meth:`Launch.to_dict`), ``truth_panel.parquet`` (region,
    week, treated, metric, observed, no_v2[, all_v2], effect) and ``truth.json`` with keys
    ``scenario, seed, n_users, n_days, start_date, end_date, n_events, launch, params``
    (``constants`` and per-region ``regions``), ``grain``, ``treated_rule``, ``att`` (metric ->
    ``effect, with_v2, without_v2, n_cells``: the mean over treated region-weeks of the metric
    with v2 minus without, on the same users), ``event_time`` (metric -> list of ``event_week,
    effect, n_units``) and ``gate`` (score gate only: ``effect_at_cutoff`` per user outcome such
    as ``revenue_30d`` and ``retained_d30``, with ``window_days``, ``lookback_days``,
    ``n_users``, ``observed_mean``; else ``null``), ``holdout`` (holdout only: ``att``, the mean
    over the v2 arm's users of each 30-day outcome with v2 minus without, ``n_by_arm``,
    ``observed_mean`` by arm) and ``global`` (global launch only: ``effect_per_day`` of the
    app's daily series — revenue, active users, tasks, task success rate, latency — averaged over
    the post-launch days, and ``untouched_effect_per_day`` of the web series, exactly 0),
    ``long_term`` (metric → ``effect, horizon_days, n_users``: the mean over the holdout's v2
    users, or over the users of regions launched 90 days before the window ends, of
    ``revenue_90d`` and ``revenue_14d`` with v2 minus without; empty when no launched user has
    90 days), ``surrogacy`` (``holds``: whether the first weeks' metrics carry the whole
    long-term effect, and ``why``), ``observed_days`` (days written to ``events/``) and
    ``mechanisms`` (the evidence layer's truths: effects by segment and per adopter in a
    holdout, the share flowing through task success; see
    :mod:`causal_kit.simulate.truth_evidence`).
    """
    check_option("scenario", scenario, Scenario)
    n_users, n_days, seed, chunk_users = _checked_sizes(n_users, n_days, seed, chunk_users)
    try:
        start = pd.Timestamp(start_date).date()
    except (ValueError, TypeError) as exc:
        raise SpecificationError(
            f"start_date={start_date!r} is not a date; use ISO format like '2026-01-05'."
        ) from exc
    if out_dir is None:  # the files back the returned Simulation, so the folder stays
        target = Path(tempfile.mkdtemp(prefix=f"causal_kit-{scenario}-")) / scenario
    else:
        target = Path(out_dir)
    if scenario in EARLY_SCENARIOS and n_days < EARLY_MIN_DAYS:
        raise SpecificationError(
            f"scenario {scenario!r} needs n_days >= {EARLY_MIN_DAYS} (a reference cohort's 90 "
            f"days before the launch and {EARLY_HORIZON_DAYS} days after it); got {n_days}."
        )
    world = make_world(seed, start, n_days)
    assignment = assign(scenario, world, seed)
    ctx = make_context(seed, n_users, world, assignment)
    acc = TruthAccumulator(ctx)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        n_events = _write(ctx, acc, tmp, chunk_users // BLOCK_USERS, progress)
        att, dynamic = acc.att()
        truth = {
            "scenario": scenario,
            "seed": seed,
            "n_users": n_users,
            "n_days": n_days,
            "start_date": start.isoformat(),
            "end_date": (start + dt.timedelta(days=n_days - 1)).isoformat(),
            "n_events": n_events,
            "launch": assignment.launch.to_dict(),
            "params": {**world.to_dict(), "broken_cascade": assignment.broken},
            "grain": {"unit": "region", "time": "week"},
            "treated_rule": "a region-week is treated when the region's launch date is on or "
            "before the week's Monday; only whole ISO weeks inside the window count",
            "att": att,
            "event_time": dynamic,
            "gate": acc.gate(),
            "holdout": acc.holdout(),
            "global": acc.global_launch(),
            "long_term": acc.long_term(),
            "surrogacy": acc.surrogacy(),
            "observed_days": assignment.observed_days if assignment.observed_days >= 0 else n_days,
            "mechanisms": acc.mechanism.mechanisms(att),
        }
        registered = register_plan(
            assignment.launch, path=tmp / "launch.json",
            registered_at=dt.datetime.combine(start, dt.time(9, 0)))
        truth["launch"] = registered.to_dict()
        (tmp / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
        acc.panel().to_parquet(tmp / "truth_panel.parquet", index=False)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _result(target, truth, registered)


def _checked_sizes(n_users: Any, n_days: Any, seed: Any, chunk_users: Any) -> tuple[int, ...]:
    for name, value, low in (("n_users", n_users, 100), ("n_days", n_days, MIN_DAYS),
                             ("seed", seed, 0), ("chunk_users", chunk_users, 1)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise SpecificationError(f"{name}={value!r} must be an integer >= {low}.")
    chunk = -(-int(chunk_users) // BLOCK_USERS) * BLOCK_USERS
    return int(n_users), int(n_days), int(seed), chunk


def _write(ctx: Any, acc: TruthAccumulator, tmp: Path, blocks_per_chunk: int,
           progress: bool) -> int:  # fmt: skip
    (tmp / "events").mkdir()
    a = ctx.assignment
    user_extra = ("arm",) if a.holdout_day >= 0 else ("platform",) if a.global_day >= 0 else ()
    event_schema = with_shape_columns(EVENT_SCHEMA, ("platform",) if a.global_day >= 0 else ())
    users = BufferedParquet(tmp / "users.parquet", with_shape_columns(USER_SCHEMA, user_extra))
    n_blocks = block_count(ctx.n_users)
    blocks: Any = range(n_blocks)
    if progress:
        from tqdm.auto import tqdm

        blocks = tqdm(blocks, desc=f"simulate {ctx.assignment.scenario}", unit="block")
    cut = a.observed_days  # early reads: later days are the future, kept apart under later/
    folders = [tmp / "events"] + ([tmp / "later" / "events"] if cut >= 0 else [])
    for folder in folders[1:]:
        folder.mkdir(parents=True)
    parts: list[BufferedParquet] = []
    n_events = 0
    for b in blocks:
        if b % blocks_per_chunk == 0:
            for part in parts:
                part.close()
            index = b // blocks_per_chunk
            parts = [BufferedParquet(f / f"part-{index:05d}.parquet", event_schema)
                     for f in folders]  # fmt: skip
        out = simulate_block(ctx, b)
        acc.add(out)
        if cut < 0:
            pieces = [out.events]
        else:
            now = out.events["day"] < cut
            pieces = [{k: v[now] for k, v in out.events.items()},
                      {k: v[~now] for k, v in out.events.items()}]  # fmt: skip
        for part, piece in zip(parts, pieces, strict=True):
            table = events_table(piece, ctx.world.start)
            n_events += table.num_rows if part is parts[0] else 0
            part.write(table)
        users.write(users_table(out.users, ctx.world.start))
    for part in parts:
        part.close()
    users.close()
    return n_events


def _result(target: Path, truth: dict[str, Any], launch: Launch) -> Simulation:
    return Simulation(
        scenario=truth["scenario"],
        out_dir=target,
        events=target / "events",
        users=target / "users.parquet",
        truth_file=target / "truth.json",
        truth_panel_file=target / "truth_panel.parquet",
        launch=launch,
        truth=truth,
        n_users=truth["n_users"],
        n_days=truth["n_days"],
        seed=truth["seed"],
        n_events=truth["n_events"],
    )


def load_simulation(out_dir: str | os.PathLike[str]) -> Simulation:
    """Open a simulation written earlier by :func:`simulate` (reads ``truth.json``)."""
    target = Path(out_dir)
    truth_file = target / "truth.json"
    if not truth_file.is_file():
        raise SpecificationError(
            f"{target} holds no simulation (no truth.json); run causal_kit.simulate(out_dir=...)."
        )
    truth = json.loads(truth_file.read_text())
    return _result(target, truth, Launch.from_dict(truth["launch"]))


def make_demo(
    out_dir: str | os.PathLike[str] = "data/demo",
    n_users: int = 50_000,
    n_days: int = 180,
    seed: int = 0,
    overwrite: bool = False,
    scenarios: Sequence[str] = SCENARIOS,
    progress: bool = False,
) -> dict[str, Simulation]:
    """Write every scenario under ``out_dir/<scenario>/`` and return them by name.

    A scenario already present with the same ``n_users``, ``n_days`` and ``seed`` is kept unless
    ``overwrite`` is true. The early-read scenarios (``"early_read"``, ``"surrogate_gap"``)
    simulate at least ``EARLY_MIN_DAYS`` (252) days whatever ``n_days`` says, and
    ``"early_read"`` has ``EARLY_USERS_FACTOR`` (4) times ``n_users``: a 14-day read of a 20%
    holdout is far noisier than a 30-day one.
    """
    out: dict[str, Simulation] = {}
    for name in scenarios:
        scenario = check_option("scenario", name, Scenario)
        target = Path(out_dir) / scenario
        days = max(n_days, EARLY_MIN_DAYS) if scenario in EARLY_SCENARIOS else n_days
        users = n_users * EARLY_USERS_FACTOR if scenario == "early_read" else n_users
        if not overwrite and (target / "truth.json").is_file():
            sim = load_simulation(target)
            if (sim.n_users, sim.n_days, sim.seed) == (users, days, seed):
                out[scenario] = sim
                continue
        out[scenario] = simulate(scenario, n_users=users, n_days=days, seed=seed,
                                 out_dir=target, progress=progress)  # fmt: skip
    return out


def read_events_schema() -> list[tuple[str, str]]:
    """Return the columns of the simulated event log and their Arrow types."""
    return [(f.name, str(f.type)) for f in EVENT_SCHEMA]

