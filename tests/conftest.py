"""Shared fixtures for the engine's tests: the course in this repository and a way to grade a path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from autograder.grading import GradingJob, grade
from autograder.paths import CourseDir
from autograder.results import SubmissionResult
from autograder.spec import load_spec
from autograder.submission import load_submission

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture(scope="session")
def course() -> CourseDir:
    return CourseDir(REPO)


@pytest.fixture(scope="session")
def grade_path(course: CourseDir) -> Callable[..., SubmissionResult]:
    """``grade_path("assignment3", path, hidden=True, seed=0)`` grades a file or folder in-process."""

    def run(assignment: str, path: Path, *, hidden: bool = True, seed: int = 0) -> SubmissionResult:
        spec = load_spec(course.spec_file(assignment))
        job = GradingJob.for_assignment(course, spec, hidden=hidden, seed=seed)
        return grade(load_submission(Path(path), spec), job)

    return run
