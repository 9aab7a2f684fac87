"""The pytest plugin: ``points``/``question``/``hidden`` markers, the ``student`` fixture, check records.

Checks are plain pytest tests::

    pytestmark = pytest.mark.question("conv2d_forward")

    @pytest.mark.points(2)
    def test_stride_two(student, rng):
        x = rng.standard_normal((2, 3, 7, 7))
        ...
        got = student.conv2d_forward(x, w, stride=2)   # runs in the sandbox
        assert_allclose(got, expected, call="conv2d_forward(x, w, stride=2)")

The plugin never runs student code: ``student.<name>(...)`` sends the call to
the sandbox and returns the decoded value, or raises
:class:`~autograder.checks.StudentCodeFailure` carrying the classified outcome.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import os
import sys
import time
import types
import unittest
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import _pytest.python
import numpy as np
import pytest

from .checks import CheckFailure, NotRun, StudentCodeFailure, describe_call
from .results import HIDDEN_PROBLEM, MAX_STDOUT_CHARS, CheckResult, Outcome, clip_output
from .sandbox.client import Sandbox

#: Sandbox call kinds -> check outcomes.
_KIND_TO_OUTCOME: dict[str, Outcome] = {
    "error": "error",
    "timeout": "timeout",
    "memory": "memory",
    "not_implemented": "not_implemented",
    "missing": "not_implemented",
    "forbidden": "forbidden",
    "bad_return": "failed",
    "crash": "error",
    "grader_error": "grader_error",
}

#: Fixtures :meth:`GradingPlugin.run_directly` supplies itself (``request`` only as theirs).
_OWN_FIXTURES = frozenset({"student", "rng", "seed", "request"})
#: What pytest resolves a direct ``parametrize`` argument with (None if that changes).
_DIRECT_PARAM = getattr(_pytest.python, "get_direct_param_fixture_func", None)
#: Hooks of pytest's per-check protocol: a check that another plugin (a conftest) hooks into
#: keeps pytest's runner.
_RUNTEST_HOOKS = (
    "pytest_runtest_protocol",
    "pytest_runtest_setup",
    "pytest_runtest_call",
    "pytest_runtest_teardown",
    "pytest_runtest_makereport",
    "pytest_pyfunc_call",
)
#: Marks that act when pytest sets a check up: such checks keep pytest's runner.
_SETUP_MARKS = frozenset({"skip", "skipif", "xfail", "usefixtures", "filterwarnings"})

MARKERS = (
    "points(n): points a check is worth",
    "arguments_unchanged(*functions): the check fails when a call to one of these functions "
    "(any function, if none is named) changes one of its arguments in place",
    "question(name): the assignment.toml question a check counts towards",
    "hidden: a hidden check (also implied by living in solutions/<name>/hidden/)",
)


def _is_pytests_own(plugin: object) -> bool:
    """True for pytest's built-in plugins (modules or objects of ``_pytest``)."""
    module = plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__module__
    return module == "_pytest" or module.startswith("_pytest.")


def check_seed(seed: int, name: str) -> int:
    """The per-check seed: stable across runs, different for every check and grading seed."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


class Student:
    """Proxy for the submission: attribute access yields a function that runs in the sandbox."""

    def __init__(self, sandbox: Sandbox, unchanged: frozenset[str] | None = None) -> None:
        self._sandbox = sandbox
        #: Functions whose calls must leave their arguments unchanged (empty: every
        #: function; None: no requirement), from the check's ``arguments_unchanged`` marker.
        self._unchanged = unchanged
        #: What the student's code printed during this check.
        self.stdout: list[str] = []
        self._last: tuple[str, tuple[Any, ...], dict[str, Any]] | None = None

    @property
    def last_call(self) -> str:
        """The last call made, described for messages (only failing checks need it)."""
        return describe_call(*self._last) if self._last is not None else ""

    def _not_imported(self) -> tuple[str, ...]:
        """The submission's module files that failed to import (their calls cannot run)."""
        marker = " could not be imported"
        problems = self._sandbox.load_problems()
        return tuple(p.split(marker, 1)[0][:100] for p in problems[:5] if marker in p)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._last = (name, args, kwargs)
            outcome = self._sandbox.call(name, args, kwargs)
            if outcome.stdout:
                self.stdout.append(outcome.stdout)
            if not outcome.ok:
                not_imported = self._not_imported() if outcome.kind != "grader_error" else ()
                if not_imported:
                    raise NotRun(outcome, self.last_call, not_imported)
                raise StudentCodeFailure(outcome, self.last_call)
            changed = getattr(outcome, "changed", ())
            if changed and self._unchanged is not None and (not self._unchanged or name in self._unchanged):
                raise CheckFailure(_changed_message(self.last_call, name, changed))
            return outcome.value

        call.__name__ = name
        return call


