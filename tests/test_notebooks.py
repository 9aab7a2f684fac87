"""Notebooks: graded code out of .ipynb submissions, handouts built from stubs, kernels run apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import DEMO_SOLUTION, DEMO_STUB, REPO, grade_command

from autograder.errors import SubmissionError
from autograder.grading import GradingJob, grade
from autograder.notebooks import execute_handout, notebook_source_to_module
from autograder.notebooks.execute import execute_submission, run_notebook
from autograder.notebooks.handout import (
    build,
    handout_problems,
    handout_title,
    read_handout,
    split_module,
    with_solution,
    write_notebook,
)
from autograder.paths import CourseDir
from autograder.results import SubmissionResult
from autograder.sandbox import launch
from autograder.sandbox.client import SandboxConfig
from autograder.sandbox.isolation import Isolation, bwrap_problem
from autograder.spec import load_spec
from autograder.submission import load_submission

ASSIGNMENTS = ("assignment1", "assignment2", "assignment3", "assignment4")

# -- helpers ------------------------------------------------------------------------------


def notebook_bytes(*cells: tuple[str, str] | str) -> bytes:
    """A notebook of code cells: ``"source"`` (no tags) or ``(tag, "source")``; "md" makes markdown."""
    nb_cells = []
    for cell in cells:
        tag, source = ("", cell) if isinstance(cell, str) else cell
        if tag == "md":
            nb_cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            nb_cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": [tag]} if tag else {}))
    return nbformat.writes(nbformat.v4.new_notebook(cells=nb_cells)).encode()


def student(source: str) -> tuple[str, str]:
    return ("student", source)


def demo_handout(course: CourseDir) -> Path:
    """Build the demo assignment's handout notebook from its stub, with one example cell."""
    nb, _ = build(None, DEMO_STUB, "Demo")
    nb.cells.append(nbformat.v4.new_code_cell("print(add(2, 3))", id="example", metadata={"tags": ["handout"]}))
    path = course.handout_notebook("demo")
    write_notebook(nb, path)
    return path


def demo_job(course: CourseDir, hidden: bool = True, isolation: str = "auto") -> GradingJob:
    spec = load_spec(course.spec_file("demo"))
    return GradingJob.for_assignment(course, spec, hidden=hidden, seed=0, isolation=Isolation.detect(isolation))


def grade_file(course: CourseDir, path: Path, hidden: bool = True) -> SubmissionResult:
    job = demo_job(course, hidden)
    return grade(load_submission(path, job.spec), job)


def outcomes(result: SubmissionResult) -> list[tuple[str, str, float]]:
    return sorted((c.name, c.outcome, c.score) for c in result.checks)


def solution_notebook(handout: Path, solution_source: str, target: Path) -> Path:
    filled, problems = with_solution(read_handout(handout), solution_source)
    assert problems == []
    write_notebook(filled, target)
    return target


# -- reading a notebook: which code is graded ---------------------------------------------


def test_magics_and_shell_escapes_are_dropped_with_a_note() -> None:
    data = notebook_bytes(
        student(
            "%matplotlib inline\nimport numpy as np\n!pip install numpy\n"
            "files = !ls\nnp.sum?\n\ndef add(a, b):\n    %time x = 1\n    return a + b\n"
        ),
        student('TEXT = """\n%not a magic inside a string\n"""\n'),
        student("%%bash\nrm -rf /\n"),
        student("%%time\ndef scale(x, factor=2.0):\n    return x * factor\n"),
    )
    source, notes = notebook_source_to_module(data, "work.ipynb", ["add", "scale"])
    for dropped in ("%matplotlib", "!pip", "!ls", "np.sum?", "%time x", "rm -rf"):
        assert dropped not in source.replace("%not a magic", "")
    assert "%not a magic inside a string" in source
    text = "\n".join(notes)
    assert "cell 1, line 1: dropped '%matplotlib inline'" in text
    assert "cell 1, line 3: dropped '!pip install numpy'" in text
    assert "cell 1, line 4" in text and "cell 1, line 5" in text and "cell 1, line 8" in text
    assert "cell 3 is a %%bash cell magic and was not run" in text
    assert "cell 4, line 1: dropped '%%time'" in text
    assert not any("no cell defines" in n for n in notes)
    compile(source, "generated", "exec")


