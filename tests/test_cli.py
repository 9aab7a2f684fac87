"""The ``grade`` command as a user runs it: a real subprocess in a course folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder.paths import CourseDir


def grade(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_grade_working_copy_stub(demo_course: CourseDir) -> None:
    out = grade("demo", cwd=demo_course.root)
    assert out.returncode == 0, out.stderr
    assert "TOTAL 0/3" in out.stdout
    assert out.stdout.count("TODO") == 3
    assert "add is not implemented yet" in out.stdout
    report = demo_course.root / "reports/demo/working-copy.html"
    assert report.is_file() and "0 / 3" in report.read_text()


def test_grade_solution_with_hidden_checks_writes_gradescope_json(demo_course: CourseDir) -> None:
    target = demo_course.root / "out/results.json"
    out = grade(
        "demo",
        "--submission",
        "../solutions/demo",
        "--hidden",
        "--seed",
        "3",
        "--json",
        str(target),
        cwd=demo_course.root / "assignments",
    )
    assert out.returncode == 0, out.stderr
    assert "TOTAL 5/5" in out.stdout
    data = json.loads(target.read_text())
    assert data["score"] == 5
    assert data["extra_data"]["seed"] == 3
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility", "status"}
    hidden = [t for t in data["tests"] if t["visibility"] == "after_published"]
    assert all(t["output"] == "passed" for t in hidden)


def test_user_errors_exit_2_with_one_line(demo_course: CourseDir) -> None:
    for args in (["nosuch"], ["demo", "--submission", "missing.py"]):
        out = grade(*args, cwd=demo_course.root)
        assert out.returncode == 2
        assert len(out.stderr.strip().splitlines()) == 1
        assert out.stderr.startswith("grade: ")
    out = grade("demo", "--hidden", cwd=demo_course.root)
    assert out.returncode == 0
    (demo_course.root / "solutions/demo/hidden/test_hidden.py").unlink()
    (demo_course.root / "solutions/demo/hidden").rmdir()
    out = grade("demo", "--hidden", cwd=demo_course.root)
    assert out.returncode == 2 and "no hidden checks" in out.stderr


def test_list_shows_points(demo_course: CourseDir) -> None:
    out = grade("list", cwd=demo_course.root)
    assert out.returncode == 0
    assert out.stdout.split()[0] == "demo" and "5 points" in out.stdout


def test_list_in_this_repository_shows_every_assignment() -> None:
    repo = Path(__file__).resolve().parent.parent
    out = grade("list", cwd=repo)
    assert out.returncode == 0
    names = [line.split()[0] for line in out.stdout.splitlines()]
    assert "assignment3" in names
