"""The executor side of a batch: what each executor process runs, the executors, and driving tasks through them.

Each executor process starts with torch and the engine loaded (a local pool's
are forked from a preloaded server, see :mod:`autograder.poolserver`), keeps
its pytest session of the checks (see :mod:`autograder.checkrun`) and grades
one submission at a time, each in a fresh sandbox worker.  Only plain data crosses: a :class:`GradeTask`
in, a ``SubmissionResult.to_dict()`` out.  The executor is a local process
pool by default, a Dask cluster with ``--scheduler``; with Dask, the workers
must see the course folder at the same path (a shared file system); the
submissions travel in the task.  A task whose process died is tried again; one
that fails otherwise becomes its student's grader error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import CancelledError, Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import AutograderError
from ..grading import GradingJob, grade
from ..paths import CourseDir
from ..poolserver import executor_context, exit_handlers_at_exit
from ..results import HIDDEN_PROBLEM, SubmissionResult, Timing
from ..sandbox.client import CallOutcome, Sandbox, WorkerSandbox
from ..sandbox.isolation import Isolation
from ..sanitize import one_line
from ..spec import load_spec
from ..submission import Submission

#: A task whose executor process died is retried this many times before it is a grader error.
MAX_ATTEMPTS = 2


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

    from .. import checkrun, plugin  # noqa: F401
    from ..sandbox import forkserver

    # One grading per process at a time: torch's own thread pool only competes with
    # the other processes for the cores.
    torch.set_num_threads(1)
    if task is None:
        return
    try:
        job = _job_for(task)
        checkrun.collect_ahead(job.test_dirs, job.hidden_dir)
        server = forkserver.acquire(job.sandbox_config())
        if server is not None:
            forkserver.release(server)
    except Exception:  # the first submission graded reports what is wrong
        pass


def _init_local_worker(task: GradeTask | None, environ: dict[str, str]) -> None:
    """Initializer of a local pool process: the environment the batch has now (the fork
    server's is as old as the server), and Ctrl-C aborts the current grading, nothing else."""
    os.environ.clear()
    os.environ.update(environ)
    exit_handlers_at_exit()
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
        mp_context=executor_context(),
        initializer=_init_local_worker,
        initargs=(warm, dict(os.environ)),
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


def grade_all(
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
        # Whatever failed may quote the hidden checks: a student's view keeps only that it did.
        prefix = HIDDEN_PROBLEM if task.hidden else ""
        result = grader_error_result(task, job, f"{prefix}{type(exc).__name__}: {exc}")
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
