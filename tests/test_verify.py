"""``grade verify`` on the demo course (real sandbox workers) and on every assignment of this repository."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import grade_command

from autograder.paths import CourseDir
from autograder.plugin import check_seed
from autograder.verify import AssignmentReport, VerifyOptions, verify

REPO = Path(__file__).resolve().parent.parent

WEAK_ADD_PUBLIC = """
import pytest
from autograder.checks import assert_allclose, assert_equal

pytestmark = pytest.mark.question("add")


@pytest.mark.points(2)
def test_add_zero(student):
    assert_equal(student.add(2, 0), 2, call="add(2, 0)")


@pytest.mark.points(1)
@pytest.mark.question("scale")
def test_scale(student):
    assert_allclose(student.scale([1.0, 2.0], 3.0), [3.0, 6.0], call="scale([1, 2], 3)")
"""

WEAK_ADD_HIDDEN = """
import numpy as np
import pytest
from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("add")


@pytest.mark.points(1)
def test_add_zeros(student, rng):
    a = rng.standard_normal(5)
    assert_allclose(student.add(a, np.zeros(5)), a, call="add(a, zeros)")


@pytest.mark.points(1)
@pytest.mark.question("scale")
def test_scale_default(student, rng):
    x = rng.standard_normal((2, 3))
    assert_allclose(student.scale(x), 2.0 * x, call="scale(x)")
"""

ALLOW_BOTH = """
[[mutant]]
function = "add"
key = "arith: return a + b -> return a - b"
reason = "Only tested with b = 0 on purpose (a test of the allow-list)."

[[mutant]]
function = "add"
key = "bias: return a + b -> return a"
reason = "Same: with b = 0, dropping b changes nothing."
"""


def run(course: CourseDir, *, seeds: tuple[int, ...] = (0,), mutation: bool = True) -> tuple[AssignmentReport, str]:
    out = io.StringIO()
    options = VerifyOptions(seeds=seeds, mutation=mutation, jobs=1)
    [report] = verify(course, ["demo"], options, out)
    return report, out.getvalue()


def status(report: AssignmentReport) -> dict[str, str]:
    return {s.name: s.status for s in report.stages}


def cli(course: CourseDir, *args: str) -> subprocess.CompletedProcess[str]:
    return grade_command("verify", *args, cwd=course.root, root=course.root, timeout=600)


def weaken_add_checks(course: CourseDir) -> None:
    (course.public_tests_dir("demo") / "test_public.py").write_text(WEAK_ADD_PUBLIC)
    (course.hidden_tests_dir("demo") / "test_hidden.py").write_text(WEAK_ADD_HIDDEN)


def test_demo_course_verifies_and_the_cli_prints_a_summary(demo_course: CourseDir) -> None:
    proc = cli(demo_course, "--seeds", "0", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    summary = out[out.index("grade verify summary") :]
    assert len(summary.splitlines()) < 24, "the summary fits on one screen"
    for stage in ("points", "signatures", "solution", "stub", "mutation"):
        assert any(line.split()[:2] == [stage, "ok"] for line in summary.splitlines()), stage
    assert "full marks on all 5 checks with seeds 0, 1" in out
    assert "100.0%: 4/4 killed (4 generated, 0 equivalent)" in out
    assert "notebooks  skipped skipped (no notebooks)" in out
    assert "mutation scores: demo 100.0%" in out and "OK: 1 assignments verified" in out


def test_unknown_assignment_is_a_usage_error(demo_course: CourseDir) -> None:
    proc = cli(demo_course, "nosuch", "--no-mutation")
    assert proc.returncode == 2
    assert "unknown assignment 'nosuch'" in proc.stderr


def test_a_broken_hidden_check_fails_verify(demo_course: CourseDir) -> None:
    hidden = demo_course.hidden_tests_dir("demo") / "test_hidden.py"
    hidden.write_text(
        hidden.read_text().replace(
            "expected = (torch.from_numpy(a) + torch.from_numpy(b)).numpy()",
            "expected = (torch.from_numpy(a) + torch.from_numpy(b)).numpy() + 1e-3",
        )
    )
    proc = cli(demo_course, "--seeds", "0", "3")
    assert proc.returncode == 3, proc.stdout
    assert (
        "demo · solution: the solution fails test_add_torch (hidden, question add) "
        "with seed 0, 3: failed:" in proc.stdout
    )
    assert "returned wrong values" in proc.stdout
    assert "mutation   skipped skipped (the solution does not pass every check)" in proc.stdout
    assert "FAILED: 1 problems in demo" in proc.stdout


def test_a_vacuous_check_fails_verify(demo_course: CourseDir) -> None:
    public = demo_course.public_tests_dir("demo") / "test_public.py"
    public.write_text(
        public.read_text()
        + """

