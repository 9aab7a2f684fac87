"""Canvas's "Download Submissions" folder: ``lastfirst[_LATE]_<user id>_<submission id>_<file>``.

Canvas flattens every student's files into one folder, each name prefixed with
the student's sortable name, ``LATE`` when Canvas counted it late, the user id
and the submission id.  A file uploaded again under the same name gets ``-1``,
``-2``, ... before its suffix (``cnn-1.py``).  Canvas gives no submission time,
only the late marker.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ..sanitize import one_line
from . import Entry, newest_mtime, unique_ids

NAME = re.compile(r"^(?P<name>[^_]*?)(?P<late>_LATE)?_(?P<user>\d{1,20})_(?P<submission>\d{1,20})_(?P<file>.+)$", re.S)
_RESUBMITTED = re.compile(r"^(?P<stem>.+)-(?P<n>\d{1,4})(?P<suffix>\.[A-Za-z0-9]+)$", re.S)


def read(listed: list[Path], modules: list[str]) -> list[Entry]:
    """One entry per Canvas user id among ``listed``; resubmitted files named back to the
    spec's module names (``cnn-2.py`` -> ``cnn.py``, the highest number kept)."""
    groups: dict[str, list[tuple[Path, re.Match[str]]]] = {}
    skipped = []
    for path in listed:
        found = NAME.match(path.name)
        if found is None or path.is_symlink():
            skipped.append(path)
            continue
        groups.setdefault(found["user"], []).append((path, found))
    users = sorted(groups, key=lambda u: (groups[u][0][1]["name"], u))
    ids = unique_ids([(groups[u][0][1]["name"], u) for u in users])
    entries = []
    for user, student in zip(users, ids, strict=True):
        files = groups[user]
        chosen: dict[str, tuple[int, Path]] = {}
        for path, found in files:
            name, version = _original(found["file"], modules)
            if name not in chosen or version > chosen[name][0]:
                chosen[name] = (version, path)
        parts = tuple((path, name) for name, (_, path) in sorted(chosen.items()))
        first = files[0][1]
        late = any(found["late"] for _, found in files)
        mtimes = [t for t in (newest_mtime(p) for p, _ in parts) if t is not None]
        warnings = []
        if len(chosen) < len(files):
            warnings.append(f"{one_line(student, 80)}: older uploads of the same file ignored (the newest kept)")
        entries.append(
            Entry(
                student=student,
                parts=parts,
                name=first["name"],
                ids={"canvas_user_id": user, "canvas_submission_id": first["submission"]},
                late=late,
                mtime=max(mtimes) if mtimes else None,
                warnings=tuple(warnings),
            )
        )
    if skipped and entries:
        warning = f"{len(skipped)} entries not named as Canvas names files were ignored"
        entries[0] = replace(entries[0], warnings=(*entries[0].warnings, warning))
    return entries


def _original(name: str, modules: list[str]) -> tuple[str, int]:
    """(the name the student uploaded, the resubmission number: 0 for the first upload)."""
    found = _RESUBMITTED.match(name)
    if found is not None:
        original = found["stem"] + found["suffix"]
        if original in modules or original.lower().endswith(".ipynb"):
            return original, int(found["n"])
    return name, 0
