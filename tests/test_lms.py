"""LMS downloads in, grades out: Canvas, Moodle and GitHub Classroom trees graded with ``grade batch --from``,
deadlines and overrides applied, and the files each system imports written by ``grade export``."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from conftest import grade_command
from generator import gen

from autograder.batch import run_batch
from autograder.errors import AutograderError
from autograder.lms import load_entry, read_download
from autograder.lms.classroom import usernames
from autograder.lms.export import MOODLE_HEADER
from autograder.lms.gitcommit import CommitTimeUnknown, last_commit_time
from autograder.lms.roster import read_roster
from autograder.paths import CourseDir
from autograder.spec import load_spec

REPO = Path(__file__).resolve().parent.parent


NEW_YORK = ZoneInfo("America/New_York")
#: Due 1 March 2026, 23:59 in New York; 10% of the score per day late.
DEADLINE = """
[deadline]
due = "2026-03-01T23:59:00"
timezone = "America/New_York"
penalty_per_day = 10
"""
DUE = datetime(2026, 3, 1, 23, 59, tzinfo=NEW_YORK)
HOSTILE = '=HYPERLINK("x")\x1b[31m'


def course_with_deadline(root: Path) -> CourseDir:
    course = gen.build_demo_course(root / "course")
    spec = course / "assignments/demo/assignment.toml"
    spec.write_text(spec.read_text() + DEADLINE)
    return CourseDir(course)


def solution(course: CourseDir) -> str:
    return (course.root / "solutions/demo/demo.py").read_text()


def wrong(course: CourseDir) -> str:
    return solution(course).replace("return a + b", "return a - b")


def put(path: Path, text: str, when: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if when is not None:
        os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def batch(course: CourseDir, subs: Path, out: Path, **options: object) -> tuple[object, str]:
    stream = io.StringIO()
    outcome = run_batch(
        course,
        "demo",
        subs,
        out=out,
        jobs=1,
        progress=False,
        similarity=False,
        allow_weak_isolation=True,
        stream=stream,
        **options,  # type: ignore[arg-type]
    )
    return outcome, stream.getvalue()


def grade(*argv: str, course: Path) -> subprocess.CompletedProcess[str]:
    return grade_command(*argv, cwd=Path.cwd(), root=course)


def git(repo: Path, *argv: str, when: str = "2026-03-01T12:00:00-05:00") -> None:
    """The test's own git, making the test's own data (the product never runs git)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Student",
        "GIT_AUTHOR_EMAIL": "s@example.edu",
        "GIT_COMMITTER_NAME": "Student",
        "GIT_COMMITTER_EMAIL": "s@example.edu",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
    }
    subprocess.run(["git", "-C", str(repo), *argv], env=env, check=True, capture_output=True)


def make_repo(repo: Path, files: dict[str, str], when: str) -> Path:
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for name, text in files.items():
        put(repo / name, text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "work", when=when)
    return repo


# -- Canvas ------------------------------------------------------------------------------


def canvas_tree(course: CourseDir, subs: Path) -> None:
    right = solution(course)
    put(subs / "doejane_12345_678901_demo.py", right, DUE - timedelta(hours=3))
    put(subs / "doejane_12345_678901_helpers.py", "HELPER = 1\n", DUE - timedelta(hours=3))
    put(subs / "doejane_12345_678901_README.md", "# my notes\n", DUE - timedelta(hours=3))
    # A resubmission: Canvas keeps the first upload's name and adds -1 to the second.
    put(subs / "smithjohn_LATE_23456_789012_demo.py", wrong(course), DUE + timedelta(hours=1))
    put(subs / "smithjohn_LATE_23456_789012_demo-1.py", right, DUE + timedelta(days=1, hours=12))
    put(subs / "leeann_LATE_56789_890123_demo.py", right, DUE + timedelta(hours=30))
    put(subs / "müllerzoë_34567_901234_demo-2.py", right, DUE - timedelta(days=1))
    put(subs / f"{HOSTILE}_45678_912345_demo.py", right, DUE - timedelta(days=1))
    put(subs / "readme.txt", "not a submission")


