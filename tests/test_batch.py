"""``grade batch``: student ids, the result cache, and whole batches of generated submissions
through the process pool and a local Dask cluster, resumed after Ctrl-C."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from autograder import batch
from autograder.batch import (
    ResultCache,
    discover_submissions,
    run_batch,
    student_ids,
    write_atomic,
)
from autograder.errors import IsolationUnavailable
from autograder.paths import CourseDir
from autograder.results import SubmissionResult
from autograder.sandbox.isolation import Isolation, bwrap_problem

REPO = Path(__file__).resolve().parent.parent


def _load_generator() -> ModuleType:
    path = REPO / "benchmarks" / "generate_submissions.py"
    spec = importlib.util.spec_from_file_location("generate_submissions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gen = _load_generator()

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"strict isolation unavailable: {bwrap_problem()}")


def grade_cli(
    course: Path, assignment: str, submissions: Path, out: Path, *extra: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """``grade batch`` in a subprocess, as an instructor runs it."""
    env = {**os.environ, "AUTOGRADER_ROOT": str(course)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "batch",
            assignment,
            str(submissions),
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cached_results(out: Path) -> dict[str, SubmissionResult]:
    results = {}
    for path in sorted((out / ".cache").glob("*.json")):
        data = json.loads(path.read_text())
        result = SubmissionResult.from_dict(data["result"])
        assert data["fingerprint"] == result.fingerprint
        results[result.student] = result
    return results


def check_outcomes(results: dict[str, SubmissionResult], manifest: list[dict[str, Any]]) -> None:
    """Each generated submission graded as its kind says."""
    for item in manifest:
        r = results[item["student"]]
        outcomes = [c.outcome for c in r.checks]
        assert r.status == "ok", (item, r.notes)
        assert r.checks, item
        expected = gen.EXPECTED_OUTCOME[item["kind"]]
        if expected is None:
            assert set(outcomes) == {"passed"}, (item, [(c.name, c.message) for c in r.checks if not c.passed])
        elif item["kind"] == "stub":
            assert "passed" not in outcomes and expected in outcomes, item
        else:
            assert expected in outcomes, (item, outcomes)
            assert r.score < sum(c.max_score for c in r.checks), item  # extra credit included


def graded_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if "unchanged (skipped)" in line)


# -- student ids -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["alice.py", "bob.ipynb", "carol.zip", "dave"], ["alice", "bob", "carol", "dave"]),
        # Canvas
        (["smithjane_12345_678901_cnn.py", "doejohn_LATE_23456_789012_cnn-1.py"], ["smithjane", "doejohn"]),
        # Moodle folders
        (
            ["Jane Smith_123456_assignsubmission_file_", "John Doe_234567_assignsubmission_file_"],
            ["Jane Smith", "John Doe"],
        ),
        # Blackboard
        (
            [
                "Assignment 3_jsmith_attempt_2024-03-01-23-59-59_cnn.py",
                "Assignment 3_jdoe_attempt_2024-03-02-10-00-00_cnn.py",
            ],
            ["jsmith", "jdoe"],
        ),
        # A common prefix and suffix shared by every name, that look like export artifacts
        (["hw3_alice_cnn.py", "hw3_bob_cnn.py"], ["alice", "bob"]),
        (["Assignment3-alice-final.ipynb", "Assignment3-bob-final.ipynb"], ["alice", "bob"]),
        # ... and not when they look like a name
        (["alice_smith.py", "alice_jones.py"], ["alice_smith", "alice_jones"]),
        (["smith_anna.py", "jones_anna.py"], ["smith_anna", "jones_anna"]),
        # Ambiguous: not every name follows the pattern, so nothing is stripped
        (["smithjane_12345_678901_cnn.py", "bob.py"], ["smithjane_12345_678901_cnn", "bob"]),
        # Stripping would merge two students, or part of the shared prefix is not an artifact
        (["hw3_x.py", "hw3_x.ipynb"], ["hw3_x_py", "hw3_x_ipynb"]),
        (["hw3_a_1.py", "hw3_a_2.py"], ["hw3_a_1", "hw3_a_2"]),
        (["a_x.py", "a_x.zip"], ["a_x_py", "a_x_zip"]),
        # One submission: no common part to strip
        (["hw3_alice.py"], ["hw3_alice"]),
        ([".hidden-id.py"], ["_hidden-id"]),
    ],
)
def test_student_ids(tmp_path: Path, names: list[str], expected: list[str]) -> None:
    paths = []
    for name in names:
        p = tmp_path / name
        if "." in name and not name.endswith("_"):
            p.write_text("x = 1\n")
        else:
            p.mkdir()
        paths.append(p)
    ids = student_ids(paths, hints=["assignment3", "cnn"])
    assert [ids[p] for p in paths] == expected


def test_discover_submissions_skips_hidden_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "alice.py").write_text("")
    (tmp_path / "bob").mkdir()
    (tmp_path / "carol.ZIP").write_bytes(b"")
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "grades.csv").write_text("")
    (tmp_path / "reports").mkdir()
    found, skipped = discover_submissions(tmp_path, exclude=[tmp_path / "reports"])
    assert [p.name for p in found] == ["alice.py", "bob", "carol.ZIP"]
    assert [p.name for p in skipped] == ["grades.csv"]


# -- the cache -------------------------------------------------------------------


def _result(student: str = "alice", fingerprint: str = "a" * 32, isolation: str = "bwrap") -> SubmissionResult:
    return SubmissionResult(
        assignment="demo",
        student=student,
        seed=0,
        checks=(),
        questions=(),
        isolation=isolation,
        fingerprint=fingerprint,
    )


def test_cache_returns_a_result_only_for_its_fingerprint_and_isolation(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    cache.store(_result())
    assert cache.load("alice", "a" * 32, "bwrap") == _result()
    assert cache.load("alice", "b" * 32, "bwrap") is None
    assert cache.load("alice", "a" * 32, "rlimits") is None
    assert cache.load("bob", "a" * 32, "bwrap") is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s[: len(s) // 2],
        lambda s: s.replace('"schema_version": 1', '"schema_version": 99'),
        lambda s: s.replace('"checks": []', '"checks": [{"name": 1}]'),
        lambda s: s.replace('"student": "alice"', '"student": "mallory"'),
        lambda s: "[]",
    ],
)
def test_cache_never_trusts_a_damaged_file(tmp_path: Path, damage: Any) -> None:
    cache = ResultCache(tmp_path)
    cache.store(_result())
    path = cache.path("alice")
    path.write_text(damage(path.read_text()))
    assert cache.load("alice", "a" * 32, "bwrap") is None


def test_write_atomic_replaces_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "x.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


# -- whole batches on the demo course ----------------------------------------------

#: One submission of each kind, every crashing and forbidden variant (students 1..13).
KINDS_ONCE = [
    "correct",
    "folder",
    "notebook",
    "zip",
    "wrong",
    "crashing",
    "crashing",
    "crashing",
    "crashing",
    "hanging",
    "forbidden",
    "forbidden",
    "stub",
]


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One batch over every kind of submission (plus an unreadable zip and an empty folder)."""
    if bwrap_problem() is not None:
        pytest.skip(f"strict isolation unavailable: {bwrap_problem()}")
    root = tmp_path_factory.mktemp("demo-batch")
    course = gen.build_demo_course(root / "course")
    subs = root / "submissions"
    made = gen.generate_for_course(course, "demo", subs, len(KINDS_ONCE), plan=KINDS_ONCE, seed=1)
    (subs / "student090.zip").write_bytes(b"this is not a zip file")
    (subs / "student091").mkdir()
    (subs / "readme.txt").write_text("not a submission")
    out = root / "out"
    proc = grade_cli(course, "demo", subs, out, "--jobs", "2")
    return {"course": course, "subs": subs, "out": out, "proc": proc, "manifest": [vars(g) for g in made], "made": made}


