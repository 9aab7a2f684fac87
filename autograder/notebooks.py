"""Jupyter notebooks -> module source: the student's code cells, magics dropped, never executed here."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .errors import SubmissionError

#: Cell tag marking a cell the student edits (handout stub cells carry it).
STUDENT_TAG = "student"
_MAGIC = re.compile(r"^\s*(%|!)")


def notebook_to_module(path: Path) -> tuple[str, list[str]]:
    """Source of the student's cells of the notebook at ``path`` and notes about it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot read ({exc})") from None
    return notebook_source_to_module(data, path.name)


def notebook_source_to_module(data: bytes, name: str) -> tuple[str, list[str]]:
    """As :func:`notebook_to_module`, from the notebook's bytes.

    Cells tagged ``student`` are taken when any cell has that tag, else every
    code cell.  IPython magics and shell escapes are dropped with a note.
    Each cell is preceded by a ``# cell N`` comment so messages can point at it.
    """
    try:
        nb = nbformat.reads(data.decode("utf-8", errors="replace"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for bad JSON
        raise SubmissionError(f"{name} is not a valid notebook: {str(exc)[:200]}") from None
    code_cells = [(i, c) for i, c in enumerate(nb.cells, start=1) if c.get("cell_type") == "code"]
    tagged = [(i, c) for i, c in code_cells if STUDENT_TAG in c.get("metadata", {}).get("tags", [])]
    cells = tagged or code_cells
    notes: list[str] = []
    if not cells:
        notes.append(f"{name} has no code cells")
    parts: list[str] = []
    for index, cell in cells:
        lines = []
        source = cell.get("source", "")
        if source.lstrip().startswith("%%"):
            notes.append(f"{name}: cell {index} is a cell magic ({source.split()[0]}); not run")
            continue
        for lineno, line in enumerate(source.splitlines(), start=1):
            if _MAGIC.match(line):
                notes.append(f"{name}: cell {index}, line {lineno}: dropped "
                             f"{line.strip()[:60]!r} (magics and shell commands are not run)")
                lines.append("pass  # dropped: " + line.strip()[:60].replace("\n", " "))
            else:
                lines.append(line)
        parts.append(f"# cell {index}\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n", notes
