"""``causal-kit plan register`` and ``plan power``: fix a launch's plan before launch, and size it.

Exit codes as the rest of the CLI: 0 the plan was registered, 2 the plan or a path was wrong
(nothing was written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from causal_kit.core.errors import CausalKitError, SpecificationError

EXIT_OK, EXIT_USAGE = 0, 2


def add_plan_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``plan`` command and its ``register`` subcommand to the CLI's subparsers."""
    plan = sub.add_parser("plan", help="register a launch's plan before launch")
    actions = plan.add_subparsers(dest="plan_command", required=True)
    reg = actions.add_parser("register", help="validate launch.json's plan and stamp it with the "
                                              "registration time and a content hash")
    reg.add_argument("launch", type=Path, help="launch.json, or the folder that holds it")
    reg.add_argument("--plan", type=Path, default=None,
                     help="JSON file with 'criteria' and/or 'plan' entries to register instead "
                          "of those in launch.json")
    reg.add_argument("--at", default=None, help="registration time, ISO (default: now, UTC)")
    pw = actions.add_parser("power", help="the minimum detectable effect of a planned launch, "
                                          "from its pre-launch history")
    pw.add_argument("history", type=Path, help="pre-launch history: a CSV or parquet file (one "
                                               "row per user, or per unit and period)")
    pw.add_argument("--design", required=True, choices=["experiment", "did", "sc"])
    pw.add_argument("--outcome", required=True)
    pw.add_argument("--unit", default=None)
    pw.add_argument("--time", default=None)
    pw.add_argument("--treated-units", type=int, default=None)
    pw.add_argument("--periods", type=int, default=None)
    pw.add_argument("--treated-share", type=float, default=0.5)
    pw.add_argument("--covariates", nargs="*", default=())
    pw.add_argument("--level", type=float, default=0.95)
    pw.add_argument("--power", type=float, default=0.8)
    pw.add_argument("--n-sims", type=int, default=200)
    pw.add_argument("--seed", type=int, default=0)
    pw.add_argument("--launch", type=Path, default=None,
                    help="launch.json whose business target is checked against the MDE")


def run_plan(args: argparse.Namespace) -> int:
    """Run ``causal-kit plan register`` or ``plan power``; return the exit code."""
    if args.plan_command == "power":
        return _run_power(args)
    from causal_kit.business.plan import register_plan

    try:
        extra: dict = {}
        if args.plan is not None:
            try:
                extra = json.loads(args.plan.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise SpecificationError(f"cannot read plan {str(args.plan)!r}: {exc}") from exc
            unknown = (sorted(set(extra) - {"criteria", "plan"}) if isinstance(extra, dict)
                       else [type(extra).__name__])
            if unknown:
                raise SpecificationError(
                    f"plan file {str(args.plan)!r} takes only 'criteria' and 'plan'; got "
                    f"{unknown}."
                )
        launch = register_plan(args.launch, plan=extra.get("plan"),
                               criteria=extra.get("criteria"), registered_at=args.at)
    except CausalKitError as exc:
        print(f"causal-kit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    reg = dict(launch.registration or {})
    print(f"plan of {launch.name!r} registered at {reg.get('registered_at')}: "
          f"{reg.get('content_hash')}")
    for flag in reg.get("flags") or ():
        print(f"warning: {flag}")
    return EXIT_OK


def _run_power(args: argparse.Namespace) -> int:
    """Print the MDE and power curve; flag a registered business target below the MDE."""
    from causal_kit.business.plan import business_target_effect
    from causal_kit.business.power import power
    from causal_kit.core.launch import load_launch

    try:
        history = _read_table(args.history)
        result = power(history, design=args.design, outcome=args.outcome, unit=args.unit,
                       time=args.time, treated_units=args.treated_units, periods=args.periods,
                       treated_share=args.treated_share, covariates=args.covariates,
                       level=args.level, power=args.power, n_sims=args.n_sims, seed=args.seed,
                       progress=sys.stderr.isatty())
        print(result.summary())
        if args.launch is not None:
            target = business_target_effect(load_launch(args.launch), result.baseline)
            flag = result.shortfall(target, unit_name=f"{args.unit or 'unit'}s") if target else None
            print(f"warning: {flag}" if flag else
                  f"the business target {target} is within reach of this plan.")
    except CausalKitError as exc:
        print(f"causal-kit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _read_table(path: Path) -> object:
    import pandas as pd

    if not path.is_file():
        raise SpecificationError(f"history {str(path)!r} is not a file; give a CSV or parquet.")
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SpecificationError(f"cannot read history {str(path)!r}: {exc}") from exc
