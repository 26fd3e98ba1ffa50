"""Run a command and write its wall time, CPU time and peak RSS as JSON: a small parent on purpose.

Usage: ``python benchmarks/_launch.py REPORT.json COMMAND [ARG...]``

Why a launcher: Linux reports in ``ru_maxrss`` the largest resident set a
process ever had, and a child forked from a large process (the benchmark
holds hundreds of MiB of simulated outputs) starts with its parent's resident
set, which ``exec`` then records as the child's peak. Forked from this small
process instead, the command's peak is its own. Only ``os`` and ``json`` are
imported, to keep this parent small.
"""

import json
import os
import sys
import time


def main(report: str, command: list[str]) -> int:
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)  # only reached when exec fails
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(report, "w", encoding="utf-8") as out:
        # CPU time: user + system of the child itself (not of its own children, such as loky workers).
        json.dump({"returncode": code, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                   "max_rss_kib": usage.ru_maxrss}, out)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