def test_only_definitions_of_cells_outside_the_stub_cells_are_kept() -> None:
    data = notebook_bytes(
        ("md", "# Title"),
        student("import numpy as np\n\ndef add(a, b):\n    return helper(a) + b\n"),
        "EPS = 1e-8\nSCALE = np.float64(2)\nz = 3\ndata = np.ones(10**9)\nprint('exploring')\n\n"
        "def helper(a):\n    return a\n",
        "while True:\n    pass\n",
        "this is not python (",
        ("handout", "def scale(x, factor=2.0):\n    return 'from an example cell'\n"),
    )
    source, notes = notebook_source_to_module(data, "work.ipynb", ["add", "scale"])
    assert "def helper" in source and "EPS = 1e-8" in source and "SCALE = np.float64(2)" in source
    assert "z = 3" in source
    for left_out in ("np.ones(10**9)", "exploring", "while True", "not python", "example cell"):
        assert left_out not in source
    assert any("cells 3, 4, 5: top-level code outside the handout's stub cells" in n for n in notes)
    assert any("no cell defines scale()" in n for n in notes)


def test_invalid_and_empty_notebooks_get_clear_messages() -> None:
    with pytest.raises(
        SubmissionError,
        match=r"work.ipynb is not a valid notebook: it is not "
        r"valid JSON .*line 1, column",
    ):
        notebook_source_to_module(b'{"cells": [', "work.ipynb")
    with pytest.raises(SubmissionError, match="JSON, but has no list of cells"):
        notebook_source_to_module(b'{"name": "not a notebook"}', "work.ipynb")
    with pytest.raises(SubmissionError, match="not UTF-8"):
        notebook_source_to_module(b"\xff\xfe\x00garbage", "work.ipynb")
    for data in (notebook_bytes(), notebook_bytes(("md", "only text"), "   \n")):
        source, notes = notebook_source_to_module(data, "empty.ipynb", ["add"])
        assert notes == [
            "empty.ipynb has no code: there is nothing to grade. Is it the right "
            "file? Write your functions in the cells marked for your code and save "
            "the notebook."
        ]
        compile(source, "generated", "exec")


def test_deleted_stub_cell_and_renamed_function_are_named() -> None:
    data = notebook_bytes(student("def add_arrays(a, b):\n    return a + b\n"))
    _, notes = notebook_source_to_module(data, "work.ipynb", ["add", "scale"])
    assert notes == [
        "work.ipynb: no cell defines add(). It defines add_arrays(): did you rename add? Keep the handout's name.",
        "work.ipynb: no cell defines scale(). Was its cell deleted or the function renamed? "
        "Copy the stub from the handout notebook back in.",
    ]
    _, notes = notebook_source_to_module(notebook_bytes(student("x = 1")), "w.ipynb", ["add"])
    assert notes == [
        "w.ipynb defines none of the assignment's functions (add). Write them in "
        "the cells marked for your code, keeping their names."
    ]


def test_json_errors_read_as_sentences() -> None:
    with pytest.raises(SubmissionError) as info:
        notebook_source_to_module(b'{"cells": "abc', "work.ipynb")
    assert "(line 1, column 11: unterminated string starts here)" in str(info.value)
    assert "at at" not in str(info.value)


def test_another_assignments_notebook_gets_one_note_naming_what_it_defines(course: CourseDir) -> None:
    data = course.handout_notebook("assignment2").read_bytes()
    cnn = load_spec(course.spec_file("assignment3"))
    _, notes = notebook_source_to_module(data, "assignment2.ipynb", cnn.functions)
    assert len(notes) == 1, notes
    assert notes[0].startswith("assignment2.ipynb defines 0 of this assignment's 15 functions and ")
    assert "affine_forward, cross_entropy" in notes[0] and "is it another assignment's notebook?" in notes[0]
    # A notebook of this assignment missing most functions still gets a note per function.
    own = course.handout_notebook("assignment3").read_bytes()
    _, notes = notebook_source_to_module(own, "assignment3.ipynb", (*cnn.functions, "extra_function"))
    assert notes == [
        "assignment3.ipynb: no cell defines extra_function(). Was its cell deleted or the function "
        "renamed? Copy the stub from the handout notebook back in."
    ]


# -- grading notebooks in the sandbox -------------------------------------------------------


