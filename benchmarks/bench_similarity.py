"""Time and peak memory of the similarity report for a class of synthetic submissions (1,000 by default).

Each synthetic submission is the assignment3 stub with each of seven functions taken
from one of the independent authors of the test corpus (``tests/corpus/similarity``),
then varied as students vary code: local names renamed, comments and prints added, and
statements that change the syntax tree (a re-read of an array, a scaled sum) inserted
at random.  A few submissions are exact copies of others.  Mixing eight authors over
seven functions means every function body is held by about an eighth of the class, far
more shared code than a real class: the index pass does more work than it would there.

    python benchmarks/bench_similarity.py [-n 1000] [--jobs 2] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus" / "similarity" / "assignment3"
AUTHORS = ("alice", "bob", "carol", "dave", "erin", "frank", "olga", "pete")
FUNCTIONS = (
    "conv_output_size",
    "pool_output_size",
    "conv2d_forward",
    "max_pool2d",
    "avg_pool2d",
    "unpool_nearest",
    "unpool_bed_of_nails",
)
_BODY = re.compile(r'^(def (\w+)\(.*?\n    """.*?"""\n)(.*?)(?=^def |\Z)', re.S | re.M)


def _bodies(text: str) -> dict[str, str]:
    return {m.group(2): m.group(3) for m in _BODY.finditer(text)}


def _vary(body: str, rng: random.Random) -> str:
    """Rename local names, add comments, prints and tree-changing statements."""
    names = sorted(set(re.findall(r"^\s+(\w+)\s*=", body, re.M)))
    for name in names:
        if rng.random() < 0.6:
            body = re.sub(rf"(?<![\w.]){name}\b(?!\s*=[^=])", f"{name}_{rng.randrange(100)}", body)
    out = []
    depth = 0  # open brackets: a statement may only follow a complete one
    for line in body.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        code = line.strip()
        if code and rng.random() < 0.1:
            out.append(f"{indent}# step {rng.randrange(1000)}")
        out.append(line)
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth or not code or code.endswith((":", "\\")) or code.startswith(("return", "raise")):
            continue
        assigned = re.match(r"^\s+(\w+)\s*=[^=]", line)
        if assigned and rng.random() < 0.25:
            name = assigned.group(1)
            out.append(rng.choice([f"{indent}{name} = np.asarray({name})", f"{indent}{name} = {name} * 1"]))
        elif rng.random() < 0.03:
            out.append(f"{indent}print({rng.randrange(100)})")
    return "\n".join(out) + "\n"


def synthesise(folder: Path, n: int, seed: int = 0) -> None:
    """Write ``n`` submissions ``student_XXXX.py`` into ``folder``."""
    stub = (REPO / "assignments" / "assignment3" / "cnn.py").read_text()
    by_author = {a: _bodies((CORPUS / f"{a}.py").read_text()) for a in AUTHORS}
    helpers = (CORPUS / "dave.py").read_text().split("\n\n\ndef _pool(", 1)[1]
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for i in range(n):
        if written and rng.random() < 0.02:
            text = rng.choice(written)  # an exact copy
        else:
            text = stub
            for function in FUNCTIONS:
                options = [
                    a
                    for a in AUTHORS
                    if function in by_author[a] and "NotImplementedError" not in by_author[a][function]
                ]
                body = by_author[rng.choice(options)][function]
                text = text.replace(f'    raise NotImplementedError("{function}")\n', _vary(body, rng), 1)
            text += "\n\ndef _pool(" + helpers
        (folder / f"student_{i:04}.py").write_text(text)
        written.append(text)


def _reference_loop_ms() -> float:
    """Best of five ``sum(range(10**6))``: the speed of this machine's cores right now
    (about 15-20 ms on an idle core of a current CPU), to read the other numbers by."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def _peak_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--keep", type=Path, help="write the submissions and reports here instead of a temporary folder")
    args = p.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from autograder.paths import CourseDir
    from autograder.similarity.compare import compare
    from autograder.similarity.fingerprints import all_kgrams
    from autograder.similarity.report import fingerprint_class, read_class, stub_files, write_similarity
    from autograder.spec import load_spec

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    try:
        subs_dir, out = work / "submissions", work / "out"
        synthesise(subs_dir, args.n)
        course = CourseDir(REPO)
        spec = load_spec(course.spec_file("assignment3"))
        before = _peak_mb()
        load = os.getloadavg()[0]
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        subs = read_class(course, spec, subs_dir)
        t1 = time.perf_counter()
        docs = fingerprint_class(subs, spec.modules, jobs=args.jobs)
        t_fp = time.perf_counter()
        comparison = compare(docs, all_kgrams(stub_files(course, spec), spec.modules))
        t2 = time.perf_counter()
        write_similarity(comparison, out, spec.name, spec.title, t2 - t0)
        t3 = time.perf_counter()
        own = _peak_mb()
        cpu = time.process_time() - cpu0
        size = sum(len(b) for s in subs for b in s.files.values())
        print(f"similarity of {len(subs)} submissions ({size / 1e6:.1f} MB of source), jobs {args.jobs}")
        print(f"  read       {t1 - t0:6.2f} s")
        print(f"  fingerprint {t_fp - t1:6.2f} s")
        print(f"  compare    {t2 - t_fp:6.2f} s  ({comparison.candidates} candidate pairs from the index)")
        listed = f"{len(comparison.pairs)} pairs listed, {len(comparison.clusters)} clusters"
        print(f"  write      {t3 - t2:6.2f} s  ({listed})")
        print(f"  total      {t3 - t0:6.2f} s wall, {cpu:.2f} s CPU in this process", end="")
        print(" (the fingerprinting workers' not counted)" if args.jobs > 1 and len(subs) >= 200 else "")
        print(f"  load average {load:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
        print(f"  reference loop sum(range(10**6)): {_reference_loop_ms():.0f} ms (15-20 ms on an idle core)")
        print(f"  peak RSS   {own:6.0f} MB in this process ({before:.0f} MB before reading)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
