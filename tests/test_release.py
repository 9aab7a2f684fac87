"""``grade release``: the handout is a clean copy, leaks are refused by name, a fresh install grades it."""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import grade_command

from autograder.errors import AutograderError
from autograder.paths import CourseDir
from autograder.release import release

REPO = Path(__file__).resolve().parent.parent


def stand_in_wheel(course: CourseDir) -> Path:
    """An empty file named as the grader's wheel: building the real one takes seconds (one test does)."""
    wheel = course.root / "autograder-0.0.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    return wheel


def cli(course: CourseDir, *args: str) -> subprocess.CompletedProcess[str]:
    return grade_command("release", *args, cwd=course.root, root=course.root, timeout=120)


def refusal(course: CourseDir, tmp_path: Path) -> str:
    with pytest.raises(AutograderError) as info:
        release(course, "demo", tmp_path / "dist", wheel=stand_in_wheel(course))
    assert not (tmp_path / "dist").exists(), "nothing is written when the release is refused"
    return str(info.value)


def notebook(*cells: str) -> str:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {},
                    "source": c,
                    "outputs": [],
                    "execution_count": None,
                    "id": f"c{i}",
                }
                for i, c in enumerate(cells)
            ],
        }
    )


def test_release_copies_the_assignment_without_caches(demo_course: CourseDir, tmp_path: Path) -> None:
    folder = demo_course.assignment_dir("demo")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "demo.cpython-311.pyc").write_bytes(b"\0")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "demo-checkpoint.ipynb").write_text("{}")
    (folder / "data.csv").write_text("x,y\n1,2\n")
    out = io.StringIO()
    target = release(demo_course, "demo", tmp_path / "dist", out, wheel=stand_in_wheel(demo_course))
    assert target == tmp_path / "dist" / "demo"
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "assignment.toml",
        "autograder-0.0.0-py3-none-any.whl",
        "data.csv",
        "demo.py",
        "tests/test_public.py",
    ]
    assert (target / "demo.py").read_bytes() == (folder / "demo.py").read_bytes()
    # The handout keeps its name in any folder, and says how to install and run the grader.
    assert (target / "assignment.toml").read_text() == 'name = "demo"\n' + (folder / "assignment.toml").read_text()
    readme = (target / "README.md").read_text()
    assert "pip install autograder-0.0.0-py3-none-any.whl\n" in readme and "grade demo" in readme
    assert "Released demo to" in out.getvalue() and "4 files" in out.getvalue()


def test_refuses_a_stub_holding_the_solution(demo_course: CourseDir, tmp_path: Path) -> None:
    stub = demo_course.assignment_dir("demo") / "demo.py"
    stub.write_text(
        stub.read_text().replace('raise NotImplementedError("add")', "# my answer\n    return (a +\n            b)")
    )
    message = refusal(demo_course, tmp_path)
    assert "refusing to release demo" in message
    assert "demo.py: function add has the body of add in solutions/demo/demo.py" in message


def test_refuses_a_hidden_check_file_or_a_hidden_check(demo_course: CourseDir, tmp_path: Path) -> None:
    hidden = demo_course.hidden_tests_dir("demo") / "test_hidden.py"
    tests = demo_course.public_tests_dir("demo")
    shutil.copy(hidden, tests / "test_more.py")
    assert "tests/test_more.py: is a copy of solutions/demo/hidden/test_hidden.py" in refusal(demo_course, tmp_path)

    (tests / "test_more.py").unlink()
    source = hidden.read_text()
    check = source[source.index('@pytest.mark.points(1)\n@pytest.mark.question("scale")') :]
    public = tests / "test_public.py"
    public.write_text(
        public.read_text()
        + "\n\n# reformatted copy\n"
        + check.replace("x = rng.standard_normal((2, 3))", "x = rng.standard_normal(  (2, 3)  )  # shape")
    )
    message = refusal(demo_course, tmp_path)
    assert (
        "tests/test_public.py: function test_scale_default has the body of "
        "test_scale_default in solutions/demo/hidden/test_hidden.py" in message
    )


def test_refuses_a_solution_under_another_name_in_a_notebook(demo_course: CourseDir, tmp_path: Path) -> None:
    solution = demo_course.solution_dir("demo") / "demo.py"
    long_body = (
        "def add(a, b):\n    total = np.asarray(a) + np.asarray(b)\n"
        "    if total.ndim == 0:\n        return float(total)\n"
        "    return total.reshape(np.shape(total))\n"
    )
    solution.write_text(
        solution.read_text().replace(
            'def add(a, b):\n    """Return a + b, elementwise."""\n    return a + b\n', long_body
        )
    )
    cell = "%matplotlib inline\nimport numpy as np\n" + long_body.replace("def add", "def my_add")
    (demo_course.assignment_dir("demo") / "demo.ipynb").write_text(notebook("print(1)", cell))
    message = refusal(demo_course, tmp_path)
    assert "demo.ipynb: cell 2: function my_add has the body of add in solutions/demo/demo.py" in message