def test_canvas_names_become_one_entry_per_student_with_its_ids(tmp_path: Path) -> None:
    course = course_with_deadline(tmp_path)
    subs = tmp_path / "canvas"
    canvas_tree(course, subs)
    entries = {e.student: e for e in read_download("canvas", subs, ["demo.py"])}
    assert sorted(entries) == sorted(["doejane", "leeann", "müllerzoë", "smithjohn", HOSTILE])
    jane = entries["doejane"]
    assert jane.ids == {"canvas_user_id": "12345", "canvas_submission_id": "678901"} and jane.late is False
    assert [name for _, name in jane.parts] == ["README.md", "demo.py", "helpers.py"]
    john = entries["smithjohn"]
    assert john.late is True and john.submitted is None
    assert [(p.name, name) for p, name in john.parts] == [("smithjohn_LATE_23456_789012_demo-1.py", "demo.py")]
    assert any("older uploads" in w for w in john.warnings)
    assert any("1 entries not named as Canvas names files" in w for e in entries.values() for w in e.warnings)
    spec = load_spec(course.spec_file("demo"))
    submission = load_entry(john, spec)
    assert submission.files["demo.py"] == solution(course).encode()  # the newest upload, named back
    jane_files = load_entry(jane, spec)
    assert set(jane_files.files) == {"demo.py", "helpers.py"}
    assert jane_files.notes == ("not graded (not a .py, .ipynb or .zip file): README.md",)
    assert load_entry(entries["müllerzoë"], spec).files["demo.py"] == solution(course).encode()


