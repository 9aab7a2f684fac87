"""One batch run: read the folder, reuse what the cache holds, grade the rest, write every report.

The parent process finds and reads the submissions (never running them),
skips those whose cached result is still valid (:mod:`.cache`) and hands the
rest to an executor (:mod:`.pool`).  Every finished result is written at once,
atomically: ``<student>.json`` (Gradescope's schema), ``<student>.html``, the
instructor's copy, then the cache entry; at the end come ``summary.html``,
``gradebook.csv`` and ``batch.log``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from ..errors import AutograderError, IsolationUnavailable
from ..grading import GradingJob, submission_fingerprint
from ..lateness import Marker
from ..lms import Entry, load_entry
from ..paths import CourseDir
from ..poolserver import start_early
from ..reporting.screen import render_batch_summary
from ..results import SubmissionResult
from ..sandbox.isolation import Isolation
from ..sanitize import file_stem, one_line, printable
from ..spec import AssignmentSpec, load_spec
from ..submission import MAX_ENTRIES, FolderWalk, Submission, load_submission
from .cache import CACHE_DIR, ResultCache, batch_seed, write_atomic
from .ids import check_only, clash_note, read_folder
from .pool import GradeTask, grade_all, grader_error_result

LOG_FILE = "batch.log"


# -- the batch ------------------------------------------------------------------


@dataclass
class Prepared:
    """A submission read in the parent process, ready to grade or found in the cache."""

    student: str
    path: Path
    submission: Submission
    fingerprint: str
    #: Why it is not graded (its result is a grader error saying so); empty for one to grade.
    not_graded: str = ""


@dataclass
class BatchRun:
    """What a batch run did."""

    results: dict[str, SubmissionResult] = field(default_factory=dict)
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    interrupted: bool = False
    wall_seconds: float = 0.0
    out: Path = Path()
    #: Students not in this run whose earlier results are kept in the summary and gradebook.
    kept: list[str] = field(default_factory=list)
    #: Students not in this run whose results and reports ``--prune`` deleted.
    pruned: list[str] = field(default_factory=list)
    #: summary.html or gradebook.csv could not be written (a grader error).
    report_errors: list[str] = field(default_factory=list)
    #: Students not graded because the folder holds several submissions for them (see :mod:`.ids`).
    not_graded: list[str] = field(default_factory=list)


def prepare_one(
    path: Path, student: str, spec: AssignmentSpec, job: GradingJob, entry: Entry | None = None
) -> Prepared:
    """One submission read for grading (``entry``: as an LMS download holds it); never raises
    (but for Ctrl-C)."""
    try:
        if entry is not None and (len(entry.parts) > 1 or entry.parts[0][1]):
            submission = load_entry(entry, spec)
        else:
            submission = load_submission(path, spec, student=student)
        fingerprint = submission_fingerprint(submission, job)
    except Exception as exc:  # a broken submission never stops the batch
        if isinstance(exc, AutograderError):
            message = one_line(exc, 1000)
        else:
            message = f"{one_line(path.name, 100)} could not be read ({one_line(f'{type(exc).__name__}: {exc}', 300)})"
        del exc  # a RecursionError's traceback is thousands of frames: let it go now
        submission = Submission(student=student, source=path, files={}, notes=(message,))
        fingerprint = _raw_fingerprint(path, job.checks_fingerprint, message)
    return Prepared(student, path, submission, fingerprint)


def not_graded(student: str, paths: Sequence[Path], job: GradingJob) -> Prepared:
    """The place of ``student``, whose several submissions ``paths`` are not graded (nothing read)."""
    note = clash_note(student, paths)
    submission = Submission(student=student, source=paths[0], files={}, notes=())
    return Prepared(student, paths[0], submission, _raw_fingerprint(paths[0], job.checks_fingerprint, note), note)


def _raw_fingerprint(path: Path, checks: str, message: str) -> str:
    """A fingerprint of a submission that could not be read: the reason and what ``lstat`` says
    of its entries (names, sizes, times; bounded, no symbolic link followed, nothing read)."""
    h = hashlib.sha256(f"{checks}\0unreadable\0{message}\0".encode("utf-8", "backslashreplace"))
    with contextlib.suppress(OSError):
        st = path.lstat()
        h.update(f"{st.st_mode}:{st.st_size}:{st.st_mtime_ns}\0".encode())
        if path.is_dir() and not path.is_symlink():
            for rel, entry in FolderWalk(path, MAX_ENTRIES):
                with contextlib.suppress(OSError):
                    est = entry.stat(follow_symlinks=False)
                    h.update(rel.encode("utf-8", "backslashreplace"))
                    h.update(f"\0{est.st_mode}:{est.st_size}:{est.st_mtime_ns}\0".encode())
    return h.hexdigest()[:32]


def run_batch(
    course: CourseDir,
    assignment: str,
    submissions: Path,
    *,
    out: Path | None = None,
    jobs: int = 1,
    seed: int | None = None,
    force: bool = False,
    prune: bool = False,
    only: Sequence[str] = (),
    scheduler: str | None = None,
    allow_weak_isolation: bool = False,
    progress: bool = True,
    stream: TextIO | None = None,
    similarity: bool = True,
    lms: str | None = None,
    roster: Path | None = None,
    overrides: Path | None = None,
) -> BatchRun:
    """Grade every submission in ``submissions`` with public and hidden checks; write the reports.

    ``seed`` None: see :func:`batch_seed`.  The summary and gradebook hold every student
    with a result in ``out``, graded in this run or kept from an earlier one (``prune``
    deletes the results and reports of students no longer in ``submissions``).  One
    submission never stops the batch: whatever goes wrong reading, grading or reporting
    it becomes its result, with the reason.  With ``similarity``, also writes the
    similarity report (see :mod:`autograder.similarity`).

    ``only`` (student ids as the gradebook shows them) grades those students again, whatever
    the cache holds, and keeps everyone else's result and reports as they are.

    ``lms`` (``canvas``, ``moodle``, ``classroom``) reads ``submissions`` as that system's
    download (see :mod:`autograder.lms`); ``roster`` adds names, emails and sections;
    the spec's deadline and the ``overrides`` CSV set each late penalty (see
    :mod:`autograder.lateness`): reports and gradebook show raw, penalty and final scores.

    Several submissions for one student (``alice/`` and ``alice.py``) are not graded: that
    student's result is a grader error naming them (see :mod:`.ids`).

    Raises AutograderError for an empty or missing submissions folder, a Canvas download with
    several files per student read without ``lms="canvas"``, or an ``only`` id with no
    submission; IsolationUnavailable unless bubblewrap works here or ``allow_weak_isolation``.
    """
    from ..reporting.gradebook import write_gradebook
    from ..reporting.summary import write_summary_html

    stream = stream or sys.stdout
    start = time.perf_counter()
    spec = load_spec(course.spec_file(assignment))
    out = out or course.reports_dir(spec.name)
    folder = read_folder(submissions, spec, lms, exclude=[out])
    entries, ignored, clashes = folder.entries, folder.ignored, folder.clashes
    paths = [e.path for e in entries]
    ids = {e.path: e.student for e in entries}
    by_path = {e.path: e for e in entries}
    marker = Marker.from_files(entries, lms, spec.deadline, roster=roster, overrides=overrides)
    every_path = paths
    if only:
        if prune:
            raise AutograderError("--only regrades some students and keeps the others: it does not go with --prune")
        check_only(only, folder.students(), submissions)
        paths = [path for path in paths if ids[path] in only]
        clashes = {student: group for student, group in clashes.items() if student in only}
        force = True
    try:
        isolation = Isolation.detect("bwrap")
    except IsolationUnavailable as exc:
        if not allow_weak_isolation:
            raise IsolationUnavailable(
                f"{exc}; batch grading runs untrusted code and needs it "
                "(pass --allow-weak-isolation to grade with resource limits only)"
            ) from None
        isolation = Isolation.detect("auto")
        stream.write(f"warning: weak isolation ({isolation.reason})\n")
    out.mkdir(parents=True, exist_ok=True)
    seed, seed_origin = batch_seed(out, spec.name, seed)
    job = GradingJob.for_assignment(course, spec, hidden=True, seed=seed, isolation=isolation)
    if job.hidden_dir is None:
        stream.write(
            f"warning: no hidden checks in {course.hidden_tests_dir(spec.name)}; grading with the public checks only\n"
        )
    cache = ResultCache(out / CACHE_DIR)
    hidden_feedback = spec.hidden_feedback
    if not scheduler:
        start_early(None if force else cache.folder)

    if ignored:
        names = ", ".join(one_line(p.name, 60) for p in ignored[:5]) + (" ..." if len(ignored) > 5 else "")
        stream.write(f"ignored {len(ignored)} entries that are not submissions: {names}\n")
    for warning in [*marker.warnings, marker.mtime_warning()]:
        if warning:
            stream.write(one_line(warning if warning.startswith("warning:") else f"warning: {warning}", 1000) + "\n")
    if clashes:
        shown = ", ".join(one_line(s, 60) for s in list(clashes)[:5]) + (" ..." if len(clashes) > 5 else "")
        stream.write(
            f"warning: not graded, more than one submission in the folder: {shown}; each one's report "
            "says which, keep one and run again with --only\n"
        )
    prepared = [prepare_one(path, ids[path], spec, job, by_path[path]) for path in paths]
    prepared += [not_graded(student, group, job) for student, group in clashes.items()]

    batch = BatchRun(out=out, not_graded=list(clashes))
    todo: list[Prepared] = []
    for p in prepared:
        cached = None if force or p.not_graded else cache.load(p.student, p.fingerprint, isolation.level)
        if cached is not None and cached.status == "ok":
            try:
                marked = marker.apply(cached)
                if (marked.lms, marked.lateness) != (cached.lms, cached.lateness):  # a new roster, overrides, deadline
                    cached = marked
                    write_reports(cached, out, hidden_feedback)
                    cache.store(cached)
                _ensure_reports(cached, out, hidden_feedback)
            except Exception as exc:  # the reports of one student never stop the batch
                cached = _reporting_failed(cached, exc)
                batch.failed.append(p.student)
            batch.results[p.student] = cached
            batch.skipped.append(p.student)
        else:
            todo.append(p)
    present = {p.student for p in prepared}
    earlier = {s: r for s, r in cache.every_result(spec.name).items() if s not in present}
    if prune:
        for student in earlier:
            for path in report_files(student, out):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        batch.pruned = sorted(earlier)
        earlier = {}
    batch.kept = sorted(earlier)
    stream.write(
        printable(
            f"{spec.name}: {len(prepared)} submissions, {len(batch.skipped)} unchanged "
            f"(skipped), {len(todo)} to grade with {jobs if not scheduler else 'Dask'} "
            f"job{'s' if jobs != 1 or scheduler else ''} (seed {seed}, {seed_origin}; isolation "
            f"{isolation.level})\n"
            + (
                f"kept the results of {len(earlier)} other students (--only)\n"
                if earlier and only
                else f"kept the results of {len(earlier)} students not in this folder (--prune drops them)\n"
                if earlier
                else ""
            )
            + (f"pruned {len(batch.pruned)} students no longer in this folder\n" if batch.pruned else ""),
            None,
        )
    )
    stream.flush()

    log = _BatchLog(out / LOG_FILE)
    log.line(
        f"batch {spec.name}: {len(prepared)} submissions, {len(todo)} to grade, "
        f"seed {seed} ({seed_origin}), isolation {isolation.level}, jobs {jobs}, scheduler {scheduler}"
    )
    for student in batch.pruned:
        log.line(f"{student}: pruned (no longer in {submissions})")

    def finished(result: SubmissionResult) -> None:
        # Reports first, the cache entry last: a result is "done" once it is cached.
        try:
            result = marker.apply(result)
            write_reports(result, out, hidden_feedback)
            cache.store(result)
        except Exception as exc:  # one submission's reports never stop the batch
            result = _reporting_failed(result, exc)
        batch.results[result.student] = result
        batch.graded.append(result.student)
        if result.status != "ok":
            batch.failed.append(result.student)
        log.line(
            f"{result.student}: {result.status} {result.score:g}/{result.max_score:g} "
            f"in {result.duration:.2f}s" + "".join(f"; {n}" for n in result.notes[:3])
        )

    for p in todo:
        if p.not_graded:
            finished(grader_error_result(_task(course, spec, job, p), job, p.not_graded))
    tasks = [_task(course, spec, job, p) for p in todo if not p.not_graded]

    def compare_class() -> tuple[dict[str, tuple[float, str]] | None, str]:
        from ..similarity import similarity_for_batch

        # The whole folder, also with --only: a regraded student's code may match anyone's.
        everyone = (
            prepared if every_path is paths else [prepare_one(q, ids[q], spec, job, by_path[q]) for q in every_path]
        )
        said = io.StringIO()
        return similarity_for_batch(course, spec, [p.submission for p in everyone], out, said), said.getvalue()

    # Beside the grading, not after it: they need the submissions only, and would be the tail.
    background = ThreadPoolExecutor(1, thread_name_prefix="batch-background")
    comparing = background.submit(compare_class) if similarity else None
    if tasks:
        background.submit(importlib.import_module, "pandas")  # for the gradebook (0.25 s)
    try:
        if tasks:
            batch.interrupted = grade_all(tasks, jobs, scheduler, finished, job, progress=progress)
    finally:
        log.close()
        background.shutdown(wait=False)
    batch.wall_seconds = time.perf_counter() - start
    if batch.interrupted:
        stream.write(
            f"\ninterrupted: {len(batch.graded)} graded and saved in this run; "
            "run the same command again to grade the rest\n"
        )
        return batch
    ordered = [batch.results[p.student] for p in prepared if p.student in batch.results]
    ordered += [earlier[s] for s in sorted(earlier)]
    questions = [q.name for q in spec.questions]
    similar = None
    if comparing is not None:
        try:
            similar, said = comparing.result()
            stream.write(said)
        except Exception as exc:  # the similarity report failing must not lose the grades
            batch.report_errors.append(f"similarity.html: {one_line(f'{type(exc).__name__}: {exc}', 300)}")
            stream.write(f"grader error: similarity.html could not be written ({batch.report_errors[-1]})\n")
    similarity_href = None if similar is None else "similarity.html"
    for name, write in (
        (
            "summary.html",
            lambda: write_summary_html(
                ordered,
                out / "summary.html",
                assignment=spec.name,
                title=spec.title,
                report_links=True,
                similarity_href=similarity_href,
            ),
        ),
        (
            "gradebook.csv",
            lambda: write_gradebook(ordered, out / "gradebook.csv", questions=questions, similarity=similar),
        ),
    ):
        try:
            write()
        except Exception as exc:  # one page failing must not lose the other
            batch.report_errors.append(f"{name}: {one_line(f'{type(exc).__name__}: {exc}', 300)}")
            stream.write(f"grader error: {name} could not be written ({batch.report_errors[-1]})\n")
    stream.write(printable(render_batch_summary(batch, ordered, spec, isolation, jobs, seed), None))
    return batch


def _task(course: CourseDir, spec: AssignmentSpec, job: GradingJob, p: Prepared) -> GradeTask:
    return GradeTask(
        course_root=str(course.root.resolve()),
        assignment=spec.name,
        seed=job.seed,
        hidden=job.hidden_dir is not None,
        isolation_level=job.isolation.level,
        isolation_reason=job.isolation.reason,
        checks_fingerprint=job.checks_fingerprint,
        student=p.student,
        source=str(p.path),
        files=dict(p.submission.files),
        notes=tuple(p.submission.notes),
        fingerprint=p.fingerprint,
    )


#: Folder (inside a batch's output) of the instructor's copy of every report: nothing removed.
INSTRUCTOR_DIR = "instructor"


def write_reports(result: SubmissionResult, out: Path, hidden_feedback: str) -> None:
    """``<student>.html`` and ``<student>.json`` (Gradescope) for one result, atomically: the
    student's view under the ``hidden_feedback`` policy, and an instructor copy of the HTML
    with everything in ``instructor/``."""
    from ..reporting.gradescope import to_gradescope
    from ..reporting.html_report import render_student_html

    stem = file_stem(result.student)
    view = result.for_student(hidden_feedback)
    write_atomic(out / f"{stem}.json", json.dumps(to_gradescope(view)))
    write_atomic(out / f"{stem}.html", render_student_html(view))
    (out / INSTRUCTOR_DIR).mkdir(exist_ok=True)
    write_atomic(out / INSTRUCTOR_DIR / f"{stem}.html", render_student_html(result))


def report_files(student: str, out: Path) -> list[Path]:
    """The files of ``student`` in the output folder ``out``: the student's reports, the
    instructor's copy and the cache entry."""
    stem = file_stem(student)
    return [
        out / f"{stem}.html",
        out / f"{stem}.json",
        out / INSTRUCTOR_DIR / f"{stem}.html",
        out / CACHE_DIR / f"{stem}.json",
    ]


def _ensure_reports(result: SubmissionResult, out: Path, hidden_feedback: str) -> None:
    if not all(p.is_file() for p in report_files(result.student, out)[:3]):
        write_reports(result, out, hidden_feedback)


def _reporting_failed(result: SubmissionResult, exc: BaseException) -> SubmissionResult:
    """``result`` marked as a grader error because its reports could not be written (it is not
    cached, so the next run grades it again)."""
    reason = one_line(f"{type(exc).__name__}: {exc}", 300)
    return replace(
        result,
        status="grader_error",
        notes=(*result.notes, f"grader error: the reports could not be written ({reason}); not the student's fault"),
    )


class _BatchLog:
    """``batch.log``: one line per event, appended."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", encoding="utf-8", errors="backslashreplace")

    def line(self, text: str) -> None:
        """One line, whatever ``text`` holds: control characters and escapes are made visible."""
        self._file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {one_line(text, 4000)}\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