def test_notebook_and_py_submissions_get_identical_results(demo_course: CourseDir, tmp_path: Path) -> None:
    handout = demo_handout(demo_course)
    pairs = [
        (
            demo_course.root / "solutions/demo/demo.py",
            solution_notebook(handout, DEMO_SOLUTION, tmp_path / "solution.ipynb"),
        ),
        (demo_course.root / "assignments/demo/demo.py", handout),
    ]
    partly = DEMO_SOLUTION.replace("return a + b", "return a - b")
    (tmp_path / "partly.py").write_text(partly)
    pairs.append((tmp_path / "partly.py", solution_notebook(handout, partly, tmp_path / "partly.ipynb")))
    for py, ipynb in pairs:
        by_py, by_nb = grade_file(demo_course, py), grade_file(demo_course, ipynb)
        assert outcomes(by_py) == outcomes(by_nb)
        assert (by_py.score, by_py.max_score) == (by_nb.score, by_nb.max_score)
        assert [c.message for c in by_py.checks] == [c.message for c in by_nb.checks]
    assert grade_file(demo_course, pairs[0][1]).score == 5
    assert grade_file(demo_course, pairs[2][1]).score == 2


JUPYTERLAB_NOTEBOOK: dict[str, Any] = {
    "cells": [
        {
            "cell_type": "markdown",
            "id": "0a1b2c3d",
            "metadata": {},
            "source": ["# Demo\n", "\n", "Write your code below."],
        },
        {
            "cell_type": "code",
            "execution_count": 7,
            "id": "5f3e7a2e-1c1d-4b8b-9d36-3f1c2a9e0b11",
            "metadata": {
                "tags": ["student"],
                "autograder": {"setup": True},
                "trusted": True,
                "execution": {
                    "iopub.execute_input": "2024-03-01T10:00:00.000Z",
                    "shell.execute_reply": "2024-03-01T10:00:00.100Z",
                },
            },
            "outputs": [],
            "source": ["import numpy as np"],
        },
        {
            "cell_type": "code",
            "execution_count": 8,
            "id": "fn-add",
            "metadata": {
                "tags": ["student"],
                "autograder": {"function": "add"},
                "collapsed": False,
                "scrolled": True,
                "jupyter": {"source_hidden": False},
            },
            "outputs": [{"name": "stdout", "output_type": "stream", "text": ["checking add\n"]}],
            "source": ["def add(a, b):\n", '    """Return a + b."""\n', "    return a + b"],
        },
        {
            "cell_type": "code",
            "execution_count": 9,
            "id": "fn-scale",
            "metadata": {"tags": ["student"], "autograder": {"function": "scale"}, "vscode": {"languageId": "python"}},
            "outputs": [
                {
                    "data": {
                        "image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
                        "2mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
                        "text/plain": ["<Figure size 640x480 with 1 Axes>"],
                    },
                    "metadata": {},
                    "output_type": "display_data",
                },
                {
                    "data": {"text/plain": ["array([2., 4.])"]},
                    "execution_count": 9,
                    "metadata": {},
                    "output_type": "execute_result",
                },
            ],
            "source": ["def scale(x, factor=2.0):\n", "    return np.asarray(x) * factor\n", "\n", "scale([1.0, 2.0])"],
        },
        {
            "cell_type": "code",
            "execution_count": 10,
            "id": "c2d9",
            "metadata": {},
            "outputs": [
                {
                    "data": {
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": "8e2f8c1a5d4b4f7e9a0c",
                            "version_major": 2,
                            "version_minor": 0,
                        },
                        "text/plain": ["IntSlider(value=3)"],
                    },
                    "metadata": {},
                    "output_type": "display_data",
                }
            ],
            "source": ["import ipywidgets\n", "ipywidgets.IntSlider(3)"],
        },
        {"cell_type": "raw", "id": "raw1", "metadata": {}, "source": ["raw text"]},
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {
            "codemirror_mode": {"name": "ipython", "version": 3},
            "file_extension": ".py",
            "mimetype": "text/x-python",
            "name": "python",
            "nbconvert_exporter": "python",
            "pygments_lexer": "ipython3",
            "version": "3.11.7",
        },
        "widgets": {
            "application/vnd.jupyter.widget-state+json": {
                "state": {
                    "8e2f8c1a5d4b4f7e9a0c": {
                        "model_module": "@jupyter-widgets/controls",
                        "model_module_version": "2.0.0",
                        "model_name": "IntSliderModel",
                        "state": {"value": 3},
                    }
                },
                "version_major": 2,
                "version_minor": 0,
            }
        },
        "toc-autonumbering": True,
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_notebook_saved_by_jupyterlab_with_outputs_and_widgets(demo_course: CourseDir, tmp_path: Path) -> None:
    path = tmp_path / "lab.ipynb"
    path.write_text(json.dumps(JUPYTERLAB_NOTEBOOK, indent=1))
    source, notes = notebook_source_to_module(path.read_bytes(), path.name, ["add", "scale"])
    assert "ipywidgets" not in source and notes[0].startswith("lab.ipynb: cell 5: top-level")
    assert outcomes(grade_file(demo_course, path)) == outcomes(
        grade_file(demo_course, demo_course.root / "solutions/demo/demo.py")
    )


def test_cell_raising_at_import_is_reported_with_cell_and_line(demo_course: CourseDir, tmp_path: Path) -> None:
    path = tmp_path / "raises.ipynb"
    path.write_bytes(
        notebook_bytes(
            ("md", "# Demo"),
            student("import numpy as np\n"),
            student("def add(a, b):\n    return a + b\n"),
            student("def scale(x, factor=2.0):\n    return x * factor\n\nratio = 1 / 0\n"),
        )
    )
    result = grade_file(demo_course, path, hidden=False)
    assert any("ZeroDivisionError: division by zero (raised by cell 4, line 4)" in note for note in result.notes), (
        result.notes
    )
    assert result.score == 0
    failed = next(c for c in result.checks if c.name == "test_add_small")
    assert failed.message == "not run: demo.py did not import (see the note at the top)"
    assert failed.traceback == ""  # the note says where, once


def test_errors_in_cells_name_the_cell_and_line(demo_course: CourseDir, tmp_path: Path) -> None:
    syntax = tmp_path / "syntax.ipynb"
    syntax.write_bytes(notebook_bytes(student("import numpy as np"), student("def add(a, b):\n    return a +\n")))
    result = grade_file(demo_course, syntax, hidden=False)
    assert any("SyntaxError (cell 2, line 2)" in note for note in result.notes), result.notes

    runtime = tmp_path / "runtime.ipynb"
    runtime.write_bytes(
        notebook_bytes(
            student("import numpy as np"),
            student("def add(a, b):\n    a = np.asarray(a)\n    return a[10] + b\n"),
            student("def scale(x, factor=2.0):\n    import torch\n    return x\n"),
        )
    )
    result = grade_file(demo_course, runtime, hidden=False)
    add = next(c for c in result.checks if c.name == "test_add_arrays")
    assert add.outcome == "error" and 'File "cell 2", line 3, in add' in add.traceback
    scale = next(c for c in result.checks if c.name == "test_scale")
    assert scale.outcome == "forbidden" and "cell 3, line 2" in scale.message

    missing = tmp_path / "missing.ipynb"
    missing.write_bytes(
        notebook_bytes(
            student("import numpy as np\nimport no_such_module_for_plots\n"),
            student("def add(a, b):\n    return a + b\n"),
        )
    )
    result = grade_file(demo_course, missing, hidden=False)
    assert any(
        "No module named 'no_such_module_for_plots' (raised by cell 1, line 2)" in note for note in result.notes
    ), result.notes


def test_endless_loop_outside_the_stub_cells_is_not_run(demo_course: CourseDir, tmp_path: Path) -> None:
    path = tmp_path / "loop.ipynb"
    path.write_bytes(
        notebook_bytes(
            student("import numpy as np\ndef add(a, b):\n    return a + b\n"),
            "while True:\n    pass\n",
            student("def scale(x, factor=2.0):\n    return np.asarray(x) * factor\n"),
        )
    )
    assert grade_file(demo_course, path).score == 5


@pytest.mark.slow
def test_endless_loop_in_a_stub_cell_times_out_with_a_message(demo_course: CourseDir, tmp_path: Path) -> None:
    path = tmp_path / "loop.ipynb"
    path.write_bytes(notebook_bytes(student("def add(a, b):\n    return a + b\n\nwhile True:\n    pass\n")))
    result = grade_file(demo_course, path, hidden=False)
    assert result.score == 0 and result.status == "ok"
    assert any("did not finish" in n and "loop" in n for n in result.notes), result.notes


def test_folders_and_zips_with_notebooks(demo_course: CourseDir, tmp_path: Path) -> None:
    handout = demo_handout(demo_course)
    folder = tmp_path / "alice"
    folder.mkdir()
    solution_notebook(handout, DEMO_SOLUTION, folder / "my work.ipynb")
    assert grade_file(demo_course, folder).score == 5
    archive = tmp_path / "bob.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(folder / "my work.ipynb", "bob/demo.ipynb")
    assert grade_file(demo_course, archive).score == 5
    (folder / "demo.py").write_text(DEMO_STUB)
    result = grade_file(demo_course, folder)
    assert result.score == 0
    assert any("graded demo.py; my work.ipynb was not graded" in n for n in result.notes)


@pytest.mark.slow
def test_batch_grades_a_folder_of_notebooks(demo_course: CourseDir) -> None:
    handout = demo_handout(demo_course)
    subs = demo_course.root / "submissions"
    (subs / "carol").mkdir(parents=True)
    solution_notebook(handout, DEMO_SOLUTION, subs / "alice.ipynb")
    write_notebook(read_handout(handout), subs / "bob.ipynb")
    solution_notebook(handout, DEMO_SOLUTION, subs / "carol" / "work.ipynb")
    (subs / "dave.ipynb").write_text('{"cells": [')
    (subs / "erin.py").write_text(DEMO_SOLUTION)
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_ROOT"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "batch",
            "demo",
            "submissions",
            "--jobs",
            "2",
            "--no-progress",
            "--allow-weak-isolation",
        ],
        cwd=demo_course.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    rows = (demo_course.reports_dir("demo") / "gradebook.csv").read_text().splitlines()
    totals = {row.split(",")[0]: float(row.split(",")[3]) for row in rows[1:]}
    assert totals == {"alice": 5, "bob": 0, "carol": 5, "dave": 0, "erin": 5}
    dave = json.loads((demo_course.reports_dir("demo") / "dave.json").read_text())
    assert "dave.ipynb is not a valid notebook: it is not valid JSON" in dave["output"]