def test_canvas_batch_applies_the_deadline_roster_and_overrides_then_exports(tmp_path: Path) -> None:
    course = course_with_deadline(tmp_path)
    subs, out = tmp_path / "canvas", tmp_path / "out"
    canvas_tree(course, subs)
    roster = put(
        tmp_path / "roster.csv",
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        "    Points Possible,,,,\n"
        '"Doe, Jane",12345,S001,jdoe,CNN 101 A\n'
        '"Smith, John",23456,S002,jsmith,CNN 101 B\n'
        '"Lee, Ann",56789,S003,alee,CNN 101 A\n'
        '"Müller, Zoë",34567,S004,zmuller,CNN 101 B\n',
    )
    overrides = put(
        tmp_path / "overrides.csv",
        "student,extension_days,adjustment,reason\n"
        "leeann,2,,medical note\n"
        "müllerzoë,,0.5,regrade: the docstring of conv was ambiguous\n",
    )
    proc = grade(
        "batch", "demo", str(subs), "--out", str(out), "--from", "canvas", "--roster", str(roster),
        "--overrides", str(overrides), "--jobs", "1", "--no-progress", "--no-similarity", "--allow-weak-isolation",
        course=course.root,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Canvas gives no time with its LATE marker: the file dates are used, and that is said once.
    assert proc.stdout.count("submission times are the files' modification dates") == 1
    assert "not in the roster: " in proc.stdout and "\x1b" not in proc.stdout

    book = pd.read_csv(out / "gradebook.csv", dtype={"canvas_user_id": str}).set_index("canvas_user_id")
    assert {"name", "section", "sis_user_id", "sis_login_id", "canvas_submission_id"} <= set(book.columns)
    assert book.loc["12345", "name"] == "Doe, Jane" and book.loc["12345", "section"] == "CNN 101 A"
    assert book.loc["12345", "sis_user_id"] == "S001"
    # Smith resubmitted 1 day 12 hours after the due time: 2 days late, 10% a day of 7 points.
    john = book.loc["23456"]
    assert (john["total"], john["late_penalty"], john["final_score"], john["days_late"]) == (7, 1.4, 5.6, 2)
    ann = book.loc["56789"]  # 30 hours late, with 2 days of extension: on time
    assert (ann["late_penalty"], ann["final_score"]) == (0, 7) and "medical note" in ann["late_note"]
    zoe = book.loc["34567"]
    assert (zoe["adjustment"], zoe["final_score"]) == (0.5, 7.5)
    assert book.loc["45678", "student"].startswith("'=HYPERLINK")  # a formula shown as text

    page = (out / "smithjohn.html").read_text()
    assert 'id="raw-score">7<' in page and 'id="late-penalty">-1.4<' in page and ">5.6 / 7<" in page
    assert "submitted 2026-03-03T11:59-05:00 (Canvas marks it late and gives no time: the file&#39;s date)" in page
    # On time by Canvas's word: no time shown (Canvas gives none), no penalty.
    jane_page = (out / "doejane.html").read_text()
    assert "no submission time given: Canvas does not mark it late" in jane_page and "submitted 20" not in jane_page
    assert pd.isna(book.loc["12345", "submitted"]) and book.loc["12345", "late_note"] == "on time"
    report = json.loads((out / "smithjohn.json").read_text())
    assert report["score"] == 5.6 and report["extra_data"]["lateness"]["late_penalty"] == 1.4
    ann_page = (out / "leeann.html").read_text()
    assert "Extension: 2 days (medical note)" in ann_page and 'id="final-score"><strong>7 / 7' in ann_page
    assert "Adjustment: regrade: the docstring of conv was ambiguous" in (out / "müllerzoë.html").read_text()
    summary = (out / "summary.html").read_text()
    assert "extension of 2 days (medical note)" in summary
    assert "adjustment of +0.5 points (regrade: the docstring of conv was ambiguous)" in summary

    exported = grade("export", str(out), "--to", "canvas", "--out", str(tmp_path / "canvas.csv"), course=course.root)
    assert exported.returncode == 0, exported.stderr
    frame = pd.read_csv(tmp_path / "canvas.csv", dtype=str)
    assert list(frame.columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "demo"]
    assert frame.iloc[0]["Student"] == "Points Possible" and frame.iloc[0]["demo"] == "7"
    rows = frame.iloc[1:].set_index("ID")
    assert rows.loc["23456", "demo"] == "5.6" and rows.loc["23456", "SIS Login ID"] == "jsmith"
    assert rows.loc["34567", "demo"] == "7.5" and rows.loc["12345", "Student"] == "Doe, Jane"
    assert rows.loc["45678", "Student"].startswith("'=") and "\x1b" not in rows.loc["45678", "Student"]
    assert len(rows) == 5

    plain = grade("export", str(out), "--to", "csv", "--out", str(tmp_path / "grades.csv"), course=course.root)
    assert plain.returncode == 0, plain.stderr
    grades = pd.read_csv(tmp_path / "grades.csv", dtype={"canvas_user_id": str}).set_index("canvas_user_id")
    assert tuple(grades.loc["23456", ["raw_score", "late_penalty", "final_score", "max_score"]]) == (7, 1.4, 5.6, 7)
    # No Moodle ids in a Canvas batch: nothing to send, and each student named.
    moodle = grade("export", str(out), "--to", "moodle", "--out", str(tmp_path / "m.csv"), course=course.root)
    assert moodle.returncode == 0 and moodle.stderr.count("no Moodle participant id") == 5


# -- Moodle ------------------------------------------------------------------------------


def test_moodle_folders_and_files_graded_with_their_times_and_exported_as_a_worksheet(tmp_path: Path) -> None:
    course = course_with_deadline(tmp_path)
    subs, out = tmp_path / "moodle", tmp_path / "out"
    put(subs / "John Smith_98765_assignsubmission_file_" / "demo.py", solution(course), DUE - timedelta(hours=1))
    late = DUE + timedelta(hours=20)
    put(subs / "Zoë Ægir-Łukasz_87654_assignsubmission_file_" / "demo.py", solution(course), late)
    # "Download submissions in folders" off: the file name carries the prefix.
    put(subs / "José  Núñez_76543_assignsubmission_file_demo.py", wrong(course), DUE - timedelta(days=2))
    put(subs / "José  Núñez_76543_assignsubmission_onlinetext_" / "onlinetext.html", "<p>hi</p>")
    outcome, said = batch(course, subs, out, lms="moodle")
    assert sorted(outcome.results) == ["John Smith", "José  Núñez", "Zoë Ægir-Łukasz"]  # type: ignore[attr-defined]
    assert "modification dates" not in said  # Moodle's download gives the times

    book = pd.read_csv(out / "gradebook.csv").set_index("moodle_participant")
    zoe = book.loc[87654]
    assert (zoe["days_late"], zoe["late_penalty"], zoe["final_score"]) == (1, 0.7, 6.3)
    assert zoe["submitted"] == late.isoformat(timespec="minutes")
    assert book.loc[76543, "total"] < 7 and book.loc[98765, "final_score"] == 7
    page = (out / "Zoë Ægir-Łukasz.html").read_text()
    assert "submitted 1 day late: -0.7 points" in page and "the dates of Moodle&#39;s download" in page

    sheet = tmp_path / "worksheet.csv"
    proc = grade("export", str(out), "--to", "moodle", "--out", str(sheet), course=course.root)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(sheet, dtype=str).set_index("Identifier")
    assert list(frame.reset_index().columns) == list(MOODLE_HEADER)
    assert sorted(frame.index) == ["Participant 76543", "Participant 87654", "Participant 98765"]
    zoe_row = frame.loc["Participant 87654"]
    assert (zoe_row["Grade"], zoe_row["Maximum grade"], zoe_row["Full name"]) == ("6.30", "7.00", "Zoë Ægir-Łukasz")
    assert zoe_row["Last modified (submission)"] == late.strftime("%A, %d %B %Y, %I:%M %p")
    assert "submitted 1 day late" in zoe_row["Feedback comments"]
    # Canvas needs Canvas ids: none here.
    canvas = grade("export", str(out), "--to", "canvas", "--out", str(tmp_path / "c.csv"), course=course.root)
    assert canvas.stderr.count("no Canvas ID or SIS id") == 3


# -- GitHub Classroom -------------------------------------------------------------------


def test_the_last_commit_time_is_read_from_git_files_without_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "assignment3-jdoe", {"cnn.py": "x = 1\n"}, "2026-03-02T10:30:00+01:00")
    marker = tmp_path / "git-ran"
    # A hostile config: anything that runs git here would run this.
    hook = put(repo / "evil.sh", f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    with open(repo / ".git" / "config", "a") as f:
        f.write(f"[core]\n\tfsmonitor = {hook}\n\thooksPath = {repo}\n")
    when = last_commit_time(repo)
    assert when == datetime.fromisoformat("2026-03-02T10:30:00+01:00")
    assert when.utcoffset() == timedelta(hours=1) and not marker.exists()

    detached = make_repo(tmp_path / "detached", {"a.py": ""}, "2026-03-03T00:00:00-05:00")
    head = (detached / ".git/refs/heads/main").read_text()
    (detached / ".git/HEAD").write_text(head)
    assert last_commit_time(detached) == datetime.fromisoformat("2026-03-03T00:00:00-05:00")

    # Packed objects, a linked ref, a ref leaving .git, garbage or an oversized object: refused, with why.
    packed = make_repo(tmp_path / "packed", {"a.py": ""}, "2026-03-03T00:00:00-05:00")
    git(packed, "gc", "-q")
    with pytest.raises(CommitTimeUnknown, match="pack"):
        last_commit_time(packed)
    linked = make_repo(tmp_path / "linked", {"a.py": ""}, "2026-03-03T00:00:00-05:00")
    outside = put(tmp_path / "outside-ref", head)
    (linked / ".git/refs/heads/main").unlink()
    (linked / ".git/refs/heads/main").symlink_to(outside)
    with pytest.raises(CommitTimeUnknown, match="link"):
        last_commit_time(linked)
    (linked / ".git/HEAD").write_text("ref: refs/../../outside-ref\n")
    with pytest.raises(CommitTimeUnknown, match="unusual ref"):
        last_commit_time(linked)
    sha = head.strip()
    obj = detached / ".git/objects" / sha[:2] / sha[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"not zlib")
    with pytest.raises(CommitTimeUnknown, match="zlib"):
        last_commit_time(detached)
    obj.write_bytes(zlib.compress(b"commit 99999999\0" + b"tree x\n" * 200_000))
    with pytest.raises(CommitTimeUnknown, match="larger than expected"):
        last_commit_time(detached)
    obj.write_bytes(zlib.compress(b"blob 5\0hello"))
    with pytest.raises(CommitTimeUnknown, match="not name a commit"):
        last_commit_time(detached)
    shutil.rmtree(detached / ".git")
    (detached / ".git").write_text("gitdir: /elsewhere\n")
    with pytest.raises(CommitTimeUnknown, match=r"no \.git folder"):
        last_commit_time(detached)


def test_classroom_repos_graded_by_commit_time_and_a_packed_repo_falls_back_with_a_warning(tmp_path: Path) -> None:
    course = course_with_deadline(tmp_path)
    subs, out = tmp_path / "classroom", tmp_path / "out"
    right = solution(course)
    make_repo(subs / "assignment3-jdoe", {"demo.py": right}, "2026-03-01T20:00:00-05:00")
    make_repo(subs / "assignment3-ana-maría", {"demo.py": right}, "2026-03-04T09:00:00+01:00")  # 3 days late
    packed = make_repo(subs / "assignment3-pk", {"demo.py": right}, "2026-03-01T20:00:00-05:00")
    git(packed, "gc", "-q")
    os.utime(packed / "demo.py", ((DUE + timedelta(hours=2)).timestamp(),) * 2)
    outcome, said = batch(course, subs, out, lms="classroom")
    assert sorted(outcome.results) == ["ana-maría", "jdoe", "pk"]  # type: ignore[attr-defined]
    assert "pk: last commit time unknown (the last commit is in a pack file" in said
    assert said.count("submission times are the files' modification dates") == 1 and "(pk)" in said

    book = pd.read_csv(out / "gradebook.csv").set_index("github_username")
    assert book.loc["ana-maría", "days_late"] == 3 and book.loc["ana-maría", "final_score"] == pytest.approx(4.9)
    assert book.loc["jdoe", "final_score"] == 7 and book.loc["jdoe", "repository"] == "assignment3-jdoe"
    assert book.loc["pk", "days_late"] == 1  # the file's date, 2 hours late
    assert "the last commit" in (out / "ana-maría.html").read_text()

    plain = tmp_path / "grades.csv"
    assert grade("export", str(out), "--to", "csv", "--out", str(plain), course=course.root).returncode == 0
    grades = pd.read_csv(plain).set_index("github_username")
    assert grades.loc["ana-maría", "final_score"] == pytest.approx(4.9) and grades.loc["ana-maría", "raw_score"] == 7


def test_classroom_usernames_follow_the_shared_prefix() -> None:
    assert usernames(["assignment3-jdoe", "assignment3-ana-maria"]) == ["jdoe", "ana-maria"]
    assert usernames(["cnn-hw-3-x"]) == ["hw-3-x"]
    assert usernames(["a-b", "a-"]) == ["b", "a-"]


# -- plain folders, rosters -------------------------------------------------------------


def test_without_an_lms_the_file_dates_are_used_with_one_warning(tmp_path: Path) -> None:
    course = course_with_deadline(tmp_path)
    subs, out = tmp_path / "subs", tmp_path / "out"
    put(subs / "alice.py", solution(course), DUE - timedelta(minutes=5))
    put(subs / "bob" / "demo.py", solution(course), DUE + timedelta(days=3, hours=1))  # 4 days late
    overrides = put(tmp_path / "o.csv", "student,adjustment,reason\nalice,-1,copied the docstring tests\nzed,1,x\n")
    _, said = batch(course, subs, out, overrides=overrides)
    assert said.count("submission times are the files' modification dates") == 1
    assert "overrides: no submission for zed" in said
    book = pd.read_csv(out / "gradebook.csv").set_index("student")
    assert (book.loc["bob", "days_late"], book.loc["bob", "final_score"]) == (4, pytest.approx(4.2))
    assert (book.loc["alice", "adjustment"], book.loc["alice", "final_score"]) == (-1, 6)
    assert "name" not in book.columns  # no LMS, no roster: no LMS columns

    # A new overrides file changes the reports without grading anyone again.
    fixed = put(tmp_path / "o2.csv", "student,adjustment,reason\nalice,0,\n")
    again, _ = batch(course, subs, out, overrides=fixed)
    assert not again.graded and sorted(again.skipped) == ["alice", "bob"]  # type: ignore[attr-defined]
    assert pd.read_csv(out / "gradebook.csv").set_index("student").loc["alice", "final_score"] == 7
    assert "copied the docstring" not in (out / "alice.html").read_text()


def test_a_roster_matches_by_any_id_or_by_a_unique_name(tmp_path: Path) -> None:
    path = put(
        tmp_path / "roster.csv",
        "Identifier,Full name,Email address,section\n"
        "Participant 98765,John Smith,js@example.edu,A\n"
        ",Ann Lee,al@example.edu,B\n"
        ",Ann Lee,al2@example.edu,B\n",
    )
    people = read_roster(path)
    assert {"Participant 98765", "98765"} <= people[0].ids and people[0].email == "js@example.edu"
    from autograder.lms.roster import match_roster

    found = match_roster(people, {"js": ["js", "98765"], "al": ["al"]}, {"js": "", "al": "Ann Lee"})
    assert found == {"js": people[0]}  # two Ann Lees: matching by name would be a guess


def test_two_students_of_one_name_and_hostile_names_stay_apart_and_safe(tmp_path: Path) -> None:
    canvas = tmp_path / "canvas"
    put(canvas / "smithjohn_111_901_demo.py", "a = 1\n")
    put(canvas / "smithjohn_222_902_demo.py", "a = 2\n")
    put(canvas / "..._333_903_demo.py", "a = 3\n")
    (canvas / "linked_444_904_demo.py").symlink_to(canvas / "smithjohn_111_901_demo.py")
    entries = {e.student: e for e in read_download("canvas", canvas, ["demo.py"])}
    assert sorted(entries) == ["smithjohn_111", "smithjohn_222"]  # a hidden file or a link is not read
    assert entries["smithjohn_222"].ids["canvas_user_id"] == "222"

    moodle = tmp_path / "moodle"
    hostile = "Eve\x1b]0;owned\x07 \u202eevil_555_assignsubmission_file_"
    put(moodle / hostile / "demo.py", "a = 1\n")
    put(moodle / "Ann_666_assignsubmission_file_" / "demo.py", "a = 2\n")
    (moodle / "Bob_777_assignsubmission_file_").symlink_to(moodle / "Ann_666_assignsubmission_file_")
    found = {e.ids["moodle_participant"]: e for e in read_download("moodle", moodle, ["demo.py"])}
    assert sorted(found) == ["555", "666"]  # a linked folder is not read
    assert found["555"].student == "Eve\x1b]0;owned\x07 \u202eevil"  # kept as it is: each output escapes it
    assert any("1 entries not named as Moodle names" in w for e in found.values() for w in e.warnings)
    plain = tmp_path / "plain"
    put(plain / "alice.py", "a = 1\n")
    with pytest.raises(AutograderError, match=r"no canvas submissions in .* \(found 1 entries"):
        read_download("canvas", plain, ["demo.py"])


def test_export_of_a_folder_that_is_no_batch_output_is_a_usage_error(tmp_path: Path) -> None:
    course = gen.build_demo_course(tmp_path / "course")
    proc = grade("export", str(tmp_path), "--to", "canvas", "--out", str(tmp_path / "g.csv"), course=course)
    assert proc.returncode == 2 and "is not the output folder of grade batch" in proc.stderr
    assert not (tmp_path / "g.csv").exists()
