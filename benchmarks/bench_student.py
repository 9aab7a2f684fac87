"""Student self-check speed: wall time of ``grade <assignment>`` and where it goes.

Usage: python benchmarks/bench_student.py [assignment3] [--submission solutions/assignment3] [--runs 5]

Prints the median wall time of the whole command (a fresh process each run, as a
student runs it), a breakdown measured in separate fresh processes (interpreter +
``import torch``, ``import pytest``, a sandbox worker's start-up), and ratios against
the established graders' figures on a smaller assignment (nbgrader validate 4.7 s,
otter-grader check 9 s, measured on this machine kind).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NBGRADER_VALIDATE_S = 4.7
OTTER_CHECK_S = 9.0
TARGET_S = 2.0


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="assignment3")
    parser.add_argument("--submission", default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    submission = args.submission or f"solutions/{args.assignment}"
    py = sys.executable
    total = wall([py, "-m", "autograder", args.assignment, "--submission", submission, "--no-html"], args.runs)
    with_html = wall([py, "-m", "autograder", args.assignment, "--submission", submission], args.runs)
    bare = wall([py, "-c", "pass"], args.runs)
    torch_import = wall([py, "-c", "import torch"], args.runs) - bare
    pytest_import = wall([py, "-c", "import pytest"], args.runs) - bare
    worker = wall(
        [
            py,
            "-c",
            (
                "from autograder.sandbox.client import WorkerSandbox, SandboxConfig\n"
                "s = WorkerSandbox({'m.py': b'def f(x):\\n    return x\\n'}, ('m.py',), SandboxConfig())\n"
                "s.call('f', (1,), {}); s.close()"
            ),
        ],
        args.runs,
    )
    print(f"grade {args.assignment} --submission {submission}  (median of {args.runs} runs)")
    print(
        f"  wall, no HTML                 {total:6.2f} s   target {TARGET_S:.1f} s ({total / TARGET_S:.2f}x of target)"
    )
    print(f"  wall, with HTML report        {with_html:6.2f} s")
    print(f"  of which import torch         {torch_import:6.2f} s")
    print(f"  of which import pytest        {pytest_import:6.2f} s")
    print(f"  a sandbox worker, start+call  {worker:6.2f} s (runs beside the harness)")
    print(f"  interpreter start             {bare:6.2f} s")
    print(f"  vs nbgrader validate ({NBGRADER_VALIDATE_S} s): {NBGRADER_VALIDATE_S / total:.1f}x faster")
    print(f"  vs otter-grader check ({OTTER_CHECK_S} s): {OTTER_CHECK_S / total:.1f}x faster")


if __name__ == "__main__":
    main()