# -- handout notebooks ------------------------------------------------------------------------


def test_build_makes_a_stub_cell_per_function_and_keeps_prose() -> None:
    parts = split_module(DEMO_STUB)
    assert parts.setup == "import numpy as np"
    assert list(parts.functions) == ["add", "scale"]
    assert parts.functions["add"].startswith("def add(a, b):")
    nb, changes = build(None, DEMO_STUB, "Demo")
    assert changes == ["created the notebook"]
    roles = [c.metadata.get("autograder") for c in nb.cells if c.cell_type == "code"]
    assert roles == [{"setup": True}, {"function": "add"}, {"function": "scale"}]
    assert all(c.metadata["tags"] == ["student"] for c in nb.cells if c.cell_type == "code")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("Prose an instructor wrote.", id="prose"))
    again, changes = build(nb, DEMO_STUB, "Demo")
    assert changes == [] and nbformat.writes(again) == nbformat.writes(nb)
    assert handout_problems(again, DEMO_STUB, "Demo") == []

    changed = DEMO_STUB.replace("def scale", "def square(x):\n    raise NotImplementedError\n\n\ndef scale").replace(
        "elementwise", "element-wise"
    )
    rebuilt, changes = build(again, changed, "Demo")
    assert changes == ["updated the cell of add", "added a cell for square"]
    functions = [c.metadata["autograder"].get("function") for c in rebuilt.cells if c.cell_type == "code"]
    assert functions == [None, "add", "square", "scale"]
    assert any(c.source == "Prose an instructor wrote." for c in rebuilt.cells)
    assert handout_problems(again, changed, "Demo") == [
        "stub cells out of date: updated the cell of add",
        "stub cells out of date: added a cell for square",
    ]
    _, changes = build(rebuilt, DEMO_STUB, "Demo")
    assert "removed the cell of square (not in the module any more)" in changes


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_repository_handouts_match_their_stub_modules(course: CourseDir, name: str) -> None:
    spec = load_spec(course.spec_file(name))
    path = course.handout_notebook(name, spec.notebook)
    nb = read_handout(path)
    stub = (course.assignment_dir(name) / spec.modules[0]).read_text()
    assert handout_problems(nb, stub, handout_title(spec)) == [], (
        f"run: python -m autograder.notebooks build assignments/{name}"
    )
    assert path.stat().st_size < 100_000
    functions = {
        c.metadata["autograder"]["function"]
        for c in nb.cells
        if c.cell_type == "code" and "function" in c.metadata.get("autograder", {})
    }
    assert functions == set(spec.functions)