@pytest.mark.points(1)
def test_add_does_not_crash(student):
    try:
        student.add(1, 2)
    except Exception:
        pass
"""
    )
    spec = demo_course.spec_file("demo")
    spec.write_text(spec.read_text().replace("points = 3", "points = 4"))
    report, out = run(demo_course, mutation=False)
    assert status(report) == {
        "points": "ok",
        "signatures": "ok",
        "solution": "ok",
        "stub": "FAIL",
        "mutation": "skipped",
        "notebooks": "skipped",
    }
    assert (
        "demo · stub: test_add_does_not_crash (public, question add) passes on the "
        "untouched stub: the check is vacuous" in out
    )
    assert not report.ok


def test_signature_and_docstring_drift_fail_verify(demo_course: CourseDir) -> None:
    stub = demo_course.assignment_dir("demo") / "demo.py"
    stub.write_text(
        stub.read_text()
        .replace("def scale(x, factor=2.0):", "def scale(x, factor=3.0):")
        .replace("Return a + b, elementwise.", "Return a + b.")
    )
    report, out = run(demo_course, mutation=False)
    assert status(report)["signatures"] == "FAIL"
    assert status(report)["solution"] == status(report)["stub"] == "ok"
    assert "scale: the signatures differ" in out
    assert "def scale(x, factor=3.0)" in out and "def scale(x, factor=2.0)" in out
    assert "add: the docstrings differ at docstring line 1:" in out
    assert "'Return a + b.'" in out and "'Return a + b, elementwise.'" in out


def test_a_renamed_argument_or_missing_function_fails_verify(demo_course: CourseDir) -> None:
    solution = demo_course.solution_dir("demo") / "demo.py"
    solution.write_text(
        solution.read_text().replace("def add(a, b):", "def add(x, b):").replace("return a + b", "return x + b")
    )
    stub = demo_course.assignment_dir("demo") / "demo.py"
    stub.write_text(stub.read_text().split("def scale")[0])
    report, out = run(demo_course, mutation=False)
    assert status(report)["signatures"] == "FAIL"
    assert "def add(x, b)" in out
    assert "scale is in assignment.toml but the stub (demo.py) does not define it" in out


def test_points_must_match_the_checks(demo_course: CourseDir) -> None:
    spec = demo_course.spec_file("demo")
    spec.write_text(
        spec.read_text().replace("points = 3", "points = 4")
        + """
[[questions]]
name = "nothing"
functions = ["add"]
points = 1
"""
    )
    public = demo_course.public_tests_dir("demo") / "test_public.py"
    public.write_text(
        public.read_text()
        + """

@pytest.mark.question("add")
def test_without_points(student):
    assert student.add(1, 1) == 2
"""
    )
    report, out = run(demo_course, mutation=False)
    assert status(report)["points"] == "FAIL"
    assert "question 'add': assignment.toml gives 4 points, its 4 checks add up to 3 (2 public + 1 hidden)" in out
    assert "question 'nothing' (1 points in assignment.toml) has no checks" in out
    assert "check test_without_points (public, question add) has no points" in out


def test_surviving_mutants_are_printed_as_diffs_and_fail_verify(demo_course: CourseDir) -> None:
    weaken_add_checks(demo_course)
    report, out = run(demo_course)
    assert status(report)["mutation"] == "FAIL"
    assert report.mutation_score == pytest.approx(2 / 4)
    assert "surviving mutant of add (demo.py, line 7): no check of question 'add' lost a point (seeds 0)" in out
    assert "--- demo.py (add)" in out
    assert "-    return a + b" in out and "+    return a - b" in out
    assert 'key = "arith: return a + b -> return a - b"' in out
    assert "50.0%: 2/4 killed" in out


def test_a_survivor_caught_only_by_some_seeds_says_so(demo_course: CourseDir) -> None:
    weaken_add_checks(demo_course)
    hidden = demo_course.hidden_tests_dir("demo") / "test_hidden.py"
    hidden.write_text(
        hidden.read_text()
        + """

