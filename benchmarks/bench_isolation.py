"""Per-submission cost of each sandbox isolation level (bwrap, rlimits), in milliseconds.

Usage: python benchmarks/bench_isolation.py [--runs 20] [--calls 200]

For each level, ``--runs`` times in this process: build a WorkerSandbox for a
one-module submission, start its worker and wait until the module is imported,
make one call, close it (for bwrap: until no process of its namespace and uid is
left).  The ``forked`` column (root and bwrap only) forks each worker from a fork
server instead, and counts the clean-up between two submissions ("settle": every
process of the uid killed, the writable folders renewed) in the lifecycle.
Prints the median of each phase and of the whole lifecycle, then the
median round trip of a call on a warm worker (a (2, 3, 8, 8) float64 array in and
out), and the median of a plain subprocess that only imports NumPy.  The
per-submission cost of a level is its lifecycle; the lifecycle minus the plain
subprocess is what the sandbox adds to any worker process; "bwrap over rlimits"
is what the namespaces, mounts, seccomp filter and uid switch add (the rlimits
worker also pays for site-packages' start-up hooks, which bwrap hides).
Timings are noisy on a shared machine: compare medians, not single runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from autograder.sandbox import forkserver
from autograder.sandbox.client import SandboxConfig, WorkerSandbox
from autograder.sandbox.isolation import Isolation, bwrap_problem

MODULE = b"""
import numpy as np


def conv_like(x):
    return np.tanh(x) * 2.0
"""


def _config(level: str) -> tuple[SandboxConfig, bool]:
    """The sandbox configuration of a column, and whether its workers are forked."""
    fork = level == "forked"
    return SandboxConfig(isolation=Isolation("bwrap" if fork else level)), fork  # type: ignore[arg-type]


def lifecycle(level: str) -> dict[str, float]:
    """Seconds of each phase of one submission's sandbox."""
    cfg, fork = _config(level)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    t0 = time.perf_counter()
    box = WorkerSandbox({"m.py": MODULE}, ("m.py",), cfg, fork=fork)
    t1 = time.perf_counter()
    box.start()
    problems = box.load_problems()
    t2 = time.perf_counter()
    outcome = box.call("conv_like", (x,), {})
    t3 = time.perf_counter()
    box.close()
    t4 = time.perf_counter()
    forkserver.settle_all()
    t5 = time.perf_counter()
    assert not problems and outcome.ok, (problems, outcome.message)
    assert not fork or box._forked, "the worker was not forked"
    return {
        "prepare": t1 - t0,
        "start+import": t2 - t1,
        "first call": t3 - t2,
        "close": t4 - t3,
        "settle": t5 - t4,
        "total": t5 - t0,
    }


def round_trips(level: str, calls: int) -> list[float]:
    cfg, fork = _config(level)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    with WorkerSandbox({"m.py": MODULE}, ("m.py",), cfg, fork=fork) as box:
        box.call("conv_like", (x,), {})
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            box.call("conv_like", (x,), {})
            times.append(time.perf_counter() - t)
    return times


def bare_interpreter() -> dict[str, float]:
    """A plain subprocess importing NumPy (the worker's environment): what any worker costs."""
    env = {
        "PATH": "/usr/bin:/bin",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "LC_ALL": "C.UTF-8",
    }
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-B", "-c", "import numpy"], check=True, env=env)
    return {"total": time.perf_counter() - t0}


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    levels = ["rlimits"] + (["bwrap"] if bwrap_problem() is None else [])
    if bwrap_problem() is None and os.getuid() == 0:
        levels.append("forked")
    if bwrap_problem() is not None:
        print(f"bwrap level skipped: {bwrap_problem()}")
    for level in levels:  # warm the page cache and the cached checks
        lifecycle(level)
    # Interleaved, so that every level sees the same load of a shared machine.
    rows: dict[str, list[dict[str, float]]] = {level: [] for level in [*levels, "plain"]}
    for _ in range(args.runs):
        for level in levels:
            rows[level].append(lifecycle(level))
        rows["plain"].append(bare_interpreter())
    results = {
        level: {phase: median_ms([r[phase] for r in rows[level]]) for phase in rows[level][0]} for level in levels
    }
    bare = median_ms([r["total"] for r in rows["plain"]])
    trips = {level: median_ms(round_trips(level, args.calls)) for level in levels}
    phases = list(next(iter(results.values())))
    print(f"sandbox lifecycle per submission, median of {args.runs} runs (ms)")
    print(f"  {'phase':<14}" + "".join(f"{level:>10}" for level in levels))
    for phase in phases:
        print(f"  {phase:<14}" + "".join(f"{results[level][phase]:10.1f}" for level in levels))
    print(
        f"  {'call (warm)':<14}"
        + "".join(f"{trips[level]:10.2f}" for level in levels)
        + f"   median of {args.calls} calls"
    )
    print(f"plain 'python -I -c \"import numpy\"' subprocess: {bare:.1f} ms")
    for level in levels:
        print(f"{level}: {results[level]['total'] - bare:+.1f} ms per submission over that plain subprocess")
    if "bwrap" in results:
        paired = median_ms([b["total"] - r["total"] for b, r in zip(rows["bwrap"], rows["rlimits"], strict=True)])
        print(
            f"bwrap over rlimits: {paired:+.1f} ms per submission (median of paired runs), "
            f"{trips['bwrap'] - trips['rlimits']:+.2f} ms per call"
        )


if __name__ == "__main__":
    main()