def _changed_message(call: str, function: str, changed: tuple[str, ...]) -> str:
    names = ", ".join(f"`{n}`" for n in changed)
    plural = "s" if len(changed) > 1 else ""
    return (
        f"{call} changed its argument{plural} {names} in place; the docstring of {function} says "
        "not to modify what it is given. Return new values instead: `w = w - lr * g` makes a new "
        "array where `w -= lr * g` changes the caller's, and `new = dict(params)` copies a dict "
        "before you change it."
    )


class _Marks(NamedTuple):
    """What a collected check's markers say: its points and question markers, whether it is
    hidden, and the functions its ``arguments_unchanged`` marker names."""

    points: pytest.Mark | None
    question: pytest.Mark | None
    hidden: bool
    unchanged: frozenset[str] | None


def unchanged_arguments(item: pytest.Item) -> frozenset[str] | None:
    """The functions an ``arguments_unchanged`` marker of ``item`` names (empty: all), else None."""
    marks = list(item.iter_markers("arguments_unchanged"))
    if not marks:
        return None
    return frozenset(str(f) for m in marks for f in m.args)


@contextlib.contextmanager
def _importable(folders: list[Path]) -> Iterator[None]:
    """Put ``folders`` first on ``sys.path`` while the block runs; afterwards take them off and
    forget the modules imported from them, so that another course's helper module of the
    same name is never served this one."""
    entries = [str(folder) for folder in folders]
    before = set(sys.modules)
    sys.path[:0] = entries
    try:
        yield
    finally:
        for entry in entries:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)
        roots = tuple(os.path.join(entry, "") for entry in entries)
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None)
            if isinstance(file, str) and os.path.abspath(file).startswith(roots):
                del sys.modules[name]


