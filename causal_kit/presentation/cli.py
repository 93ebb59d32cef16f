"""``causal-kit``: run reports from a shell or a scheduler.

Exit codes: 0 every report was written; 1 at least one launch failed (the others were still run
and written, and each failure was printed as ``launch <name>: <error>``); 2 the command, a
parameter or the config file was wrong (nothing was run).

Only the standard library is imported here; the report machinery loads when a command runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="causal-kit", description="Run causal_kit reports.")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log progress (-v) or everything, kernel output included (-vv)")
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
    rep.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                     help="launches run at once, each in its own process (default: 1)")
    rep.add_argument("--timeout", type=_positive_float, default=None, metavar="SECONDS",
                     help="stop a launch that runs longer than this (nothing is written)")
    rep.add_argument("--json", action="store_true",
                     help="print one JSON line per launch: name, status, folder, decision, "
                          "seconds (and error)")
    rep.add_argument("--progress", action="store_true",
                     help="show a progress bar over launches (default: when stderr is a terminal)")

    idx = sub.add_parser("index", help="rebuild <output>/index.html from the published reports")
    idx.add_argument("--output", default="reports", help="output root (default: reports)")

    par = sub.add_parser("parameters", help="list a report notebook's parameters")
    par.add_argument("notebook", nargs="?", default="attribution_report")
    from causal_kit.presentation.cli_plan import add_plan_parser

    add_plan_parser(sub)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1; got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds; got {text!r}")
    return value


def _logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)
    logging.getLogger("causal_kit.report").setLevel(level)
    logging.getLogger("papermill").setLevel(logging.ERROR if verbose < 2 else logging.DEBUG)
    logging.getLogger("traitlets").setLevel(logging.ERROR if verbose < 2 else logging.DEBUG)


def _usage(message: object) -> int:
    print(f"causal-kit: {message}", file=sys.stderr)
    return EXIT_USAGE


def _report(args: argparse.Namespace) -> int:
    from causal_kit.core.errors import SpecificationError
    from causal_kit.presentation.batch import check_job, read_config, run_batch
    from causal_kit.presentation.publish import check_output_root
    from causal_kit.presentation.runner import check_run_date

    try:
        root = check_output_root(args.output)
        day = check_run_date(args.run_date)
        if args.config is not None:
            if args.parameter:
                raise SpecificationError("pass launches' parameters in the --config file or "
                                         "with -p, not both.")
            jobs = read_config(args.config)
        else:
            jobs = [check_job(args.notebook, dict(args.parameter))]
            if jobs[0].error is not None:
                raise SpecificationError(jobs[0].error)
    except SpecificationError as exc:
        return _usage(exc)

    def show(outcome: object) -> None:
        from causal_kit.presentation.batch import Outcome

        assert isinstance(outcome, Outcome)
        if args.json:
            print(outcome.to_json(), flush=True)
        elif outcome.status == "ok":
            print(f"report written: {Path(str(outcome.folder)) / 'report.html'}", flush=True)
        if outcome.status != "ok":
            print(f"launch {outcome.name}: {outcome.error}", file=sys.stderr, flush=True)

    outcomes = run_batch(jobs, output_root=root, run_date=day, n_jobs=args.jobs,
                         timeout=args.timeout, on_outcome=show,
                         progress=args.progress or (sys.stderr.isatty() and not args.json))
    return EXIT_FAILED if any(o.status != "ok" for o in outcomes) else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``causal-kit`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    _logging(args.verbose)
    if args.command == "report":
        return _report(args)
    if args.command == "plan":
        from causal_kit.presentation.cli_plan import run_plan

        return run_plan(args)

    from causal_kit.core.errors import CausalKitError

    try:
        if args.command == "index":
            from causal_kit.presentation.index import write_index
            from causal_kit.presentation.publish import check_output_root

            print(f"index written: {write_index(check_output_root(args.output))}")
            return EXIT_OK
        from causal_kit.presentation.parameters import find_notebook, notebook_parameters

        for name, spec in notebook_parameters(find_notebook(args.notebook)).items():
            print(f"{name}: {spec.get('inferred_type_name')} = {spec.get('default')}"
                  f"  # {spec.get('help', '')}")
        return EXIT_OK
    except CausalKitError as exc:
        return _usage(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
