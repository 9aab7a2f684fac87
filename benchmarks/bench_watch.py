"""``grade --watch``: time from saving the submission to the refreshed table.

Usage: python benchmarks/bench_watch.py [--edits 20]

Starts ``grade assignment3 --watch`` on a copy of the reference solution, then
saves it ``--edits`` times, alternating a broken and the correct
``conv2d_forward``, and times each save to the table of the changed question
(graded first) and to the whole table. Prints the medians and the ratio to the
0.3 s goal.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 0.3
BROKEN = "def conv2d_forward(*args, **kwargs):\n    raise ValueError('work in progress')\n\n\ndef _previous("


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "cnn.py"
        good = (REPO / "solutions/assignment3/cnn.py").read_text()
        broken = good.replace("def conv2d_forward(", BROKEN, 1)
        work.write_text(good)
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder", "assignment3", "--submission", str(work), "--watch"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        lines: queue.Queue[tuple[float, str]] = queue.Queue()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put((time.perf_counter(), line))

        threading.Thread(target=read, daemon=True).start()

        def wait_for(marker: str, timeout: float = 120) -> float:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    at, line = lines.get(timeout=1)
                except queue.Empty:
                    continue
                if marker in line:
                    return at
            raise TimeoutError(marker)

        wait_for("Watching")
        first, full = [], []
        for i in range(args.edits):
            saved = time.perf_counter()
            work.write_text(broken if i % 2 == 0 else good)
            first.append(wait_for("grading the other") - saved)
            full.append(wait_for("graded in") - saved)
            wait_for("Watching")
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    print(f"assignment3 public checks, {args.edits} saves (cores: {os.cpu_count()})")
    print(f"  save -> changed question's table  median {statistics.median(first):.3f} s")
    print(f"  save -> whole table               median {statistics.median(full):.3f} s")
    print(f"  goal {GOAL_S} s: whole table at {statistics.median(full) / GOAL_S:.2f}x the goal")


if __name__ == "__main__":
    main()
