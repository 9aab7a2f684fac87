"""``grade gradescope``: the zip holds the checks and no solution, and runs as Gradescope runs it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_SOLUTION, REPO, grade_command

from autograder.errors import AutograderError, ExitCode
from autograder.gradescope_autograder import MANIFEST, build_autograder, run_autograder
from autograder.paths import CourseDir

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def assert_gradescope_schema(doc: dict[str, Any]) -> None:
    """results.json as Gradescope's autograder specification describes it."""
    allowed = {"score", "execution_time", "output", "visibility", "stdout_visibility", "extra_data", "tests"}
    assert set(doc) <= allowed | {"leaderboard", "output_format"}, set(doc) - allowed
    assert isinstance(doc["score"], (int, float)) and doc["score"] >= 0
    assert isinstance(doc.get("execution_time", 0), (int, float)) and doc.get("execution_time", 0) >= 0
    assert isinstance(doc["output"], str)
    assert doc["visibility"] in VISIBILITIES and doc["stdout_visibility"] in VISIBILITIES
    assert isinstance(doc["tests"], list)
    for test in doc["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in VISIBILITIES
        assert isinstance(test["output"], str)
    if doc["tests"]:
        assert doc["score"] == pytest.approx(sum(t["score"] for t in doc["tests"]))


def stand_in_wheel(folder: Path) -> Path:
    wheel = folder / "autograder-0.0.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    return wheel


def gradescope_root(zip_path: Path, root: Path) -> Path:
    """``root`` laid out as Gradescope does: source/ (the zip unpacked), submission/, results/."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # extractall drops the mode bits
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, stat.S_IMODE(mode))
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def submit(root: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(root / "submission")
    (root / "submission").mkdir()
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    (root / "results" / "results.json").unlink(missing_ok=True)


def results(root: Path) -> dict[str, Any]:
    doc = json.loads((root / "results" / "results.json").read_text())
    assert_gradescope_schema(doc)
    return doc


def test_the_zip_holds_the_checks_the_grader_and_no_solution(demo_course: CourseDir, tmp_path: Path) -> None:
    out = build_autograder(demo_course, "demo", tmp_path / "autograder.zip", seed=7, wheel=stand_in_wheel(tmp_path))
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()}
        manifest = json.loads(archive.read(MANIFEST))
        setup = archive.read("setup.sh").decode()
    assert names == {
        "setup.sh",
        "run_autograder",
        "autograder-0.0.0-py3-none-any.whl",
        MANIFEST,
        "course/assignments/demo/assignment.toml",
        "course/assignments/demo/demo.py",
        "course/assignments/demo/tests/test_public.py",
        "course/solutions/demo/hidden/test_hidden.py",
    }
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert manifest["assignment"] == "demo" and manifest["seed"] == 7
    assert 'python3 -m pip install "$here/autograder-0.0.0-py3-none-any.whl"' in setup
    assert '"torch==' in setup and "download.pytorch.org/whl/cpu" in setup


def test_a_hidden_check_holding_solution_code_is_refused(demo_course: CourseDir, tmp_path: Path) -> None:
    solution = demo_course.solution_dir("demo") / "demo.py"
    solution.write_text(solution.read_text().replace("return a + b", "total = np.add(a, b)\n    return total * 1"))
    hidden = demo_course.hidden_tests_dir("demo") / "test_hidden.py"
    hidden.write_text(hidden.read_text() + "\n\ndef add(a, b):\n    total = np.add(a, b)\n    return total * 1\n")
    with pytest.raises(AutograderError, match=r"test_hidden.py: function add has the body of add in solutions/demo"):
        build_autograder(demo_course, "demo", tmp_path / "autograder.zip", wheel=stand_in_wheel(tmp_path))
    assert not (tmp_path / "autograder.zip").exists()


def test_run_autograder_grades_what_was_uploaded(demo_course: CourseDir, tmp_path: Path) -> None:
    zip_path = build_autograder(
        demo_course, "demo", tmp_path / "autograder.zip", seed=3, wheel=stand_in_wheel(tmp_path)
    )
    root = gradescope_root(zip_path, tmp_path / "autograder")

    submit(root, {"demo.py": DEMO_SOLUTION.encode()})
    assert run_autograder(root) == ExitCode.OK
    doc = results(root)
    assert doc["score"] == 5 and len(doc["tests"]) == 5
    hidden = [t for t in doc["tests"] if t["visibility"] == "after_published"]
    assert len(hidden) == 2 and all(t["output"] == "passed" for t in hidden)
    assert "seed" not in doc["extra_data"] and "execution_time" not in doc  # a student's view hides both

    submit(root, {"demo.py": b"def add(a, b)\n    return a + b\n"})
    assert run_autograder(root) == ExitCode.OK
    doc = results(root)
    assert doc["score"] == 0 and all(t["status"] == "failed" for t in doc["tests"])
    assert doc["tests"][0]["output"].startswith("not run: demo.py did not import")
    assert "SyntaxError" in doc["output"] and "line 1" in doc["output"]

    with zipfile.ZipFile(root / "work.zip", "w") as archive:
        archive.writestr("work/demo.py", DEMO_SOLUTION)
    submit(root, {"work.zip": (root / "work.zip").read_bytes()})
    assert run_autograder(root) == ExitCode.OK and results(root)["score"] == 5

    submit(root, {"notes.txt": b"I forgot the code"})
    assert run_autograder(root) == ExitCode.OK
    doc = results(root)
    assert doc["score"] == 0 and "demo.py is missing from the submission" in doc["output"]


def test_a_grader_error_shows_students_no_detail_that_may_quote_hidden_checks(
    demo_course: CourseDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    zip_path = build_autograder(
        demo_course, "demo", tmp_path / "autograder.zip", seed=3, wheel=stand_in_wheel(tmp_path)
    )
    root = gradescope_root(zip_path, tmp_path / "autograder")
    submit(root, {"demo.py": DEMO_SOLUTION.encode()})

    def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("hidden check failed on secret cases (7, 3)")

    monkeypatch.setattr("autograder.grading.grade_path", failing)
    assert run_autograder(root) == ExitCode.GRADER_ERROR
    doc = results(root)
    assert "not your fault" in doc["output"] and "secret" not in json.dumps(doc)
    assert "secret cases (7, 3)" in capsys.readouterr().err, "the autograder's log keeps it for instructors"


@pytest.mark.slow
def test_setup_and_run_autograder_as_gradescope_runs_them(tmp_path: Path) -> None:
    """assignment3's zip, set up in a new venv from locally built wheels, graded three times."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "PYTHON"))}
    build = grade_command(
        "gradescope", "assignment3", "--out", str(tmp_path / "autograder.zip"), timeout=900, fresh_env=True
    )
    assert build.returncode == 0, build.stdout + build.stderr
    root = gradescope_root(tmp_path / "autograder.zip", tmp_path / "autograder")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["AUTOGRADER_TORCH_INDEX"] = ""  # offline: the machine's own wheels, not the CPU index online
    env["PIP_COMPILE"] = "0"  # pip byte-compiles every file it installs; no test reads .pyc files
    setup = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True, timeout=1800
    )
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    env["AUTOGRADER_GRADESCOPE_ROOT"] = str(root)

    def run(files: dict[str, bytes]) -> dict[str, Any]:
        submit(root, files)
        proc = subprocess.run(
            [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return results(root)

    doc = run({"cnn.py": (REPO / "solutions/assignment3/cnn.py").read_bytes()})
    assert doc["score"] == 110 and all(t["status"] == "passed" for t in doc["tests"])
    hidden = [t for t in doc["tests"] if t["visibility"] == "after_published"]
    assert hidden and all(t["output"] == "passed" for t in hidden)

    broken = (REPO / "solutions/assignment3/cnn.py").read_text().replace("def conv2d_forward(", "def conv2d_forward((")
    doc = run({"cnn.py": broken.encode()})
    assert doc["score"] == 0 and "SyntaxError" in doc["output"]
    assert all(t["output"] == "did not pass" for t in doc["tests"] if t["visibility"] == "after_published")

    doc = run({"assignment3.ipynb": (REPO / "assignments/assignment3/assignment3.ipynb").read_bytes()})
    assert doc["score"] == 0 and len(doc["tests"]) > 20
    assert any("not implemented yet" in t["output"] for t in doc["tests"])
