"""Which student each submission of a batch is: ids from file and folder names or an LMS download, and ``--only``.

Without ``--from``, every folder, ``.py``, ``.ipynb`` or ``.zip`` is one
student's and its id comes from its name (:mod:`autograder.students`).  Two
submissions with one id (``alice/`` and ``alice.py``) are not graded: which
one counts is the instructor's choice, not a guess; their student gets a result
saying so and everyone else is graded.  A Canvas download holding several files
per student is not graded as one student per file: the batch stops at once,
asking for ``--from canvas``.  With ``--from``, :mod:`autograder.lms` reads the
download.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AutograderError
from ..lms import Entry, plain_entries, read_download
from ..lms.canvas import NAME as CANVAS_NAME
from ..sanitize import one_line
from ..spec import AssignmentSpec
from ..students import discover_submissions, ids_and_clashes, shown_paths


@dataclass(frozen=True)
class BatchFolder:
    """A submissions folder read for a batch: what is graded, what is not and why."""

    #: One per student to grade, with the student's id.
    entries: list[Entry]
    #: Entries of the folder that are no submission (other files).
    ignored: list[Path] = field(default_factory=list)
    #: Students that two or more submissions are named for, with those submissions: not graded.
    clashes: dict[str, list[Path]] = field(default_factory=dict)

    def students(self) -> list[str]:
        """Every student of the folder, graded or not."""
        return [e.student for e in self.entries] + list(self.clashes)


def read_folder(folder: Path, spec: AssignmentSpec, system: str | None, exclude: Sequence[Path] = ()) -> BatchFolder:
    """The submissions in ``folder``: read as the ``system``'s download, or (None) as one file or
    folder per student; AutograderError when it holds no submission, or when it is a Canvas
    download with several files per student read without ``--from canvas``."""
    if system is not None:
        return BatchFolder(read_download(system, folder, spec.modules, exclude))
    paths, ignored = discover_submissions(folder, exclude=exclude)
    if not paths:
        raise AutograderError(
            f"no submissions in {one_line(folder)}: expected one .py, .ipynb, .zip or folder per student"
            + (f" (found only {len(ignored)} other files)" if ignored else "")
        )
    several = canvas_students_with_several_files(paths)
    if several:
        shown = "; ".join(f"{one_line(name, 60)}: {shown_paths(group)}" for name, group in list(several.items())[:3])
        raise AutograderError(
            f"{one_line(folder)} looks like a Canvas download with several files per student ({shown}"
            + (f"; {len(several) - 3} more students" if len(several) > 3 else "")
            + "): without --from each file would be graded as a student of its own. "
            "Run again with --from canvas, which grades each student's files together."
        )
    ids, clashes = ids_and_clashes(paths, hints=[spec.name, *(m.rsplit(".", 1)[0] for m in spec.modules)])
    graded = {path: student for path, student in ids.items() if student not in clashes}
    return BatchFolder(plain_entries(graded), ignored, clashes)


def canvas_students_with_several_files(paths: Sequence[Path]) -> dict[str, list[Path]]:
    """When most of ``paths`` are named as Canvas names its downloads (``lastfirst_<user id>_<submission
    id>_<file>``): the files of each Canvas user with more than one, by the user's name; else {}."""
    by_user: dict[str, list[Path]] = {}
    names: dict[str, str] = {}
    for path in paths:
        found = CANVAS_NAME.match(path.name)
        if found is not None:
            by_user.setdefault(found["user"], []).append(path)
            names.setdefault(found["user"], found["name"] or found["user"])
    if 2 * sum(len(group) for group in by_user.values()) <= len(paths):
        return {}
    return {names[user]: group for user, group in by_user.items() if len(group) > 1}


def clash_note(student: str, paths: Sequence[Path]) -> str:
    """Why ``student`` is not graded: the submissions named for them, and what to do."""
    return (
        f"not graded: the submissions folder holds {len(paths)} submissions for this student "
        f"({shown_paths(paths)}) and which one counts is not guessed; keep one in the folder and "
        f"run grade batch again with --only {one_line(student, 80)}"
    )


def check_only(only: Sequence[str], students: Sequence[str], folder: Path) -> None:
    """AutograderError naming each id of ``only`` that no student of ``folder`` has (with the
    nearest id, if one is close)."""
    unknown = sorted(set(only) - set(students))
    if unknown:
        near = {u: difflib.get_close_matches(u, list(students), n=1) for u in unknown}
        listed = ", ".join(
            one_line(u, 80) + (f" (did you mean {one_line(near[u][0], 80)}?)" if near[u] else "") for u in unknown
        )
        raise AutograderError(f"--only: no submission in {one_line(folder)} for {listed}")