def test_shared_helpers_and_provided_stub_helpers_are_not_leaks(demo_course: CourseDir, tmp_path: Path) -> None:
    helper = "\n\ndef _pair(v):\n    return (v, v) if isinstance(v, int) else tuple(v)\n"
    for path in (demo_course.assignment_dir("demo") / "demo.py", demo_course.solution_dir("demo") / "demo.py"):
        path.write_text(path.read_text() + helper)
    reference = "\n\ndef reference(a, b):\n    return torch.add(torch.tensor(a), b).numpy()\n"
    for path in (
        demo_course.public_tests_dir("demo") / "test_public.py",
        demo_course.hidden_tests_dir("demo") / "test_hidden.py",
    ):
        path.write_text(path.read_text() + reference)
    target = release(demo_course, "demo", tmp_path / "dist", wheel=stand_in_wheel(demo_course))
    assert "def _pair" in (target / "demo.py").read_text()


def test_cli_refusal_names_the_file_and_existing_output_is_kept(demo_course: CourseDir, tmp_path: Path) -> None:
    stub = demo_course.assignment_dir("demo") / "demo.py"
    original = stub.read_bytes()
    stub.write_bytes((demo_course.solution_dir("demo") / "demo.py").read_bytes())
    proc = cli(demo_course, "demo", "--out", str(tmp_path / "dist"), "--wheel", str(stand_in_wheel(demo_course)))
    assert proc.returncode == 2
    assert "demo.py: is a copy of solutions/demo/demo.py" in proc.stderr
    (tmp_path / "taken" / "demo").mkdir(parents=True)
    (tmp_path / "taken" / "demo" / "notes.txt").write_text("mine")
    stub.write_bytes(original)
    proc = cli(demo_course, "demo", "--out", str(tmp_path / "taken"), "--wheel", str(stand_in_wheel(demo_course)))
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert (tmp_path / "taken" / "demo" / "notes.txt").read_text() == "mine"


def _solution_secrets(solutions: Path) -> tuple[set[bytes], set[str], set[str]]:
    """Files, solution function bodies and hidden check names, found independently of release.py."""
    files, bodies, hidden_checks = set(), set(), set()
    for path in solutions.rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        files.add(path.read_bytes())
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                if "hidden" in path.parts:
                    if node.name.startswith("test"):
                        hidden_checks.add(node.name)
                elif not node.name.startswith("_"):
                    bodies.add(ast.dump(ast.Module(body=body, type_ignores=[])))
    return files, bodies, hidden_checks


@pytest.mark.slow
def test_a_released_handout_installs_and_grades_anywhere_under_any_name(tmp_path: Path) -> None:
    """As a student gets it: released, renamed as GitHub Classroom does, installed in a new venv
    as its README says, graded by ``grade assignment3`` and by a bare ``grade`` inside it."""
    course = CourseDir(REPO)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "PYTHON"))}
    proc = grade_command("release", "assignment3", "--out", str(tmp_path / "dist"), timeout=900, fresh_env=True)
    assert proc.returncode == 0, proc.stderr
    handout = tmp_path / "classroom" / "assignment3-jdoe"
    shutil.copytree(tmp_path / "dist" / "assignment3", handout)

    # Nothing from solutions/: no file, no solution function body, no hidden check.
    files, bodies, hidden_checks = _solution_secrets(course.solution_dir("assignment3"))
    for path in handout.rglob("*"):
        if not path.is_file() or path.suffix == ".whl":
            continue
        assert path.read_bytes() not in files, path
        text = path.read_text(errors="replace")
        assert not any(f"def {name}(" in text for name in hidden_checks), path
        if path.suffix == ".py":
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                    body = node.body[1:] if ast.get_docstring(node) else node.body
                    assert ast.dump(ast.Module(body=body, type_ignores=[])) not in bodies, f"{path}: {node.name}"

    # The install command, exactly as the handout's README gives it, in a new venv. On the
    # project's build machines a constraint picks the CPU build of torch lying on disk.
    readme = (handout / "README.md").read_text()
    install = [line for line in readme.splitlines() if line.startswith("pip install ")]
    assert len(install) == 1 and install[0].endswith(".whl"), readme
    assert (handout / install[0].split()[-1]).is_file()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_CONSTRAINT"] = str(REPO / "constraints.txt")
    env["PIP_COMPILE"] = "0"  # pip byte-compiles every file it installs; no test reads .pyc files
    done = subprocess.run(
        ["bash", "-c", install[0]], cwd=handout, env=env, capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    where = subprocess.run(
        ["python", "-c", "import autograder; print(autograder.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), where.stdout

    for args in (["grade", "assignment3"], ["grade"]):
        run = subprocess.run(args, cwd=handout, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        out = run.stdout
        assert "TOTAL 0/" in out
        check_lines = [
            line for line in out.splitlines() if line.startswith("  ") and "/" in line and line.split()[0].isupper()
        ]
        assert check_lines and all(line.split()[0] == "TODO" for line in check_lines), out
        said = " ".join(out.split())  # the table wraps messages to the terminal's width
        assert said.count("is not implemented yet (it raises NotImplementedError)") == len(check_lines)
    assert (handout / "reports" / "working-copy.html").is_file()
    assert not (tmp_path / "classroom" / "reports").exists()
