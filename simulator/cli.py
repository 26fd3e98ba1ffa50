"""Command line: ``p3sim run | design | size`` (docs/cli.md documents every option).

Exit codes: 0 success; 2 bad input (one line on stderr naming the key or
argument and what is allowed, no traceback; also an unreachable ``size``
target); 1 an internal error; 130 interrupted (Ctrl-C); 141 the reader of
stdout (or stderr) went away, as in ``p3sim run ... | head -1``: nothing more
is printed, as a tool killed by SIGPIPE (128 + 13) would.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import traceback
from pathlib import Path

from simulator import __version__
from simulator.errors import InputError


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments in one line with exit code 2."""

    def error(self, message):
        raise InputError(f"argument error: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="p3sim", description="Phase 3 trial design simulator.")
    parser.add_argument("--version", action="version", version=f"phase3-simulator {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    def common(sub):
        sub.add_argument("config", help="TOML config file")
        sub.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a dotted config key")

    def simulation(sub):
        sub.add_argument("--sims", type=int, help="simulated trials per scenario (simulation.n_sims)")
        sub.add_argument("--seed", type=int, help="seed (simulation.seed)")
        sub.add_argument("--jobs", type=int, help="parallel workers (threads, or processes with --backend loky), 0 = all cores (simulation.jobs)")
        sub.add_argument("--backend", default="threads", help="where chunks run: threads (this process, default), loky (local processes) or dask")
        sub.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, with --backend dask")
        sub.add_argument("--quiet", action="store_true", help="print nothing but errors")
        sub.add_argument("--progress", action="store_true", help="print progress lines on stderr even when it is not a terminal")

    run = verbs.add_parser("run", help="simulate every scenario and write report.json, report.md, report.html and results.csv")
    common(run)
    run.add_argument("--out", help="output folder (default reports/<config stem>/)")
    simulation(run)
    run.add_argument("--no-resume", action="store_true", help="recompute every scenario, ignoring DIR/checkpoints/")

    size = verbs.add_parser("size", help="smallest n_total (binary) or events (survival) reaching a power or assurance target, by simulation; writes report.json, report.md and report.html")
    common(size)
    size.add_argument("--target", default="power", help="power (default) or assurance")
    size.add_argument("--level", type=float, help="the target, in (0, 1) (default design.power)")
    size.add_argument("--out", help="output folder (default reports/<config stem>/size/)")
    simulation(size)

    design = verbs.add_parser("design", help="analytic design quantities, no simulation")
    common(design)
    design.add_argument("--json", metavar="FILE", help="write the design as JSON to FILE (- for stdout)")
    return parser


def _trial(args):
    from simulator.api import Trial

    return Trial.from_toml(args.config, args.set)


def _run(args, argv) -> int:
    from simulator.runner.progress import ProgressHook, StderrProgress

    out = Path(args.out) if args.out else Path("reports") / Path(args.config).stem
    progress = ProgressHook() if args.quiet else StderrProgress(force=args.progress)
    trial = _trial(args)
    try:
        result = trial.simulate(
            args.sims, args.seed, args.jobs, backend=args.backend, scheduler=args.scheduler, progress=progress,
            checkpoints=out / "checkpoints", resume=not args.no_resume,
            command=" ".join(["p3sim", *map(shlex.quote, argv)]),
        )
    except KeyboardInterrupt:
        if isinstance(progress, StderrProgress) and progress.tty:
            sys.stderr.write("\n")
        print(
            f"p3sim: interrupted; finished scenarios are kept in {out}/checkpoints/, "
            "run the same command again to resume", file=sys.stderr,
        )
        return 130
    result.save(out)
    if not args.quiet:
        print(result.summary())
        print(
            f"\nreport written to {out}/report.json, report.md, report.html and results.csv "
            f"({result.meta['runtime_s']:.1f} s)"
        )
        resumed = getattr(progress, "resumed_scenarios", 0)
        if resumed:
            sys.stdout.flush()  # after the summary, also when both go to one terminal or file
            print(
                f"p3sim: {resumed} of {len(result.scenarios)} scenarios resumed from checkpoints in "
                f"{out}/checkpoints/ (--no-resume recomputes them)", file=sys.stderr,
            )
    return 0


def _size(args, argv) -> int:
    out = Path(args.out) if args.out else Path("reports") / Path(args.config).stem / "size"
    tty = sys.stderr.isatty()
    log = None if args.quiet or not (tty or args.progress) else (lambda line: print(line, file=sys.stderr, flush=True))
    result = _trial(args).size(
        args.target, args.level, args.sims, args.seed, args.jobs, backend=args.backend, scheduler=args.scheduler,
        log=log, command=" ".join(["p3sim", *map(shlex.quote, argv)]),
    )
    result.save(out)
    if not args.quiet:
        print(result.summary())
        print(f"\nreport written to {out}/report.json, report.md and report.html ({result.meta['runtime_s']:.1f} s)")
    return 0


def _design(args) -> int:
    result = _trial(args).design()
    if args.json:
        text = json.dumps(result.to_dict(), indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
            return 0
        Path(args.json).write_text(text, encoding="utf-8")
    print(result.table())
    return 0


#: The exit code when the reader of our output has gone (128 + SIGPIPE), as a tool killed by SIGPIPE reports.
EXIT_BROKEN_PIPE = 141


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the flush at exit cannot fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's stream)
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parser().parse_args(argv)
        if args.verb in ("run", "size"):
            for name in ("sims", "jobs"):
                value = getattr(args, name)
                if value is not None and value < (1 if name == "sims" else 0):
                    raise InputError(f"argument `--{name}`: must be {'a positive integer' if name == 'sims' else 'an integer >= 0'}, got {value}")
            code = _run(args, argv) if args.verb == "run" else _size(args, argv)
        else:
            code = _design(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # `p3sim run ... | head -1`: the reader has gone; close quietly. `run` and
        # `size` write their reports before printing anything on stdout.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except InputError as err:
        print(f"p3sim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("p3sim: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence
        traceback.print_exc()
        print(f"p3sim: internal error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
