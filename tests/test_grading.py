"""End to end through the real sandbox worker on the demo course: outcomes, scores, visibility."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEMO_SOLUTION

from autograder.grading import grade_path
from autograder.paths import CourseDir
from autograder.results import HIDDEN_PROBLEM_SHOWN, CheckResult, SubmissionResult
from autograder.sandbox import cgroups
from autograder.sandbox.isolation import bwrap_problem
from autograder.spec import load_spec
from autograder.submission import load_submission


def run(
    course: CourseDir, source: str | Path, *, hidden: bool = True, seed: int = 0, name: str = "demo.py"
) -> SubmissionResult:
    if isinstance(source, str):
        path = course.root / "work" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
    else:
        path = source
    return grade_path(path, "demo", hidden=hidden, seed=seed, course=course)


def by_name(result: SubmissionResult) -> dict[str, CheckResult]:
    return {c.name: c for c in result.checks}


def test_solution_gets_full_marks_with_hidden_checks(demo_course: CourseDir) -> None:
    result = run(demo_course, demo_course.solution_dir("demo"))
    assert result.score == result.max_score == 5
    assert {c.outcome for c in result.checks} == {"passed"}
    assert {c.visibility for c in result.checks} == {"public", "hidden"}
    assert [(q.name, q.score, q.max_score) for q in result.questions] == [("add", 3, 3), ("scale", 2, 2)]
    assert result.status == "ok" and result.seed == 0 and result.hidden


def test_public_only_run_is_scored_out_of_public_points(demo_course: CourseDir) -> None:
    result = run(demo_course, demo_course.solution_dir("demo"), hidden=False)
    assert result.max_score == 3
    assert {c.visibility for c in result.checks} == {"public"}


def test_stub_scores_zero_with_not_implemented(demo_course: CourseDir) -> None:
    result = run(demo_course, demo_course.assignment_dir("demo") / "demo.py")
    assert result.score == 0
    assert {c.outcome for c in result.checks} == {"not_implemented"}
    assert all("not implemented" in c.message for c in result.checks)


def test_wrong_values_fail_with_a_message_naming_the_difference(demo_course: CourseDir) -> None:
    source = (
        "import numpy as np\ndef add(a, b):\n    return a - b\n"
        "def scale(x, factor=2.0):\n    return np.asarray(x) * factor\n"
    )
    result = run(demo_course, source)
    checks = by_name(result)
    assert checks["test_add_arrays"].outcome == "failed"
    assert "add(a, b) returned wrong values" in checks["test_add_arrays"].message
    assert "First at index" in checks["test_add_arrays"].message
    assert checks["test_scale"].outcome == "passed"
    assert result.score == 2


def test_syntax_error_gives_one_note_with_the_line_and_every_check_not_run(demo_course: CourseDir) -> None:
    result = run(demo_course, "def add(a, b)\n    return a + b\n")
    assert result.score == 0
    assert {c.outcome for c in result.checks} == {"error"}
    assert {c.message for c in result.checks} == {"not run: demo.py did not import (see the note at the top)"}
    [note] = [n for n in result.notes if "could not be imported" in n]
    assert "SyntaxError" in note and "demo.py, line 1" in note


def test_import_failure_is_one_note_and_no_check_claims_a_wrong_exception(course: CourseDir, tmp_path: Path) -> None:
    """A module that fails at import: a note naming file and line once, every check 'not run'
    (also those that expect an exception, which used to say 'raised an error, expected ValueError')."""
    from autograder.reporting.terminal import render

    stub = (course.assignment_dir("assignment3") / "cnn.py").read_text(encoding="utf-8")
    source = stub + "\n\nKERNEL = np.ones(3) @ np.ones(4)\n"
    line = source.splitlines().index("KERNEL = np.ones(3) @ np.ones(4)") + 1
    path = tmp_path / "cnn.py"
    path.write_text(source, encoding="utf-8")
    result = grade_path(path, load_spec(course.spec_file("assignment3")), hidden=False, course=course)
    assert result.score == 0 and result.checks
    assert {c.outcome for c in result.checks} == {"error"}
    assert {c.message for c in result.checks} == {"not run: cnn.py did not import (see the note at the top)"}
    [note] = result.notes
    assert note.startswith(f"cnn.py could not be imported (cnn.py, line {line}): ValueError"), note
    text = render(result, width=100)
    assert text.count("could not be imported") == 1
    assert "expected ValueError" not in text and "ValueError" in text


def test_missing_function_only_fails_its_checks(demo_course: CourseDir) -> None:
    result = run(demo_course, "def add(a, b):\n    return a + b\n")
    checks = by_name(result)
    assert checks["test_scale"].outcome == "not_implemented"
    assert "no function named scale" in checks["test_scale"].message
    assert checks["test_add_arrays"].outcome == "passed"
    assert result.score == 3


def test_crashes_and_exits_fail_only_the_affected_checks(demo_course: CourseDir) -> None:
    source = (
        "import os, sys\nimport numpy as np\n"
        "def add(a, b):\n    if np.ndim(a) == 0:\n        sys.exit(0)\n"
        "    if np.ndim(a) == 1:\n        os._exit(0)\n    return a + b\n"
        "def scale(x, factor=2.0):\n    return np.asarray(x) * factor\n"
    )
    result = run(demo_course, source)
    checks = by_name(result)
    assert checks["test_add_small"].outcome == "error"
    assert "sys.exit(0)" in checks["test_add_small"].message
    assert checks["test_add_torch"].outcome == "error"
    assert "os._exit" in checks["test_add_torch"].message
    assert checks["test_add_arrays"].outcome == "passed"
    assert checks["test_scale_default"].outcome == "passed"  # the worker was restarted


def test_infinite_loop_times_out_and_grading_goes_on(demo_course: CourseDir) -> None:
    source = (
        "import numpy as np\ndef add(a, b):\n    while True:\n        pass\n"
        "def scale(x, factor=2.0):\n    return np.asarray(x) * factor\n"
    )
    result = run(demo_course, source)
    checks = by_name(result)
    timed_out = [c for c in result.checks if c.question == "add"]
    assert {c.outcome for c in timed_out} == {"timeout"}
    assert "timed out after 2 s in add" in checks["test_add_small"].message
    assert checks["test_scale"].outcome == "passed" and checks["test_scale_default"].passed
    # Two timeouts of one function at most: the third call fails at once.
    assert sum(c.duration for c in timed_out) < 3 * 2 + 2


def test_forbidden_import_names_file_and_line(demo_course: CourseDir) -> None:
    source = "import numpy as np\nimport torch\ndef add(a, b):\n    return a + b\n"
    result = run(demo_course, source)
    assert {c.outcome for c in result.checks} == {"forbidden"}
    assert result.checks[0].message == "not run: demo.py did not import (see the note at the top)"
    [note] = result.notes
    assert "'torch' is not allowed" in note and "demo.py, line 2" in note


def test_regrade_is_deterministic_and_seed_changes_cases(demo_course: CourseDir) -> None:
    source = "import numpy as np\ndef add(a, b):\n    return np.round(a + b, 1)\n"
    first = run(demo_course, source, seed=7)
    again = run(demo_course, source, seed=7)
    assert [(c.name, c.outcome, c.message) for c in first.checks] == [
        (c.name, c.outcome, c.message) for c in again.checks
    ]
    assert first.seed == 7
    other = run(demo_course, source, seed=8)
    assert [c.message for c in other.checks] != [c.message for c in first.checks]


def test_broken_check_is_a_grader_error_not_the_students_fault(demo_course: CourseDir) -> None:
    broken = demo_course.public_tests_dir("demo") / "test_broken.py"
    broken.write_text(
        "import pytest\npytestmark = pytest.mark.question('add')\n\n"
        "@pytest.mark.points(1)\ndef test_oops(student):\n"
        "    student.add(1, 2)\n    raise KeyError('bug in the check')\n\n"
        "def test_no_points(student):\n    pass\n"
    )
    (demo_course.public_tests_dir("demo") / "test_syntax.py").write_text("def (:\n")
    result = run(demo_course, demo_course.solution_dir("demo"))
    checks = by_name(result)
    assert checks["test_oops"].outcome == "grader_error"
    assert "not your fault" in checks["test_oops"].message
    assert checks["test_no_points"].outcome == "grader_error"
    assert result.status == "grader_error"
    assert any("test_syntax.py" in n for n in result.notes)


def test_a_hidden_check_file_that_fails_to_load_is_named_to_instructors_only(demo_course: CourseDir) -> None:
    hidden = demo_course.solution_dir("demo") / "hidden" / "test_hidden_secret_cases.py"
    hidden.write_text("SECRET_SHAPE = (7, 3)\nraise RuntimeError(f'cases {SECRET_SHAPE} are wrong')\n")
    (demo_course.public_tests_dir("demo") / "test_public_broken.py").write_text("def (:\n")
    result = run(demo_course, demo_course.solution_dir("demo"))
    assert result.status == "grader_error"
    full = "\n".join(result.notes)
    assert "test_hidden_secret_cases.py" in full and "test_public_broken.py" in full
    for policy, shows_hidden in (("pass_fail", False), ("full", True)):
        seen = "\n".join(result.for_student(policy).notes)
        assert ("secret" in seen) is shows_hidden, policy
        assert "test_public_broken.py" in seen, "a public check file's problem is the student's to see"
    assert HIDDEN_PROBLEM_SHOWN in result.for_student("pass_fail").notes


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("hidden", "SECRET_SHAPE = (7, 3)\nraise RuntimeError(f'secret cases {SECRET_SHAPE}')\n"),
        ("hidden", "def pytest_collection_modifyitems(items):\n    raise RuntimeError('secret cases (7, 3)')\n"),
        ("hidden", "def pytest_sessionstart(session):\n    raise RuntimeError('secret cases (7, 3)')\n"),
        ("beside", "raise RuntimeError('secret cases (7, 3)')\n"),
    ],
    ids=["import", "collection-hook", "session-hook", "beside-the-hidden-folder"],
)
def test_a_conftest_near_the_hidden_checks_that_fails_is_named_to_instructors_only(
    demo_course: CourseDir, where: str, source: str
) -> None:
    # pytest loads them before collecting anything: their errors used to escape as an
    # exception whose text (path and message) a batch copied into every student's notes.
    folder = demo_course.solution_dir("demo") / ("hidden" if where == "hidden" else "")
    (folder / "conftest.py").write_text(source)
    result = run(demo_course, demo_course.solution_dir("demo"))
    assert result.status == "grader_error" and result.checks == ()
    assert "secret cases (7, 3)" in "\n".join(result.notes), "the instructor's view names the problem"
    student = result.for_student("pass_fail")
    assert "secret" not in "\n".join(student.notes) and "conftest" not in "\n".join(student.notes)
    assert HIDDEN_PROBLEM_SHOWN in student.notes


def test_a_hidden_check_file_linked_from_elsewhere_is_hidden(demo_course: CourseDir, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "test_linked_secret.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.question('add')\n@pytest.mark.points(1)\n"
        "def test_linked(student):\n"
        "    assert student.add(1, 2) == 4, 'secret case add(1, 2) should be 4'\n"
    )
    (elsewhere / "test_linked_broken.py").write_text("raise RuntimeError('secret cases (7, 3)')\n")
    hidden = demo_course.solution_dir("demo") / "hidden"
    for name in ("test_linked_secret.py", "test_linked_broken.py"):
        (hidden / name).symlink_to(elsewhere / name)
    result = run(demo_course, demo_course.solution_dir("demo"))
    linked = by_name(result)["test_linked"]
    assert linked.visibility == "hidden" and linked.outcome == "failed" and "secret case" in linked.message
    student = result.for_student("pass_fail")
    seen = "\n".join([*student.notes, *(c.message for c in student.checks)])
    assert "secret" not in seen
    assert HIDDEN_PROBLEM_SHOWN in student.notes


def test_a_file_saved_as_utf16_is_told_to_save_as_utf8(demo_course: CourseDir) -> None:
    path = demo_course.root / "work" / "demo.py"
    path.parent.mkdir()
    path.write_bytes(DEMO_SOLUTION.encode("utf-16"))
    result = run(demo_course, path)
    assert result.score == 0
    assert result.checks[0].message.startswith("not run: demo.py did not import")
    note = " ".join(result.notes)
    assert "demo.py could not be imported" in note
    assert "is not UTF-8 text (saved as UTF-16 or another encoding?): save it as UTF-8" in note
    assert "line None" not in note and "null bytes" not in note


def test_a_missing_module_lists_the_files_that_were_found(demo_course: CourseDir) -> None:
    folder = demo_course.root / "work" / "jdoe"
    folder.mkdir(parents=True)
    (folder / "demo_v1.py").write_text(DEMO_SOLUTION)
    (folder / "demo_v2.py").write_text(DEMO_SOLUTION)
    spec = load_spec(demo_course.spec_file("demo"))
    notes = load_submission(folder, spec).notes
    assert notes == (
        "demo.py is missing from the submission (found: demo_v1.py, demo_v2.py): name the file you want graded demo.py",
    )


def test_the_isolation_field_says_when_sandboxes_go_without_a_memory_cgroup(
    demo_course: CourseDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    if bwrap_problem() is not None:
        pytest.skip(f"strict isolation unavailable: {bwrap_problem()}")
    monkeypatch.setattr(cgroups, "availability", lambda: None)
    assert run(demo_course, demo_course.solution_dir("demo")).isolation == "bwrap"
    monkeypatch.setattr(cgroups, "availability", lambda: "no cgroup file system is mounted")
    result = run(demo_course, demo_course.solution_dir("demo"))
    assert result.isolation == "bwrap, no memory cgroup" and result.score == 5
