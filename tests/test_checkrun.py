"""Running the checks (checkrun.py, plugin.py): collected once, and the same verdicts whether a
check goes through pytest's runner or is run directly.

Most checks skip pytest's per-check protocol (``GradingPlugin.runs_directly``);
these tests hold that shortcut to giving exactly what the protocol gives, on
every submission of the repository's corpora, and show which checks keep the
protocol (autouse fixtures, set-up marks, classes, other fixtures) and that they
still count.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from corpus import mistakes, write_mistake

from autograder import plugin as plugin_module
from autograder.checkrun import CheckSession, close_sessions
from autograder.grading import GradingJob, grade
from autograder.paths import CourseDir
from autograder.results import SubmissionResult
from autograder.sandbox.client import WorkerSandbox
from autograder.sandbox.isolation import Isolation
from autograder.spec import load_spec
from autograder.submission import load_submission

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus"


def _verdicts(result: SubmissionResult) -> list[tuple[str, str, float, str]]:
    return [(c.name, c.outcome, c.score, c.message) for c in result.checks]


def _submissions(course: CourseDir, name: str, folder: Path) -> list[Path]:
    """The solution, the stub and the corpus of ``name``, its mistakes written into ``folder``."""
    spec = load_spec(course.spec_file(name))
    stub = course.assignment_dir(name) / spec.modules[0]
    wrong = [write_mistake(name, m.name, folder) for m in mistakes(name)]
    return [course.solution_dir(name), stub, *sorted([CORPUS / name / "zeros.py", *wrong], key=lambda p: p.name)]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[] if n == "assignment3" else [pytest.mark.slow])
        for n in ("assignment1", "assignment2", "assignment3", "assignment4")
    ],
)
def test_direct_runs_give_what_pytests_runner_gives(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two sessions collected once, as a batch's executor keeps its own: one runs every check
    directly, the other every check through pytest's runner; each submission gets both."""
    course = CourseDir(REPO)
    spec = load_spec(course.spec_file(name))
    job = GradingJob.for_assignment(course, spec, hidden=True, seed=3, isolation=Isolation.detect("auto"))
    direct = CheckSession(job.test_dirs, job.hidden_dir)
    with monkeypatch.context() as m:
        m.setattr(plugin_module.GradingPlugin, "runs_directly", lambda self, item: False)
        protocol = CheckSession(job.test_dirs, job.hidden_dir)
    try:
        # Every check of the repository runs directly: the comparison below is not vacuous.
        assert direct.direct and all(direct.direct)
        assert protocol.direct and not any(protocol.direct)
        for path in _submissions(course, name, tmp_path):
            submission = load_submission(path, spec)
            runs = []
            for session in (direct, protocol):
                with WorkerSandbox(submission.files, spec.modules, job.sandbox_config(), fork=True) as box:
                    checks, problems = session.run(box, job.seed)
                runs.append(([(c.name, c.outcome, c.score, c.message) for c in checks], problems))
            assert runs[0] == runs[1], path.name
            assert runs[0][0] and not runs[0][1], path.name
    finally:
        direct.close()
        protocol.close()


UNUSUAL = """
import pytest
from autograder.checks import assert_equal

pytestmark = pytest.mark.question("add")
calls = []


@pytest.fixture(scope="module")
def table():
    calls.append("table")
    return {(2, 3): 5, (1, 1): 2}


@pytest.mark.points(1)
def test_plain(student):
    print("a check that prints")
    assert_equal(student.add(2, 3), 5, call="add(2, 3)")


@pytest.mark.points(1)
@pytest.mark.parametrize("a, b", [(2, 3), (1, 1)])
def test_parametrized(student, a, b):
    assert_equal(student.add(a, b), a + b, call=f"add({a}, {b})")


@pytest.mark.points(1)
def test_with_a_fixture_of_its_own(student, table):
    for (a, b), total in table.items():
        assert_equal(student.add(a, b), total, call=f"add({a}, {b})")


@pytest.mark.points(1)
@pytest.mark.skipif(False, reason="never")
def test_with_a_setup_mark(student):
    assert_equal(student.add(1, 2), 3, call="add(1, 2)")


@pytest.mark.points(1)
def test_plain_assert(student):
    assert student.add(1, 2) == 4, "add(1, 2) should be 4 here"


@pytest.mark.points(1)
def test_skips_itself(student):
    pytest.skip("no data")


@pytest.fixture
def doubled(request):
    return 2 * request.param


@pytest.mark.points(1)
@pytest.mark.parametrize("doubled", [1], indirect=True)
def test_indirect_parameter(student, doubled):
    assert_equal(student.add(1, 1), doubled, call="add(1, 1)")


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [11])
def test_parameter_named_seed(student, seed):
    assert_equal(seed, 11, call="seed")


@pytest.mark.points(1)
def test_raises_unittest_skip(student):
    import unittest
    raise unittest.SkipTest("not today")


class TestInAClass:
    @pytest.mark.points(1)
    def test_method(self, student):
        assert_equal(student.add(0, 0), 0, call="add(0, 0)")
"""