@pytest.mark.points(1)
def test_add_random_b(student, rng):
    a = rng.standard_normal(3)
    b = rng.standard_normal(3) if rng.integers(0, 2) else np.zeros(3)
    assert_allclose(student.add(a, b), a + b, call="add(a, b)")
"""
    )
    spec = demo_course.spec_file("demo")
    spec.write_text(spec.read_text().replace("points = 3", "points = 4"))

    def uses_zeros(seed: int) -> bool:
        rng = np.random.default_rng(check_seed(seed, "test_add_random_b"))
        rng.standard_normal(3)
        return not rng.integers(0, 2)

    quiet = next(s for s in range(100) if uses_zeros(s))
    loud = next(s for s in range(100) if not uses_zeros(s))
    report, out = run(demo_course, seeds=(quiet, loud))
    assert status(report)["mutation"] == "FAIL"
    assert (
        f"lost a point (seeds {quiet}, {loud}; only seed {loud} kills it, so a randomised "
        "check misses it with the others)" in out
    )


def test_allow_listed_equivalent_mutants_pass_with_reasons(demo_course: CourseDir) -> None:
    weaken_add_checks(demo_course)
    allow = demo_course.equivalent_mutants_file("demo")
    allow.write_text(ALLOW_BOTH)
    report, out = run(demo_course)
    assert status(report)["mutation"] == "ok", out
    assert "100.0%: 2/2 killed (4 generated, 2 equivalent)" in out

    allow.write_text(ALLOW_BOTH.replace('reason = "Same: with b = 0, dropping b changes nothing."', 'reason = ""'))
    report, out = run(demo_course)
    assert status(report)["mutation"] == "FAIL"
    assert "mutant[1]: needs a non-empty reason" in out

    allow.write_text(
        ALLOW_BOTH
        + """
[[mutant]]
function = "scale"
key = "arith: x * factor -> x / factor"
reason = "An entry for a mutant that does not exist."
"""
    )
    report, out = run(demo_course)
    assert status(report)["mutation"] == "FAIL"
    assert "the entry for scale 'arith: x * factor -> x / factor' matches no mutant" in out


def test_no_mutation_and_no_notebooks_skip_those_stages(demo_course: CourseDir) -> None:
    out = io.StringIO()
    options = VerifyOptions(seeds=(0,), mutation=False, notebooks=False, jobs=1)
    [report] = verify(demo_course, [], options, out)
    assert status(report)["mutation"] == "skipped" and status(report)["notebooks"] == "skipped"
    assert "skipped (--no-mutation)" in out.getvalue()
    assert "skipped (--no-notebooks)" in out.getvalue()
    assert report.ok


def _verify(args: list[str]) -> subprocess.CompletedProcess[str]:
    proc = grade_command("verify", *args, timeout=1800)
    sys.stdout.write(proc.stdout[proc.stdout.find("grade verify summary") - 80 :])
    return proc


@pytest.mark.slow
def test_every_assignment_of_this_repository_verifies() -> None:
    """The CI gate: ``grade verify`` on all assignments, mutation testing included."""
    course = CourseDir(REPO)
    names = [n for n in course.assignment_names() if course.solution_dir(n).is_dir()]
    if not names:
        pytest.skip("no assignments with solutions yet")
    proc = _verify(names)
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
    scores = next(line for line in proc.stdout.splitlines() if line.startswith("mutation scores:"))
    assert all(f"{name} " in scores for name in names)
