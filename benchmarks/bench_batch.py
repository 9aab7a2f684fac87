"""Benchmark ``grade batch``: wall time, throughput, the engine's overhead per submission, peak memory.

Generates N submissions (honest ones by default; ``--kinds`` for a mix), runs
``grade batch`` on them in a subprocess exactly as an instructor would, and
reads the per-submission timings the batch stores with each result.  Numbers,
not assertions: the machine may be busy.

    python benchmarks/bench_batch.py -n 100 --jobs 2              # assignment3 if complete, else demo
    python benchmarks/bench_batch.py --assignment demo -n 60
    python benchmarks/bench_batch.py -n 40 --kinds correct wrong crashing forbidden
    python benchmarks/bench_batch.py --hang                      # cost of one hanging submission

What is printed:

* total wall time (start-up included) and submissions per minute;
* steady-state wall time per submission (first result to last, start-up excluded);
* per submission, inside its executor process: grading time, time in the student's
  code (sandbox calls), and the engine's overhead = grading time - student code,
  split into sandbox start-up/transport and the harness (pytest, references, verdicts);
* peak memory: the whole process tree (sum of RSS, sampled) and the largest process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from generate_submissions import build_demo_course, generate_for_course  # noqa: E402

#: nbgrader's time per submission, the figure bench_student.py compares with (its validate).
NBGRADER_S_PER_SUBMISSION = 4.7
#: nbgrader's autograde of a class, per submission, start-up included (the same 19 answers
#: graded side by side on a 2-core machine): what the whole batch's throughput compares with.
NBGRADER_BATCH_S_PER_SUBMISSION = 4.05


def assignment_ready(course: Path, name: str) -> bool:
    """True when ``name`` has a spec, a solution module and hidden checks in ``course``."""
    spec = course / "assignments" / name / "assignment.toml"
    hidden = course / "solutions" / name / "hidden"
    return spec.is_file() and any((course / "solutions" / name).glob("*.py")) and any(hidden.glob("test_*.py"))


class MemorySampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_total = 0
        self.peak_single = 0
        #: CPU seconds of the batch's own process (not its pool's), at the last sample.
        self.root_cpu = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stop.is_set():
            total = 0
            try:
                times = root.cpu_times()
                self.root_cpu = times.user + times.system
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak_total = max(self.peak_total, total)
            self.stop.wait(self.every)


def run_batch(
    course: Path, assignment: str, submissions: Path, out: Path, jobs: int, extra: list[str]
) -> tuple[float, MemorySampler, subprocess.CompletedProcess[str]]:
    """Run ``grade batch`` once; (wall seconds, memory sampler, completed process)."""
    env = {**os.environ, "AUTOGRADER_ROOT": str(course)}
    cmd = [
        sys.executable,
        "-m",
        "autograder",
        "batch",
        assignment,
        str(submissions),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--no-progress",
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    return wall, sampler, subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def load_results(out: Path) -> list[dict[str, Any]]:
    results = []
    for f in sorted((out / ".cache").glob("*.json")):
        data = json.loads(f.read_text())
        data["result"]["_mtime"] = f.stat().st_mtime
        results.append(data["result"])
    return results


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def report(
    label: str, wall: float, start: float, sampler: MemorySampler, results: list[dict[str, Any]], jobs: int
) -> None:
    n = len(results)
    # Result schema 2 keeps the timings in "timing"; schema 1 in "extra".
    timing = [r.get("timing") or r.get("extra", {}).get("timing", {}) for r in results]
    task = [t.get("task", r["duration"]) for t, r in zip(timing, results, strict=True)]
    student = [t.get("student", 0.0) for t in timing]
    sandbox = [t.get("sandbox", 0.0) for t in timing]
    overhead = [a - s for a, s in zip(task, student, strict=True)]
    startup_transport = [b - s for b, s in zip(sandbox, student, strict=True)]
    harness = [a - b for a, b in zip(task, sandbox, strict=True)]
    mtimes = sorted(r["_mtime"] for r in results)
    steady = (mtimes[-1] - mtimes[0]) / (n - 1) if n > 1 else float("nan")
    first = mtimes[0] - start if mtimes else float("nan")
    mib = 1024 * 1024
    print(
        f"\n== {label}: {n} submissions, --jobs {jobs}, isolation "
        f"{results[0].get('isolation', '?') if results else '?'}"
    )
    print(
        f"total wall time            {wall:8.2f} s   ({n / wall * 60:.0f} submissions/min, "
        f"{wall / n:.3f} s per submission)"
    )
    print(
        f"first result after         {first:8.2f} s   (pool start-up, torch import, collecting the checks, one grading)"
    )
    print(
        f"steady state               {steady:8.3f} s per submission   "
        f"({60 / steady if steady > 0 else float('nan'):.0f} submissions/min)"
    )
    print("per submission, in its executor process (mean / median):")
    print(f"  grading                  {mean(task) * 1000:8.1f} / {statistics.median(task) * 1000:.1f} ms")
    print(f"  student code (calls)     {mean(student) * 1000:8.1f} / {statistics.median(student) * 1000:.1f} ms")
    print(
        f"  engine overhead          {mean(overhead) * 1000:8.1f} / "
        f"{statistics.median(overhead) * 1000:.1f} ms   (grading - student code)"
    )
    print(
        f"    sandbox start/transport{mean(startup_transport) * 1000:8.1f} / "
        f"{statistics.median(startup_transport) * 1000:.1f} ms"
    )
    print(f"    harness (pytest, refs) {mean(harness) * 1000:8.1f} / {statistics.median(harness) * 1000:.1f} ms")
    cpu_h = [t.get("cpu_harness", 0.0) for t in timing]
    cpu_s = [t.get("cpu_sandbox") or 0.0 for t in timing]
    cpu = mean(cpu_h) + mean(cpu_s)
    cores = min(jobs, os.cpu_count() or 1)
    print("CPU per submission (load-independent):")
    print(f"  harness process          {mean(cpu_h) * 1000:8.1f} ms   (pytest, references, verdicts, transport)")
    print(
        f"  sandbox processes        {mean(cpu_s) * 1000:8.1f} ms   (the worker: forked, or a "
        "new interpreter with NumPy; the student's module and calls)"
    )
    print(
        f"  batch process            {sampler.root_cpu / n * 1000 if n else 0:8.1f} ms   (its whole run / n: "
        "imports, reading submissions, reports, summary, similarity)"
    )
    print(
        f"  => on {cores} idle core{'s' if cores > 1 else ''}: "
        f"{cpu / cores:.3f} s per submission ({60 * cores / cpu if cpu else 0:.0f}/min)"
    )
    print(
        f"  vs nbgrader ({NBGRADER_S_PER_SUBMISSION} s per submission): steady state "
        f"{NBGRADER_S_PER_SUBMISSION / steady if steady > 0 else float('nan'):.1f}x faster"
    )
    print(
        f"throughput vs nbgrader's batch ({NBGRADER_BATCH_S_PER_SUBMISSION} s per submission, start-up "
        f"included): {NBGRADER_BATCH_S_PER_SUBMISSION * n / wall if wall else float('nan'):.1f}x"
    )
    print(
        f"peak memory                {sampler.peak_total / mib:8.0f} MiB all processes, "
        f"{sampler.peak_single / mib:.0f} MiB largest process"
    )


def numpy_import_ms() -> float:
    """Wall time of ``python -I -c 'import numpy'`` now: how busy the machine is (~100 ms idle)."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "import numpy"], check=True)
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=100, help="submissions (default 100)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--assignment", default=None, help="assignment3 when complete, else a generated demo course")
    p.add_argument("--kinds", nargs="+", default=["correct"], help="kinds of submissions (default: honest ones only)")
    p.add_argument("--hang", action="store_true", help="also time one hanging submission against its configured limit")
    p.add_argument("--keep", type=Path, help="keep the work folder here")
    p.add_argument(
        "--allow-weak-isolation",
        action="store_true",
        help="passed to grade batch (a machine without bwrap: resource limits only)",
    )
    args = p.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    assignment = args.assignment
    course = REPO
    if assignment is None:
        assignment = "assignment3" if assignment_ready(REPO, "assignment3") else "demo"
    if assignment == "demo":
        course = build_demo_course(work / "course")
    subs = work / "submissions"
    generate_for_course(course, assignment, subs, args.n, kinds=args.kinds)
    out = work / "out"

    print(
        f"machine now: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"a fresh 'import numpy' takes {numpy_import_ms():.0f} ms"
    )
    extra = ["--allow-weak-isolation"] if args.allow_weak_isolation else []
    start = time.time()
    wall, sampler, proc = run_batch(course, assignment, subs, out, args.jobs, extra)
    if proc.returncode not in (0, 4):
        print(proc.stdout, proc.stderr, sep="\n")
        return proc.returncode
    report(f"{assignment}, kinds {' '.join(args.kinds)}", wall, start, sampler, load_results(out), args.jobs)
    print("\n" + proc.stdout.strip())

    wall2, _, proc2 = run_batch(course, assignment, subs, out, args.jobs, extra)
    print(
        f"\nre-run with nothing changed: {wall2:.2f} s; "
        + next((line.strip() for line in proc2.stdout.splitlines() if "unchanged" in line), "")
    )

    if args.hang:
        from autograder.sandbox.client import MAX_TIMEOUTS_PER_FUNCTION
        from autograder.spec import load_spec

        spec = load_spec(course / "assignments" / assignment / "assignment.toml")
        hsubs = work / "hanging"
        generate_for_course(course, assignment, hsubs, 1, kinds=["hanging"])
        hout = work / "hanging-out"
        hwall, _, _ = run_batch(course, assignment, hsubs, hout, 1, extra)
        r = load_results(hout)[0]
        timeouts = sum(1 for c in r["checks"] if c["outcome"] == "timeout")
        limit = spec.limits.call_timeout * MAX_TIMEOUTS_PER_FUNCTION
        print(
            f"\nhanging submission: graded in {r['duration']:.2f} s "
            f"({hwall:.2f} s with start-up); its limit: {spec.limits.call_timeout:g} s per "
            f"call, {MAX_TIMEOUTS_PER_FUNCTION} timed-out calls per function = {limit:g} s; "
            f"{timeouts} checks timed out"
        )
    if args.keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
