"""Learning-management systems: a download folder -> one :class:`Entry` per student, and grades back.

``grade batch --from canvas|moodle|classroom`` reads the folder the way that
system names it (one module per system: :mod:`.canvas`, :mod:`.moodle`,
:mod:`.classroom`) into entries that carry the student's id, the LMS's own ids
and, where the system gives one, the submission time.  :mod:`.roster` adds
names, emails and sections from a CSV; :mod:`.export` writes the file each
system imports.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import AutograderError
from ..sanitize import one_line
from ..spec import AssignmentSpec
from ..submission import (
    MAX_ENTRIES,
    SUFFIXES,
    FolderWalk,
    Submission,
    load_submission,
    read_files,
    submission_from_files,
)

SYSTEMS = ("canvas", "moodle", "classroom")


@dataclass(frozen=True)
class Entry:
    """One student's submission as an LMS download holds it."""

    #: The id reports and the gradebook use (unique in the batch).
    student: str
    #: What is read: ``(path, name)``; ``name`` is what a file is graded as (its name in the
    #: student's upload), empty for a folder or zip whose files keep their own names.
    parts: tuple[tuple[Path, str], ...]
    #: The name the LMS shows (Canvas's ``lastfirst``, Moodle's full name), if any.
    name: str = ""
    #: The LMS's own ids, by gradebook column (``canvas_user_id``, ``moodle_participant``, ...).
    ids: dict[str, str] = field(default_factory=dict)
    #: When the LMS says it was submitted; None when it does not say.
    submitted: datetime | None = None
    #: Where ``submitted`` comes from, for the report ("Moodle's file dates", "last commit").
    time_source: str = ""
    #: The LMS's own late marker (Canvas's ``LATE``); None when it has none.
    late: bool | None = None
    #: Newest modification time of the files read (the fallback when the LMS gives no time).
    mtime: datetime | None = None
    #: For the instructor: what could not be read as the LMS names it.
    warnings: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        """The first file or folder of the submission (what messages name)."""
        return self.parts[0][0]


def read_download(system: str, folder: Path, modules: Sequence[str], exclude: Sequence[Path] = ()) -> list[Entry]:
    """The entries of the ``system`` download at ``folder`` (``modules``: the spec's module file
    names, which resubmitted files are renamed back to); AutograderError for an unknown system
    or a folder holding nothing that system names."""
    from . import canvas, classroom, moodle

    readers = {"canvas": canvas.read, "moodle": moodle.read, "classroom": classroom.read}
    if system not in readers:
        raise AutograderError(f"--from: expected one of {', '.join(SYSTEMS)}, got {one_line(system, 40)}")
    if not folder.is_dir() or folder.is_symlink():
        raise AutograderError(f"submissions folder not found: {one_line(folder)}")
    excluded = {_resolved(p) for p in exclude}
    listed = []
    for n, entry in enumerate(sorted(folder.iterdir())):
        if n >= MAX_ENTRIES:
            break
        if entry.name.startswith(".") or entry.name in ("__MACOSX", "__pycache__") or _resolved(entry) in excluded:
            continue
        listed.append(entry)
    entries = readers[system](listed, list(modules))
    if not entries:
        raise AutograderError(
            f"no {system} submissions in {one_line(folder)} (found {len(listed)} entries none of which "
            f"is named as {system} names its downloads)"
        )
    return entries


def plain_entries(ids: dict[Path, str]) -> list[Entry]:
    """Entries of a folder of plain submissions (no LMS): the time is the files' own date."""
    return [Entry(student=sid, parts=((path, ""),), mtime=newest_mtime(path)) for path, sid in ids.items()]


def load_entry(entry: Entry, spec: AssignmentSpec) -> Submission:
    """The submission of ``entry`` for ``spec``: each part read within the limits of
    :mod:`autograder.submission`, files renamed to the names the student uploaded."""
    if len(entry.parts) == 1 and not entry.parts[0][1]:
        return load_submission(entry.path, spec, student=entry.student)
    files: dict[str, bytes] = {}
    notes: list[str] = []
    skipped = []
    for path, name in entry.parts:
        if not path.is_dir() and not (name or path.name).lower().endswith(SUFFIXES):
            skipped.append(name or path.name)
            continue
        found, more = read_files(path)
        notes += more
        if name and len(found) == 1 and path.suffix.lower() != ".zip":
            found = {name: next(iter(found.values()))}
        for rel, data in found.items():
            files.setdefault(rel, data)
    if skipped:
        shown = ", ".join(one_line(n, 60) for n in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        notes.append(f"not graded (not a .py, .ipynb or .zip file): {shown}")
    return submission_from_files(entry.student, entry.path, files, spec, notes)


def newest_mtime(path: Path) -> datetime | None:
    """The newest modification time of ``path`` or, for a folder, of the files below it (links
    not followed, the walk bounded); None when nothing can be read."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return None
    newest = None if stat.S_ISDIR(st.st_mode) else st.st_mtime
    if stat.S_ISDIR(st.st_mode):
        for _rel, item in FolderWalk(path, MAX_ENTRIES):
            try:
                ist = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(ist.st_mode):
                newest = ist.st_mtime if newest is None else max(newest, ist.st_mtime)
    if newest is None:
        return None
    return datetime.fromtimestamp(newest, timezone.utc)


def unique_ids(wanted: list[tuple[str, str]]) -> list[str]:
    """Ids from ``(name, lms id)`` pairs: the name made safe, with the LMS id appended where two
    students share a name."""
    names = [_safe(name) for name, _ in wanted]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [
        name if counts[name] == 1 else f"{name}_{_safe(lms_id)}"
        for name, (_, lms_id) in zip(names, wanted, strict=True)
    ]


def _safe(text: str) -> str:
    text = "".join("_" if ch in "/\\\0" else ch for ch in text).strip()
    while text.startswith("."):
        text = "_" + text[1:]
    return text or "_"


def _resolved(path: Path) -> Path | None:
    try:
        return Path(os.path.realpath(path))
    except (OSError, RuntimeError):
        return None
