"""Generate a folder of synthetic student submissions of an assignment, with a manifest of what each is.

Used by the batch tests and by ``benchmarks/bench_batch.py``.  Every submission
is derived from the assignment's reference solution, so the generator works
for any assignment (and for a tiny demo course in a test):

==============  ==========================================================
kind            what it is / what grading must show
==============  ==========================================================
correct         the solution as ``<id>.py`` — full marks
folder          the solution in ``<id>/`` with a helper file — full marks
notebook        the solution in ``<id>.ipynb`` (plus a magic) — full marks
zip             ``<id>.zip`` holding ``<id>/<module>`` — full marks
wrong           one to three functions return perturbed values — some ``failed``
crashing        a function raises, the import raises, the file does not
                parse, or a function kills its process — some ``error``
hanging         one function never returns — some ``timeout``
forbidden       imports torch or scipy — some ``forbidden``
stub            the untouched handout stub — nothing passes
==============  ==========================================================

Run ``python benchmarks/generate_submissions.py assignment3 OUT -n 120`` to make
one by hand; ``--kinds correct`` makes only honest ones (for throughput).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import textwrap
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

#: Every kind, and the share of a generated batch each gets (hanging is kept rare:
#: each costs its timeout).
KINDS: dict[str, float] = {
    "correct": 0.30,
    "folder": 0.06,
    "notebook": 0.10,
    "zip": 0.10,
    "wrong": 0.20,
    "crashing": 0.10,
    "hanging": 0.02,
    "forbidden": 0.06,
    "stub": 0.06,
}
#: The outcome a check of each kind must show at least once (None: all pass).
EXPECTED_OUTCOME: dict[str, str | None] = {
    "correct": None,
    "folder": None,
    "notebook": None,
    "zip": None,
    "wrong": "failed",
    "crashing": "error",
    "hanging": "timeout",
    "forbidden": "forbidden",
    "stub": "not_implemented",
}

_PERTURB = """

# ---- generated: wrong answers --------------------------------------------
def _perturb(value):
    import numpy as _np

    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 1.0
    if isinstance(value, _np.ndarray):
        if value.dtype.kind in "fc":
            return value * 1.5 + 1.0
        if value.dtype.kind in "iu":
            return value + 1
        return value
    if isinstance(value, (tuple, list)):
        return type(value)(_perturb(v) for v in value)
    return value


def _wrong(function):
    def wrapper(*args, **kwargs):
        return _perturb(function(*args, **kwargs))

    wrapper.__name__ = function.__name__
    return wrapper
