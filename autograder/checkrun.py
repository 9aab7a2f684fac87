"""Run an assignment's pytest checks in this process: configured and collected once, re-run per sandbox.

``pytest.main`` per submission pays for configuring pytest, loading its
plugins, importing the check modules and collecting them every time; in a batch
that is most of the grader's own time.  A :class:`CheckSession` does what
``pytest.main`` does (same arguments, same plugins, same hooks, the standard
``pytest_runtestloop`` with full fixture teardown after every run) but keeps the
configured session and its collected items, so each further submission only
runs the items.  Module-level code of the check files (imports of torch,
references computed at import time) therefore runs once per process.

Sessions are cached per process, keyed by the check folders, and rebuilt when
any check file changes.  Nothing here touches student code: the checks call the
sandbox given to :meth:`CheckSession.run`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import site
import sys
import sysconfig
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from .errors import GraderError
from .plugin import GradingPlugin
from .references import clear_reference_cache
from .results import HIDDEN_PROBLEM, CheckResult
from .sandbox.client import Sandbox

#: Where installed libraries live (module files there are never check modules).
_LIBRARIES = tuple(
    sorted(
        {
            os.path.join(p, "")
            for p in (
                sys.prefix,
                sys.base_prefix,
                sys.exec_prefix,
                *site.getsitepackages(),
                sysconfig.get_paths()["stdlib"],
                sysconfig.get_paths()["purelib"],
            )
        }
    )
)
#: Sessions kept per process (least recently used ones are closed beyond this).
MAX_SESSIONS = 4


def pytest_args(test_dirs: Sequence[Path]) -> list[str]:
    """The pytest command line every grading run uses."""
    return [
        *[str(d) for d in test_dirs],
        "-p",
        "no:terminal",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        # Warnings are not reported, so these two only cost time: with torch loaded,
        # unraisableexception's five gc.collect() calls take ~0.5 s per run.
        "-p",
        "no:warnings",
        "-p",
        "no:unraisableexception",
        "-p",
        "no:threadexception",
        # Nothing reads captured log records: the logging plugin only costs ~4 ms a run.
        "-p",
        "no:logging",
        "--import-mode=importlib",
        "-o",
        "addopts=",
        "-o",
        "python_files=test_*.py check_*.py",
        "--rootdir",
        str(test_dirs[0].parent),
        "-c",
        os.devnull,
        "--capture=sys",
        "--continue-on-collection-errors",
    ]


@contextlib.contextmanager
def hermetic_pytest() -> Iterator[None]:
    """Configure pytest without the plugins installed beside it (``pytest11`` entry points).

    Grading must not depend on what else is installed (pytest-randomly would
    reorder checks, others add hooks to every check), and loading them costs
    ~0.1 s per run.  Only pytest's own plugins and the grader's are loaded.
    """
    key = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
    before = os.environ.get(key)
    os.environ[key] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def single_threaded_torch() -> None:
    """One thread for torch, if the checks loaded it: their tensors are small, and a grading
    process runs one check at a time (beside a worker, or other graders in a batch)."""
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(1)


def files_signature(test_dirs: Sequence[Path]) -> tuple[tuple[str, int, int, int, int], ...]:
    """Path, size, inode, modification and change times of every ``.py`` file under
    ``test_dirs``: a cheap test of whether any changed (ctime moves on every write, even
    when mtime is put back); contents are hashed only when this differs."""
    out = []
    for folder in test_dirs:
        for p in sorted(Path(folder).rglob("*.py")):
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((str(p), st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(out)


def checks_digest(test_dirs: Sequence[Path]) -> str:
    """Hash of the names and contents of every ``.py`` file under ``test_dirs``."""
    h = hashlib.sha256()
    for index, folder in enumerate(test_dirs):
        for p in sorted(Path(folder).rglob("*.py")):
            h.update(f"{index}:{p.relative_to(folder).as_posix()}".encode() + b"\0")
            try:
                h.update(p.read_bytes())
            except OSError:
                h.update(b"<unreadable>")
    return h.hexdigest()


class _NoSandbox:
    """Stands in between runs: a check that somehow runs then gets a grader error."""

    isolation_level = "none"

    def start(self) -> None:
        pass

    def call(self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        from .sandbox.client import CallOutcome

        return CallOutcome("grader_error", function, message="no submission is being graded")

    def load_problems(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


class ChecksUnloadable(GraderError):
    """pytest could not even start on the check folders (a ``conftest.py`` among them failed
    to import); the message is the problem as :meth:`CheckSession.run` would list it."""


class CheckSession:
    """The checks under ``test_dirs``, collected once, run against one sandbox at a time."""

    def __init__(self, test_dirs: Sequence[Path], hidden_dir: Path | None) -> None:
        from _pytest.config import _prepareconfig  # what pytest.main itself calls

        self.test_dirs = tuple(Path(d) for d in test_dirs)
        self.signature = files_signature(self.test_dirs)
        self.digest = checks_digest(self.test_dirs)
        self.plugin = GradingPlugin(_NoSandbox(), 0, hidden_dir)
        self.broken = False
        self._configured = False
        cwd = os.getcwd()
        modules_before = set(sys.modules)
        with hermetic_pytest():
            try:
                self.config = _prepareconfig(pytest_args(self.test_dirs), plugins=[self.plugin])
            except Exception as exc:  # a conftest.py that fails to import, among the checks
                raise ChecksUnloadable(self._start_problem(exc, hidden_dir)) from None
        # Collection errors keep a readable traceback ...
        self.config.option.tbstyle = "native"
        try:
            self.session = pytest.Session.from_config(self.config)
            self.config._do_configure()
            self._configured = True
            self.config.hook.pytest_sessionstart(session=self.session)
            self.config.hook.pytest_collection(session=self.session)
        except Exception as exc:  # a conftest's hook that raises; torn down as pytest.main would
            self.close()
            raise ChecksUnloadable(self._start_problem(exc, hidden_dir)) from None
        except BaseException:
            self.close()
            raise
        finally:
            os.chdir(cwd)
        self.collection_errors = list(self.plugin.collection_errors)
        #: Per collected check: run without pytest's runner (see GradingPlugin.run_directly).
        self.direct = [self.plugin.runs_directly(item) for item in self.session.items]
        self._forget_check_modules(modules_before)
        single_threaded_torch()
        # ... but verdicts come from the exception, not from pytest's report text, whose
        # default ("long": the terminal plugin, which owns --tb, is off) parses sources and
        # prints arrays, ~0.1 s per failing check.  Only the exception's value is kept.
        self.config.option.tbstyle = "value"

    @staticmethod
    def _start_problem(exc: Exception, hidden_dir: Path | None) -> str:
        """What pytest failing to start or collect says, as a collection problem.  With hidden
        checks it is marked as theirs (see :data:`~.results.HIDDEN_PROBLEM`) wherever it came
        from (a conftest beside the hidden folder, a hook, a plugin): a student's view then
        keeps only that it happened, and the instructor's names it."""
        message = f"pytest could not load the checks: {type(exc).__name__}: {exc}"[:2000]
        return HIDDEN_PROBLEM + message if hidden_dir is not None else message

    def run(
        self,
        sandbox: Sandbox,
        seed: int,
        questions: Collection[str] | None = None,
        stop_at_first_failure: bool = False,
    ) -> tuple[list[CheckResult], list[str]]:
        """Run the collected checks (those of ``questions`` if given; up to the first that does
        not pass, with ``stop_at_first_failure``) against ``sandbox``; (results, problems with
        the checks)."""
        if self.broken:
            raise GraderError("this check session was interrupted and cannot be reused")
        problems = list(self.collection_errors)
        if not self.session.items:
            if not problems:
                problems.append(f"no checks found in {', '.join(map(str, self.test_dirs))}")
            return [], problems
        plugin = self.plugin
        plugin.sandbox = sandbox
        plugin.grading_seed = seed
        plugin.results = []
        self.session.testsfailed = 0
        self.session.shouldstop = self.session.shouldfail = False
        cwd = os.getcwd()
        try:
            self._run_items(questions, stop_at_first_failure)
        except (KeyboardInterrupt, self.session.Interrupted):
            self.broken = True
            raise KeyboardInterrupt from None
        except BaseException as exc:
            self.broken = True
            raise GraderError(f"pytest could not run the checks ({type(exc).__name__}: {exc})") from exc
        finally:
            os.chdir(cwd)
            plugin.sandbox = _NoSandbox()
        results, plugin.results = plugin.results, []
        return results, problems

    def unchanged(self) -> bool:
        """True while the check files are those collected (hashed only when touched)."""
        signature = files_signature(self.test_dirs)
        if signature != self.signature:
            if checks_digest(self.test_dirs) != self.digest:
                return False
            self.signature = signature  # touched, not changed
        return True

    def _run_items(self, questions: Collection[str] | None, stop_at_first_failure: bool = False) -> None:
        """``pytest_runtestloop``, except that checks :meth:`GradingPlugin.runs_directly`
        accepts skip pytest's per-check protocol; the others get it, each told which
        check pytest runs next (so shared fixtures are set up and torn down as usual).
        With ``stop_at_first_failure`` the loop ends after the first check not passed,
        and every fixture still set up is torn down then."""
        chosen = [
            (item, direct)
            for item, direct in zip(self.session.items, self.direct, strict=True)
            if questions is None or _question_of(item) in questions
        ]
        items = [item for item, _ in chosen]
        direct = [d for _, d in chosen]
        following: list[pytest.Item | None] = [None] * len(items)
        upcoming = None
        for i in range(len(items) - 1, -1, -1):
            following[i] = upcoming
            if not direct[i]:
                upcoming = items[i]
        results = self.plugin.results
        for i, item in enumerate(items):
            if direct[i]:
                results.append(self.plugin.run_directly(item))
            else:
                item.config.hook.pytest_runtest_protocol(item=item, nextitem=following[i])
            if stop_at_first_failure and results and not results[-1].passed:
                # What the checks not run would have shared with it is torn down now, as
                # pytest's runner does after a last check: the next run finds nothing set up.
                try:
                    self.session._setupstate.teardown_exact(None)
                except Exception:  # a fixture's own teardown failed: the next run collects afresh
                    self.broken = True
                break
            if self.session.shouldfail:
                raise self.session.Failed(self.session.shouldfail)
            if self.session.shouldstop:
                raise self.session.Interrupted(self.session.shouldstop)

    def close(self) -> None:
        """Tear pytest down as ``pytest.main`` does at its end, and forget the references
        its checks computed (kept from one run to the next while the session lives)."""
        clear_reference_cache()
        if self._configured:
            try:
                self.config.hook.pytest_sessionfinish(session=self.session, exitstatus=0)
            except BaseException:  # closing must not fail
                pass
        try:
            self.config._ensure_unconfigure()
        except BaseException:  # closing must not fail
            pass
        self._configured = False

    def _forget_check_modules(self, before: set[str]) -> None:
        """Drop the check modules that collection imported from ``sys.modules`` (the items
        keep them alive); ``before`` is what ``sys.modules`` held before it.

        pytest names them after their path below the rootdir (``tests.test_cnn``), so
        another course's checks with the same relative path would otherwise be
        served this course's module.
        """
        roots = tuple(str(d.resolve()) + os.sep for d in self.test_dirs)
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None)
            if not isinstance(file, str) or (file.startswith(_LIBRARIES) and not file.startswith(roots)):
                continue  # e.g. torch, imported by the checks: ~1000 modules, no realpath
            if os.path.realpath(file).startswith(roots):
                del sys.modules[name]