def test_build_command_checks_and_rewrites(demo_course: CourseDir) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "autograder.notebooks", "build", *args],
            cwd=demo_course.root,
            capture_output=True,
            text=True,
            timeout=60,
        )

    folder = "assignments/demo"
    assert run("--check", folder).returncode == 1
    out = run(folder)
    assert out.returncode == 0 and "created the notebook" in out.stdout
    assert run("--check", folder).returncode == 0
    first = demo_course.handout_notebook("demo").read_bytes()
    assert run(folder).returncode == 0 and demo_course.handout_notebook("demo").read_bytes() == first


# -- running notebooks with a kernel --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_handout_runs_top_to_bottom_with_its_solution(course: CourseDir, name: str) -> None:
    assert execute_handout(load_spec(course.spec_file(name)), course) == []


@pytest.mark.slow
def test_execute_handout_reports_the_failing_cell(demo_course: CourseDir) -> None:
    handout = demo_handout(demo_course)
    spec = load_spec(demo_course.spec_file("demo"))
    assert execute_handout(spec, demo_course) == []
    nb = read_handout(handout)
    nb.cells.append(nbformat.v4.new_code_cell("x = 1\nadd(1, 2) / 0", id="broken", metadata={"tags": ["handout"]}))
    write_notebook(nb, handout)
    assert execute_handout(spec, demo_course) == [
        f"demo.ipynb: cell {len(nb.cells)}: ZeroDivisionError: division by zero (line 2)"
    ]
    (demo_course.root / "solutions/demo/demo.py").write_text(DEMO_SOLUTION.replace("def scale", "def rescale"))
    problems = execute_handout(spec, demo_course)
    assert "demo.ipynb: cell 6: the solution has no function scale" in problems


