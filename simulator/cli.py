"""Command line: ``p3sim run | design | size`` (docs/cli.md documents every option).

Exit codes: 0 success; 2 bad input (one line on stderr naming the key or
argument and what is allowed, no traceback; also an unreachable ``size``
target); 3 the environment is not ready (the output folder is busy, the disk
is full, no Dask workers, out of memory, a worker process died: one line
saying what and what to do); 1 an internal error; 130 interrupted (Ctrl-C);
143 terminated (SIGTERM); 141 the reader of stdout (or stderr) went away, as
in ``p3sim run ... | head -1``: nothing more is printed, as a tool killed by
SIGPIPE (128 + 13) would.

The work of a command runs in a worker thread while the main thread waits
for it: signals are handled in the main thread, so Ctrl-C and SIGTERM are
answered within a fraction of a second even while a compiled kernel runs
(a kernel cannot be interrupted, so the process then exits without waiting
for it; finished scenarios are in their checkpoints, written atomically).
"""

from __future__ import annotations

import argparse
import atexit
import errno
import os
import re
import shlex
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import NoReturn

from simulator import __version__
from simulator.errors import InputError, NotReadyError, one_line


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments in one line with exit code 2."""

    def error(self, message):
        # argparse says "argument --sims: ..."; name the option as every other error names its key.
        named = re.match(r"argument (-[-\w]+(?:/-[-\w]+)?): (.*)", message)
        if named:
            raise InputError(f"argument `{named.group(1)}`: {named.group(2)}")
        if "required: verb" in message:
            raise InputError("argument `verb`: is required: p3sim run | design | size CONFIG ... (p3sim --help)")
        raise InputError(f"argument error: {message}")


def _integer(text: str) -> int:
    """An integer option (argparse ``type``), with the error wording of the other options."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _number(text: str) -> float:
    """A number option (argparse ``type``), with the error wording of the other options."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="p3sim", description="Phase 3 trial design simulator.")
    parser.add_argument("--version", action="version", version=f"phase3-simulator {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    def common(sub):
        sub.add_argument("config", help="TOML config file")
        sub.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a dotted config key")

    def simulation(sub):
        sub.add_argument("--sims", type=_integer, help="simulated trials per scenario (simulation.n_sims)")
        sub.add_argument("--seed", type=_integer, help="seed (simulation.seed)")
        sub.add_argument("--jobs", type=_integer, help="parallel workers (threads, or processes with --backend loky), 0 = all cores (simulation.jobs)")
        sub.add_argument("--backend", default="threads", help="where chunks run: threads (this process, default), loky (local processes) or dask")
        sub.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, with --backend dask")
        sub.add_argument("--wait-for-workers", type=_number, default=30.0, metavar="SECONDS",
                         help="Dask: seconds to wait for a worker before exiting 3 (default 30)")
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
    size.add_argument("--level", type=_number, help="the target, in (0, 1) (default design.power)")
    size.add_argument("--out", help="output folder (default reports/<config stem>/size/)")
    simulation(size)

    design = verbs.add_parser("design", help="analytic design quantities, no simulation")
    common(design)
    design.add_argument("--json", metavar="FILE", help="write the design as JSON to FILE (- for stdout)")
    return parser


def _trial(args):
    from simulator.api import Trial
    from simulator.config.toml import parse_override

    # Parsed here, so that a bad one is named as the flag (`--set KEY`), not as the API's argument.
    return Trial._read(args.config, lambda: [parse_override(text) for text in args.set])


def shell_command(argv) -> str:
    r"""The command line as one line of shell that runs it again (report.md's reproduction line).

    An argument with a control character (a line break in ``--out``) is
    written in ANSI-C quotes, ``$'...'``, which bash, zsh and ksh read: in
    ``shlex.quote``'s quotes the line break stayed, and report.md showed it
    as a space, another path (a review).

    >>> shell_command(["run", "a b.toml", "--out", "x\ny"])
    "p3sim run 'a b.toml' --out $'x\\ny'"
    """
    def control(c: str) -> bool:
        # C0, DEL, C1 (NEL U+0085 breaks a line too) and the Unicode line and paragraph separators (a code review).
        return ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029"

    def quote(arg: str) -> str:
        if not any(control(c) for c in arg):
            return shlex.quote(arg)
        named = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", "'": "\\'"}
        # A character past ASCII as its UTF-8 bytes, \xHH each: bash reads \x alike in every locale, where \u
        # needs a UTF-8 one (a code review: LC_ALL=C left "\u0085" as text).
        return "$'" + "".join(named.get(c) or (
            "".join(f"\\x{b:02x}" for b in c.encode("utf-8")) if control(c) else c) for c in arg) + "'"

    return " ".join(["p3sim", *map(quote, argv)])


def _out(args, *parts: str) -> Path:
    """``--out``, or ``reports/<safe config stem>/...``."""
    from simulator.runner.folder import default_folder_name, report_files

    out = Path(args.out) if args.out is not None else Path("reports", default_folder_name(args.config), *parts)
    config = getattr(args, "config", None)
    written = report_files(csv=getattr(args, "verb", "run") == "run")
    if isinstance(config, str) and os.path.isfile(config):
        taken = [name for name in written if os.path.realpath(out / name) == os.path.realpath(config)]
        if taken:
            # A review: a config kept as DIR/report.md was overwritten by the report, without a word.
            raise InputError(f"argument `--out`: {out} would overwrite the config {config} with {taken[0]}; "
                             "give another --out or keep the config elsewhere")
    return out


def _run(args, argv) -> int:
    from simulator.runner.folder import OutputFolder, check_output_folder
    from simulator.runner.progress import ProgressHook, StderrProgress

    out = _out(args)
    progress = ProgressHook() if args.quiet else StderrProgress(force=args.progress)
    trial = _trial(args)
    # Set first: an interrupt from here on says what is kept there (nothing, before the first scenario ends).
    _STATE["checkpoints"] = out / "checkpoints"
    _STATE["started"] = time.time()
    with OutputFolder(out):
        # Checked here, so that the message names the flag (a review: it named the API's `checkpoints`).
        check_output_folder(out / "checkpoints", "--out")
        # The API's implementation, whose errors name the flags (Trial.simulate names its arguments).
        result = trial._simulate(
            args.sims, args.seed, args.jobs, backend=args.backend, scheduler=args.scheduler, progress=progress,
            checkpoints=out / "checkpoints", resume=not args.no_resume,
            command=shell_command(argv), wait_for_workers=args.wait_for_workers,
        )
        result.save(out)
    _STATE["written"] = out
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
    from simulator.runner.folder import OutputFolder, report_files

    out = _out(args, "size")
    tty = sys.stderr.isatty()
    log = None if args.quiet or not (tty or args.progress) else (lambda line: print(line, file=sys.stderr, flush=True))
    trial = _trial(args)
    with OutputFolder(out, "--out", report_files(csv=False)):
        result = trial._size(
            args.target, args.level, args.sims, args.seed, args.jobs, backend=args.backend, scheduler=args.scheduler,
            log=log, command=shell_command(argv), wait_for_workers=args.wait_for_workers,
        )
        result.save(out)
    _STATE["written"] = out
    if not args.quiet:
        print(result.summary())
        print(f"\nreport written to {out}/report.json, report.md and report.html ({result.meta['runtime_s']:.1f} s)")
    return 0


def _check_json_file(text: str) -> None:
    """``design --json FILE``: exit 2 up front if FILE cannot be written."""
    if not text.strip():
        raise InputError("argument `--json`: must be a file path or -, got an empty string")
    try:
        _check_json_path(Path(text))
    except OSError as err:  # a folder on the way that this user may not look into
        raise InputError(f"argument `--json`: cannot use {text} ({err.strerror})") from None


def _check_json_path(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"argument `--json`: {path} is a folder, not a file")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"argument `--json`: {path} lies under {parent}, which is not a folder")
        if parent.exists():
            if not os.access(parent, os.W_OK | os.X_OK) and not (path.exists() and os.access(path, os.W_OK)):
                raise InputError(f"argument `--json`: cannot write {path} (the folder {parent} is not writable)")
            break


def _design(args) -> int:
    if args.json is not None and args.json != "-":
        _check_json_file(args.json)
        if os.path.isfile(args.config) and os.path.realpath(args.json) == os.path.realpath(args.config):
            raise InputError(f"argument `--json`: {args.json} is the config; give another file")  # a code review
    from simulator.results import json_text

    result = _trial(args).design()
    if args.json is not None:
        text = json_text(result.to_dict())
        if args.json == "-":
            sys.stdout.write(text)
            return 0
        path = Path(args.json)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as err:  # the permission bits allowed it, the file system did not (/proc, a read-only mount)
            if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
                raise  # the environment, not the input: exit 3, as a full disk is (a review: exit 2 at /dev/full)
            raise InputError(f"argument `--json`: cannot write {path} ({err.strerror or err})") from None
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


#: Exit codes of a signal: 128 + its number, as shells report them.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: Where the current ``run`` keeps its checkpoints (for the interrupt message), and its
#: ``backend`` (for :func:`exit_process`).
_STATE: dict = {}


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


def _on_signal(signum, frame):
    """Ctrl-C or SIGTERM: both ignored from now on, so that a second one cannot cut the cleanup
    short with a traceback (CI caught one arriving while the message was chosen), then raised."""
    _quiet(_STOPS)
    raise _Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _ignore(signum, frame):
    """A signal after the first: nothing to do. Not ``SIG_IGN``: for a signal already pending when the
    handler changes, Python then raises "Signal 15 ignored due to race condition" (CI caught one)."""


_STOPS = (signal.SIGINT, signal.SIGTERM)


def _command(args, argv) -> int:
    _STATE["backend"] = getattr(args, "backend", "threads")
    if args.verb in ("run", "size"):
        from simulator.config.validate import count_error

        for flag, name in (("sims", "n_sims"), ("seed", "seed"), ("jobs", "jobs")):
            value = getattr(args, flag)
            problem = None if value is None else count_error(name, value)
            if problem:
                raise InputError(f"argument `--{flag}`: {problem}, got {value}")
        wait = args.wait_for_workers
        if not (wait >= 0 and wait < float("inf")):
            raise InputError(f"argument `--wait-for-workers`: must be a finite number of seconds >= 0, got {wait:g}")
        if args.backend == "dask" or args.scheduler:
            from simulator.runner.backends import check_backend

            check_backend(args.backend, args.scheduler)  # a malformed address is bad input, before anything else
        if args.out is not None:
            from simulator.runner.folder import check_output_folder, report_files

            # Before the config is even read: a bad --out loses nothing. `size` writes no results.csv.
            check_output_folder(args.out, "--out", report_files(csv=args.verb == "run"))
        return _run(args, argv) if args.verb == "run" else _size(args, argv)
    return _design(args)


def _in_worker(function, *args):
    """Run ``function(*args)`` in a daemon thread; the main thread waits, free to take signals."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function(*args)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = err

    worker = threading.Thread(target=target, name="p3sim-work", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)  # a timed wait, so that signal handlers run promptly
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _not_ready(err: BaseException) -> str | None:
    """The one line for an environment problem (exit 3), or None if it is not one."""
    if isinstance(err, NotReadyError):
        return str(err)
    if isinstance(err, MemoryError):
        return "out of memory; lower --jobs or the problem size (trial.n_total, n_sims per chunk is fixed), or use a larger machine"
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        where = f" writing {err.filename}" if err.filename else ""
        return f"the disk is full{where}; free some space and run the same command again (finished scenarios are kept)"
    if type(err).__name__ == "TerminatedWorkerError":  # joblib: a loky worker died (killed, out of memory)
        return ("a worker process died (killed, or out of memory); finished scenarios are kept in the checkpoints; "
                "run the same command again to resume, perhaps with fewer --jobs")
    return None


def _interrupted(code: int) -> int:
    from simulator.figures import stop_drawing
    from simulator.runner.backends import stop_process_workers

    # Both signals are ignored by now (_on_signal, _ignore): a second one cannot interrupt this.
    stop_process_workers()  # --backend loky: its workers would go on (threads stop with the process)
    stop_drawing()  # report.html's forked figure processes likewise
    where = _STATE.get("checkpoints")
    what = "interrupted" if code == EXIT_INTERRUPTED else "terminated"
    if _STATE.get("written") is not None:
        # A code review: a signal after the reports were written said to run the command again.
        print(f"p3sim: {what} after the report was written to {_STATE['written']}/ (it is complete)", file=sys.stderr)
    elif where is not None and _has_checkpoints(where, _STATE.get("started", 0.0)):
        print(f"p3sim: {what}; finished scenarios are kept in {where}/, run the same command again to resume",
              file=sys.stderr)
    elif where is not None and _has_checkpoints(where):
        # Files of earlier runs only (another seed's, say): kept, and they resume whatever scenarios they hold.
        print(f"p3sim: {what} before this run finished a scenario; the checkpoints already in {where}/ are kept, "
              "and running the same command again resumes any scenario they hold", file=sys.stderr)
    elif where is not None:
        # A review: the first line claimed finished scenarios where none had finished (no folder yet).
        print(f"p3sim: {what} before any scenario finished; nothing is kept", file=sys.stderr)
    else:
        print(f"p3sim: {what}", file=sys.stderr)
    return code


def _has_checkpoints(folder, since: float = 0.0) -> bool:
    """Whether ``folder`` holds a checkpoint file written at or after ``since`` (a time stamp; 0: any)."""
    try:
        return any(entry.name.endswith(".json") and entry.is_file() and entry.stat().st_mtime >= since
                   for entry in os.scandir(folder))
    except OSError:
        return False


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning on the command line: one line, as the errors are (not Python's file, line and source)."""
    print(f"p3sim: warning: {one_line(message)}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    return _main(argv, restore_signals=True)


def _main(argv: list[str] | None, restore_signals: bool) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _STATE.clear()
    in_main = threading.current_thread() is threading.main_thread()
    previous: dict = {}
    shown = warnings.showwarning
    try:
        # Inside the try: a signal while they are installed is answered below, and what was saved is restored.
        for sent in (_STOPS if in_main else ()):
            previous[sent] = signal.signal(sent, _on_signal)
        warnings.showwarning = _warning_line
        args = _parser().parse_args(argv)
        code = _in_worker(_command, args, argv) if in_main else _command(args, argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # `p3sim run ... | head -1`: the reader has gone; close quietly. `run` and
        # `size` write their reports before printing anything on stdout.
        _quiet(previous)
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except InputError as err:
        _quiet(previous)
        print(f"p3sim: error: {one_line(err)}", file=sys.stderr)
        return 2
    except _Terminated:
        return _interrupted(EXIT_TERMINATED)
    except KeyboardInterrupt:
        return _interrupted(EXIT_INTERRUPTED)
    except Exception as err:  # noqa: BLE001 - the last line of defence
        _quiet(previous)
        line = _not_ready(err)
        if line is not None:
            print(f"p3sim: not ready: {one_line(line)}", file=sys.stderr)
            return 3
        traceback.print_exc()
        print(f"p3sim: internal error: {err}", file=sys.stderr)
        return 1
    finally:
        if restore_signals:  # not for the console script: a signal after this would end in a traceback
            # Held while the handlers change (a code review: a SIGTERM between the two restores left both
            # ignored); one that came meanwhile then goes to the caller's handler.
            held = set(previous) if hasattr(signal, "pthread_sigmask") else set()
            if held:
                signal.pthread_sigmask(signal.SIG_BLOCK, held)
            for sent, handler in previous.items():
                signal.signal(sent, handler)
            if held:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
        warnings.showwarning = shown


def _quiet(signals) -> None:
    """Later ``signals`` do nothing: after the first, and before an error's message (a code review: a Ctrl-C
    while the message was written escaped as a traceback); there, the ones this command installed, if any."""
    for sent in signals:
        signal.signal(sent, _ignore)


def entry_point() -> None:
    """The ``p3sim`` console script: :func:`main`, then :func:`exit_process`."""
    exit_process(_main(None, restore_signals=False))


def exit_process(code: int) -> NoReturn:
    """End the process with ``code`` at once: not waiting for a kernel still running after a signal,
    and without the interpreter's teardown where nothing needs it."""
    interrupted = code in (EXIT_INTERRUPTED, EXIT_TERMINATED)
    if interrupted or any(t.name == "p3sim-work" and t.is_alive() for t in threading.enumerate()):
        # Worker threads may still be inside a compiled kernel (the work thread, or the pool's
        # threads running chunks): the interpreter's shutdown would stop them mid-frame, which
        # aborts the process (SIGABRT, "terminate called without an active exception"). Nothing
        # is left to save: checkpoints are written atomically, the output folder's lock is the
        # kernel's to release.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if _STATE.get("backend", "threads") == "threads":
        # The interpreter's teardown frees every module and compiled kernel one at a time, about
        # 0.4 s after a run (a fifth of a small run's fixed cost), for a process that is done.
        # The exit functions run and the streams are flushed; the rest is skipped, unless a
        # process pool (loky, Dask) may have run, whose shutdown hooks belong to that teardown.
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    entry_point()
