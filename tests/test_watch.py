"""``grade --watch``: a save is graded again, changed questions first; Ctrl-C leaves cleanly."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import DEMO_SOLUTION

from autograder.paths import CourseDir
from autograder.results import QuestionResult, SubmissionResult
from autograder.spec import load_spec
from autograder.submission import load_submission
from autograder.watch import changes, files_state, function_bodies


def test_only_code_changes_count_as_changed_functions(demo_course: CourseDir, tmp_path: Path) -> None:
    spec = load_spec(demo_course.spec_file("demo"))
    path = tmp_path / "demo.py"
    path.write_text(DEMO_SOLUTION)
    before = function_bodies(load_submission(path, spec))
    path.write_text(DEMO_SOLUTION.replace("return a + b", "# the sum\n\n    return a + b  # elementwise"))
    assert function_bodies(load_submission(path, spec)) == before
    path.write_text(DEMO_SOLUTION.replace("return a + b", "return a - b"))
    after = function_bodies(load_submission(path, spec))
    assert {name for name in after if after[name] != before[name]} == {"add"}


def test_changes_name_each_question_whose_score_moved() -> None:
    def result(add: float) -> SubmissionResult:
        questions = (QuestionResult("add", "Add", add, 2), QuestionResult("scale", "Scale", 1, 1))
        return SubmissionResult("demo", "s", 0, (), questions)

    assert changes(None, result(0)) == []
    assert changes(result(0), result(2)) == ["add: 0/2 -> 2/2"]
    assert changes(result(2), result(2)) == []


def test_files_state_sees_a_save_and_never_follows_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "demo.py").write_text("x = 1\n")
    (tmp_path / "link.py").symlink_to("/etc/passwd")
    before = files_state(tmp_path)
    assert [name for name, *_ in before] == ["demo.py", "link.py"]
    assert dict((n, s) for n, _, s in before)["link.py"] == len("/etc/passwd")
    (tmp_path / "demo.py").write_text("x = 22\n")
    assert files_state(tmp_path) != before


def test_watch_grades_each_save_and_stops_on_ctrl_c(demo_course: CourseDir) -> None:
    work = demo_course.root / "work.py"
    work.write_text(DEMO_SOLUTION)
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_ROOT"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "demo", "--submission", str(work), "--watch"],
        cwd=demo_course.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()

    def until(marker: str) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
            if marker in seen[-1]:
                return seen
        raise AssertionError(f"no {marker!r} in {''.join(seen)}")

    try:
        first = until("Watching")
        assert any(line.startswith("TOTAL 3/3") for line in first), "".join(first)
        work.write_text(DEMO_SOLUTION.replace("return a + b", "return a - b"))
        second = until("Watching")
        text = "".join(second)
        assert "... grading the other 1 question\n" in text  # add first, then scale
        assert text.index("... grading the other") < text.index("TOTAL 1/3")
        assert "add: 2/2 -> 0/2" in text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert "Stopped watching." in "".join(rest)