OWN_SEED = """

@pytest.fixture
def seed():
    return 7


@pytest.mark.points(1)
def test_own_seed(student, seed):
    assert_equal(seed, 7, call="seed")
"""

HOOK = """
def pytest_runtest_setup(item):
    pass
"""

AUTOUSE = """
import pytest


@pytest.fixture(autouse=True)
def every_check():
    yield
"""


def test_checks_that_need_pytest_keep_its_runner_and_still_count(demo_course: CourseDir) -> None:
    tests = demo_course.public_tests_dir("demo")
    (tests / "test_public.py").unlink()
    (tests / "test_unusual.py").write_text(UNUSUAL)
    spec_file = demo_course.spec_file("demo")
    spec_file.write_text(spec_file.read_text().replace("points = 3", "points = 13", 1))
    spec = load_spec(spec_file)
    session = CheckSession([tests], None)
    try:
        runs = {item.name: direct for item, direct in zip(session.session.items, session.direct, strict=True)}
    finally:
        session.close()
    assert runs == {
        "test_plain": True,
        "test_parametrized[2-3]": True,
        "test_parametrized[1-1]": True,
        "test_with_a_fixture_of_its_own": False,
        "test_with_a_setup_mark": False,
        "test_plain_assert": True,
        "test_skips_itself": True,
        "test_indirect_parameter[1]": False,
        "test_parameter_named_seed[11]": False,
        "test_raises_unittest_skip": True,
        "test_method": False,
    }

    job = GradingJob.for_assignment(demo_course, spec, hidden=False)
    result = grade(load_submission(demo_course.solution_dir("demo") / "demo.py", spec), job)
    outcomes = {c.name: (c.outcome, c.message) for c in result.checks}
    assert list(outcomes) == list(runs)  # in collection order, whichever runner
    assert outcomes["test_plain_assert"] == ("failed", "add(1, 2) should be 4 here")
    for name in ("test_skips_itself", "test_raises_unittest_skip"):
        assert outcomes[name][0] == "grader_error" and "check was skipped" in outcomes[name][1]
    assert {n for n, (o, _) in outcomes.items() if o == "passed"} == {
        "test_plain",
        "test_parametrized[2-3]",
        "test_parametrized[1-1]",
        "test_with_a_fixture_of_its_own",
        "test_with_a_setup_mark",
        "test_indirect_parameter[1]",
        "test_parameter_named_seed[11]",
        "test_method",
    }

    # A check module's own `seed` fixture replaces the grader's: its checks keep pytest's runner.
    (tests / "test_unusual.py").write_text(UNUSUAL + OWN_SEED)
    session = CheckSession([tests], None)
    try:
        runs = {item.name: direct for item, direct in zip(session.session.items, session.direct, strict=True)}
    finally:
        session.close()
    assert runs["test_own_seed"] is False and runs["test_plain"] is True

    (tests / "test_unusual.py").write_text(UNUSUAL)
    (tests / "conftest.py").write_text(HOOK)
    session = CheckSession([tests], None)
    try:
        assert session.direct and not any(session.direct)  # a conftest hooks into every check: pytest's runner
    finally:
        session.close()

    (tests / "conftest.py").write_text(AUTOUSE)
    session = CheckSession([tests], None)
    try:
        assert session.direct and not any(session.direct)  # an autouse fixture: every check keeps pytest's runner
    finally:
        session.close()


FIRST_FILE = """
import pytest
from autograder.checks import assert_equal

pytestmark = pytest.mark.question("add")


@pytest.fixture(scope="module")
def seen():
    return []


@pytest.mark.points(1)
def test_first_file(student, seen):
    seen.append(student.add(4, 5))
    assert_equal(seen[-1], 9, call="add(4, 5)")


@pytest.mark.points(1)
def test_first_file_shares_its_module_fixture(student, seen):
    seen.append(student.add(4, 5))
    assert seen == [9, 9], "the module's fixture was set up again between its checks"
"""


def test_a_run_stopped_at_its_first_failure_leaves_the_session_whole_for_the_next(demo_course: CourseDir) -> None:
    """``grade verify``'s mutants: each run ends at the check that kills it, its checks share
    their module's fixtures as in a full run, and the next run of the same collected session,
    starting in another file, finds no fixture left set up."""
    tests = demo_course.public_tests_dir("demo")
    (tests / "test_public.py").unlink()
    (tests / "test_unusual.py").write_text(UNUSUAL)
    (tests / "test_a_first.py").write_text(FIRST_FILE)
    spec_file = demo_course.spec_file("demo")
    spec_file.write_text(spec_file.read_text().replace("points = 3", "points = 15", 1))
    spec = load_spec(spec_file)
    job = GradingJob.for_assignment(demo_course, spec, hidden=False)
    submission = load_submission(demo_course.solution_dir("demo") / "demo.py", spec)
    try:
        full = _verdicts(grade(submission, job))
        lost = next(i for i, (_, outcome, _, _) in enumerate(full) if outcome != "passed")
        assert full[lost][0] == "test_plain_assert" and [v[1] for v in full[:2]] == ["passed", "passed"]
        for _ in range(2):
            assert _verdicts(grade(submission, job, stop_at_first_failure=True)) == full[: lost + 1]
            assert _verdicts(grade(submission, job)) == full
        with pytest.raises(ValueError, match="collected session only"):
            grade(submission, job, plugins=[object()], stop_at_first_failure=True)
    finally:
        close_sessions()


