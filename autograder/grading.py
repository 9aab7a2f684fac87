"""Grade one submission: start its sandbox, run the checks through pytest, score the records."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import pytest

from .checkrun import checks_digest, hermetic_pytest, pytest_args, run_collected
from .errors import GraderError
from .paths import CourseDir
from .plugin import GradingPlugin
from .references import clear_reference_cache
from .results import CheckResult, SubmissionResult
from .sandbox.cgroups import isolation_label
from .sandbox.client import Sandbox, SandboxConfig, WorkerSandbox
from .sandbox.isolation import Isolation
from .scoring import score_questions
from .spec import AssignmentSpec, load_spec
from .submission import Submission, load_submission

__all__ = [
    "DEFAULT_SEED",
    "GradingJob",
    "grade",
    "grade_path",
    "run_checks",
    "submission_fingerprint",
]

#: Seed used for public checks when none is given: students see the same cases every run.
DEFAULT_SEED = 0


@dataclass(frozen=True)
class GradingJob:
    """What to grade with: the spec, which check folders, the seed and the isolation."""

    spec: AssignmentSpec
    test_dirs: tuple[Path, ...]
    hidden_dir: Path | None
    seed: int = DEFAULT_SEED
    isolation: Isolation = field(default_factory=lambda: Isolation("rlimits", "default"))

    @classmethod
    def for_assignment(
        cls,
        course: CourseDir,
        spec: AssignmentSpec,
        *,
        hidden: bool,
        seed: int = DEFAULT_SEED,
        isolation: Isolation | None = None,
    ) -> GradingJob:
        dirs = [course.public_tests_dir(spec.name)]
        hidden_dir = course.hidden_tests_dir(spec.name) if hidden else None
        if hidden_dir is not None and hidden_dir.is_dir():
            dirs.append(hidden_dir)
        else:
            hidden_dir = None
        return cls(
            spec=spec,
            test_dirs=tuple(d for d in dirs if d.is_dir()),
            hidden_dir=hidden_dir,
            seed=seed,
            isolation=isolation or Isolation.detect("auto"),
        )

    def sandbox_config(self) -> SandboxConfig:
        limits = self.spec.limits
        return SandboxConfig(
            call_timeout=limits.call_timeout,
            memory_mb=limits.memory_mb,
            cpu_seconds=limits.cpu_seconds,
            output_chars=limits.output_chars,
            forbidden=self.spec.forbidden_imports,
            isolation=self.isolation,
        )

    @cached_property
    def checks_fingerprint(self) -> str:
        """Hash of every check file and of the spec, with the seed; read once per job."""
        h = hashlib.sha256(f"seed={self.seed}\0{checks_digest(self.test_dirs)}".encode())
        h.update(self.spec.path.read_bytes())
        return h.hexdigest()


def submission_fingerprint(submission: Submission, job: GradingJob) -> str:
    h = hashlib.sha256(job.checks_fingerprint.encode())
    for name in sorted(submission.files):
        h.update(name.encode() + b"\0" + submission.files[name])
    return h.hexdigest()[:32]


def grade_path(
    path: Path,
    assignment: str | AssignmentSpec,
    *,
    hidden: bool,
    seed: int = DEFAULT_SEED,
    course: CourseDir | None = None,
    student: str | None = None,
    isolation: Isolation | None = None,
    fork: bool = False,
) -> SubmissionResult:
    """Grade the submission at ``path`` (a ``.py`` file, a folder, a ``.zip`` or a notebook) for
    ``assignment`` (its name in ``course``, or its spec) in a new sandbox worker.

    The public checks run, and the hidden ones too when ``hidden``; ``seed`` drives the
    randomised cases.  ``course`` is the course the working folder is in unless given;
    ``student`` names the result (default: from the file name); ``isolation`` is the
    strongest available unless given; ``fork`` as for :func:`grade`.  The result is the
    full one, hidden details included: :meth:`SubmissionResult.for_student` gives what a
    student may see.  Raises AutograderError (no such assignment, an unreadable
    submission) for what the caller can fix.
    """
    course = course if course is not None else CourseDir.discover()
    spec = assignment if isinstance(assignment, AssignmentSpec) else load_spec(course.spec_file(assignment))
    submission = load_submission(Path(path), spec, student=student)
    job = GradingJob.for_assignment(course, spec, hidden=hidden, seed=seed, isolation=isolation)
    return grade(submission, job, fork=fork)


def grade(
    submission: Submission,
    job: GradingJob,
    sandbox: Sandbox | None = None,
    *,
    plugins: Sequence[object] = (),
    fork: bool = False,
    questions: Collection[str] | None = None,
    stop_at_first_failure: bool = False,
) -> SubmissionResult:
    """Grade ``submission``; the student's code runs only inside ``sandbox`` (a new worker by default).

    ``plugins`` are extra pytest plugins for this run.
    ``fork`` lets the new worker come from this process's fork server (see
    :mod:`.sandbox.forkserver`): worth it when one process grades many submissions.
    ``questions`` runs only the checks of those questions, and ``stop_at_first_failure``
    ends the run at the first check that does not pass (``grade verify``'s mutants: one
    lost check kills a mutant).  Neither goes with ``plugins``.
    """
    start = time.perf_counter()
    box: Sandbox = (
        sandbox
        if sandbox is not None
        else WorkerSandbox(submission.files, job.spec.modules, job.sandbox_config(), fork=fork)
    )
    try:
        box.start()
        checks, errors = run_checks(
            box,
            job.test_dirs,
            job.seed,
            job.hidden_dir,
            plugins=plugins,
            questions=questions,
            stop_at_first_failure=stop_at_first_failure,
        )
        notes = list(submission.notes) + box.load_problems()
    finally:
        if sandbox is None:
            box.close()
    status: Literal["ok", "grader_error"] = "ok"
    if errors:
        notes += [f"grader error: {e}" for e in errors]
        status = "grader_error"
    return SubmissionResult(
        assignment=job.spec.name,
        student=submission.student,
        seed=job.seed,
        checks=tuple(checks),
        questions=score_questions(job.spec, checks),
        status=status,
        notes=tuple(notes),
        isolation=isolation_label(box.isolation_level),
        hidden=job.hidden_dir is not None,
        duration=round(time.perf_counter() - start, 4),
        fingerprint=submission_fingerprint(submission, job),
    )


def run_checks(
    sandbox: Sandbox,
    test_dirs: Sequence[Path],
    seed: int,
    hidden_dir: Path | None,
    *,
    plugins: Sequence[object] = (),
    questions: Collection[str] | None = None,
    stop_at_first_failure: bool = False,
) -> tuple[list[CheckResult], list[str]]:
    """Run the pytest checks in ``test_dirs`` in this process against ``sandbox``.

    ``plugins`` are extra pytest plugins registered for this run only (they
    exclude ``questions``, which selects the checks of those questions, and
    ``stop_at_first_failure``, which ends the run at the first check not passed).

    Returns the check results and problems of the checks themselves (collection
    errors, pytest failing to run), which are grader errors.
    """
    if not test_dirs:
        return [], ["no check folders found"]
    if not plugins:
        # Configured and collected once per process, re-run here (see checkrun.py).
        return run_collected(sandbox, test_dirs, seed, hidden_dir, questions, stop_at_first_failure)
    if questions is not None or stop_at_first_failure:
        raise ValueError("questions and stop_at_first_failure are for the collected session only, not with plugins")
    plugin = GradingPlugin(sandbox, seed, hidden_dir)
    try:
        with hermetic_pytest():
            code = pytest.main(pytest_args(test_dirs), plugins=[plugin, *plugins])
    finally:
        clear_reference_cache()  # this run's check modules are not kept, nor their references
    problems = list(plugin.collection_errors)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not problems:
        if code == pytest.ExitCode.INTERRUPTED:
            raise KeyboardInterrupt
        if code == pytest.ExitCode.NO_TESTS_COLLECTED:
            problems.append(f"no checks found in {', '.join(map(str, test_dirs))}")
        else:
            raise GraderError(f"pytest could not run the checks (exit code {int(code)})")
    return plugin.results, problems
