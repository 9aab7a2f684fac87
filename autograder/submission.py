"""Find and load one submission (.py, folder, .zip, .ipynb) as module files, without running it.

Every byte read here is the student's, so every read is bounded: files are read
in chunks up to their limit whatever sizes a zip declares; only stored and
deflated zip members are accepted; the number of entries looked at, of files
kept, of bytes and of folder levels are capped; folders are walked iteratively
and symbolic links are never followed (nor read, nor listed).  A submission
past a limit is refused with a one-line :class:`SubmissionError`.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import zipfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from .errors import SubmissionError
from .notebooks.cells import MAX_NOTEBOOK_BYTES, notebook_source_to_module
from .sanitize import one_line
from .spec import AssignmentSpec

#: Limits on what is read from a submission (a crafted zip must not exhaust the grader).
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
#: Source files kept from a folder or zip (the shallowest first).
MAX_FILES = 200
#: Entries (files and folders, any kind) looked at in a folder or listed in a zip.
MAX_ENTRIES = 20_000
#: Folder levels read below the submission; deeper files are ignored.
MAX_DEPTH = 16
#: A zip archive's own size, and the size of its central directory (the list of members).
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024
#: Longest member name or relative path kept, in characters, and one part of it, in bytes.
MAX_NAME_CHARS = 1024
MAX_PART_BYTES = 200
#: Bytes read at a time.
CHUNK_BYTES = 64 * 1024
SUFFIXES = (".py", ".ipynb", ".zip")
SOURCE_SUFFIXES = (".py", ".ipynb")
#: The zip compression methods read (every zip tool writes these); others are refused.
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma", 93: "zstandard", 98: "ppmd", 9: "deflate64"}
_IGNORED_PARTS = ("__pycache__", "__MACOSX")


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
    """Read ``path`` into a :class:`Submission` for ``spec``; raises SubmissionError if unreadable
    or past a limit (the message is one line)."""
    path = Path(path)
    student = student or student_id(path)
    files, notes = read_files(path)
    return _match_modules(student, path, files, spec, notes)


def read_files(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """The source files (``.py``, ``.ipynb``) of the submission at ``path`` by relative name, and
    notes on what was left out; raises a one-line SubmissionError when it cannot be read."""
    # Named without its folders: the message may reach a student's report.
    shown = _shown(path.name)
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise SubmissionError(f"submission not found: {_shown(path)}") from None
    except OSError as exc:
        raise SubmissionError(f"{shown}: cannot read it ({_os_error(exc)})") from None
    if stat.S_ISLNK(st.st_mode):
        raise SubmissionError(
            f"{shown} is a symbolic link; the grader reads only regular files and folders. Submit the file itself."
        )
    if stat.S_ISDIR(st.st_mode):
        return _from_folder(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SubmissionError(f"{shown}: expected a .py file, a .ipynb notebook, a .zip or a folder")
    if suffix == ".zip":
        return _from_zip(path)
    return {path.name: _read_file(path, path.name)}, []


# -- limits and messages ------------------------------------------------------------


def _limit(name: str) -> int:
    return MAX_NOTEBOOK_BYTES if name.lower().endswith(".ipynb") else MAX_FILE_BYTES


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def _shown(path: Path | str) -> str:
    """A path or member name for a one-line message: control characters visible, length capped."""
    return one_line(str(path), 200)


def _too_large(where: str, name: str) -> SubmissionError:
    limit = _limit(name)
    if name.lower().endswith(".ipynb"):
        return SubmissionError(
            f"{where} is larger than the {_mb(limit)} allowed for a notebook, most likely because of "
            "its saved outputs (images, long printouts). In Jupyter use Edit > Clear Outputs of All "
            "Cells (or Kernel > Restart & Clear Output), save, and submit it again."
        )
    return SubmissionError(
        f"{where} is larger than the {_mb(limit)} allowed for a source file. "
        "Submit only your code (no data or saved arrays)."
    )


def _os_error(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def _read_limited(stream: _Readable, limit: int, where: str, name: str) -> bytes:
    """Up to ``limit`` bytes of ``stream`` read in chunks; refuses one byte more."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise _too_large(where, name)
        chunks.append(chunk)


