"""Handout notebooks: stub cells kept equal to the stub module's code, and a copy with a solution filled in.

A handout notebook mixes prose (markdown cells the instructor writes and edits
in Jupyter), example cells tagged ``handout``, and the student's cells tagged
``student``, whose code comes from the stub module:

- one *setup* cell (metadata ``{"autograder": {"setup": true}}``): the module
  without its docstring and its public functions: imports, constants, private helpers;
- one cell per public function (metadata ``{"autograder": {"function": name}}``):
  that function's code, docstring and ``raise NotImplementedError`` included.

:func:`build` rewrites those cells from the module and keeps everything else,
so the notebook is regenerated whenever the stub changes::

    python -m autograder.notebooks build assignments/assignment3          # rewrite
    python -m autograder.notebooks build --check assignments/assignment3  # fail if stale

Handouts are committed without outputs.
"""

from __future__ import annotations

import ast
import copy
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import nbformat
from nbformat import NotebookNode

from ..errors import AutograderError
from ..paths import CourseDir
from ..pysource import without_docstring
from ..spec import AssignmentSpec, load_spec
from .cells import HANDOUT_TAG, STUDENT_TAG

#: Notebook metadata of every handout.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
#: Cell metadata keys a handout keeps (the rest, e.g. ``execution`` or ``scrolled``, is dropped).
KEPT_CELL_METADATA = ("tags", "autograder")


@dataclass(frozen=True)
class ModuleParts:
    """A module cut into notebook cells."""

    #: Everything but the docstring and the public functions, in order.
    setup: str
    #: Each public top-level function's code (with decorators and the comments right above it).
    functions: dict[str, str]


def split_module(source: str) -> ModuleParts:
    """Cut ``source`` into a setup part and one part per public top-level function."""
    tree = ast.parse(source)
    lines = source.split("\n")
    taken = [False] * len(lines)
    body = tree.body
    if len(without_docstring(body)) < len(body):
        for i in range(body[0].lineno - 1, body[0].end_lineno or body[0].lineno):
            taken[i] = True
    functions: dict[str, str] = {}
    for node in body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name.startswith("_"):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        while first > 1 and lines[first - 2].lstrip().startswith("#") and not taken[first - 2]:
            first -= 1
        last = node.end_lineno or node.lineno
        functions[node.name] = "\n".join(lines[first - 1 : last]).rstrip()
        for i in range(first - 1, last):
            taken[i] = True
    rest = "\n".join(line for line, t in zip(lines, taken, strict=True) if not t)
    setup = re.sub(r"\n{4,}", "\n\n\n", rest).strip("\n")
    return ModuleParts(setup=setup, functions=functions)


def student_cell(source: str, role: dict[str, object]) -> NotebookNode:
    """A code cell tagged ``student`` with ``role`` as its ``autograder`` metadata."""
    cell_id = "setup" if role.get("setup") else f"fn-{role['function']}"
    return nbformat.v4.new_code_cell(source, id=cell_id, metadata={"tags": [STUDENT_TAG], "autograder": role})


def _role(cell: NotebookNode) -> dict[str, object]:
    role = cell.get("metadata", {}).get("autograder")
    return dict(role) if isinstance(role, dict) and cell.get("cell_type") == "code" else {}


def _heading(function: str, source: str) -> NotebookNode:
    """A markdown cell introducing a function: its name and its docstring's first line."""
    summary = ""
    try:
        node = ast.parse(source).body[0]
        doc = ast.get_docstring(node) if isinstance(node, ast.FunctionDef) else None
        summary = doc.split("\n\n", 1)[0].replace("\n", " ") if doc else ""
    except (SyntaxError, IndexError):
        pass
    return nbformat.v4.new_markdown_cell(f"### `{function}`\n\n{summary}".rstrip(), id=f"md-{function}")


def skeleton(title: str, parts: ModuleParts) -> NotebookNode:
    """A new handout: a title, the setup cell and a heading and a cell per function."""
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {title}\n\nWrite your code in the cells marked **your code** (tagged `student`): "
            "keep the function names and signatures. Run every cell from the top.",
            id="title",
        ),
        student_cell(parts.setup, {"setup": True}),
    ]
    for name, source in parts.functions.items():
        cells += [_heading(name, source), student_cell(source, {"function": name})]
    return new_notebook(cells)


def new_notebook(cells: list[NotebookNode]) -> NotebookNode:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return nb


def build(nb: NotebookNode | None, stub_source: str, title: str) -> tuple[NotebookNode, list[str]]:
    """The handout ``nb`` with its student cells rewritten from ``stub_source``, and what changed.

    Cells of functions no longer in the module are removed; functions without a
    cell get one (after the cell of the function before them in the module).
    Every other cell is kept; outputs and execution counts are cleared.
    """
    parts = split_module(stub_source)
    if nb is None:
        return normalise(skeleton(title, parts)), ["created the notebook"]
    nb = copy.deepcopy(nb)
    changes: list[str] = []
    cells: list[NotebookNode] = []
    for cell in nb.cells:
        role = _role(cell)
        if role.get("setup"):
            cell = _with_source(cell, parts.setup, role, changes, "the setup cell")
        elif "function" in role:
            name = str(role["function"])
            if name not in parts.functions:
                changes.append(f"removed the cell of {name} (not in the module any more)")
                continue
            cell = _with_source(cell, parts.functions[name], role, changes, f"the cell of {name}")
        cells.append(cell)
    if not any(_role(c).get("setup") for c in cells):
        first = next((i for i, c in enumerate(cells) if "function" in _role(c)), len(cells))
        cells.insert(first, student_cell(parts.setup, {"setup": True}))
        changes.append("added the setup cell")
    placed = {str(_role(c)["function"]) for c in cells if "function" in _role(c)}
    previous: str | None = None
    for name, source in parts.functions.items():
        if name not in placed:
            at = _position_after(cells, previous)
            cells[at:at] = [_heading(name, source), student_cell(source, {"function": name})]
            changes.append(f"added a cell for {name}")
        previous = name
    nb.cells = cells
    return normalise(nb), changes