class GradingPlugin:
    """Registered per grading run; collects one :class:`CheckResult` per check."""

    def __init__(self, sandbox: Sandbox, seed: int, hidden_dir: Path | None) -> None:
        self.sandbox = sandbox
        self.grading_seed = seed
        self.hidden_dir = hidden_dir.resolve() if hidden_dir else None
        #: The hidden folder as given too: a file linked into it from elsewhere is hidden as well.
        self._hidden_dirs = {hidden_dir.absolute(), hidden_dir.resolve()} if hidden_dir else set()
        self.results: list[CheckResult] = []
        self.collection_errors: list[str] = []
        self._hidden_files: dict[str, bool] = {}
        #: Per collected check, what its markers say (fixed once collected; see _marks).
        self._item_marks: dict[pytest.Item, _Marks] = {}
        #: Per node id of a collector that failed: whether its file is a hidden one.
        self._failed_hidden: dict[str, bool] = {}

    # -- fixtures --------------------------------------------------------

    @pytest.fixture
    def student(self, request: pytest.FixtureRequest) -> Student:
        """The submission under test."""
        return Student(self.sandbox, unchanged_arguments(request.node))

    @pytest.fixture
    def seed(self, request: pytest.FixtureRequest) -> int:
        """This check's seed, derived from the grading seed and the check's name."""
        return check_seed(self.grading_seed, request.node.name)

    @pytest.fixture
    def rng(self, seed: int) -> np.random.Generator:
        """A NumPy generator seeded with :func:`seed`."""
        return np.random.default_rng(seed)

    # -- hooks -----------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        for line in MARKERS:
            config.addinivalue_line("markers", line)

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Any:
        """Collect with the public check folders importable, so that check files, hidden
        ones included, import the helper modules beside the public checks by name."""
        folders = [
            Path(arg).resolve()
            for arg in session.config.args
            if Path(arg).is_dir() and Path(arg).resolve() != self.hidden_dir
        ]
        with _importable(folders):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        report = yield
        if report.failed and self.hidden_dir is not None:
            path = Path(collector.path)
            self._failed_hidden[report.nodeid] = self.in_hidden_dir(path) or bool(
                {path.absolute(), path.resolve()} & self._hidden_dirs
            )
        return report

    def in_hidden_dir(self, path: Path) -> bool:
        """True when ``path`` is in the hidden folder, as given or resolved, or resolves into it."""
        candidates = (path.absolute(), path.resolve())
        return any(folder in p.parents for p in candidates for folder in self._hidden_dirs)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            problem = f"{report.nodeid}: {report.longreprtext[-2000:]}"
            hidden = self._failed_hidden.get(report.nodeid, False)
            self.collection_errors.append(HIDDEN_PROBLEM + problem if hidden else problem)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            student = getattr(item, "funcargs", {}).get("student")
            self.results.append(
                self._record(
                    item,
                    report.when,
                    exc=call.excinfo.value if call.excinfo else None,
                    passed=report.passed,
                    skipped=report.skipped,
                    text=report.longreprtext,
                    duration=report.duration,
                    student=student if isinstance(student, Student) else None,
                )
            )

    # -- running a check without pytest's runner ----------------------------------

    def runs_directly(self, item: pytest.Item) -> bool:
        """Whether :meth:`run_directly` gives ``item`` exactly what pytest's runner would.

        True for a plain test function of a module whose fixtures are only this
        plugin's (``student``, ``rng``, ``seed``) and its direct parameters, with no
        mark that acts at set-up (skip, skipif, xfail, usefixtures, filterwarnings).
        Anything else (autouse or conftest fixtures, classes, xunit set-up
        functions, async tests) keeps pytest's full protocol.
        """
        if type(item) is not pytest.Function or not isinstance(item.parent, pytest.Module):
            return False
        if inspect.iscoroutinefunction(item.obj) or inspect.isasyncgenfunction(item.obj):
            return False
        if any(m.name in _SETUP_MARKS for m in item.iter_markers()):
            return False
        params = set(item.callspec.params) if hasattr(item, "callspec") else set()
        if params & _OWN_FIXTURES:  # a parameter named like one of ours replaces it
            return False
        if not (
            set(item.fixturenames) <= _OWN_FIXTURES | params
            and set(item._fixtureinfo.argnames) <= _OWN_FIXTURES - {"request"} | params
        ):
            return False
        for name, defs in item._fixtureinfo.name2fixturedefs.items():
            func = defs[-1].func if defs else None
            if name in params:  # a plain parameter, not one passed through a fixture (indirect)
                if _DIRECT_PARAM is None or func is not _DIRECT_PARAM:
                    return False
            elif getattr(func, "__self__", None) is not self:  # e.g. a conftest's own `rng`
                return False
        for hook in _RUNTEST_HOOKS:  # a conftest's own hook would be skipped
            for impl in getattr(item.ihook, hook).get_hookimpls():
                if impl.plugin is not self and not _is_pytests_own(impl.plugin):
                    return False
        return True

    def run_directly(self, item: pytest.Item) -> CheckResult:
        """Run ``item`` (one :meth:`runs_directly` accepted) and record its verdict.

        pytest's runner costs ~0.4 ms per check in hooks and fixture lookups, as
        much as a typical check itself; here the same function gets the same
        arguments, its printing is discarded as ``--capture=sys`` does, and the
        verdict comes from the same :meth:`_record`.
        """
        assert isinstance(item, pytest.Function)
        student = Student(self.sandbox, self._marks(item).unchanged)
        seed = check_seed(self.grading_seed, item.name)
        params = item.callspec.params if hasattr(item, "callspec") else {}
        values = {"student": student, "seed": seed}
        kwargs: dict[str, Any] = {}
        for name in item._fixtureinfo.argnames:
            if name == "rng":
                kwargs[name] = np.random.default_rng(seed)
            else:
                kwargs[name] = values[name] if name in values else params[name]
        exc: BaseException | None = None
        sink = io.StringIO()
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                item.obj(**kwargs)
        except (KeyboardInterrupt, pytest.exit.Exception):
            raise
        except BaseException as error:  # what pytest's CallInfo catches too
            exc = error
        duration = time.perf_counter() - start
        skipped = isinstance(exc, (pytest.skip.Exception, pytest.xfail.Exception, unittest.SkipTest))
        return self._record(
            item,
            "call",
            exc=exc,
            passed=exc is None,
            skipped=skipped,
            text=str(exc) if skipped else "",
            duration=duration,
            student=student,
        )

    def _record(
        self,
        item: pytest.Item,
        when: str,
        *,
        exc: BaseException | None,
        passed: bool,
        skipped: bool,
        text: str,
        duration: float,
        student: Student | None,
    ) -> CheckResult:
        marks = self._marks(item)
        points_marker, question_marker = marks.points, marks.question
        points = float(points_marker.args[0]) if points_marker and points_marker.args else 0.0
        question = str(question_marker.args[0]) if question_marker and question_marker.args else ""
        visibility = "hidden" if marks.hidden else "public"
        stdout = clip_output("".join(student.stdout), MAX_STDOUT_CHARS) if student is not None else ""
        base: dict[str, Any] = dict(
            name=item.name,
            question=question,
            max_score=points,
            visibility=visibility,
            stdout=stdout,
            duration=round(duration, 4),
        )
        if not points_marker or not question_marker:
            return CheckResult(
                score=0.0,
                outcome="grader_error",
                message=("this check lacks a points(...) or question(...) marker; tell your instructor"),
                **base,
            )
        if passed:
            return CheckResult(score=points, outcome="passed", **base)
        if skipped:
            return CheckResult(score=0.0, outcome="grader_error", message=f"check was skipped: {text[-300:]}", **base)
        if isinstance(exc, NotRun):
            kind = _KIND_TO_OUTCOME.get(exc.outcome.kind, "error")
            return CheckResult(
                score=0.0, outcome=kind if kind != "grader_error" else "error", message=exc.message, **base
            )
        if isinstance(exc, StudentCodeFailure):
            o = exc.outcome
            message = o.message if o.kind in ("not_implemented", "missing") else f"{exc.call}: {o.message}"
            return CheckResult(
                score=0.0, outcome=_KIND_TO_OUTCOME.get(o.kind, "error"), message=message, traceback=o.traceback, **base
            )
        if isinstance(exc, CheckFailure):
            message = exc.message
            if student is not None and student.last_call and student.last_call.split("(")[0] not in message:
                message = f"{message} (call: {student.last_call})"
            return CheckResult(score=0.0, outcome="failed", message=message, expected=exc.expected, got=exc.got, **base)
        if isinstance(exc, AssertionError):
            return CheckResult(score=0.0, outcome="failed", message=str(exc).split("\nassert")[0][:2000], **base)
        where = "setting up" if when == "setup" else "running"
        text = f"{type(exc).__name__}: {exc}" if exc is not None else text[-500:]
        return CheckResult(
            score=0.0,
            outcome="grader_error",
            message=(
                f"the grader failed while {where} this check ({text[:500]}); this is not your "
                "fault, tell your instructor"
            ),
            **base,
        )

    def _marks(self, item: pytest.Item) -> _Marks:
        """What ``item``'s markers say, looked up once per collected check rather than per run
        (pytest walks the node chain for each lookup)."""
        marks = self._item_marks.get(item)
        if marks is None:
            marks = _Marks(
                item.get_closest_marker("points"),
                item.get_closest_marker("question"),
                self._is_hidden(item),
                unchanged_arguments(item),
            )
            self._item_marks[item] = marks
        return marks

    def _is_hidden(self, item: pytest.Item) -> bool:
        if item.get_closest_marker("hidden"):
            return True
        if self.hidden_dir is None:
            return False
        path = str(item.path)
        if path not in self._hidden_files:  # once per check file, not per check
            self._hidden_files[path] = self.in_hidden_dir(Path(path))
        return self._hidden_files[path]
