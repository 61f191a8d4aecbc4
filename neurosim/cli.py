"""Command line: ``neurosim list | run | compare | reproduce | report``.

Bad input (unknown protocol or parameter, out-of-range or malformed value, a
repeated parameter, a result folder that cannot be written or holds another
protocol's or grid's results, a point too large for the memory, an
unreachable scheduler, a missing optional dependency) prints one line
``neurosim: error: ...`` and exits with status 2 before anything is written.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from neurosim.spiking.devices import DEVICES
from neurosim.experiment import BACKEND_CHOICES, DEFAULT_DEVICE, describe, prepare_run
from neurosim.errors import ParameterError
from neurosim.protocol import get_protocol, protocol_names
from neurosim.results import ResultStore
from neurosim.report import REPORT, headline_table, write_report
from neurosim.suites import SUITES, run_suite


def _parse_sets(items: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ParameterError(f"--set expects NAME=V1,V2,... (got {item!r})")
        if name.strip() in overrides:
            raise ParameterError(f"parameter {name.strip()} is set twice; give all its values "
                                 f"in one --set {name.strip()}=V1,V2,...")
        overrides[name.strip()] = value.strip()
    return overrides


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("protocol", help="protocol name (see `neurosim list`)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="parameter values; several values make a sweep axis")
    parser.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    parser.add_argument("--out", default=None, help="result folder (default results/PROTOCOL)")
    parser.add_argument("--device", default=DEFAULT_DEVICE, choices=DEVICES,
                        help="Brian2 device of the spiking/brian2 backends (default "
                             f"{DEFAULT_DEVICE}: one C++ build per circuit shape, re-run "
                             "through run_args)")
    parser.add_argument("--jobs", type=int, default=None, help="local worker processes")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask scheduler address, or 'local' for a LocalCluster")
    parser.add_argument("--record", action="store_true",
                        help="also save spike rasters / state traces of one episode")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--dry-run", action="store_true",
                        help="check everything (parameters, result folder, memory and time "
                             "estimates), print the grid, run nothing")


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line ``neurosim: error: ...`` and exit status 2."""

    def error(self, message):
        self.exit(2, f"neurosim: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="neurosim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    sub.add_parser("list", help="list protocols with their parameters")
    run = sub.add_parser("run", help="run a protocol on one backend")
    _common(run)
    run.add_argument("--backend", default=None, choices=BACKEND_CHOICES,
                     help="realization (default: the protocol's first)")
    compare = sub.add_parser("compare", help="run a protocol on two backends side by side")
    _common(compare)
    compare.add_argument("--backends", default="rate,spiking",
                         help="comma-separated backends (default rate,spiking)")
    reproduce = sub.add_parser("reproduce", help="run a suite of protocols (a paper's figures)")
    reproduce.add_argument("suite", choices=sorted(SUITES))
    reproduce.add_argument("--out", default="results")
    reproduce.add_argument("--seed", type=int, default=0)
    reproduce.add_argument("--quiet", action="store_true")
    reproduce.add_argument("--json", action="store_true",
                           help="print each protocol's headline as one JSON line instead of a "
                                "table")
    report = sub.add_parser("report", help="one self-contained HTML page from result folders")
    report.add_argument("results", metavar="RESULTS_DIR",
                        help="a result folder, or a folder holding result folders")
    report.add_argument("--out", default=None, help=f"the page (default RESULTS_DIR/{REPORT})")
    return parser


def _list() -> None:
    for name in protocol_names():
        protocol = get_protocol(name)
        print(f"{name:28s} {protocol.description}")
        print(f"{'':28s} backends: {', '.join(protocol.backends)}")
        for pname, param in protocol.params.items():
            print(f"{'':30s}{pname} = {param.default}  {param.help}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:                       # usage errors (2) and --help (0)
        return stop.code
    try:
        if args.command == "list":
            _list()
            return 0
        if args.command == "report":
            print(write_report(args.results, args.out))
            return 0
        if args.command == "reproduce":
            summaries, _ = run_suite(args.suite, args.out, seed=args.seed, progress=not args.quiet)
            for name, summary in summaries.items():
                print(f"{name}: {json.dumps(summary['headline'], default=str)}" if args.json
                      else headline_table(summary) + "\n")
            if summaries:
                print(f"report: {Path(args.out) / REPORT}")
            return 0
        if args.command == "run":
            backends = (args.backend or get_protocol(args.protocol).backends[0],)
        else:
            backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
            if len(backends) < 2:
                raise ParameterError("--backends needs at least two backends")
        run = prepare_run(args.protocol, _parse_sets(args.set), backends=backends,
                          out=args.out or f"results/{args.protocol}", seed=args.seed,
                          jobs=args.jobs, scheduler=args.scheduler, device=args.device,
                          record=args.record, progress=not args.quiet)
        if args.dry_run:
            done = ResultStore(run.out).done
            measured = sum(run.resume_key(point) in done for point in run.points)
            print(f"{run.protocol.name}: {len(run.points)} point(s) into {run.out} ({measured} "
                  "measured already), valid; nothing run (--dry-run)")
            for point in run.points:
                print(f"  {describe(point)}")
            return 0
        print(json.dumps(run.execute()["headline"], indent=2, default=str))
        return 0
    except (ParameterError, ValueError) as error:
        print(f"neurosim: error: {error}", file=sys.stderr)
        return 2
    except MemoryError as error:
        print(f"neurosim: error: out of memory ({error or 'no detail'}); make the points smaller "
              "(the points finished so far are saved: re-run to resume)", file=sys.stderr)
        return 2
    except BrokenPipeError:                          # output piped into e.g. `head`, which closed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