@pytest.mark.slow
@pytest.mark.parametrize("level", ["bwrap", "rlimits"])
def test_student_notebook_runs_in_the_sandbox_with_limits(demo_course: CourseDir, tmp_path: Path, level: str) -> None:
    if level == "bwrap" and bwrap_problem() is not None:
        pytest.skip("bubblewrap is not usable here")
    path = tmp_path / "work.ipynb"
    path.write_bytes(
        notebook_bytes(
            ("md", "# My work"),
            student("import numpy as np\ndef add(a, b):\n    return a + b\n"),
            "!pip install torch\nprint(add(2, 3))",
            "%%bash\necho never",
            "raise ValueError('bad value')",
            "while True:\n    pass",
            "print('never printed')",
        )
    )
    run = execute_submission(path, demo_job(demo_course, isolation=level), cell_timeout=3)
    assert run["isolation"] == level
    cells = {c["number"]: c for c in run["cells"]}
    assert cells[3]["status"] == "ok" and cells[3]["outputs"] == [{"type": "text", "text": "5\n"}]
    assert cells[4]["status"] == "skipped"
    assert cells[5]["status"] == "error" and cells[5]["message"] == "ValueError: bad value (line 1)"
    assert "cell 5, line 1" in cells[5]["outputs"][0]["text"]
    assert cells[6]["status"] == "timeout" and cells[7]["status"] == "not_run"
    assert run["status"] == "timeout" and "cell 6 did not finish within 3 s" in run["message"]
    assert any("dropped '!pip install torch'" in n for n in run["notes"])
    json.dumps(run)