"""


@dataclass(frozen=True)
class Generated:
    """One generated submission."""

    student: str
    kind: str
    #: File or folder name inside the output folder.
    path: str
    #: Which variant of the kind (e.g. ``import_error`` for crashing).
    variant: str = ""
    #: Functions the variant breaks.
    functions: tuple[str, ...] = ()


def plan_kinds(n: int, kinds: Sequence[str] | None = None, seed: int = 0) -> list[str]:
    """``n`` kinds in a shuffled order: every requested kind at least once when ``n`` allows."""
    wanted = list(kinds) if kinds else list(KINDS)
    weights = {k: KINDS[k] for k in wanted}
    total = sum(weights.values())
    counts = {k: max(1, round(n * w / total)) if n >= len(wanted) else 0 for k, w in weights.items()}
    if n < len(wanted):
        for k in wanted[:n]:
            counts[k] = 1
    # Adjust to exactly n, taking from / giving to the largest share.
    order = sorted(wanted, key=lambda k: -weights[k])
    while sum(counts.values()) > n:
        for k in order:
            if counts[k] > 1 and sum(counts.values()) > n:
                counts[k] -= 1
    while sum(counts.values()) < n:
        counts[order[0]] += 1
    plan = [k for k in wanted for _ in range(counts[k])]
    random.Random(seed).shuffle(plan)
    return plan


def generate(
    out: Path,
    *,
    solution: Path,
    module: str,
    functions: Sequence[str],
    n: int,
    stub: Path | None = None,
    kinds: Sequence[str] | None = None,
    seed: int = 0,
    hang_function: str | None = None,
    plan: Sequence[str] | None = None,
) -> list[Generated]:
    """Write ``n`` submissions into ``out`` and ``out/../<out.name>.manifest.json``; return them.

    ``functions`` are the graded functions (the ones a wrong or crashing variant
    breaks); ``hang_function`` is the one a hanging submission hangs in (default:
    the last of ``functions``).  ``plan`` gives the kind of each submission in
    order instead of drawing ``n`` from ``kinds``.
    """
    out.mkdir(parents=True, exist_ok=True)
    source = solution.read_text(encoding="utf-8")
    stub_source = stub.read_text(encoding="utf-8") if stub is not None and stub.is_file() else None
    rng = random.Random(seed)
    plan = list(plan) if plan is not None else plan_kinds(n, kinds, seed)
    made: list[Generated] = []
    counters: dict[str, int] = {}
    for index, kind in enumerate(plan, start=1):
        student = f"student{index:03d}"
        nth = counters.get(kind, 0)
        counters[kind] = nth + 1
        if kind == "stub" and stub_source is None:
            kind = "wrong"
        made.append(
            _write(
                out,
                student,
                kind,
                nth,
                source,
                stub_source or "",
                module,
                list(functions),
                rng,
                hang_function or functions[-1],
            )
        )
    manifest = {"module": module, "seed": seed, "submissions": [asdict(g) for g in made]}
    manifest_path(out).write_text(json.dumps(manifest, indent=1))
    return made


def manifest_path(out: Path) -> Path:
    """Where :func:`generate` writes the manifest of ``out`` (beside it, not inside)."""
    return out.parent / f"{out.name}.manifest.json"


def _write(
    out: Path,
    student: str,
    kind: str,
    nth: int,
    source: str,
    stub_source: str,
    module: str,
    functions: list[str],
    rng: random.Random,
    hang_function: str,
) -> Generated:
    variant = ""
    broken: tuple[str, ...] = ()
    text = source
    if kind == "wrong":
        broken = tuple(sorted(rng.sample(functions, k=min(len(functions), rng.randint(1, 3)))))
        text = source + _PERTURB + "".join(f"\n{f} = _wrong({f})\n" for f in broken)
    elif kind == "crashing":
        variant = ("raises", "import_error", "syntax_error", "exits")[nth % 4]
        if variant == "raises":
            broken = tuple(sorted(rng.sample(functions, k=min(len(functions), 2))))
            text = source + "".join(
                textwrap.dedent(f"""

                def {f}(*args, **kwargs):
                    values = list(args)
                    return values[len(values) + 6]  # IndexError, on purpose
                """)
                for f in broken
            )
        elif variant == "import_error":
            text = source + '\n\nraise RuntimeError("this module fails when imported")\n'
        elif variant == "syntax_error":
            text = source + "\n\ndef half_written(x:\n    return x\n"
        else:
            broken = (rng.choice(functions),)
            text = source + textwrap.dedent(f"""

                def {broken[0]}(*args, **kwargs):
                    import os
                    os._exit(3)
                """)
    elif kind == "hanging":
        variant = ("busy_loop", "sleep")[nth % 2]
        broken = (hang_function,)
        body = (
            "    while True:\n        pass\n"
            if variant == "busy_loop"
            else "    import time\n    time.sleep(10 ** 6)\n"
        )
        text = source + f"\n\ndef {hang_function}(*args, **kwargs):\n" + body
    elif kind == "forbidden":
        variant = ("torch", "scipy")[nth % 2]
        imports = "import torch\n" if variant == "torch" else "from scipy import signal\n"
        text = _insert_import(source, imports)
    elif kind == "stub":
        text = stub_source

    if kind == "folder":
        folder = out / student
        folder.mkdir(exist_ok=True)
        (folder / module).write_text(text, encoding="utf-8")
        (folder / "notes.txt").write_text("my notes\n")
        return Generated(student, kind, student, variant, broken)
    if kind == "notebook":
        path = out / f"{student}.ipynb"
        path.write_text(json.dumps(_notebook(text)), encoding="utf-8")
        return Generated(student, kind, path.name, variant, broken)
    if kind == "zip":
        path = out / f"{student}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{student}/{module}", text)
            archive.writestr(f"__MACOSX/{student}/._{module}", b"\0\0junk")
        return Generated(student, kind, path.name, variant, broken)
    path = out / f"{student}.py"
    path.write_text(text, encoding="utf-8")
    return Generated(student, kind, path.name, variant, broken)


def _insert_import(source: str, line: str) -> str:
    """``source`` with ``line`` before its first plain import (after any ``__future__`` one)."""
    lines = source.splitlines(keepends=True)
    for i, text in enumerate(lines):
        if text.startswith(("import ", "from ")) and "__future__" not in text:
            return "".join([*lines[:i], line, *lines[i:]])
    return source + "\n" + line


def _notebook(code: str) -> dict[str, object]:
    def cell(kind: str, text: str) -> dict[str, object]:
        c: dict[str, object] = {"cell_type": kind, "metadata": {}, "source": text}
        if kind == "code":
            c.update(execution_count=None, outputs=[])
        return c

    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            cell("markdown", "# My solutions"),
            cell("code", "%matplotlib inline"),
            cell("code", code),
            cell("code", "print('done')"),
        ],
    }


def generate_for_course(
    course_root: Path,
    assignment: str,
    out: Path,
    n: int,
    *,
    kinds: Sequence[str] | None = None,
    seed: int = 0,
    plan: Sequence[str] | None = None,
) -> list[Generated]:
    """:func:`generate` for ``assignment`` of the course at ``course_root`` (solution and stub
    from ``solutions/<name>/`` and ``assignments/<name>/``; graded functions from the spec,
    extra credit left out)."""
    from autograder.paths import CourseDir
    from autograder.spec import load_spec

    course = CourseDir(Path(course_root))
    spec = load_spec(course.spec_file(assignment))
    module = spec.modules[0]
    functions = [f for q in spec.questions if not q.extra_credit for f in q.functions]
    return generate(
        out,
        solution=course.solution_dir(assignment) / module,
        module=module,
        functions=functions,
        n=n,
        stub=course.assignment_dir(assignment) / module,
        kinds=kinds,
        seed=seed,
        plan=plan,
    )


DEMO_SPEC = """\
title = "Demo: arrays and a convolution"
modules = ["demo.py"]
hidden_feedback = "pass_fail"