def _read_file(path: Path, name: str) -> bytes:
    """A regular file's bytes, up to its limit, never through a symbolic link (nor a FIFO or device)."""
    where = _shown(name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SubmissionError(f"{where} is a symbolic link; submit the file itself") from None
        raise SubmissionError(f"{where}: cannot read it ({_os_error(exc)})") from None
    with os.fdopen(fd, "rb", buffering=0) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SubmissionError(f"{where} is not a regular file")
        if st.st_size > _limit(name):
            raise _too_large(where, name)
        try:
            return _read_limited(f, _limit(name), where, name)
        except OSError as exc:
            raise SubmissionError(f"{where}: cannot read it ({_os_error(exc)})") from None


def _too_long(part: str) -> bool:
    """A name no file system takes (written into the sandbox, it would fail there)."""
    return len(part.encode("utf-8", "surrogateescape")) > MAX_PART_BYTES


def _skipped_part(part: str) -> bool:
    return part.startswith(".") or part in _IGNORED_PARTS


# -- folders --------------------------------------------------------------------------


class FolderWalk:
    """The entries below ``folder`` as (relative POSIX path, entry), breadth first, so the
    shallowest come first.

    Iterative (any nesting is fine); symbolic links are yielded but never followed;
    hidden entries, ``__pycache__`` and ``__MACOSX`` are skipped; folders deeper than
    ``max_depth`` are not entered (``too_deep`` counts them); stops after looking at
    ``max_entries`` entries (``truncated`` says so).
    """

    def __init__(self, folder: Path, max_entries: int = MAX_ENTRIES, max_depth: int = MAX_DEPTH) -> None:
        self.folder = folder
        self.max_entries = max_entries
        self.max_depth = max_depth
        self.truncated = False
        self.too_deep = 0

    def __iter__(self) -> Iterator[tuple[str, os.DirEntry[str]]]:
        queue: deque[tuple[str, str, int]] = deque([("", os.fspath(self.folder), 1)])
        seen = 0
        while queue:
            prefix, current, depth = queue.popleft()
            entries: list[os.DirEntry[str]] = []
            try:
                with os.scandir(current) as it:
                    for entry in it:
                        seen += 1
                        if seen > self.max_entries:
                            self.truncated = True
                            break
                        entries.append(entry)
            except OSError:
                pass
            for entry in sorted(entries, key=lambda e: e.name):
                if _skipped_part(entry.name):
                    continue
                rel = f"{prefix}{entry.name}"
                yield rel, entry
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if not is_dir:
                    continue
                if depth >= self.max_depth:
                    self.too_deep += 1
                else:
                    queue.append((f"{rel}/", entry.path, depth + 1))
            if self.truncated:
                return


def _from_folder(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    files: dict[str, bytes] = {}
    notes: list[str] = []
    total = 0
    extra = links = 0
    walk = FolderWalk(folder, MAX_ENTRIES, MAX_DEPTH)
    for rel, entry in walk:
        if not rel.lower().endswith(SOURCE_SUFFIXES) or len(rel) > MAX_NAME_CHARS:
            continue
        try:
            if entry.is_symlink():
                links += 1
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
        except OSError:
            continue
        if len(files) >= MAX_FILES:
            extra += 1
            continue
        data = _read_file(Path(entry.path), rel)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise SubmissionError(
                f"{_shown(folder.name)}: more than {_mb(MAX_TOTAL_BYTES)} of .py and .ipynb files; "
                "submit only your code"
            )
        files[rel] = data
    if walk.truncated:
        notes.append(
            f"{_shown(folder.name)} holds more than {MAX_ENTRIES} files and folders: only the first were "
            "looked at. Submit only your code (no virtual environments or data sets)."
        )
    if walk.too_deep:
        notes.append(f"folders more than {MAX_DEPTH} levels deep were not looked at")
    if extra:
        notes.append(f"{extra} .py/.ipynb files beyond the {MAX_FILES} shallowest were ignored")
    if links:
        notes.append(f"{links} symbolic link{'s' if links > 1 else ''} ignored (the grader reads only regular files)")
    return files, notes


# -- zips -----------------------------------------------------------------------------

_END_RECORD = struct.Struct("<4s4H2LH")


def _check_archive(path: Path) -> None:
    """Refuse an archive too large, or whose central directory is too large to list cheaply."""
    where = _shown(path.name)
    size = path.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise SubmissionError(f"{where} is larger than the {_mb(MAX_ARCHIVE_BYTES)} allowed; zip only your code")
    with open(path, "rb") as f:
        tail_size = min(size, _END_RECORD.size + 65535)
        f.seek(size - tail_size)
        tail = f.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END_RECORD.size:
        return  # zipfile says what is wrong
    _, _, _, _, count, directory, _, _ = _END_RECORD.unpack(tail[at : at + _END_RECORD.size])
    if directory > MAX_DIRECTORY_BYTES or count > MAX_ENTRIES:
        raise SubmissionError(
            f"{where} lists more files than the grader reads ({MAX_ENTRIES} at most); zip only your code"
        )


def _from_zip(path: Path) -> tuple[dict[str, bytes], list[str]]:
    where = _shown(path.name)
    try:
        _check_archive(path)
        with zipfile.ZipFile(path) as archive:
            return _zip_members(archive, where)
    except SubmissionError:
        raise
    except OSError as exc:
        raise SubmissionError(f"{where}: cannot read it ({_os_error(exc)})") from None
    except Exception as exc:  # zipfile parses hostile bytes: any of its errors means a broken zip
        reason = _shown(f"{type(exc).__name__}: {exc}")
        raise SubmissionError(f"{where}: not a valid zip file ({reason}); make the zip again") from None


def _zip_members(archive: zipfile.ZipFile, where: str) -> tuple[dict[str, bytes], list[str]]:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise SubmissionError(f"{where} lists more than {MAX_ENTRIES} files; zip only your code")
    wanted: list[tuple[int, str, zipfile.ZipInfo]] = []
    deep = links = 0
    for info in infos:
        if not info.filename or info.filename.endswith("/") or len(info.filename) > MAX_NAME_CHARS:
            continue
        parsed = PurePosixPath(info.filename.replace("\\", "/"))
        if ".." in parsed.parts or parsed.is_absolute() or any(_skipped_part(p) for p in parsed.parts):
            continue
        if parsed.suffix.lower() not in SOURCE_SUFFIXES or any(_too_long(p) for p in parsed.parts):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            links += 1
            continue
        if len(parsed.parts) > MAX_DEPTH:
            deep += 1
            continue
        wanted.append((len(parsed.parts), str(parsed), info))
    wanted.sort(key=lambda w: (w[0], w[1]))
    files: dict[str, bytes] = {}
    notes: list[str] = []
    total = 0
    for _, name, info in wanted[:MAX_FILES]:
        member = f"{where}: {_shown(name)}"
        if info.compress_type not in ZIP_METHODS:
            method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise SubmissionError(
                f"{member} is compressed with {method}; the grader reads only stored or deflated "
                "(standard) zips. Make the zip again with your system's Compress/Send to zip."
            )
        if info.flag_bits & 0x1:
            raise SubmissionError(f"{member} is encrypted; make the zip again without a password")
        if info.file_size > _limit(name):  # the declared size; the read below does not trust it
            raise _too_large(member, name)
        with archive.open(info) as stream:
            data = _read_limited(stream, _limit(name), member, name)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise SubmissionError(
                f"{where}: more than {_mb(MAX_TOTAL_BYTES)} of .py and .ipynb files; zip only your code"
            )
        files[name] = data
    if len(wanted) > MAX_FILES:
        notes.append(f"{len(wanted) - MAX_FILES} .py/.ipynb files beyond the {MAX_FILES} shallowest were ignored")
    if deep:
        notes.append(f"{deep} files more than {MAX_DEPTH} folders deep were ignored")
    if links:
        notes.append(f"{links} symbolic link{'s' if links > 1 else ''} in the zip ignored")
    return files, notes


def submission_from_files(
    student: str, source: Path, files: dict[str, bytes], spec: AssignmentSpec, notes: list[str]
) -> Submission:
    """A :class:`Submission` of ``files`` already read (by relative name) for ``spec``: the
    spec's modules placed at the top level, as :func:`load_submission` places them."""
    return _match_modules(student, source, files, spec, notes)


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
