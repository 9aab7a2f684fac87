"""Find and load one submission (.py, folder, .zip, .ipynb) as module files, without running it."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import SubmissionError
from .spec import AssignmentSpec

#: Limits on what is read from a submission (a crafted zip must not exhaust the grader).
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Notebooks may hold images in their saved outputs.
MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_FILES = 200
SUFFIXES = (".py", ".ipynb", ".zip")


@dataclass(frozen=True)
class Submission:
    """The files a sandbox will import, keyed by the module file names of the spec."""

    student: str
    source: Path
    #: ``{"cnn.py": b"..."}``: only the assignment's modules (plus helpers in a folder).
    files: dict[str, bytes]
    #: Problems found while loading (missing module, dropped magics, ...).
    notes: tuple[str, ...] = field(default_factory=tuple)


def student_id(path: Path) -> str:
    """The student's id: the file or folder name without its suffix."""
    name = path.name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def load_submission(path: Path, spec: AssignmentSpec, student: str | None = None) -> Submission:
    """Read ``path`` into a :class:`Submission` for ``spec``; raises SubmissionError if unreadable."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"submission not found: {path}")
    student = student or student_id(path)
    if path.is_dir():
        files = _from_folder(path)
        notes: list[str] = []
    elif path.suffix.lower() == ".zip":
        files = _from_zip(path)
        notes = []
    elif path.suffix.lower() == ".py":
        files = {path.name: _read(path)}
        notes = []
    elif path.suffix.lower() == ".ipynb":
        files = {path.name: _read(path)}
        notes = []
    else:
        raise SubmissionError(f"{path}: expected a .py file, a .ipynb notebook, a .zip or a folder")
    return _match_modules(student, path, files, spec, notes)


def _limit(name: str) -> int:
    return MAX_NOTEBOOK_BYTES if name.lower().endswith(".ipynb") else MAX_FILE_BYTES


def _read(path: Path) -> bytes:
    size = path.stat().st_size
    if size > _limit(path.name):
        raise SubmissionError(f"{path}: {size} bytes is more than the {_limit(path.name)} allowed")
    return path.read_bytes()


def _from_folder(folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") or part in ("__pycache__", "__MACOSX") for part in rel.parts):
            continue
        if not p.is_file() or p.is_symlink() or p.suffix.lower() not in (".py", ".ipynb"):
            continue
        if len(files) >= MAX_FILES:
            break
        data = _read(p)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise SubmissionError(f"{folder}: more than {MAX_TOTAL_BYTES} bytes of source")
        files[rel.as_posix()] = data
    return files


def _from_zip(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir() or ".." in name.parts or name.is_absolute():
                    continue
                if any(part.startswith(".") or part in ("__pycache__", "__MACOSX") for part in name.parts):
                    continue
                if name.suffix.lower() not in (".py", ".ipynb") or len(files) >= MAX_FILES:
                    continue
                if info.file_size > _limit(info.filename):
                    raise SubmissionError(f"{path}: {info.filename} is too large")
                total += info.file_size
                if total > MAX_TOTAL_BYTES:
                    raise SubmissionError(f"{path}: more than {MAX_TOTAL_BYTES} bytes of source")
                files[str(name)] = archive.read(info)[: _limit(info.filename)]
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{path}: not a valid zip file ({exc})") from None
    return files


def _match_modules(
    student: str, source: Path, files: dict[str, bytes], spec: AssignmentSpec, notes: list[str]
) -> Submission:
    """Place the spec's modules at the top level, converting notebooks where needed."""
    out: dict[str, bytes] = {}
    notes = list(notes)
    by_name: dict[str, list[str]] = {}
    for rel in files:
        by_name.setdefault(PurePosixPath(rel).name, []).append(rel)
    for module in spec.modules:
        candidates = sorted(by_name.get(module, []), key=lambda r: (r.count("/"), r))
        if candidates:
            out[module] = files[candidates[0]]
            unused = sorted(r for r in files if r.lower().endswith(".ipynb"))
            if unused:
                notes.append(
                    f"graded {candidates[0]}; {', '.join(unused)} was not graded "
                    "(to grade a notebook, give it alone: --submission NOTEBOOK.ipynb)"
                )
            continue
        stem = module[:-3]
        notebooks = sorted(
            (r for r in files if r.lower().endswith(".ipynb")), key=lambda r: (stem not in r, r.count("/"), r)
        )
        py_files = [r for r in files if r.endswith(".py")]
        if notebooks:
            from .notebooks import notebook_source_to_module

            expected = spec.functions if len(spec.modules) == 1 else ()
            text, nb_notes = notebook_source_to_module(files[notebooks[0]], notebooks[0], expected)
            out[module] = text.encode()
            notes += nb_notes
        elif len(spec.modules) == 1 and len(py_files) == 1:
            out[module] = files[py_files[0]]
            if py_files[0] != module:
                notes.append(f"graded {py_files[0]} as {module}")
        else:
            found = sorted(r[-80:] for r in files if r.lower().endswith((".py", ".ipynb")))
            listed = ", ".join(found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
            notes.append(
                f"{module} is missing from the submission (found: {listed or 'no .py or .ipynb file'}): "
                f"name the file you want graded {module}"
            )
    # Helper modules next to the graded ones may be imported by them.
    for rel, data in files.items():
        if rel.endswith(".py") and "/" not in rel and rel not in out:
            out[rel] = data
    return Submission(student=student, source=source, files=out, notes=tuple(notes))
