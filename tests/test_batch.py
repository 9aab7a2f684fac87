"""``grade batch``: student ids, the result cache, and whole batches of generated submissions
through the process pool and a local Dask cluster, resumed after Ctrl-C."""

from __future__ import annotations

import html
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from generator import gen

from autograder.batch import ResultCache, run_batch, write_atomic
from autograder.batch import run as batch_run
from autograder.batch.ids import canvas_students_with_several_files
from autograder.errors import AutograderError, IsolationUnavailable
from autograder.paths import CourseDir
from autograder.results import SCHEMA_VERSION, SubmissionResult
from autograder.sandbox.isolation import Isolation, bwrap_problem
from autograder.sanitize import file_stem
from autograder.students import discover_submissions, student_ids

REPO = Path(__file__).resolve().parent.parent
#: A zip whose bzip2 member declares 100 bytes and inflates to 2 GB (made by test_submission.bz2_bomb).
BOMB = REPO / "tests" / "corpus" / "intake" / "bz2_bomb.zip"


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
        (["hw3_a_1.py", "hw3_a_2.py"], ["hw3_a_1", "hw3_a_2"]),
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


@pytest.mark.parametrize(
    "names", [["student37", "student37.py"], ["hw3_x.py", "hw3_x.ipynb"], ["a_x.py", "a_x.zip", "b.py"]]
)
def test_the_same_student_twice_is_an_error_naming_both(tmp_path: Path, names: list[str]) -> None:
    paths = []
    for name in names:
        p = tmp_path / name
        if "." in name:
            p.write_text("x = 1\n")
        else:
            p.mkdir()
        paths.append(p)
    with pytest.raises(AutograderError, match="the same student twice") as info:
        student_ids(paths, hints=["assignment3", "cnn"])
    message = str(info.value)
    twice = [n for n in names if n != "b.py"]
    assert all((n + "/" if "." not in n else n) in message for n in twice) and "b.py" not in message


@pytest.mark.parametrize(
    ("student", "stem"),
    [
        ("alice", "alice"),
        ("Jane Smith", "Jane Smith"),
        ("Zoë_O-Brien.2", "Zoë_O-Brien.2"),
        ("a" * 240, None),
        ("\x1b]0;pwned\x07\x1b[2Kevil", None),
        ("=HYPERLINK(1)", None),
        ("--help", None),
        ("..", None),
        ("bad\udcffname", None),
    ],
)
def test_report_file_stems_are_bounded_safe_and_distinct(student: str, stem: str | None) -> None:
    got = file_stem(student)
    if stem is not None:
        assert got == stem
        return
    assert got != student and len(got.encode()) <= 120 and got.isprintable()
    assert not got.startswith((".", "-")) and "/" not in got and "\x1b" not in got
    assert file_stem(student + "x") != got  # the hash of the whole id keeps students apart


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
        lambda s: s.replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": 99'),
        lambda s: s.replace('"checks": []', '"checks": [{"name": 1}]'),
        lambda s: s.replace('"student": "alice"', '"student": "mallory"'),
        lambda s: "[]",
    ],
)
def test_cache_never_trusts_a_damaged_file(tmp_path: Path, damage: Any) -> None:
    cache = ResultCache(tmp_path)
    cache.store(_result())
    path = cache.path("alice")
    damaged = damage(path.read_text())
    assert damaged != path.read_text(), "the damage changes the file"
    path.write_text(damaged)
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
    seeds = {r.seed for r in results.values()}
    assert len(seeds) == 1 and all(r.isolation == "bwrap" and r.hidden for r in results.values())
    # No --seed: a random one for the batch, said on screen and kept in the gradebook.
    (seed,) = seeds
    assert f"(seed {seed}, random;" in proc.stdout
    assert set(pd.read_csv(out / "gradebook.csv")["seed"]) == {seed}
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
        public_messages = {c.message for c in r.checks if c.visibility == "public"}
        for check in r.checks:
            if check.visibility == "hidden" and check.message and check.message not in public_messages:
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
    assert "reused from the earlier run of this output folder" in graded_line(again.stdout)
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

    monkeypatch.setattr(batch_run.Isolation, "detect", staticmethod(no_bwrap))
    with pytest.raises(IsolationUnavailable, match="--allow-weak-isolation"):
        run_batch(course, "demo", subs, out=tmp_path / "out", jobs=1, progress=False)
    outcome = run_batch(course, "demo", subs, out=tmp_path / "out", jobs=1, progress=False, allow_weak_isolation=True)
    (result,) = outcome.results.values()
    assert result.isolation == "rlimits" and result.score == result.max_score


