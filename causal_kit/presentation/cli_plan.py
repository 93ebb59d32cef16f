"""``causal-kit plan register``: fix a launch's plan before launch, with a time and a hash.

Exit codes as the rest of the CLI: 0 the plan was registered, 2 the plan or a path was wrong
(nothing was written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from causal_kit.business.plan import register_plan
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


def run_plan(args: argparse.Namespace) -> int:
    """Run ``causal-kit plan register``; return the exit code."""
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