_lock = threading.Lock()
_sessions: OrderedDict[tuple[Any, ...], CheckSession] = OrderedDict()


def _question_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("question")
    return str(marker.args[0]) if marker and marker.args else ""


def run_collected(
    sandbox: Sandbox,
    test_dirs: Sequence[Path],
    seed: int,
    hidden_dir: Path | None,
    questions: Collection[str] | None = None,
    stop_at_first_failure: bool = False,
) -> tuple[list[CheckResult], list[str]]:
    """Run the checks under ``test_dirs`` (those of ``questions`` if given; up to the first
    that does not pass, with ``stop_at_first_failure``) against ``sandbox`` with this
    process's cached session.

    Returns the check results and problems of the checks themselves (collection
    errors, no checks found), which are grader errors.  One run at a time per
    process: pytest is not thread-safe.
    """
    with _lock:
        try:
            key, session = _session_for(test_dirs, hidden_dir)
        except ChecksUnloadable as exc:
            return [], [str(exc)]
        try:
            return session.run(sandbox, seed, questions, stop_at_first_failure)
        finally:
            if session.broken:
                _sessions.pop(key, None)
                session.close()


def collect_ahead(test_dirs: Sequence[Path], hidden_dir: Path | None) -> None:
    """Configure pytest and collect the checks now (a batch process's start-up), so that
    the first submission graded does not pay for it."""
    with _lock:
        _session_for(test_dirs, hidden_dir)


def _session_for(test_dirs: Sequence[Path], hidden_dir: Path | None) -> tuple[tuple[Any, ...], CheckSession]:
    """This process's session for these folders, collected again if a check file changed;
    call with ``_lock`` held."""
    key = (tuple(str(Path(d).resolve()) for d in test_dirs), str(hidden_dir.resolve()) if hidden_dir else None)
    session = _sessions.get(key)
    if session is not None and (session.broken or not session.unchanged()):
        _sessions.pop(key)
        session.close()
        session = None
    if session is None:
        session = CheckSession(test_dirs, hidden_dir)
        _sessions[key] = session
        while len(_sessions) > MAX_SESSIONS:
            _sessions.popitem(last=False)[1].close()
    _sessions.move_to_end(key)
    return key, session


def close_sessions() -> None:
    """Close every cached session of this process."""
    with _lock:
        while _sessions:
            _sessions.popitem()[1].close()
