"""Shared fixtures for the engine's tests: the course in this repository and a way to grade a path."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from autograder.grading import grade_path as grade_submission_path
from autograder.paths import CourseDir
from autograder.results import SubmissionResult

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"

#: The test files that take longest (from half a minute to two on two cores), longest first.
#: Workers take files in the order of this list, then the others, most tests first: the suite's
#: wall time is its work shared by the workers plus whatever runs alone at the end, so a long
#: file must not start last.  Ordered by ``--durations`` of whole runs; tests/test_scheduling.py keeps the
#: names real.
LONGEST_FILES = (
    "test_batch.py",
    "test_verify.py",
    "test_adversarial.py",
    "test_honest.py",
    "test_gradescope_autograder.py",
    "test_release.py",
    "test_references.py",
    "test_quickstart.py",
    "test_checkrun.py",
    "test_code_style.py",
)


#: Most workers ``-n auto`` starts: each starts sandboxes, fork servers and torch of its own, and
#: past four they wait on each other more than they gain.
MAX_WORKERS = 4


@pytest.hookimpl(optionalhook=True)  # pytest without xdist runs the suite too, one file after another
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for ``-n auto``: one more than the cores, at most :data:`MAX_WORKERS`.

    Part of the suite waits rather than computes (a check timing out, a hanging import, a
    sandbox starting), and a core whose worker waits would stand idle: with one worker to
    spare, two cores were 98% busy over a whole run instead of 90%."""
    return max(1, min((os.cpu_count() or 1) + 1, MAX_WORKERS))


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist, files go to workers in the collection's order (longest first, see below), not
    xdist's own order (most tests first)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files in LONGEST_FILES first, in its order, then the others, most tests first; a file's
    own tests keep their order."""
    counts = Counter(item.path for item in items)

    def rank(item: pytest.Item) -> tuple[int, int]:
        if item.path.name in LONGEST_FILES:
            return LONGEST_FILES.index(item.path.name), 0
        return len(LONGEST_FILES), -counts[item.path]

    items.sort(key=rank)


def grade_command(
    *args: str, cwd: Path = REPO, root: Path | None = None, timeout: float = 600, fresh_env: bool = False
) -> subprocess.CompletedProcess[str]:
    """``grade ARGS`` in a subprocess, as a user types it in ``cwd``.

    ``AUTOGRADER_ROOT`` is ``root`` when given, unset otherwise; ``fresh_env`` also drops every
    ``AUTOGRADER_*`` and ``PYTHON*`` variable, as on a machine that never ran the tests.
    """
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_ROOT"}
    if fresh_env:
        env = {k: v for k, v in env.items() if not k.startswith(("AUTOGRADER_", "PYTHON"))}
    if root is not None:
        env["AUTOGRADER_ROOT"] = str(root)
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def course() -> CourseDir:
    return CourseDir(REPO)


@pytest.fixture(scope="session")
def grade_path(course: CourseDir) -> Callable[..., SubmissionResult]:
    """``grade_path("assignment3", path, hidden=True, seed=0)`` grades a file or folder in-process,
    its worker forked from this process's fork server (as a batch's are) where the machine allows."""

    def run(assignment: str, path: Path, *, hidden: bool = True, seed: int = 0) -> SubmissionResult:
        return grade_submission_path(path, assignment, hidden=hidden, seed=seed, course=course, fork=True)

    return run


DEMO_SPEC = """
title = "Demo"
modules = ["demo.py"]
[limits]
call_timeout = 2
memory_mb = 1024
[[questions]]
name = "add"
title = "Adding arrays"
functions = ["add"]
points = 3
[[questions]]
name = "scale"
functions = ["scale"]
points = 2
"""

DEMO_STUB = '''"""Demo assignment."""
import numpy as np


def add(a, b):
    """Return a + b, elementwise."""
    raise NotImplementedError("add")


def scale(x, factor=2.0):
    """Return x * factor."""
    raise NotImplementedError("scale")
'''

DEMO_SOLUTION = DEMO_STUB.replace('raise NotImplementedError("add")', "return a + b").replace(
    'raise NotImplementedError("scale")', "return np.asarray(x) * factor"
)

DEMO_PUBLIC = """
import pytest
from autograder.checks import assert_allclose, assert_equal

pytestmark = pytest.mark.question("add")


@pytest.mark.points(1)
def test_add_small(student):
    assert_equal(student.add(2, 3), 5, call="add(2, 3)")


@pytest.mark.points(1)
def test_add_arrays(student, rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert_allclose(student.add(a, b), a + b, call="add(a, b)")


@pytest.mark.points(1)
@pytest.mark.question("scale")
def test_scale(student):
    assert_allclose(student.scale([1.0, 2.0], 3.0), [3.0, 6.0], call="scale([1, 2], 3)")
"""

DEMO_HIDDEN = """
import pytest
import torch
from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("add")


@pytest.mark.points(1)
def test_add_torch(student, rng):
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    expected = (torch.from_numpy(a) + torch.from_numpy(b)).numpy()
    assert_allclose(student.add(a, b), expected, call="add(a, b)")


@pytest.mark.points(1)
@pytest.mark.question("scale")
def test_scale_default(student, rng):
    x = rng.standard_normal((2, 3))
    assert_allclose(student.scale(x), 2.0 * x, call="scale(x)")
"""


def build_demo_course(root: Path) -> CourseDir:
    """A tiny course with one assignment, ``demo``: stub, solution, public and hidden checks."""
    (root / "assignments/demo/tests").mkdir(parents=True)
    (root / "solutions/demo/hidden").mkdir(parents=True)
    (root / "assignments/demo/assignment.toml").write_text(DEMO_SPEC)
    (root / "assignments/demo/demo.py").write_text(DEMO_STUB)
    (root / "assignments/demo/tests/test_public.py").write_text(DEMO_PUBLIC)
    (root / "solutions/demo/demo.py").write_text(DEMO_SOLUTION)
    (root / "solutions/demo/hidden/test_hidden.py").write_text(DEMO_HIDDEN)
    return CourseDir(root)


@pytest.fixture
def demo_course(tmp_path: Path) -> CourseDir:
    """A fresh copy of the demo course in ``tmp_path``."""
    return build_demo_course(tmp_path / "course")
