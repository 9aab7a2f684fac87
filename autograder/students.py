"""A folder of submissions -> one path and one student id per student (LMS export names understood).

What ``grade batch`` and ``grade similarity`` both read: every folder, ``.py``,
``.ipynb`` or ``.zip`` in the folder is one student's submission.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .errors import AutograderError
from .sanitize import one_line
from .submission import SUFFIXES


def discover_submissions(folder: Path, exclude: Sequence[Path] = ()) -> tuple[list[Path], list[Path]]:
    """(submissions, skipped entries) in ``folder``: each folder, ``.py``, ``.ipynb`` or ``.zip``
    (``exclude``: folders that are not submissions, such as the output folder)."""
    if folder.is_file():
        raise AutograderError(
            f"{one_line(folder)} is a file; grade batch expects a folder of submissions (one .py, .ipynb, "
            ".zip or folder per student). To grade this one file: grade ASSIGNMENT --submission FILE"
        )
    if not folder.is_dir():
        raise AutograderError(f"submissions folder not found: {one_line(folder)}")
    excluded = {r for r in map(_resolved, exclude) if r is not None}
    found, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in ("__MACOSX", "__pycache__"):
            continue
        if _resolved(entry) in excluded:
            continue
        if entry.is_dir() or entry.suffix.lower() in SUFFIXES:
            found.append(entry)
        else:
            skipped.append(entry)
    return found, skipped


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop
        return None


#: Exports of learning-management systems: the student's id is the named group.
LMS_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Moodle: "Jane Doe_123456_assignsubmission_file_" (a folder, or a file with the name appended)
    ("moodle", re.compile(r"^(?P<id>.+?)_\d+_assignsubmission_[a-z]+_.*$")),
    # Blackboard: "<assignment>_<username>_attempt_2024-03-01-23-59-59[_<file>]"
    ("blackboard", re.compile(r"^.+?_(?P<id>[^_]+)_attempt_\d{4}(?:-\d{2}){5}(?:_.*)?$")),
    # Canvas: "<lastfirst>[_LATE]_<user id>_<submission id>_<file>"
    ("canvas", re.compile(r"^(?P<id>[^_]+?)(?:_LATE)?_\d+_\d+(?:_.*)?$")),
)
_SEPARATORS = "_-. "


def _stem(path: Path) -> str:
    name = path.name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix) and not path.is_dir():
            return name[: -len(suffix)]
    return name


#: Words that mark a shared part of every file name as an export artifact, not a name.
ARTIFACT_WORDS = (
    "hw",
    "homework",
    "assignment",
    "assign",
    "lab",
    "project",
    "submission",
    "final",
    "solution",
    "notebook",
    "code",
    "exercise",
    "ex",
)


def student_ids(paths: Sequence[Path], hints: Sequence[str] = ()) -> dict[Path, str]:
    """The student id of each submission: its file or folder name without the suffix.

    A learning-management system's export prefix/suffix is removed only when
    unambiguous: every name follows the same known export pattern (Moodle,
    Blackboard, Canvas); or, with two or more submissions, every name shares the
    same leading or trailing separator-delimited part that looks like an
    artifact — it holds a digit, one of ``hints`` (the assignment's name, its
    module stems) or a word such as ``hw`` (``hw3_alice.py``, ``bob_cnn.py``),
    never a plain shared name (``alice_smith``, ``alice_jones``) — and only if
    the ids stay distinct and non-empty.  Ids never contain path separators and
    never start with a dot; report files are named by :func:`file_stem` of the id.

    Raises AutograderError when two submissions are one student's (``alice/`` and
    ``alice.py``), naming both.
    """
    ids, clashes = ids_and_clashes(paths, hints)
    if clashes:
        # Which of alice/ and alice.py is alice's? Guessing would grade the wrong one silently.
        shown = "; ".join(f"{one_line(sid, 80)!r}: {shown_paths(group)}" for sid, group in list(clashes.items())[:5])
        more = f" (and {len(clashes) - 5} more students)" if len(clashes) > 5 else ""
        raise AutograderError(
            f"the same student twice in the submissions folder: {shown}{more}. "
            "Keep one submission per student (move the others out of the folder) and run again."
        )
    return ids


def ids_and_clashes(paths: Sequence[Path], hints: Sequence[str] = ()) -> tuple[dict[Path, str], dict[str, list[Path]]]:
    """The ids of :func:`student_ids`, and each id that two or more submissions get, with their paths
    (never raises for those)."""
    stems = [_stem(p) for p in paths]
    ids = _strip_lms(stems)
    ids = _strip_common(ids, tuple(h.lower() for h in hints if h) + ARTIFACT_WORDS)
    ids = [_safe(i) for i in ids]
    out = dict(zip(paths, ids, strict=True))
    by_id: dict[str, list[Path]] = {}
    for path, sid in out.items():
        by_id.setdefault(sid, []).append(path)
    return out, {sid: group for sid, group in by_id.items() if len(group) > 1}


def shown_paths(paths: Sequence[Path]) -> str:
    """``alice/ and alice.py``: the names of ``paths`` for a message, a folder's with a slash."""
    return " and ".join(one_line(p.name, 80) + ("/" if p.is_dir() else "") for p in paths)


def _strip_lms(stems: list[str]) -> list[str]:
    if not stems:
        return stems
    for _name, pattern in LMS_PATTERNS:
        matches = [pattern.match(s) for s in stems]
        if all(matches):
            ids = [m.group("id").strip() for m in matches if m]
            if all(ids) and len(set(ids)) == len(ids):
                return ids
    return stems


def _strip_common(ids: list[str], words: tuple[str, ...]) -> list[str]:
    if len(ids) < 2:
        return ids

    def artifact(part: str) -> bool:
        tokens = [t for t in re.split(r"[_\-. ]+", part.lower()) if t]
        return bool(tokens) and all(
            any(ch.isdigit() for ch in t) or any(w == t or (len(w) > 3 and w in t) for w in words) for t in tokens
        )

    prefix = _common_prefix(ids)
    cut = max((prefix.rfind(c) for c in _SEPARATORS), default=-1)
    if cut >= 0 and artifact(prefix[:cut]):
        stripped = [i[cut + 1 :] for i in ids]
        if all(stripped) and len(set(stripped)) == len(stripped):
            ids = stripped
    suffix = _common_prefix([i[::-1] for i in ids])[::-1]
    cuts = [suffix.find(c) for c in _SEPARATORS if c in suffix]
    if cuts:
        start = min(cuts)
        stripped = [i[: len(i) - len(suffix) + start] for i in ids]
        if artifact(suffix[start:]) and all(stripped) and len(set(stripped)) == len(stripped):
            ids = stripped
    return ids


def _common_prefix(names: Sequence[str]) -> str:
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def _safe(student: str) -> str:
    student = student.replace("/", "_").replace("\\", "_").replace("\0", "_").strip()
    while student.startswith("."):
        student = "_" + student[1:]
    return student or "_"