@pytest.mark.slow
@pytest.mark.skipif(launch.confine_filter(Isolation("rlimits")) is None, reason="no seccomp filter for this machine")
def test_kernel_at_rlimits_refuses_network_sockets() -> None:
    """The kernel's launcher installs the bwrap level's seccomp filter itself: unix sockets
    (its own ZeroMQ ones) work, IP sockets do not."""
    probe = (
        "import errno, socket\n"
        "try:\n    socket.socket(socket.AF_INET).close()\n    print('inet created')\n"
        "except OSError as exc:\n    print('inet', errno.errorcode[exc.errno])\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)])
    run = run_notebook(nb, cell_timeout=20, sandbox=SandboxConfig(isolation=Isolation("rlimits")))
    assert run.status == "ok", run.message
    assert run.cells[0].outputs == ({"type": "text", "text": "inet EAFNOSUPPORT\n"},)


@pytest.mark.slow
@pytest.mark.skipif(bwrap_problem() is not None, reason="bubblewrap is not usable here")
def test_kernel_is_isolated_under_bwrap(tmp_path: Path) -> None:
    probe = (
        "import os, socket\n"
        "print('uid', os.getuid())\n"
        # The solutions, not the folder itself (bubblewrap makes it when a venv lies inside it).
        f"print('course visible', os.path.exists({str(REPO / 'solutions')!r}))\n"
        "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "    print('network yes')\nexcept OSError:\n    print('network no')\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe), nbformat.v4.new_code_cell("import torch")])
    config = SandboxConfig(memory_mb=2048, cpu_seconds=30, isolation=Isolation("bwrap"))
    run = run_notebook(nb, cell_timeout=20, sandbox=config)
    text = run.cells[0].outputs[0]["text"]
    assert "course visible False" in text and "network no" in text
    if os.getuid() == 0:
        assert "uid 0" not in text
    assert run.cells[1].status == "error" and "ImportError" in run.cells[1].message
    assert run.isolation == "bwrap"


@pytest.mark.slow
def test_memory_limit_and_a_dying_kernel_are_reported() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(source)
            for source in ("x = bytearray(3 * 1024**3)", "import os\nos._exit(3)", "print('after')")
        ]
    )
    config = SandboxConfig(memory_mb=1024, cpu_seconds=30, isolation=Isolation.detect("auto"))
    run = run_notebook(nb, cell_timeout=20, sandbox=config)
    assert [(c.status, c.message) for c in run.cells] == [
        ("error", "MemoryError (line 1)"),
        ("error", "the kernel died while running this cell"),
        ("not_run", ""),
    ]
    assert run.status == "died" and "the kernel died while running cell 2" in run.message


@pytest.mark.slow
def test_grade_execute_puts_outputs_in_the_report(demo_course: CourseDir, tmp_path: Path) -> None:
    image = (
        "from IPython.display import Image, display\nimport base64\n"
        "display(Image(data=base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
        "AAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')))"
    )
    path = tmp_path / "work.ipynb"
    path.write_bytes(
        notebook_bytes(
            student("import numpy as np\ndef add(a, b):\n    return a + b\n"),
            "print('sum is', add(2, 3))",
            image,
            "1 / 0",
        )
    )
    html = tmp_path / "report.html"
    out = grade_command(
        "demo", "--submission", str(path), "--execute", "--html", str(html), cwd=demo_course.root, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "Notebook: error, 4 code cells" in out.stdout
    page = html.read_text()
    assert "Your notebook, run in the sandbox" in page and "sum is 5" in page
    assert 'src="data:image/png;base64,iVBORw0KGgo' in page
    assert "ZeroDivisionError" in page
    solution = str(demo_course.root / "solutions/demo/demo.py")
    bad = grade_command("demo", "--submission", solution, "--execute", cwd=demo_course.root, timeout=300)
    assert bad.returncode == 2 and "--execute runs a notebook" in bad.stderr


@pytest.mark.slow
def test_assignment3_notebook_and_py_get_identical_results(course: CourseDir, tmp_path: Path, grade_path: Any) -> None:
    handout = course.handout_notebook("assignment3")
    solution = (course.solution_dir("assignment3") / "cnn.py").read_text()
    notebook = solution_notebook(handout, solution, tmp_path / "solution.ipynb")
    by_py = grade_path("assignment3", course.solution_dir("assignment3") / "cnn.py")
    by_nb = grade_path("assignment3", notebook)
    assert outcomes(by_py) == outcomes(by_nb)
    assert by_nb.score == by_py.score and by_nb.notes == by_py.notes
    stub_py = grade_path("assignment3", course.assignment_dir("assignment3") / "cnn.py")
    stub_nb = grade_path("assignment3", handout)
    assert outcomes(stub_py) == outcomes(stub_nb) and stub_nb.score == 0