@needs_bwrap
def test_batch_grades_every_kind_of_submission(demo_batch: dict[str, Any]) -> None:
    proc, out = demo_batch["proc"], demo_batch["out"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = cached_results(out)
    students = [g["student"] for g in demo_batch["manifest"]] + ["student090", "student091"]
    assert sorted(results) == sorted(students)
    check_outcomes(results, demo_batch["manifest"])
    for r in results.values():
        assert r.isolation == "bwrap" and r.hidden and r.seed == 0
    broken = results["student090"]
    assert broken.score == 0 and any("not a valid zip" in n for n in broken.notes)
    assert any("missing" in n for n in results["student091"].notes)
    assert "ignored 1 entries" in proc.stdout


@needs_bwrap
def test_batch_writes_every_report(demo_batch: dict[str, Any]) -> None:
    out = demo_batch["out"]
    results = cached_results(out)
    for student, r in results.items():
        page = (out / f"{student}.html").read_text()
        assert 'id="score"' in page and f"{r.score:g} / {r.max_score:g}" in page
        data = json.loads((out / f"{student}.json").read_text())
        assert data["score"] == r.score and len(data["tests"]) == len(r.checks)
        # hidden_feedback = "pass_fail": a hidden check's message never reaches the student
        for test in data["tests"]:
            if test["visibility"] == "after_published":
                assert test["output"] in ("passed", "did not pass")
        # ... but the instructor's copy keeps every hidden message
        instructor = (out / "instructor" / f"{student}.html").read_text()
        public = {c.message for c in r.checks if c.visibility == "public"}
        for check in r.checks:
            if check.visibility == "hidden" and check.message and check.message not in public:
                assert html.escape(check.message[:40]) in instructor, (student, check.name)
                assert html.escape(check.message[:40]) not in page, (student, check.name)
    summary = (out / "summary.html").read_text()
    for student in results:
        assert f'data-student="{student}"' in summary
    book = pd.read_csv(out / "gradebook.csv")
    assert sorted(book["student"]) == sorted(results)
    assert {"add", "conv", "total", "status", "seed", "grading_seconds"} <= set(book.columns)
    assert (out / "batch.log").read_text().count("\n") >= len(results)
    assert not list(out.rglob("*.tmp"))


@needs_bwrap
def test_screen_summary_counts_the_problems(demo_batch: dict[str, Any]) -> None:
    stdout = demo_batch["proc"].stdout
    assert "15 submissions: 15 graded, 0 unchanged (skipped)" in stdout
    assert "timed out:            1  student010" in stdout
    assert "forbidden import:     2  student011, student012" in stdout
    assert "score ≥ 7: 4 · passed every check: 4" in stdout


@needs_bwrap
def test_rerun_skips_unchanged_and_regrades_exactly_the_changed_one(demo_batch: dict[str, Any]) -> None:
    course, subs, out = demo_batch["course"], demo_batch["subs"], demo_batch["out"]
    before = cached_results(out)
    again = grade_cli(course, "demo", subs, out, "--jobs", "2")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "15 submissions, 15 unchanged (skipped), 0 to grade" in graded_line(again.stdout)
    assert cached_results(out) == before

    changed = subs / "student005.py"  # the wrong one, corrected
    changed.write_text((subs / "student001.py").read_text())
    third = grade_cli(course, "demo", subs, out, "--jobs", "2")
    assert third.returncode == 0, third.stderr[-2000:]
    assert "14 unchanged (skipped), 1 to grade" in graded_line(third.stdout)
    after = cached_results(out)
    assert after["student005"].score == after["student005"].max_score
    assert {s for s in after if after[s] != before[s]} == {"student005"}
    assert (
        pd.read_csv(out / "gradebook.csv").set_index("student").loc["student005", "total"]
        == after["student005"].max_score
    )


@needs_bwrap
def test_changing_a_check_regrades_everything_and_force_too(tmp_path: Path) -> None:
    course = gen.build_demo_course(tmp_path / "course")
    subs = tmp_path / "subs"
    gen.generate_for_course(course, "demo", subs, 2, kinds=["correct", "wrong"])
    out = tmp_path / "out"
    assert grade_cli(course, "demo", subs, out, "--jobs", "1").returncode == 0
    forced = grade_cli(course, "demo", subs, out, "--jobs", "1", "--force")
    assert "0 unchanged (skipped), 2 to grade" in graded_line(forced.stdout)
    hidden = course / "solutions/demo/hidden/test_demo_hidden.py"
    hidden.write_text(hidden.read_text() + "\n# a comment changes the checks' fingerprint\n")
    third = grade_cli(course, "demo", subs, out, "--jobs", "1")
    assert "0 unchanged (skipped), 2 to grade" in graded_line(third.stdout)
    seeded = grade_cli(course, "demo", subs, out, "--jobs", "1", "--seed", "7")
    assert "0 unchanged (skipped), 2 to grade" in graded_line(seeded.stdout)
    assert {r.seed for r in cached_results(out).values()} == {7}


def test_batch_refuses_weak_isolation_unless_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = CourseDir(gen.build_demo_course(tmp_path / "course"))
    subs = tmp_path / "subs"
    gen.generate_for_course(course.root, "demo", subs, 1, kinds=["correct"])
    real = Isolation.detect

    def no_bwrap(wanted: str = "auto") -> Isolation:
        if wanted == "bwrap":
            raise IsolationUnavailable("strict isolation (bwrap) is not available: test")
        return real("rlimits")

    monkeypatch.setattr(batch.Isolation, "detect", staticmethod(no_bwrap))
    with pytest.raises(IsolationUnavailable, match="--allow-weak-isolation"):
        run_batch(course, "demo", subs, out=tmp_path / "out", jobs=1, progress=False)
    outcome = run_batch(course, "demo", subs, out=tmp_path / "out", jobs=1, progress=False, allow_weak_isolation=True)
    (result,) = outcome.results.values()
    assert result.isolation == "rlimits" and result.score == result.max_score


def test_cli_maps_a_missing_folder_to_a_usage_error(tmp_path: Path) -> None:
    course = gen.build_demo_course(tmp_path / "course")
    proc = grade_cli(course, "demo", tmp_path / "nowhere", tmp_path / "out")
    assert proc.returncode == 2 and "submissions folder not found" in proc.stderr


@needs_bwrap
@pytest.mark.slow
def test_ctrl_c_leaves_a_consistent_state_that_resumes(tmp_path: Path) -> None:
    course = gen.build_demo_course(tmp_path / "course")
    subs = tmp_path / "subs"
    plan = ["correct", "correct", "hanging", "hanging", "wrong", "correct", "hanging", "correct", "correct", "wrong"]
    made = gen.generate_for_course(course, "demo", subs, len(plan), plan=plan, seed=3)
    out = tmp_path / "out"
    env = {**os.environ, "AUTOGRADER_ROOT": str(course)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autograder",
            "batch",
            "demo",
            str(subs),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / ".cache").glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the batch finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr[-3000:]
    assert "interrupted" in stdout
    done = cached_results(out)
    assert 2 <= len(done) < len(made)
    for student, r in done.items():
        assert r.status == "ok" and r.checks
        assert (out / f"{student}.html").is_file() and (out / f"{student}.json").is_file()
    assert not list(out.rglob("*.tmp"))
    assert not (out / "gradebook.csv").exists()

    resumed = grade_cli(course, "demo", subs, out, "--jobs", "2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{len(done)} unchanged (skipped), {len(made) - len(done)} to grade" in graded_line(resumed.stdout)
    final = cached_results(out)
    assert {s: final[s] for s in done} == done
    check_outcomes(final, [vars(g) for g in made])
    assert len(pd.read_csv(out / "gradebook.csv")) == len(made)


@needs_bwrap
@pytest.mark.slow
def test_batch_on_a_local_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    course = CourseDir(gen.build_demo_course(tmp_path / "course"))
    subs = tmp_path / "subs"
    made = gen.generate_for_course(course.root, "demo", subs, 6, kinds=["correct", "zip", "wrong", "forbidden"], seed=5)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        outcome = run_batch(
            course, "demo", subs, out=tmp_path / "out", jobs=2, scheduler=cluster.scheduler_address, progress=False
        )
        with distributed.Client(cluster.scheduler_address) as client:
            worker_pids = set(client.run(os.getpid).values())
    assert not outcome.interrupted and sorted(outcome.graded) == sorted(g.student for g in made)
    check_outcomes(outcome.results, [vars(g) for g in made])
    pids = {r.extra["timing"]["pid"] for r in outcome.results.values()}
    assert pids <= worker_pids and os.getpid() not in pids
    assert len(pd.read_csv(tmp_path / "out" / "gradebook.csv")) == len(made)


# -- at scale: >= 100 submissions of assignment3 ---------------------------------------


def _assignment3_ready() -> bool:
    solution = REPO / "solutions" / "assignment3" / "cnn.py"
    hidden = REPO / "solutions" / "assignment3" / "hidden"
    return solution.is_file() and any(hidden.glob("test_*.py"))


@needs_bwrap
@pytest.mark.slow
def test_a_hundred_and_twenty_submissions_end_to_end(tmp_path: Path) -> None:
    """A mix of correct, wrong, crashing, hanging, forbidden, notebook and zip submissions of
    assignment3 (the demo assignment until assignment3 has its solution and hidden checks)."""
    if _assignment3_ready():
        course, assignment = REPO, "assignment3"
    else:
        course, assignment = gen.build_demo_course(tmp_path / "course"), "demo"
    subs = tmp_path / "submissions"
    made = gen.generate_for_course(course, assignment, subs, 120, seed=11)
    kinds = {g.kind for g in made}
    assert {"correct", "wrong", "crashing", "hanging", "forbidden", "notebook", "zip"} <= kinds
    out = tmp_path / "out"
    first = grade_cli(course, assignment, subs, out, "--jobs", "2", timeout=3000)
    assert first.returncode == 0, first.stderr[-3000:]
    results = cached_results(out)
    assert sorted(results) == sorted(g.student for g in made)
    check_outcomes(results, [vars(g) for g in made])
    for g in made:
        assert (out / f"{g.student}.html").is_file() and (out / f"{g.student}.json").is_file()
    book = pd.read_csv(out / "gradebook.csv")
    assert len(book) == len(made) and book["student"].is_unique

    again = grade_cli(course, assignment, subs, out, "--jobs", "2", timeout=600)
    assert f"{len(made)} unchanged (skipped), 0 to grade" in graded_line(again.stdout)

    victim = next(g for g in made if g.kind == "correct")
    path = subs / victim.path
    path.write_text(path.read_text() + "\n# changed after the deadline\n")
    third = grade_cli(course, assignment, subs, out, "--jobs", "2", timeout=600)
    assert f"{len(made) - 1} unchanged (skipped), 1 to grade" in graded_line(third.stdout)
    assert cached_results(out)[victim.student].fingerprint != results[victim.student].fingerprint


def test_generated_zip_and_notebook_are_what_they_claim(tmp_path: Path) -> None:
    course = gen.build_demo_course(tmp_path / "course")
    made = gen.generate_for_course(course, "demo", tmp_path / "s", 2, kinds=["zip", "notebook"])
    by_kind = {g.kind: tmp_path / "s" / g.path for g in made}
    with zipfile.ZipFile(by_kind["zip"]) as archive:
        assert any(n.endswith("/demo.py") for n in archive.namelist())
    assert json.loads(by_kind["notebook"].read_text())["nbformat"] == 4
    manifest = json.loads(gen.manifest_path(tmp_path / "s").read_text())
    assert [m["kind"] for m in manifest["submissions"]] == [g.kind for g in made]