def test_cli_maps_a_missing_folder_to_a_usage_error(tmp_path: Path) -> None:
    course = gen.build_demo_course(tmp_path / "course")
    proc = grade_cli(course, "demo", tmp_path / "nowhere", tmp_path / "out")
    assert proc.returncode == 2 and "submissions folder not found" in proc.stderr


def test_an_empty_folder_a_file_or_a_canvas_download_without_from_is_a_usage_error_that_keeps_the_output(
    tmp_path: Path,
) -> None:
    course = gen.build_demo_course(tmp_path / "course")
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("student,total\nalice,7\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("")
    proc = grade_cli(course, "demo", empty, out)
    assert proc.returncode == 2 and "no submissions in" in proc.stderr and "1 other files" in proc.stderr
    one_file = tmp_path / "student01" / "demo.py"
    one_file.parent.mkdir()
    one_file.write_text("")
    proc = grade_cli(course, "demo", one_file, out)
    assert proc.returncode == 2, proc.stderr
    assert "demo.py is a file; grade batch expects a folder of submissions" in proc.stderr
    # Canvas flattens a student's files into the folder: graded one file per student, they would
    # be students of their own ("doejane_11_21_helpers"), so the batch asks for --from canvas.
    canvas = tmp_path / "canvas"
    for name in ("doejane_11_21_demo.py", "doejane_11_21_helpers.py", "smithbob_12_22_demo.py"):
        _write(canvas, name, "")
    proc = grade_cli(course, "demo", canvas, out)
    assert proc.returncode == 2, proc.stderr
    assert "looks like a Canvas download" in proc.stderr and "--from canvas" in proc.stderr
    assert "doejane: doejane_11_21_demo.py and doejane_11_21_helpers.py" in proc.stderr
    assert "smithbob" not in proc.stderr
    assert (out / "gradebook.csv").read_text() == "student,total\nalice,7\n"


@pytest.mark.parametrize(
    ("names", "several"),
    [
        (["doejane_11_21_demo.py", "doejane_11_21_demo.ipynb", "smithbob_12_22_demo.py"], {"doejane": 2}),
        (["doejane_11_21_demo.py", "doejane_LATE_11_23_demo-1.py"], {"doejane": 2}),
        # One file per student: the Canvas prefix is stripped as before, nothing to say.
        (["doejane_11_21_demo.py", "smithbob_12_22_demo.py"], {}),
        # Most names are not Canvas's: not a Canvas download.
        (["x_1_2_a.py", "x_1_2_b.py", "alice.py", "bob.py", "carol.py"], {}),
    ],
)
def test_a_canvas_download_with_several_files_per_student_is_recognised(
    tmp_path: Path, names: list[str], several: dict[str, int]
) -> None:
    paths = [_write(tmp_path, name, "") for name in names]
    found = canvas_students_with_several_files(paths)
    assert {name: len(group) for name, group in found.items()} == several


@needs_bwrap
def test_a_student_with_two_submissions_is_not_graded_and_everyone_else_is(tmp_path: Path) -> None:
    course = gen.build_demo_course(tmp_path / "course")
    solution = (course / "solutions/demo/demo.py").read_text()
    subs, out = tmp_path / "subs", tmp_path / "out"
    _write(subs / "student37", "demo.py", solution)
    _write(subs, "student37.py", solution.replace("return a + b", "return a - b"))
    _write(subs, "bob.py", solution)
    proc = grade_cli(course, "demo", subs, out, "--jobs", "1", "--no-similarity")
    assert proc.returncode == 2, proc.stdout + proc.stderr  # the folder needs fixing; nobody else waits
    assert "not graded, more than one submission in the folder: student37;" in proc.stdout
    results = cached_results(out)
    assert results["bob"].status == "ok" and results["bob"].score == results["bob"].max_score
    clash = results["student37"]
    assert clash.status == "grader_error" and not clash.checks
    assert "student37/ and student37.py" in clash.notes[-1] and "--only student37" in clash.notes[-1]
    book = pd.read_csv(out / "gradebook.csv").set_index("student")
    assert book.loc["student37", "status"] == "grader_error" and book.loc["bob", "status"] == "ok"
    assert "student37/ and student37.py" in (out / "student37.html").read_text()

    (subs / "student37.py").unlink()  # the instructor keeps one
    again = grade_cli(course, "demo", subs, out, "--jobs", "1", "--no-similarity", "--only", "student37")
    assert again.returncode == 0, again.stdout + again.stderr
    fixed = cached_results(out)["student37"]
    assert fixed.status == "ok" and fixed.score == fixed.max_score


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
    timings = [r.timing for r in outcome.results.values()]
    assert all(t is not None for t in timings), "every graded result records its timing"
    pids = {t.pid for t in timings if t is not None}
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


# -- output kept across runs; one submission never stops a batch; hostile names and values ----


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


@needs_bwrap
def test_students_not_in_this_run_are_kept_and_prune_drops_them(tmp_path: Path) -> None:
    course = CourseDir(gen.build_demo_course(tmp_path / "course"))
    solution = (course.root / "solutions/demo/demo.py").read_text()
    subs, out = tmp_path / "subs", tmp_path / "out"
    for student in ("alice", "bob"):
        _write(subs, f"{student}.py", solution)
    first = run_batch(course, "demo", subs, out=out, jobs=1, progress=False, stream=io.StringIO())
    assert sorted(first.graded) == ["alice", "bob"]
    seed = first.results["alice"].seed

    (subs / "bob.py").unlink()  # a late batch: only some students, into the same folder
    stream = io.StringIO()
    second = run_batch(course, "demo", subs, out=out, jobs=1, progress=False, stream=stream)
    assert second.kept == ["bob"] and second.skipped == ["alice"] and not second.graded
    assert "kept the results of 1 students not in this folder" in stream.getvalue()
    book = pd.read_csv(out / "gradebook.csv")
    assert sorted(book["student"]) == ["alice", "bob"] and set(book["seed"]) == {seed}
    assert 'data-student="bob"' in (out / "summary.html").read_text()
    assert (out / "bob.html").is_file()

    third = run_batch(course, "demo", subs, out=out, jobs=1, progress=False, prune=True, stream=io.StringIO())
    assert third.pruned == ["bob"] and not third.kept
    assert list(pd.read_csv(out / "gradebook.csv")["student"]) == ["alice"]
    assert not (out / "bob.html").exists() and not (out / "bob.json").exists()
    assert not (out / ".cache" / "bob.json").exists() and (out / "alice.html").is_file()


@needs_bwrap
def test_only_regrades_the_students_named_and_changes_nobody_else(tmp_path: Path) -> None:
    course = CourseDir(gen.build_demo_course(tmp_path / "course"))
    solution = (course.root / "solutions/demo/demo.py").read_text()
    subs, out = tmp_path / "subs", tmp_path / "out"
    for student in ("alice", "bob", "carol"):
        _write(subs, f"{student}.py", solution)
    run_batch(course, "demo", subs, out=out, jobs=1, progress=False, stream=io.StringIO())
    others = [out / name for s in ("alice", "carol") for name in (f"{s}.html", f"{s}.json", f".cache/{s}.json")]
    before = {path: path.read_bytes() for path in others}
    rows_before = pd.read_csv(out / "gradebook.csv").set_index("student")

    _write(subs, "bob.py", solution.replace("return a + b", "return a - b"))  # bob resubmits, worse
    stream = io.StringIO()
    again = run_batch(course, "demo", subs, out=out, jobs=1, progress=False, only=["bob"], stream=stream)
    assert again.graded == ["bob"] and again.kept == ["alice", "carol"]
    assert "kept the results of 2 other students (--only)" in stream.getvalue()
    assert {path: path.read_bytes() for path in others} == before  # nobody else's result or report
    rows = pd.read_csv(out / "gradebook.csv").set_index("student")
    # Every column of their rows but the similarity ones, which compare with bob's new code.
    graded = [c for c in rows.columns if c not in ("similarity", "similar_to")]
    them = ["alice", "carol"]
    assert rows.loc[them, graded].astype(str).equals(rows_before.loc[them, graded].astype(str))
    assert rows.loc["bob", "total"] < rows_before.loc["bob", "total"]

    # The same again grades bob again even though nothing changed (the cache is not asked).
    assert run_batch(
        course, "demo", subs, out=out, jobs=1, progress=False, only=["bob"], stream=io.StringIO()
    ).graded == ["bob"]
    with pytest.raises(AutograderError, match=r"--only: no submission in .* for bobb \(did you mean bob\?\)"):
        run_batch(course, "demo", subs, out=out, jobs=1, progress=False, only=["bobb"], stream=io.StringIO())
    with pytest.raises(AutograderError, match="does not go with --prune"):
        run_batch(course, "demo", subs, out=out, only=["bob"], prune=True, stream=io.StringIO())


@needs_bwrap
def test_one_submission_failing_to_read_or_report_never_stops_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = CourseDir(gen.build_demo_course(tmp_path / "course"))
    solution = (course.root / "solutions/demo/demo.py").read_text()
    subs, out = tmp_path / "subs", tmp_path / "out"
    for student in ("alice", "carol", "dave"):
        _write(subs, f"{student}.py", solution)
    real_load, real_reports = batch_run.load_submission, batch_run.write_reports

    def load(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name == "carol.py":  # any bug of the reader, e.g. deep recursion
            raise RecursionError("maximum recursion depth exceeded")
        return real_load(path, *args, **kwargs)

    def reports(result: SubmissionResult, *args: Any) -> None:
        if result.student == "dave":
            raise OSError(36, "File name too long")
        real_reports(result, *args)

    monkeypatch.setattr(batch_run, "load_submission", load)
    monkeypatch.setattr(batch_run, "write_reports", reports)
    outcome = run_batch(course, "demo", subs, out=out, jobs=1, progress=False, stream=io.StringIO())
    results = outcome.results
    assert results["alice"].score == results["alice"].max_score == 7
    assert results["carol"].score == 0 and "could not be read (RecursionError" in results["carol"].notes[0]
    assert results["dave"].status == "grader_error" and "File name too long" in results["dave"].notes[-1]
    book = pd.read_csv(out / "gradebook.csv").set_index("student")
    assert sorted(book.index) == ["alice", "carol", "dave"] and book.loc["dave", "status"] == "grader_error"
    assert not (out / ".cache" / "dave.json").exists()  # not cached: the next run grades dave again
    assert outcome.failed == ["dave"]


def _peak_cli(
    course: Path, assignment: str, submissions: Path, out: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], int]:
    """``grade batch`` run by a small parent that reports the peak memory (bytes) of any of its
    descendants: the batch process, its executor processes and their sandboxes."""
    probe = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:]).returncode\n"
        "print('PEAK', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    command = [sys.executable, "-m", "autograder", "batch", assignment, str(submissions), "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-c", probe, *command, "--no-progress", *extra],
        env={**os.environ, "AUTOGRADER_ROOT": str(course)},
        capture_output=True,
        text=True,
        timeout=900,
        errors="backslashreplace",
    )
    peak = int(proc.stderr.rsplit("PEAK ", 1)[1].split()[0])
    return proc, peak


