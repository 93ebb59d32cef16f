"""``causal-kit``: run reports from a shell or a scheduler.

Exit codes: 0 every report was written; 1 at least one report failed (the others were still
run and written); 2 the command or a parameter was wrong (nothing was run).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from causal_kit.core.errors import CausalKitError, ReportError, SpecificationError
from causal_kit.presentation.cli_plan import add_plan_parser, run_plan

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="causal-kit", description="Run causal_kit reports.")
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("report", help="run report notebooks and publish them")
    rep.add_argument("--notebook", default="attribution_report",
                     help="notebook path or name in notebooks/ (default: attribution_report)")
    rep.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"), help="a notebook parameter (repeatable)")
    rep.add_argument("--config", type=Path,
                     help="JSON file: a list of {'notebook': ..., 'parameters': {...}}, one per "
                          "launch; a failing launch does not stop the others")
    rep.add_argument("--output", default="reports", help="output root (default: reports)")
    rep.add_argument("--run-date", default=None, help="ISO run date (default: today, UTC)")
    rep.add_argument("--progress", action="store_true", help="show cell progress")

    par = sub.add_parser("parameters", help="list a report notebook's parameters")
    par.add_argument("notebook", nargs="?", default="attribution_report")
    add_plan_parser(sub)
    return parser


def _jobs(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.config is None:
        return [{"notebook": args.notebook, "parameters": dict(args.parameter)}]
    try:
        jobs = json.loads(args.config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecificationError(f"cannot read config {str(args.config)!r}: {exc}") from exc
    if not isinstance(jobs, list) or not all(isinstance(j, dict) for j in jobs):
        raise SpecificationError(f"config {str(args.config)!r} must be a JSON list of objects "
                                 "with 'notebook' and 'parameters'.")
    return [{"notebook": j.get("notebook", "attribution_report"),
             "parameters": dict(j.get("parameters", {}))} for j in jobs]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``causal-kit`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "plan":
        return run_plan(args)
    from causal_kit.presentation.runner import find_notebook, notebook_parameters, run_report

    try:
        if args.command == "parameters":
            for name, spec in notebook_parameters(find_notebook(args.notebook)).items():
                print(f"{name}: {spec.get('inferred_type_name')} = {spec.get('default')}"
                      f"  # {spec.get('help', '')}")
            return EXIT_OK
        jobs = _jobs(args)
    except CausalKitError as exc:
        print(f"causal-kit: {exc}", file=sys.stderr)
        return EXIT_USAGE

    failed = 0
    for job in jobs:
        try:
            report = run_report(job["notebook"], parameters=job["parameters"],
                                output_root=args.output, run_date=args.run_date,
                                progress=args.progress)
        except SpecificationError as exc:
            print(f"causal-kit: {exc}", file=sys.stderr)
            if len(jobs) == 1:
                return EXIT_USAGE
            failed += 1
        except ReportError as exc:
            print(f"causal-kit: {exc}", file=sys.stderr)
            failed += 1
        else:
            print(f"report written: {report.html}")
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