[limits]
call_timeout = 2.0
memory_mb = 1024

[[questions]]
name = "add"
title = "Adding arrays"
functions = ["add"]
points = 3

[[questions]]
name = "conv"
title = "A valid 2-D cross-correlation"
functions = ["conv"]
points = 4
"""

DEMO_STUB = '''"""Demo assignment: two functions."""

import numpy as np


def add(a, b):
    """Return ``a + b`` elementwise, as an array."""
    raise NotImplementedError("add")


def conv(x, w):
    """Valid cross-correlation of ``x`` (N, C, H, W) with ``w`` (K, C, F, F)."""
    raise NotImplementedError("conv")
'''

DEMO_SOLUTION = DEMO_STUB.replace('raise NotImplementedError("add")', "return a + b").replace(
    'raise NotImplementedError("conv")',
    """n, c, h, wd = x.shape
    k, _, f, _ = w.shape
    out = np.zeros((n, k, h - f + 1, wd - f + 1))
    for i in range(h - f + 1):
        for j in range(wd - f + 1):
            patch = x[:, :, i:i + f, j:j + f]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out""",
)

DEMO_PUBLIC = """\
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import assert_allclose, assert_equal

pytestmark = pytest.mark.question("add")


@pytest.mark.points(1)
def test_add_numbers(student):
    assert_equal(student.add(2, 3), 5, call="add(2, 3)")


@pytest.mark.points(1)
def test_add_arrays(student, rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert_allclose(student.add(a, b), a + b, call="add(a, b)")


@pytest.mark.points(2)
@pytest.mark.question("conv")
def test_conv_small(student):
    x = np.arange(16, dtype=float).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 2, 2))
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    assert_allclose(student.conv(x, w), expected, call="conv(x, w)")
"""

DEMO_HIDDEN = """\
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("add")


@pytest.mark.points(1)
def test_add_broadcast(student, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    expected = (torch.from_numpy(a) + torch.from_numpy(b)).numpy()
    assert_allclose(student.add(a, b), expected, call="add(a, b)")


@pytest.mark.points(2)
@pytest.mark.question("conv")
def test_conv_random(student, rng):
    x, w = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    assert_allclose(student.conv(x, w), expected, call="conv(x, w)")
"""


def build_demo_course(root: Path) -> Path:
    """A tiny course at ``root`` with one assignment, ``demo`` (stub, solution, public and
    hidden checks with torch references): for tests, and for benchmarking without a real one."""
    (root / "assignments/demo/tests").mkdir(parents=True, exist_ok=True)
    (root / "solutions/demo/hidden").mkdir(parents=True, exist_ok=True)
    (root / "assignments/demo/assignment.toml").write_text(DEMO_SPEC)
    (root / "assignments/demo/demo.py").write_text(DEMO_STUB)
    (root / "assignments/demo/tests/test_demo.py").write_text(DEMO_PUBLIC)
    (root / "solutions/demo/demo.py").write_text(DEMO_SOLUTION)
    (root / "solutions/demo/hidden/test_demo_hidden.py").write_text(DEMO_HIDDEN)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("assignment")
    p.add_argument("out", type=Path)
    p.add_argument("-n", type=int, default=100, help="number of submissions (default 100)")
    p.add_argument("--kinds", nargs="+", choices=sorted(KINDS), help="only these kinds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--course",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="course root (default: this repository)",
    )
    args = p.parse_args(argv)
    made = generate_for_course(args.course, args.assignment, args.out, args.n, kinds=args.kinds, seed=args.seed)
    counts: dict[str, int] = {}
    for g in made:
        counts[g.kind] = counts.get(g.kind, 0) + 1
    print(f"{len(made)} submissions in {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
