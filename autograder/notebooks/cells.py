"""A notebook's code -> the source of a module to grade: which cells count, magics dropped, never run here.

Cells are numbered from the top of the notebook, markdown cells included, as a
student counts them.  Which code cells are graded:

- a cell tagged ``student`` (the handout's stub cells): all of its code;
- a cell tagged ``handout`` (the handout's examples): none of it;
- any other code cell (cells the student added, or every cell of a notebook
  without tags): only its definitions, i.e. functions, classes, assignments
  that call nothing (``EPS = 1e-8``) or set an UPPER_CASE constant, and imports
  of the standard library and NumPy.  Exploratory code (prints, plots,
  training runs, ``import matplotlib``) is left out.

IPython magics and shell escapes (``%matplotlib``, ``!pip install``, ``x = !ls``,
``obj?``) are replaced by ``pass`` so line numbers stay right, each with a note.

The generated module runs each cell compiled under the name ``cell N``, so a
traceback or a SyntaxError from the sandbox says ``cell 7, line 3`` rather
than a line of a file the student never saw; an exception raised while a cell
runs at import time gets ``(raised by cell 7, line 3)`` appended to its message.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from ..errors import SubmissionError
from ..sanitize import one_line

#: Tag of the cells a student edits (the handout's stub cells).
STUDENT_TAG = "student"
#: Tag of the handout's own example cells, never graded.
HANDOUT_TAG = "handout"

#: A line that IPython would turn into a magic, a shell escape or a help request, matched
#: against the line without its indentation (a leading ``\s*`` next to the ``\s`` of the
#: assignment's targets would backtrack quadratically on a long line of spaces).  Each
#: alternative is linear: ``=`` is outside the targets' class, so there is one place to try.
_MAGIC_LINE = re.compile(r"[%!]|[\w.,\s\[\]]+=\s*[%!]|\?{1,2}[\w.]+\s*$|[\w.]+\?{1,2}\s*$")
#: Largest notebook read, bytes (notebooks may hold images in their saved outputs).
MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
#: Bounds on a notebook's JSON (its size is bounded by the submission's reader).
MAX_CELLS = 2000
MAX_JSON_DEPTH = 64
MAX_JSON_NODES = 2_000_000
#: Modules whose imports are kept from cells the student added (others, e.g. matplotlib,
#: are for exploring and may not exist in the sandbox).
KEPT_IMPORTS = frozenset(sys.stdlib_module_names) | {"numpy"}
#: Cell magics whose body is Python: the body is kept, run once.
_PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")

#: Runs the cells; part of every generated module (its names start with ``_``
#: so the sandbox does not take them for the student's functions).
_LOADER = '''
def _run_notebook_cells(cells, namespace):
    """Run each cell's code under its own name, with the __future__ imports of earlier cells."""
    import __future__

    mask = 0
    for feature in __future__.all_feature_names:
        mask |= getattr(__future__, feature).compiler_flag
    flags = 0
    for name, source in cells:
        code = compile(source, name, "exec", flags, True)
        flags |= code.co_flags & mask
        try:
            exec(code, namespace)
        except BaseException as exc:
            tb, line = exc.__traceback__, None
            while tb is not None and line is None:
                if tb.tb_frame.f_code.co_filename == name:
                    line = tb.tb_lineno
                tb = tb.tb_next
            where = f"raised by {name}, line {line}" if line else f"raised by {name}"
            if isinstance(exc, ImportError) and isinstance(exc.msg, str) and name not in exc.msg:
                exc.msg = f"{exc.msg} ({where})"
            elif (isinstance(exc, Exception) and type(exc).__str__ is BaseException.__str__
                    and len(exc.args) == 1 and isinstance(exc.args[0], str)):
                exc.args = (f"{exc.args[0]} ({where})",)
            raise