TEARDOWN_FAILS = """
import pytest
from autograder.checks import assert_equal

pytestmark = pytest.mark.question("add")


@pytest.fixture(scope="module")
def table():
    yield {(2, 3): 5}
    raise RuntimeError("this fixture's teardown fails")


@pytest.mark.points(1)
def test_uses_the_table(student, table):
    for (a, b), total in table.items():
        assert_equal(student.add(a, b), total, call=f"add({a}, {b})")


@pytest.mark.points(1)
def test_lost(student):
    assert student.add(1, 1) == 3, "add(1, 1) should be 3 here"


@pytest.mark.points(1)
def test_never_reached(student, table):
    assert_equal(student.add(2, 3), 5, call="add(2, 3)")
"""


def test_a_fixture_whose_teardown_fails_does_not_fail_a_stopped_run(demo_course: CourseDir) -> None:
    tests = demo_course.public_tests_dir("demo")
    (tests / "test_public.py").write_text(TEARDOWN_FAILS)
    spec = load_spec(demo_course.spec_file("demo"))
    job = GradingJob.for_assignment(demo_course, spec, hidden=False)
    submission = load_submission(demo_course.solution_dir("demo") / "demo.py", spec)
    try:
        for _ in range(2):  # the second run gets a session collected afresh
            stopped = grade(submission, job, stop_at_first_failure=True)
            assert [(c.name, c.outcome) for c in stopped.checks] == [
                ("test_uses_the_table", "passed"),
                ("test_lost", "failed"),
            ]
    finally:
        close_sessions()


def test_a_changed_check_file_is_collected_again_and_a_touched_one_is_not(demo_course: CourseDir) -> None:
    from autograder import checkrun

    spec = load_spec(demo_course.spec_file("demo"))
    job = GradingJob.for_assignment(demo_course, spec, hidden=False)
    solution = load_submission(demo_course.solution_dir("demo") / "demo.py", spec)
    close_sessions()
    assert grade(solution, job).score == 3
    [session] = checkrun._sessions.values()

    check = demo_course.public_tests_dir("demo") / "test_public.py"
    check.touch()
    grade(solution, job)
    assert list(checkrun._sessions.values()) == [session]  # same contents: kept

    # Same size, same modification time: the change time and the contents tell it.
    stat = check.stat()
    check.write_text(check.read_text().replace("(2, 3), 5", "(2, 3), 6"))
    os.utime(check, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result = grade(solution, job)
    assert [c.outcome for c in result.checks if c.name == "test_add_small"] == ["failed"]
    assert list(checkrun._sessions.values()) != [session]
    close_sessions()


SHARED_PUBLIC = """
import pytest
from demo_cases import SCALE

pytestmark = pytest.mark.question("add")


@pytest.mark.points(1)
def test_scale_is_known(student):
    assert student.scale(1.0, SCALE) == SCALE
"""

SHARED_HIDDEN = """
import pytest
from demo_cases import SCALE
from autograder.checks import assert_equal

pytestmark = pytest.mark.question("scale")


@pytest.mark.points(1)
def test_scale_shared(student):
    assert_equal(float(student.scale(2.0, SCALE)), 2.0 * SCALE, call="scale(2.0, SCALE)")
"""


@pytest.mark.parametrize("cached", [True, False], ids=["collected-once", "pytest-main"])
def test_hidden_checks_import_the_helpers_beside_the_public_ones_of_their_own_course(
    tmp_path: Path, cached: bool
) -> None:
    """Two courses whose helper module has one name: each course's checks get their own."""
    from conftest import build_demo_course

    path_before = list(sys.path)
    results = []
    for index, scale in enumerate((3.0, 5.0)):
        course = build_demo_course(tmp_path / f"course{index}")
        (course.assignment_dir("demo") / "tests" / "demo_cases.py").write_text(f"SCALE = {scale}\n")
        (course.assignment_dir("demo") / "tests" / "test_shared.py").write_text(SHARED_PUBLIC)
        (course.hidden_tests_dir("demo") / "test_shared_hidden.py").write_text(SHARED_HIDDEN)
        spec = load_spec(course.spec_file("demo"))
        job = GradingJob.for_assignment(course, spec, hidden=True, seed=0, isolation=Isolation.detect("auto"))
        # Another plugin makes the run go through pytest.main instead of the collected session.
        plugins = () if cached else (object(),)
        results.append(grade(load_submission(course.solution_dir("demo"), spec), job, plugins=plugins))
    for result in results:
        shared = {c.name: c for c in result.checks if "shared" in c.name or "known" in c.name}
        assert set(shared) == {"test_scale_is_known", "test_scale_shared"}
        assert all(c.passed for c in shared.values()), [(c.name, c.message) for c in shared.values()]
    assert sys.path == path_before
    assert "demo_cases" not in sys.modules
    close_sessions()
