"""Grade every submission in a folder: an executor of sandboxed gradings, a result cache, progress, reports.

The parent process finds and reads the submissions, skips those whose cached
result is still valid, and hands the rest to a ``concurrent.futures`` executor:
a local process pool by default, a Dask cluster with ``--scheduler``.  Each
executor process imports torch once, keeps its pytest session of the checks
(see :mod:`autograder.checkrun`) and grades one submission at a time, each in a
fresh sandbox worker.  Only plain data crosses: a :class:`GradeTask` in, a
``SubmissionResult.to_dict()`` out.  With Dask, the workers must see the course
folder at the same path (a shared file system); the submissions travel in the task.

Every finished result is written at once, atomically (temporary file, rename):
``<out>/.cache/<student>.json`` (the full result, keyed by its fingerprint),
``<student>.json`` (Gradescope's schema) and ``<student>.html``.  Ctrl-C therefore
leaves a state that the next run resumes.  At the end come ``summary.html``,
``gradebook.csv`` and ``batch.log``.

A cached result is reused only when its fingerprint (submission files, check
files, spec, seed) and isolation level match and it reads back cleanly; a
result that ended in a grader error is graded again.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import hashlib
import json
import multiprocessing
import os
import secrets
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError, Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from .errors import AutograderError, ExitCode, IsolationUnavailable
from .grading import GradingJob, grade, submission_fingerprint
from .lateness import Marker
from .lms import Entry, load_entry, read_submissions
from .paths import CourseDir
from .results import SubmissionResult, Timing
from .sandbox.client import CallOutcome, Sandbox, WorkerSandbox
from .sandbox.isolation import Isolation
from .sanitize import file_stem, one_line, printable
from .spec import AssignmentSpec, load_spec
from .students import discover_submissions as discover_submissions  # tests and callers import it from here
from .students import student_ids
from .submission import MAX_ENTRIES, FolderWalk, Submission, load_submission

CACHE_DIR = ".cache"
LOG_FILE = "batch.log"
#: A task whose executor process died is retried this many times before it is a grader error.
MAX_ATTEMPTS = 2


# -- the cache ------------------------------------------------------------------


class ResultCache:
    """Results of earlier runs under ``<out>/.cache``, one JSON file per student."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, student: str) -> Path:
        return self.folder / f"{file_stem(student)}.json"

    def every_result(self, assignment: str) -> dict[str, SubmissionResult]:
        """Every result in the cache for ``assignment`` that reads back cleanly, by student."""
        found: dict[str, SubmissionResult] = {}
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                result = SubmissionResult.from_dict(data["result"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
            if result.assignment == assignment and self.path(result.student) == path:
                found[result.student] = result
        return found

    def load(self, student: str, fingerprint: str, isolation: str) -> SubmissionResult | None:
        """The cached result if it is for this fingerprint and isolation level and reads back
        cleanly; None otherwise (a damaged file is never trusted)."""
        try:
            data = json.loads(self.path(student).read_text(encoding="utf-8"))
            if data.get("fingerprint") != fingerprint:
                return None
            result = SubmissionResult.from_dict(data["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if result.fingerprint != fingerprint or result.student != student or result.isolation != isolation:
            return None
        return result

    def store(self, result: SubmissionResult) -> None:
        data = {"fingerprint": result.fingerprint, "result": result.to_dict()}
        write_atomic(self.path(result.student), json.dumps(data))


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# -- what an executor process runs ------------------------------------------------


@dataclass(frozen=True)
class GradeTask:
    """Everything an executor process needs to grade one submission (plain, picklable data)."""

    course_root: str
    assignment: str
    seed: int
    hidden: bool
    isolation_level: str
    isolation_reason: str
    #: Hash of the checks and the spec: a long-lived worker rebuilds its job when it changes.
    checks_fingerprint: str
    student: str
    source: str
    files: dict[str, bytes]
    notes: tuple[str, ...]
    fingerprint: str


class TimedSandbox:
    """A sandbox wrapper that adds up how long the student's code ran (and the wait for it)."""

    def __init__(self, inner: Sandbox | WorkerSandbox) -> None:
        self.inner = inner
        self.isolation_level: str = inner.isolation_level
        self.student_seconds = 0.0
        self.sandbox_seconds = 0.0
        self.calls = 0
        self.sandbox_cpu: float | None = None

    def start(self) -> None:
        self.inner.start()

    def call(self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallOutcome:
        t0 = time.perf_counter()
        outcome = self.inner.call(function, args, kwargs)
        self.sandbox_seconds += time.perf_counter() - t0
        self.student_seconds += outcome.elapsed
        self.calls += 1
        return outcome

    def load_problems(self) -> list[str]:
        t0 = time.perf_counter()
        try:
            return self.inner.load_problems()
        finally:
            self.sandbox_seconds += time.perf_counter() - t0

    def close(self) -> None:
        self.inner.close()
        self.sandbox_cpu = getattr(self.inner, "cpu_seconds", None)


_worker_lock = threading.Lock()
_jobs: dict[tuple[Any, ...], GradingJob] = {}
_busy = False
_interrupted = False


def warm_up(task: GradeTask | None = None) -> None:
    """Pay the start-up once per executor process: torch, NumPy, pytest and the engine, and
    with ``task`` (any of the batch's) its checks, collected, and its sandbox's fork server."""
    import numpy  # noqa: F401
    import torch

    from . import checkrun, plugin  # noqa: F401
    from .sandbox import forkserver

    # One grading per process at a time: torch's own thread pool only competes with
    # the other processes for the cores.
    torch.set_num_threads(1)
    if task is None:
        return
    try:
        job = _job_for(task)
        checkrun.prepare(job.test_dirs, job.hidden_dir)
        server = forkserver.acquire(job.sandbox_config())
        if server is not None:
            forkserver.release(server)
    except Exception:  # the first submission graded reports what is wrong
        pass


def _init_local_worker(task: GradeTask | None) -> None:
    """Initializer of a local pool process: Ctrl-C aborts the current grading, nothing else."""
    signal.signal(signal.SIGINT, _on_sigint)
    warm_up(task)


def _on_sigint(signum: int, frame: Any) -> None:
    global _interrupted
    if _busy and not _interrupted:
        _interrupted = True
        raise KeyboardInterrupt


def _job_for(task: GradeTask) -> GradingJob:
    key = (task.course_root, task.assignment, task.seed, task.hidden, task.isolation_level, task.checks_fingerprint)
    job = _jobs.get(key)
    if job is None:
        course = CourseDir(Path(task.course_root))
        spec = load_spec(course.spec_file(task.assignment))
        job = GradingJob.for_assignment(
            course,
            spec,
            hidden=task.hidden,
            seed=task.seed,
            isolation=Isolation(task.isolation_level, task.isolation_reason),  # type: ignore[arg-type]
        )
        _jobs[key] = job
    return job


def grade_task(task: GradeTask) -> dict[str, Any]:
    """Grade one submission in this (executor) process; returns ``SubmissionResult.to_dict()``.

    The student's code runs in a new sandbox worker; this process only runs the checks.
    """
    global _busy
    with _worker_lock:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        _busy = True
        try:
            if _interrupted:
                raise KeyboardInterrupt
            job = _job_for(task)
            submission = Submission(
                student=task.student, source=Path(task.source), files=dict(task.files), notes=tuple(task.notes)
            )
            box = TimedSandbox(WorkerSandbox(submission.files, job.spec.modules, job.sandbox_config(), fork=True))
            try:
                result = grade(submission, job, box)
            finally:
                box.close()
        finally:
            _busy = False
        timing = Timing(
            # wall seconds: the whole task, inside the student's calls, inside the sandbox
            task=round(time.perf_counter() - t0, 4),
            student=round(box.student_seconds, 4),
            sandbox=round(box.sandbox_seconds, 4),
            # CPU seconds: this process (pytest, references, verdicts) and the sandbox
            # worker alive at the end (interpreter start-up, imports, the student's code)
            cpu_harness=round(time.process_time() - cpu0, 4),
            cpu_sandbox=None if box.sandbox_cpu is None else round(box.sandbox_cpu, 4),
            calls=box.calls,
            pid=os.getpid(),
        )
    result = replace(result, fingerprint=task.fingerprint, timing=timing)
    return result.to_dict()


# -- executors ------------------------------------------------------------------


@contextlib.contextmanager
def open_executor(jobs: int, scheduler: str | None = None, warm: GradeTask | None = None) -> Iterator[Executor]:
    """A local process pool of ``jobs`` processes, or an executor on the Dask cluster at
    ``scheduler``, each process warmed up (:func:`warm_up`) for ``warm``'s batch; shut down
    (pending work cancelled) on exit."""
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise AutograderError("--scheduler needs Dask: pip install 'autograder[dask]'") from None
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise AutograderError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            client.run(warm_up, warm)
            yield client.get_executor(pure=False)
        finally:
            client.close()
        return
    pool = ProcessPoolExecutor(
        max_workers=max(1, jobs),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_local_worker,
        initargs=(warm,),
    )
    try:
        yield pool
    except BaseException:
        _interrupt_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _interrupt_workers(executor: Executor) -> None:
    """Forward Ctrl-C to local pool processes (a terminal does so itself; ``kill -INT`` does not)."""
    processes = getattr(executor, "_processes", None) or {}
    for proc in list(processes.values()):
        with contextlib.suppress(OSError, AttributeError, TypeError):
            os.kill(proc.pid, signal.SIGINT)


# -- the batch ------------------------------------------------------------------


@dataclass
class Prepared:
    """A submission read in the parent process, ready to grade or found in the cache."""

    student: str
    path: Path
    submission: Submission
    fingerprint: str


@dataclass
class BatchOutcome:
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


def prepare(paths: Sequence[Path], spec: AssignmentSpec, job: GradingJob) -> list[Prepared]:
    """Read every submission (never running it); an unreadable one, or one that breaks the
    reader in any way, becomes an empty one with a note saying why."""
    ids = student_ids(paths, hints=[spec.name, *(m.rsplit(".", 1)[0] for m in spec.modules)])
    return [prepare_one(path, ids[path], spec, job) for path in paths]


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


#: Per output folder: the seed of its batch, reused by the next run unless ``--seed`` is given.
STATE_FILE = "batch-state.txt"


def batch_seed(out: Path, assignment: str, seed: int | None) -> tuple[int, str]:
    """(seed, where it comes from) for a batch writing to ``out``.

    ``seed`` when given.  Otherwise the seed recorded in ``out`` by an earlier run for
    the same assignment, so a resumed or repeated run reuses the cached results;
    otherwise a new random one, so hidden cases cannot be known in advance.  The
    seed used is recorded in ``out`` for the next run.
    """
    state = out / CACHE_DIR / STATE_FILE
    origin = "--seed"
    if seed is None:
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            data = json.loads(state.read_text(encoding="utf-8"))
            if data.get("assignment") == assignment and isinstance(data.get("seed"), int):
                seed, origin = int(data["seed"]), "reused from the earlier run of this output folder"
    if seed is None:
        seed, origin = secrets.randbelow(2**31), "random"
    write_atomic(state, json.dumps({"assignment": assignment, "seed": seed}))
    return seed, origin


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
) -> BatchOutcome:
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

    Raises AutograderError for an empty or missing submissions folder, the same student
    twice, or an ``only`` id with no submission; IsolationUnavailable unless bubblewrap works
    here or ``allow_weak_isolation``.
    """
    from .reporting.gradebook import write_gradebook
    from .reporting.summary import write_summary_html

    stream = stream or sys.stdout
    start = time.perf_counter()
    spec = load_spec(course.spec_file(assignment))
    out = out or course.reports_dir(spec.name)
    entries, ignored = read_submissions(submissions, spec, lms, exclude=[out])
    paths = [e.path for e in entries]
    ids = {e.path: e.student for e in entries}
    by_path = {e.path: e for e in entries}
    marker = Marker.from_files(entries, lms, spec.deadline, roster=roster, overrides=overrides)
    every_path = paths
    if only:
        if prune:
            raise AutograderError("--only regrades some students and keeps the others: it does not go with --prune")
        unknown = sorted(set(only) - set(ids.values()))
        if unknown:
            near = {u: difflib.get_close_matches(u, list(ids.values()), n=1) for u in unknown}
            listed = ", ".join(
                one_line(u, 80) + (f" (did you mean {one_line(near[u][0], 80)}?)" if near[u] else "") for u in unknown
            )
            raise AutograderError(f"--only: no submission in {one_line(submissions)} for {listed}")
        paths = [path for path in paths if ids[path] in only]
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

    if ignored:
        names = ", ".join(one_line(p.name, 60) for p in ignored[:5]) + (" ..." if len(ignored) > 5 else "")
        stream.write(f"ignored {len(ignored)} entries that are not submissions: {names}\n")
    for warning in [*marker.warnings, marker.mtime_warning()]:
        if warning:
            stream.write(one_line(warning if warning.startswith("warning:") else f"warning: {warning}", 1000) + "\n")
    prepared = [prepare_one(path, ids[path], spec, job, by_path[path]) for path in paths]

    outcome = BatchOutcome(out=out)
    todo: list[Prepared] = []
    for p in prepared:
        cached = None if force else cache.load(p.student, p.fingerprint, isolation.level)
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
                outcome.failed.append(p.student)
            outcome.results[p.student] = cached
            outcome.skipped.append(p.student)
        else:
            todo.append(p)
    present = {p.student for p in prepared}
    earlier = {s: r for s, r in cache.every_result(spec.name).items() if s not in present}
    if prune:
        for student in earlier:
            for path in report_files(student, out):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        outcome.pruned = sorted(earlier)
        earlier = {}
    outcome.kept = sorted(earlier)
    stream.write(
        printable(
            f"{spec.name}: {len(prepared)} submissions, {len(outcome.skipped)} unchanged "
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
            + (f"pruned {len(outcome.pruned)} students no longer in this folder\n" if outcome.pruned else ""),
            None,
        )
    )
    stream.flush()

    log = _BatchLog(out / LOG_FILE)
    log.line(
        f"batch {spec.name}: {len(prepared)} submissions, {len(todo)} to grade, "
        f"seed {seed} ({seed_origin}), isolation {isolation.level}, jobs {jobs}, scheduler {scheduler}"
    )
    for student in outcome.pruned:
        log.line(f"{student}: pruned (no longer in {submissions})")

    def finished(result: SubmissionResult) -> None:
        # Reports first, the cache entry last: a result is "done" once it is cached.
        try:
            result = marker.apply(result)
            write_reports(result, out, hidden_feedback)
            cache.store(result)
        except Exception as exc:  # one submission's reports never stop the batch
            result = _reporting_failed(result, exc)
        outcome.results[result.student] = result
        outcome.graded.append(result.student)
        if result.status != "ok":
            outcome.failed.append(result.student)
        log.line(
            f"{result.student}: {result.status} {result.score:g}/{result.max_score:g} "
            f"in {result.duration:.2f}s" + "".join(f"; {n}" for n in result.notes[:3])
        )

    tasks = [_task(course, spec, job, p) for p in todo]
    try:
        if tasks:
            outcome.interrupted = _grade_all(tasks, jobs, scheduler, finished, job, progress=progress)
    finally:
        log.close()
    outcome.wall_seconds = time.perf_counter() - start
    if outcome.interrupted:
        stream.write(
            f"\ninterrupted: {len(outcome.graded)} graded and saved in this run; "
            "run the same command again to grade the rest\n"
        )
        return outcome
    ordered = [outcome.results[p.student] for p in prepared if p.student in outcome.results]
    ordered += [earlier[s] for s in sorted(earlier)]
    questions = [q.name for q in spec.questions]
    similar = None
    if similarity:
        from .similarity import similarity_for_batch

        try:
            # The whole folder, also with --only: a regraded student's code may match anyone's.
            everyone = (
                prepared if every_path is paths else [prepare_one(q, ids[q], spec, job, by_path[q]) for q in every_path]
            )
            similar = similarity_for_batch(course, spec, [p.submission for p in everyone], out, stream)
        except Exception as exc:  # the similarity report failing must not lose the grades
            outcome.report_errors.append(f"similarity.html: {one_line(f'{type(exc).__name__}: {exc}', 300)}")
            stream.write(f"grader error: similarity.html could not be written ({outcome.report_errors[-1]})\n")
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
            outcome.report_errors.append(f"{name}: {one_line(f'{type(exc).__name__}: {exc}', 300)}")
            stream.write(f"grader error: {name} could not be written ({outcome.report_errors[-1]})\n")
    stream.write(printable(render_screen_summary(outcome, ordered, spec, isolation, jobs, seed), None))
    return outcome


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


def _grade_all(
    tasks: list[GradeTask],
    jobs: int,
    scheduler: str | None,
    finished: Callable[[SubmissionResult], None],
    job: GradingJob,
    *,
    progress: bool,
) -> bool:
    """Grade ``tasks`` through the executor, calling ``finished`` per result; True if interrupted."""
    from tqdm import tqdm

    attempts: Counter[str] = Counter()
    pending = list(tasks)
    bar = tqdm(
        total=len(tasks),
        unit="sub",
        desc="grading",
        disable=not progress,
        dynamic_ncols=True,
        smoothing=0.05,
        file=sys.stderr,
    )
    try:
        while pending:
            retry: list[GradeTask] = []
            warm = replace(pending[0], files={}, student="", source="")
            with open_executor(jobs, scheduler, warm) as executor:
                futures: dict[Future[dict[str, Any]], GradeTask] = {executor.submit(grade_task, t): t for t in pending}
                handled: set[Future[dict[str, Any]]] = set()
                try:
                    for fut in as_completed(futures):
                        handled.add(fut)
                        if _collect(fut, futures[fut], finished, attempts, retry, job):
                            bar.update(1)
                            bar.set_postfix_str(one_line(futures[fut].student, 40), refresh=False)
                except KeyboardInterrupt:
                    for fut in futures:
                        fut.cancel()
                    _interrupt_workers(executor)
                    _drain(futures, handled, finished, job)
                    return True
            pending = retry
    finally:
        bar.close()
    return False


def _collect(
    fut: Future[dict[str, Any]],
    task: GradeTask,
    finished: Callable[[SubmissionResult], None],
    attempts: Counter[str],
    retry: list[GradeTask],
    job: GradingJob,
) -> bool:
    """Handle one finished future; True when the submission is done (graded or given up)."""
    try:
        data = fut.result()
        result = SubmissionResult.from_dict(data)
    except BrokenProcessPool:
        attempts[task.student] += 1
        if attempts[task.student] < MAX_ATTEMPTS:
            retry.append(task)
            return False
        result = grader_error_result(task, job, "the grading process died twice on this submission")
    except CancelledError:
        return False
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one submission's failure is its grader error
        result = grader_error_result(task, job, f"{type(exc).__name__}: {exc}")
    finished(result)
    return True


def _drain(
    futures: Mapping[Future[dict[str, Any]], GradeTask],
    handled: set[Any],
    finished: Callable[[SubmissionResult], None],
    job: GradingJob,
) -> None:
    """After Ctrl-C: keep the results that finished cleanly in the meantime."""
    for fut in futures:
        if fut in handled or not fut.done() or fut.cancelled():
            continue
        with contextlib.suppress(BaseException):
            if fut.exception(timeout=0) is None:
                finished(SubmissionResult.from_dict(fut.result()))


def grader_error_result(task: GradeTask, job: GradingJob, message: str) -> SubmissionResult:
    """A result that says the grader, not the student, failed on this submission."""
    return SubmissionResult(
        assignment=task.assignment,
        student=task.student,
        seed=task.seed,
        checks=(),
        questions=(),
        status="grader_error",
        notes=(*task.notes, f"grader error: {message}"),
        isolation=task.isolation_level,
        hidden=task.hidden,
        fingerprint=task.fingerprint,
    )


#: Folder (inside a batch's output) of the instructor's copy of every report: nothing removed.
INSTRUCTOR_DIR = "instructor"


def write_reports(result: SubmissionResult, out: Path, hidden_feedback: str) -> None:
    """``<student>.html`` and ``<student>.json`` (Gradescope) for one result, atomically: the
    student's view under the ``hidden_feedback`` policy, and an instructor copy of the HTML
    with everything in ``instructor/``."""
    from .reporting.gradescope import to_gradescope
    from .reporting.html_report import render_student_html

    stem = file_stem(result.student)
    view = result.for_student(hidden_feedback)
    write_atomic(out / f"{stem}.json", json.dumps(to_gradescope(view), indent=1))
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


# -- the one-screen summary -----------------------------------------------------

_PROBLEM_OUTCOMES = (
    ("timeout", "timed out"),
    ("forbidden", "forbidden import"),
    ("error", "errors/crashes"),
    ("memory", "out of memory"),
    ("not_implemented", "not implemented"),
    ("grader_error", "grader errors"),
)


def render_screen_summary(
    outcome: BatchOutcome,
    results: Sequence[SubmissionResult],
    spec: AssignmentSpec,
    isolation: Isolation,
    jobs: int,
    seed: int,
) -> str:
    """What the terminal shows at the end of a batch: counts, score statistics, problems, paths."""
    lines = [""]
    n = len(results)
    graded = len(outcome.graded)
    rate = graded / outcome.wall_seconds * 60 if outcome.wall_seconds > 0 else 0.0
    lines.append(f"{spec.name} — {spec.title}")
    lines.append(
        f"  {n} submissions: {graded} graded, {len(outcome.skipped)} unchanged (skipped)"
        f" · {_duration(outcome.wall_seconds)}"
        + (f" ({rate:.0f}/min)" if graded else "")
        + f" · seed {seed} · isolation {isolation.level}"
    )
    scores = [r.score for r in results if r.status == "ok"]
    if scores:
        mx = max((r.max_score for r in results), default=0.0)
        q = statistics.quantiles(scores, n=4, method="inclusive") if len(scores) > 1 else [scores[0]] * 3
        full = sum(1 for r in results if r.status == "ok" and r.max_score and r.score >= r.max_score)
        perfect = sum(1 for r in results if r.status == "ok" and r.checks and all(c.passed for c in r.checks))
        lines.append(
            f"  score /{mx:g}: mean {statistics.fmean(scores):.1f} · median "
            f"{statistics.median(scores):g} · quartiles {q[0]:g}–{q[2]:g} · min "
            f"{min(scores):g} · max {max(scores):g} · score ≥ {mx:g}: {full} · passed every check: {perfect}"
        )
    for outcome_name, label in _PROBLEM_OUTCOMES:
        who = [r.student for r in results if any(c.outcome == outcome_name for c in r.checks)]
        if outcome_name == "grader_error":
            who = sorted(set(who) | {r.student for r in results if r.status != "ok"})
        if who:
            shown = ", ".join(one_line(w, 60) for w in who[:6]) + (f" (+{len(who) - 6} more)" if len(who) > 6 else "")
            lines.append(f"  {label + ':':<18} {len(who):>4}  {shown}")
    lines.append(f"  reports: {outcome.out / 'summary.html'}")
    lines.append(f"  gradebook: {outcome.out / 'gradebook.csv'}  (per student: <student>.html, <student>.json)")
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


# -- the command ----------------------------------------------------------------


def run_batch_command(args: argparse.Namespace) -> ExitCode:
    """``grade batch``: grade a folder of submissions; OK unless a submission hit a grader error."""
    course = CourseDir.discover()
    outcome = run_batch(
        course,
        args.assignment,
        args.submissions,
        out=args.out,
        jobs=args.jobs,
        seed=args.seed,
        force=args.force,
        prune=getattr(args, "prune", False),
        only=tuple(getattr(args, "only", None) or ()),
        scheduler=args.scheduler,
        allow_weak_isolation=args.allow_weak_isolation,
        progress=not args.no_progress,
        similarity=not getattr(args, "no_similarity", False),
        lms=getattr(args, "lms", None),
        roster=getattr(args, "roster", None),
        overrides=getattr(args, "overrides", None),
    )
    if outcome.interrupted:
        return ExitCode.INTERRUPTED
    if outcome.failed or outcome.report_errors or any(r.status != "ok" for r in outcome.results.values()):
        return ExitCode.GRADER_ERROR
    return ExitCode.OK
