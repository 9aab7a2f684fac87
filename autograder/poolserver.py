"""The process a local batch's executor processes are forked from, started before anything heavy.

An executor process needs torch, NumPy, pytest and the engine (1.5 s of CPU for
torch alone).  Imported once, by multiprocessing's fork server, each executor
forked from it starts with them loaded; started in the background as the first
thing ``grade batch`` does, those imports run while the batch's own process
imports the engine and reads the submissions.  This module imports nothing
heavy itself, so that it can run first.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
from multiprocessing.context import BaseContext
from pathlib import Path

#: What the fork server imports once for all the executors it forks.
PRELOAD = ["numpy", "torch", "pytest", "autograder.batch.pool", "autograder.checkrun", "autograder.sandbox.forkserver"]


def executor_context() -> BaseContext:
    """multiprocessing's fork server, preloaded with :data:`PRELOAD`; spawn where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    global _stopper
    if _stopper != os.getpid():
        _stopper = os.getpid()
        atexit.register(_stop_server, os.getpid())
    return context


def exit_handlers_at_exit() -> None:
    """In a pool process forked by the server: run this process's exit handlers when it ends,
    as a spawned one does (a pool's initializer).

    A process forked by multiprocessing's server ends with ``os._exit``, and the finalizers
    the server's imports registered are dropped at the fork: without this, the sandbox fork
    server's clean-up (its folders in the temporary directory) never runs."""
    multiprocessing.util.Finalize(None, atexit._run_exitfuncs, exitpriority=100)


#: The process that has registered :func:`_stop_server` to run at its exit.
_stopper: int | None = None


def _stop_server(owner: int) -> None:
    """End the fork server at once, at the exit of the process that started it.

    Left to itself it ends after this process does, unloading torch and the rest for
    about half a second, and until then it holds this process's stdout and stderr: a
    ``grade batch ... | tee log`` would wait for it.  Nothing of the batch lives in
    it by then; its executors have ended with the pool.
    """
    from multiprocessing import forkserver

    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    if os.getpid() != owner or not isinstance(pid, int):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def start_early(cache: Path | None) -> bool:
    """Start the fork server now, in the background, unless ``cache`` (a batch's result
    cache folder) already holds results: then a run may have nothing to grade and need no
    executor.  True when started (or already running)."""
    if cache is not None and _holds_results(cache):
        return False
    context = executor_context()
    if context.get_start_method() != "forkserver":
        return False
    from multiprocessing import forkserver

    # Started with Ctrl-C ignored, which it keeps: else a Ctrl-C during its imports prints
    # their traceback (multiprocessing ignores it in the server only after them).
    quiet = threading.current_thread() is threading.main_thread()  # only there can it be set
    previous = signal.getsignal(signal.SIGINT)
    if quiet:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    except (OSError, RuntimeError):  # then the pool starts it, or reports why it cannot
        return False
    finally:
        if quiet:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    return True


def start_for_batch(assignment: str, submissions: Path, out: Path | None, *, regrade: bool) -> bool:
    """:func:`start_early` for ``grade batch ASSIGNMENT SUBMISSIONS [--out OUT]``, with the cache
    where the batch will keep it (a guess: nothing depends on it but when the server starts);
    not for a folder that is not there (the batch stops at once).  Never raises."""
    from .paths import BATCH_CACHE_DIR, CourseDir

    try:
        if not submissions.is_dir():
            return False
        folder = out if out is not None else CourseDir.discover().reports_dir(assignment)
        return start_early(None if regrade else folder / BATCH_CACHE_DIR)
    except Exception:  # a wrong guess costs only the early start; the batch reports real errors
        return False


def _holds_results(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(entry.name.endswith(".json") for entry in entries)
    except OSError:
        return False
