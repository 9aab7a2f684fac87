"""The ``grade`` command as a user runs it: a real subprocess in a course folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import grade_command

from autograder.paths import CourseDir
from autograder.release import release


def grade(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return grade_command(*args, cwd=cwd, timeout=300)


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
    assert "seed" not in data["extra_data"] and "seed 3" in out.stdout  # the JSON is the student's view
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


def handout_of(course: CourseDir, where: Path) -> Path:
    """The demo assignment released, then moved to ``where`` (a stand-in wheel: none is installed)."""
    wheel = course.root / "autograder-0.0.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    released = release(course, "demo", course.root / "dist", wheel=wheel)
    where.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(released, where)
    return where


def test_a_handout_grades_under_any_folder_name_with_reports_inside(demo_course: CourseDir, tmp_path: Path) -> None:
    handout = handout_of(demo_course, tmp_path / "elsewhere" / "demo-jdoe")
    for args in (["demo"], []):
        out = grade(*args, cwd=handout / "tests")
        assert out.returncode == 0, out.stderr
        assert "TOTAL 0/3" in out.stdout
    assert (handout / "reports" / "working-copy.html").is_file()
    assert not (tmp_path / "elsewhere" / "reports").exists()
    out = grade("assignment3", cwd=handout)
    assert out.returncode == 2
    assert "is the handout of 'demo', not 'assignment3'" in out.stderr and "grade demo" in out.stderr


def test_the_name_in_assignment_toml_is_what_students_type(demo_course: CourseDir, tmp_path: Path) -> None:
    handout = handout_of(demo_course, tmp_path / "hw-folder")
    spec = handout / "assignment.toml"
    spec.write_text(spec.read_text().replace('name = "demo"', 'name = "week1"'))
    out = grade("week1", "--no-html", cwd=handout)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("week1 — working-copy")
    # In a course, the same name finds a folder named otherwise.
    shutil.move(handout, demo_course.root / "assignments" / "hw-folder")
    out = grade("list", cwd=demo_course.root)
    assert [line.split()[0] for line in out.stdout.splitlines()] == ["demo", "week1"]
    assert grade("week1", "--no-html", cwd=demo_course.root).returncode == 0


def test_outside_any_course_the_message_says_where_to_run_and_names_the_variable(tmp_path: Path) -> None:
    for args in (["demo"], [], ["list"]):
        out = grade(*args, cwd=tmp_path)
        assert out.returncode == 2
        assert len(out.stderr.strip().splitlines()) == 1
        assert "no assignment found in" in out.stderr and "AUTOGRADER_ROOT" in out.stderr


def test_a_broken_assignment_toml_is_one_line_and_hides_no_other(demo_course: CourseDir) -> None:
    for name, content in (("aaa", 'title = "caf\xe9"\n'.encode("latin-1")), ("bbb", b'title = "x\n')):
        folder = demo_course.root / "assignments" / name
        folder.mkdir()
        (folder / "assignment.toml").write_bytes(content)
    out = grade("list", cwd=demo_course.root)
    assert out.returncode == 2
    assert [line.split()[0] for line in out.stdout.splitlines()] == ["demo"]
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 2, out.stderr
    assert "aaa/assignment.toml: not UTF-8 text (byte 0xe9 at offset 12); save it as UTF-8" in errors[0]
    assert "bbb/assignment.toml: not valid TOML" in errors[1]
    for name in ("aaa", "bbb"):
        out = grade(name, cwd=demo_course.root)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert grade("demo", "--no-html", cwd=demo_course.root).returncode == 0


def test_grade_warns_when_checks_and_assignment_toml_disagree_on_points(demo_course: CourseDir) -> None:
    out = grade(
        "demo", "--no-html", "--submission", "../solutions/demo", "--hidden", cwd=demo_course.root / "assignments"
    )
    assert out.returncode == 0 and "warning" not in out.stderr
    public = demo_course.public_tests_dir("demo") / "test_public.py"
    public.write_text(
        public.read_text().replace(
            "@pytest.mark.points(1)\ndef test_add_small", "@pytest.mark.points(3)\ndef test_add_small"
        )
    )
    out = grade("demo", "--no-html", cwd=demo_course.root)
    assert out.returncode == 0 and "TOTAL 0/5" in out.stdout
    assert "grade: warning: question 'add': assignment.toml gives 3 points, its 2 checks add up to 4" in out.stderr


def sandbox_descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def test_ctrl_c_stops_a_stuck_grade_and_kills_its_worker(demo_course: CourseDir) -> None:
    stub = demo_course.assignment_dir("demo") / "demo.py"
    stub.write_text(stub.read_text().replace('raise NotImplementedError("add")', "while True:\n        pass"))
    spec = demo_course.spec_file("demo")
    spec.write_text(spec.read_text().replace("call_timeout = 2", "call_timeout = 60"))
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_ROOT"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "demo", "--no-html"],
        cwd=demo_course.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A terminal's Ctrl-C: SIGINT with its default action (a background shell ignores it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        busy: set[int] = set()
        while time.monotonic() < deadline and not busy:
            time.sleep(0.2)  # wait until the worker spins in the student's loop
            busy = {p for p in sandbox_descendants(proc.pid) if _cpu_ticks(p) > 50}
        assert busy, "the worker never started the student's loop"
        workers = sandbox_descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        # Well before the 60 s call timeout, which is what an ignored Ctrl-C would wait for.
        _, stderr = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "grade: interrupted" in stderr
    time.sleep(0.5)
    assert not any(Path(f"/proc/{p}").exists() and _cpu_ticks(p) >= 0 for p in workers), "a worker survived"


def _cpu_ticks(pid: int) -> int:
    """User + system clock ticks of ``pid``; -1 when it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1
    return -1 if fields[0] == "Z" else int(fields[11]) + int(fields[12])
