"""A batch turns one submission's failure into that student's grader error, saying no more to
the student than the hidden-feedback policy allows."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from autograder.batch.pool import GradeTask, _collect
from autograder.grading import GradingJob
from autograder.paths import CourseDir
from autograder.results import HIDDEN_PROBLEM_SHOWN, SubmissionResult
from autograder.spec import load_spec


def failed_task(course: CourseDir, hidden: bool) -> tuple[Future[dict[str, Any]], GradeTask, GradingJob]:
    spec = load_spec(course.spec_file("demo"))
    job = GradingJob.for_assignment(course, spec, hidden=hidden, seed=1)
    task = GradeTask(
        course_root=str(course.root),
        assignment="demo",
        seed=1,
        hidden=hidden,
        isolation_level="bwrap",
        isolation_reason="",
        checks_fingerprint="",
        student="alice",
        source=str(course.root / "alice.py"),
        files={},
        notes=(),
        fingerprint="f",
    )
    future: Future[dict[str, Any]] = Future()
    future.set_exception(RuntimeError("pytest could not run the checks (secret cases (7, 3))"))
    return future, task, job


def test_a_grading_failure_with_hidden_checks_is_named_to_instructors_only(demo_course: CourseDir) -> None:
    got: list[SubmissionResult] = []
    future, task, job = failed_task(demo_course, hidden=True)
    assert _collect(future, task, got.append, Counter(), [], job)
    (result,) = got
    assert result.status == "grader_error" and "secret cases (7, 3)" in "\n".join(result.notes)
    student = result.for_student("pass_fail")
    assert "secret" not in "\n".join(student.notes) and HIDDEN_PROBLEM_SHOWN in student.notes
    assert "secret cases (7, 3)" in "\n".join(result.for_student("full").notes)


def test_without_hidden_checks_the_failure_is_shown_as_it_is(demo_course: CourseDir, tmp_path: Path) -> None:
    got: list[SubmissionResult] = []
    future, task, job = failed_task(demo_course, hidden=False)
    assert _collect(future, task, got.append, Counter(), [], job)
    assert "secret cases (7, 3)" in "\n".join(got[0].for_student("pass_fail").notes)