HUGE_STRING = """
import numpy as np


def add(a, b):
    if isinstance(a, int):  # the check that compares with assert_equal
        return "x" * (15 * 1024 * 1024)
    return np.add(a, b)


def conv(x, w):
    raise NotImplementedError("conv")
"""

ANSI_RAISER = """
def add(a, b):
    raise ValueError("\\x1b[1A\\x1b[2K  PASS  test_add_numbers 1/1\\x1b]0;owned\\x07\\x1b]52;c;ZWNobyBoaQ==\\x07")


def conv(x, w):
    raise NotImplementedError("conv")
"""


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """A demo course and a folder of submissions that attacked the batch (issue cases 3, 4, 5, 6,
    12, 13, 14), next to honest classmates: (course, submissions, honest file -> student id)."""
    from test_submission import nest, unnest

    course = gen.build_demo_course(tmp_path / "course")
    solution = (course / "solutions/demo/demo.py").read_text()
    subs = tmp_path / "subs"
    honest = {"alice.py": "alice", "bob.py": "bob"}
    for name in honest:
        _write(subs, name, solution)
    long_name = "s" * 240  # case 3: 'File name too long' while writing its report
    _write(subs, f"{long_name}.py", solution)
    honest[f"{long_name}.py"] = long_name
    escape_name = "\x1b]0;owned\x07\x1b[2K\x1b[1Aevil"  # case 14: escapes in a file name
    _write(subs, f"{escape_name}.py", solution)
    honest[f"{escape_name}.py"] = escape_name
    formula = "=cmd|' -c calc'!A1"  # case 14: a formula in the gradebook
    _write(subs, f"{formula}.py", solution)
    honest[f"{formula}.py"] = formula
    markup = "<img src=x onerror=alert(1)>"  # HTML in a name: escaped in every page
    _write(subs, f"{markup}.py", solution)
    honest[f"{markup}.py"] = markup
    (subs / "loop.py").symlink_to(subs / "loop.py")  # a symbolic link loop
    _write(subs, "ansi.py", ANSI_RAISER)  # case 14: escapes in an exception message
    _write(subs, "huge.py", HUGE_STRING)  # case 12: a 15 MB string returned to assert_equal
    deep = subs / "deep"  # case 4: a folder nested 1,100 levels
    _write(deep, "demo.py", solution)
    nest(deep, 1100)
    notebook = {  # case 5: a line of spaces that made the magic pattern backtrack for hours
        "cells": [{"cell_type": "code", "source": " " * 1_000_000 + "x y", "metadata": {}, "outputs": []}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    _write(subs, "spaces.ipynb", json.dumps(notebook))
    shutil.copy(BOMB, subs / "bomb.zip")  # case 6: 1.6 KB, 2 GB of zeros declared as 100 bytes
    host_file = tmp_path / "host-secret.bin"  # case 13: a symlink to a large host file
    with open(host_file, "wb") as f:
        f.truncate(1536 * 1024 * 1024)
    linked = subs / "linked"
    _write(linked, "demo.py", solution)
    (linked / "data.py").symlink_to(host_file)
    (subs / "link.py").symlink_to(host_file)
    yield course, subs, honest
    unnest(deep)


@needs_bwrap
@pytest.mark.slow
def test_hostile_submissions_neither_stop_the_batch_nor_reach_the_terminal_raw(
    hostile_folder: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    course, subs, honest = hostile_folder
    out = tmp_path / "out"
    proc, peak = _peak_cli(course, "demo", subs, out, "--jobs", "2", "--seed", "5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"grade batch, hostile folder: peak memory of any process {peak / 1024**2:.0f} MB")
    assert peak < 1024**3, f"peak memory {peak / 1024**2:.0f} MB"
    results = cached_results(out)
    for student in honest.values():  # every honest classmate: full marks, reports written
        r = results[student]
        assert r.score == r.max_score == 7, (student, r.notes)
        stem = file_stem(student)
        assert (out / f"{stem}.html").is_file() and (out / f"{stem}.json").is_file()
        assert len(stem.encode()) <= 120
    assert set(results) == {*honest.values(), "ansi", "huge", "deep", "spaces", "bomb", "linked", "link", "loop"}
    assert any("symbolic link" in n for n in results["loop"].notes)
    for page in [out / "summary.html", *out.glob("*.html")]:
        assert "<img src=x" not in page.read_text()
    assert any("bzip2" in n for n in results["bomb"].notes) and results["bomb"].score == 0
    assert any("symbolic link" in n for n in results["link"].notes) and results["link"].score == 0
    assert results["linked"].score == 7 and any("symbolic link" in n for n in results["linked"].notes)
    assert results["deep"].score == 7 and any("levels deep" in n for n in results["deep"].notes)
    assert results["spaces"].score == 0 and results["spaces"].checks
    huge = {c.name: c for c in results["huge"].checks}["test_add_numbers"]
    # Refused at the sandbox's boundary (strings over 1 MiB), or capped where results are made.
    assert huge.outcome in ("failed", "error") and not huge.passed
    assert len(huge.message) <= 6000 and len(str(huge.got)) <= 600
    for stem in ("huge", "ansi"):
        assert (out / f"{stem}.html").stat().st_size < 1024**2
        assert (out / f"{stem}.json").stat().st_size < 1024**2
        assert (out / ".cache" / f"{stem}.json").stat().st_size < 1024**2
    # No raw escape sequence reaches the terminal or the log; the gradebook shows names as text.
    log = (out / "batch.log").read_text()
    for text in (proc.stdout, proc.stderr, log):
        assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;owned" in log
    book = pd.read_csv(out / "gradebook.csv")
    assert "'" + formula_of(honest) in set(book["student"])
    assert not any(str(s).startswith(("=", "+", "-", "@")) for s in book["student"])
    # A rerun skips them all (the long name no longer kills every rerun).
    again = grade_cli(course, "demo", subs, out, "--jobs", "1")
    assert again.returncode == 0 and f"{len(results)} unchanged (skipped), 0 to grade" in graded_line(again.stdout)


def formula_of(honest: dict[str, str]) -> str:
    return next(s for s in honest.values() if s.startswith("="))


def test_check_results_cap_what_a_submission_controls(tmp_path: Path) -> None:
    """Caps where check results are made: whatever a check passes on, a cache entry stays small."""
    from autograder.results import MAX_MESSAGE_CHARS, CheckResult

    huge = "x" * (15 * 1024 * 1024)
    check = CheckResult(
        name="test_add_numbers",
        question="add",
        max_score=1.0,
        score=0.0,
        outcome="failed",
        visibility="public",
        message=f"add(2, 3) returned {huge!r}, expected 5.",
        traceback=huge,
        stdout=huge + "the end",
        expected=5,
        got=[huge, [[[[[[[[[[1]]]]]]]]]], *range(100)],
    )
    assert len(check.message) <= MAX_MESSAGE_CHARS and "more characters cut" in check.message
    assert check.stdout.endswith("the end") and len(check.stdout) < 20100
    assert len(json.dumps(check.got)) < 2000 and check.expected == 5
    assert CheckResult.from_dict(json.loads(json.dumps(check.to_dict()))) == check  # capping twice: same
    result = SubmissionResult(
        assignment="demo", student="mallory", seed=1, checks=(check,), questions=(), notes=(huge,) * 500
    )
    cache = ResultCache(tmp_path)
    cache.store(result)
    assert cache.path("mallory").stat().st_size < 200_000


def test_the_fingerprint_of_an_unreadable_submission_reads_nothing(tmp_path: Path) -> None:
    """It used to follow symbolic links and read whole files as root (1.5 GB -> 3.1 GB)."""
    import tracemalloc

    host_file = tmp_path / "host.bin"
    with open(host_file, "wb") as f:
        f.truncate(1536 * 1024 * 1024)
    folder = tmp_path / "mallory"
    folder.mkdir()
    (folder / "big.py").symlink_to(host_file)
    (folder / "loop").symlink_to(folder)
    os.mkfifo(folder / "pipe.py")
    (folder / "demo.py").write_text("x = 1\n")
    tracemalloc.start()
    try:
        first = batch_run._raw_fingerprint(folder, "checks", "too large")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    assert batch_run._raw_fingerprint(folder, "checks", "too large") == first
    os.utime(folder / "demo.py", ns=(0, 0))  # a changed file changes it
    assert batch_run._raw_fingerprint(folder, "checks", "too large") != first
    assert batch_run._raw_fingerprint(folder, "checks", "another reason") != first