def _with_source(
    cell: NotebookNode, source: str, role: dict[str, object], changes: list[str], what: str
) -> NotebookNode:
    if cell.source != source or STUDENT_TAG not in cell.get("metadata", {}).get("tags", []):
        changes.append(f"updated {what}")
    new = student_cell(source, role)
    new.id = cell.get("id", new.id)
    return new


def _position_after(cells: list[NotebookNode], function: str | None) -> int:
    """Index just after the cell of ``function`` (after the setup cell when None)."""
    for i, cell in enumerate(cells):
        role = _role(cell)
        if (function is None and role.get("setup")) or (function is not None and role.get("function") == function):
            return i + 1
    return len(cells)


def normalise(nb: NotebookNode) -> NotebookNode:
    """``nb`` as a handout is committed: nbformat 4.5, no outputs, only the metadata that matters."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    for index, cell in enumerate(nb.cells):
        cell.metadata = {k: v for k, v in cell.get("metadata", {}).items() if k in KEPT_CELL_METADATA}
        cell.setdefault("id", f"cell-{index + 1}")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return nb


def with_solution(nb: NotebookNode, solution_source: str) -> tuple[NotebookNode, list[str]]:
    """A copy of the handout ``nb`` whose student cells hold ``solution_source``'s code.

    The setup cell gets the solution's setup part plus any public function of
    the solution that has no cell of its own.  Returns the notebook and the
    problems found (a cell whose function the solution lacks).
    """
    parts = split_module(solution_source)
    nb = copy.deepcopy(nb)
    problems: list[str] = []
    with_cells = {str(_role(c)["function"]) for c in nb.cells if "function" in _role(c)}
    extra = [src for name, src in parts.functions.items() if name not in with_cells]
    for number, cell in enumerate(nb.cells, start=1):
        role = _role(cell)
        if role.get("setup"):
            cell.source = "\n\n\n".join([parts.setup, *extra]).strip("\n")
        elif "function" in role:
            name = str(role["function"])
            if name in parts.functions:
                cell.source = parts.functions[name]
            else:
                problems.append(f"cell {number}: the solution has no function {name}")
    if not any(_role(c).get("setup") for c in nb.cells):
        problems.append("no setup cell (metadata autograder.setup) for the solution's imports")
    return nb, problems


def handout_problems(nb: NotebookNode, stub_source: str, title: str) -> list[str]:
    """Why ``nb`` is not exactly what :func:`build` makes of it (stale stub cells, outputs)."""
    problems = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"cell {number} has outputs; handouts are committed without them")
        if cell.cell_type == "code" and not (
            set(cell.get("metadata", {}).get("tags", [])) & {STUDENT_TAG, HANDOUT_TAG}
        ):
            problems.append(f"cell {number} is tagged neither {STUDENT_TAG!r} nor {HANDOUT_TAG!r}")
    built, changes = build(nb, stub_source, title)
    problems += [f"stub cells out of date: {c}" for c in changes]
    if not problems and nbformat.writes(built) != nbformat.writes(nb):
        problems.append("metadata or layout differs from what build writes")
    return problems


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write ``nb`` in nbformat's standard layout (stable, so regenerating changes no bytes)."""
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def read_handout(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def handout_title(spec: AssignmentSpec) -> str:
    """The notebook's title: "Assignment 3: Convolutional networks"."""
    name = re.sub(r"^assignment(\d+)$", r"Assignment \1", spec.name)
    return f"{name}: {spec.title}"


def _assignment(folder: Path) -> tuple[CourseDir, AssignmentSpec]:
    folder = folder.resolve()
    course = CourseDir.discover(folder)
    spec = load_spec(course.spec_file(folder.name))
    if len(spec.modules) != 1:
        raise AutograderError(
            f"{folder}: a handout notebook is built from one module, this assignment has {len(spec.modules)}"
        )
    return course, spec


def build_command(folders: Sequence[Path], check: bool, out: TextIO = sys.stdout) -> int:
    """``build``: rewrite (or with ``check``, verify) the handouts of ``folders``; the exit code."""
    failed = False
    for folder in folders:
        course, spec = _assignment(folder)
        stub = course.assignment_dir(spec.name) / spec.modules[0]
        path = course.handout_notebook(spec.name, spec.notebook)
        shown = os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
        title = handout_title(spec)
        nb = read_handout(path) if path.exists() else None
        if check:
            problems = ["missing"] if nb is None else handout_problems(nb, stub.read_text(encoding="utf-8"), title)
            for p in problems:
                print(f"{shown}: {p}", file=out)
            failed = failed or bool(problems)
            continue
        built, changes = build(nb, stub.read_text(encoding="utf-8"), title)
        write_notebook(built, path)
        print(f"{shown}: " + ("; ".join(changes) or "up to date"), file=out)
    return 1 if failed else 0