'''


@dataclass(frozen=True)
class CodeCell:
    """One code cell of a notebook."""

    #: Position from the top of the notebook, 1-based, markdown cells included.
    number: int
    source: str
    tags: tuple[str, ...]
    #: The cell's ``autograder`` metadata (handout cells: ``{"function": name}`` or
    #: ``{"setup": true}``); empty for cells without it.
    role: dict[str, Any]

    @property
    def label(self) -> str:
        return f"cell {self.number}"


def read_notebook(data: bytes, name: str) -> nbformat.NotebookNode:
    """Parse a notebook's bytes (any nbformat version, converted to 4).

    Raises SubmissionError with a message a student can act on when the bytes
    are not UTF-8 JSON or not a notebook, or are past the grader's bounds (size,
    nesting, number of cells).  Schema problems (JupyterLab, VS Code and Colab
    each add their own metadata) are tolerated.
    """
    shown = one_line(name, 200)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(
            f"{shown} is larger than the {MAX_NOTEBOOK_BYTES // (1024 * 1024)} MB allowed for a notebook, most "
            "likely because of its saved outputs. In Jupyter use Edit > Clear Outputs of All Cells, save, "
            "and submit it again."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionError(f"{shown} is not a valid notebook: it is not UTF-8 text") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{shown} is not a valid notebook: it is not valid JSON (line {exc.lineno}, column "
            f"{exc.colno}: {_json_problem(exc.msg)}). Was it saved completely? Open it in Jupyter "
            "and save it again, or submit the .py file."
        ) from None
    except RecursionError:
        raise SubmissionError(_too_nested(shown)) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        raise SubmissionError(
            f"{shown} is not a valid notebook: it is JSON, but has no list of cells. Is it the right file?"
        )
    _check_bounds(raw, shown)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as exc:  # nbformat raises many kinds for malformed notebooks
        raise SubmissionError(f"{shown} is not a valid notebook: {one_line(exc, 200)}") from None


def _too_nested(shown: str) -> str:
    return (
        f"{shown} is not a valid notebook: its JSON is nested more than {MAX_JSON_DEPTH} levels deep. "
        "Open it in Jupyter and save it again, or submit the .py file."
    )


def _check_bounds(raw: dict[str, Any], shown: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH, with more than MAX_JSON_NODES values or
    more than MAX_CELLS cells (walked iteratively, before nbformat validates it recursively)."""
    cells = raw.get("cells")
    if cells is None:  # nbformat 3: worksheets of cells
        cells = [c for w in raw.get("worksheets", []) if isinstance(w, dict) for c in w.get("cells", []) or []]
    if len(cells) > MAX_CELLS:
        raise SubmissionError(
            f"{shown} has {len(cells)} cells, more than the {MAX_CELLS} the grader reads. "
            "Submit the notebook of this assignment, or your functions as a .py file."
        )
    stack: list[tuple[Any, int]] = [(raw, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > MAX_JSON_DEPTH:
            raise SubmissionError(_too_nested(shown))
        if nodes > MAX_JSON_NODES:
            raise SubmissionError(
                f"{shown} holds more than {MAX_JSON_NODES} JSON values, most likely in its saved outputs. "
                "In Jupyter use Edit > Clear Outputs of All Cells, save, and submit it again."
            )
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def code_cells(nb: nbformat.NotebookNode) -> list[CodeCell]:
    """The code cells of ``nb`` with their numbers, tags and ``autograder`` metadata."""
    out = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata") or {}
        tags = metadata.get("tags") or []
        role = metadata.get("autograder") or {}
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        out.append(
            CodeCell(
                number=number,
                source=str(source),
                tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
                role=dict(role) if isinstance(role, dict) else {},
            )
        )
    return out


def notebook_to_module(path: Path, expected: Sequence[str] = ()) -> tuple[str, list[str]]:
    """Module source of the graded cells of the notebook at ``path``, and notes about it.

    ``expected`` names the functions the assignment asks for; a note says which
    are missing (a deleted stub cell, a renamed function).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot read ({exc})") from None
    return notebook_source_to_module(data, path.name, expected)


def notebook_source_to_module(data: bytes, name: str, expected: Sequence[str] = ()) -> tuple[str, list[str]]:
    """As :func:`notebook_to_module`, from the notebook's bytes; ``name`` is used in messages."""
    cells = code_cells(read_notebook(data, name))
    notes: list[str] = []
    if not any(c.source.strip() for c in cells):
        notes.append(
            f"{name} has no code: there is nothing to grade. Is it the right file? "
            "Write your functions in the cells marked for your code and save the notebook."
        )
        return module_source([], name), notes
    graded: list[tuple[str, str]] = []
    left_out: list[int] = []
    for cell in cells:
        if HANDOUT_TAG in cell.tags or not cell.source.strip():
            continue
        source, dropped = drop_magics(cell)
        notes += [f"{name}: {d}" for d in dropped]
        if source is None:
            continue
        if STUDENT_TAG not in cell.tags:
            source, skipped = definitions_only(source)
            if skipped:
                left_out.append(cell.number)
            if not source.strip():
                continue
        graded.append((cell.label, source))
    if left_out:
        cells_text = ", ".join(str(n) for n in left_out)
        notes.append(
            f"{name}: cell{'s' if len(left_out) > 1 else ''} {cells_text}: top-level code "
            "outside the handout's stub cells is not run by the grader (only functions, "
            "classes, constants and imports of the standard library and NumPy are kept)"
        )
    notes += missing_functions(graded, expected, name)
    return module_source(graded, name), notes


def drop_magics(cell: CodeCell) -> tuple[str | None, list[str]]:
    """The cell's code with IPython-only lines replaced by ``pass``, and a note for each.

    None when the whole cell is a cell magic whose body is not Python (``%%bash``).
    A cell that is valid Python is returned unchanged, so a ``%`` at the start of
    a line inside a string is left alone.
    """
    source = cell.source
    first = source.lstrip().split("\n", 1)[0].strip()
    notes: list[str] = []
    if first.startswith("%%"):
        magic = first[2:].split(None, 1)[0] if len(first) > 2 else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return None, [f"{cell.label} is a %%{magic} cell magic and was not run"]
        lines = source.split("\n")
        index = next(i for i, line in enumerate(lines) if line.strip())
        lines[index] = "pass"
        source = "\n".join(lines)
        notes.append(f"{cell.label}, line {index + 1}: dropped {first[:60]!r}; the cell's code was run once")
    if _parses(source):
        return source, notes
    lines = source.split("\n")
    for lineno, line in enumerate(lines, start=1):
        if _MAGIC_LINE.match(line.lstrip()) and not _parses(line.strip()):
            indent = line[: len(line) - len(line.lstrip())]
            lines[lineno - 1] = f"{indent}pass"
            notes.append(
                f"{cell.label}, line {lineno}: dropped {line.strip()[:60]!r} "
                "(magics and shell commands are not run by the grader)"
            )
    return "\n".join(lines), notes


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def definitions_only(source: str) -> tuple[str, bool]:
    """``source`` with top-level statements other than definitions blanked out.

    Returns the new source (same line numbers) and whether anything was left
    out.  A cell that does not parse is left out entirely: it is not one of the
    handout's cells, so its syntax error must not fail the student's functions.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "", True
    lines = source.split("\n")
    keep = [False] * len(lines)
    skipped = False
    for node in tree.body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        last = node.end_lineno or node.lineno
        if _is_definition(node):
            for i in range(first - 1, last):
                keep[i] = True
        else:
            skipped = True
    out = [line if kept else "" for line, kept in zip(lines, keep, strict=True)]
    return "\n".join(out), skipped


def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)):
        return True
    if isinstance(node, ast.Import):
        return all(a.name.partition(".")[0] in KEPT_IMPORTS for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").partition(".")[0] in KEPT_IMPORTS
    if isinstance(node, ast.Expr):  # a docstring
        return isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if not all(isinstance(t, ast.Name) for t in targets) or node.value is None:
            return False
        constant = all(t.id.isupper() for t in targets if isinstance(t, ast.Name))
        return constant or not any(isinstance(n, ast.Call) for n in ast.walk(node.value))
    return False


def defined_names(source: str) -> list[str]:
    """Names of the functions (and classes) defined at the top level of ``source``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", source, flags=re.MULTILINE)
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def missing_functions(graded: Sequence[tuple[str, str]], expected: Sequence[str], name: str) -> list[str]:
    """Notes for the ``expected`` functions no graded cell defines, with a guess at a rename."""
    if not expected:
        return []
    defined = {n for _, source in graded for n in defined_names(source)}
    missing = [f for f in expected if f not in defined]
    if not missing:
        return []
    others = sorted(defined - set(expected))
    renamed = {
        f: difflib.get_close_matches(f, others, n=1, cutoff=0.6) or [o for o in others if f in o or o in f][:1]
        for f in missing
    }
    if len(missing) == len(expected) and not any(renamed.values()):
        return [
            f"{name} defines none of the assignment's functions ({', '.join(expected)}). "
            "Write them in the cells marked for your code, keeping their names."
        ]
    public_others = [o for o in others if not o.startswith("_")]
    if 2 * len(missing) > len(expected) and len(public_others) >= 3:
        shown = ", ".join(public_others[:6]) + (", ..." if len(public_others) > 6 else "")
        return [
            f"{name} defines {len(expected) - len(missing)} of this assignment's {len(expected)} functions "
            f"and {len(public_others)} others ({shown}): is it another assignment's notebook? "
            f"Submit the notebook of this assignment (its functions: {', '.join(expected)})."
        ]
    notes = []
    for function in missing:
        close = renamed[function]
        hint = (
            f" It defines {close[0]}(): did you rename {function}? Keep the handout's name."
            if close
            else " Was its cell deleted or the function renamed? Copy the stub from the handout notebook back in."
        )
        notes.append(f"{name}: no cell defines {function}().{hint}")
    return notes


def module_source(cells: Sequence[tuple[str, str]], origin: str) -> str:
    """A module that runs ``cells`` (``(name, code)`` pairs) in order, in its own namespace."""
    listing = "".join(f"        ({label!r}, {source!r}),\n" for label, source in cells)
    return (
        f"# Generated by the grader from the code cells of {origin!r}; the messages you\n"
        "# get name the cell and the line of the notebook.\n"
        f"{_LOADER}\n\n"
        f"_run_notebook_cells(\n    [\n{listing}    ],\n    globals(),\n)\n"
        "del _run_notebook_cells\n"
    )


def _json_problem(msg: str) -> str:
    """``json``'s message as a phrase: "Unterminated string starting at" -> "unterminated string starts here"."""
    msg = msg[:1].lower() + msg[1:]
    return msg[: -len(" starting at")] + " starts here" if msg.endswith(" starting at") else msg
