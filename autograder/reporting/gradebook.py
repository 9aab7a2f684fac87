"""The gradebook: one row per student, a column per question, total, status, seed, grading time (pandas)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..results import SubmissionResult
from ..sanitize import csv_cell

if TYPE_CHECKING:
    import pandas as pd

#: LMS columns (after ``student``) and late-policy columns (after ``total``, the raw score): only
#: when some result has them (``grade batch --from``, a deadline or overrides).
LMS_COLUMNS = (
    "name",
    "email",
    "section",
    "canvas_user_id",
    "canvas_submission_id",
    "sis_user_id",
    "sis_login_id",
    "moodle_participant",
    "github_username",
    "repository",
)
LATE_COLUMNS = ("late_penalty", "adjustment", "final_score", "days_late", "submitted", "late_note")
#: Columns after the question columns, in order.
TAIL_COLUMNS = ("total", "max_score", "status", "issues", "seed", "grading_seconds", "isolation", "fingerprint")
#: Columns added when a similarity report was made: each student's highest score and with whom.
SIMILARITY_COLUMNS = ("similarity", "similar_to")


def gradebook_frame(
    results: Sequence[SubmissionResult],
    questions: Sequence[str] | None = None,
    similarity: Mapping[str, tuple[float, str]] | None = None,
) -> pd.DataFrame:
    """A DataFrame with one row per result (sorted by student), its text cells safe for a
    spreadsheet (:func:`autograder.sanitize.csv_cell`).

    ``questions`` fixes the question columns and their order (default: every
    question met in ``results``, in order of appearance); a question a result
    lacks scores 0.  ``similarity`` (student -> highest similarity score and the
    other student) adds the SIMILARITY_COLUMNS.
    """
    import pandas as pd

    if questions is None:
        seen: dict[str, None] = {}
        for r in results:
            for q in r.questions:
                seen.setdefault(q.name, None)
        questions = list(seen)
    rows = []
    lms_columns = [c for c in LMS_COLUMNS if any(c in r.lms for r in results)]
    late = any(r.lateness is not None for r in results)
    for r in results:
        # The id is the student's (a file name): shown as text, never as a spreadsheet formula.
        row: dict[str, object] = {"student": csv_cell(r.student)}
        row.update({c: csv_cell(r.lms.get(c, "")) for c in lms_columns})
        by_name = {q.name: q.score for q in r.questions}
        for name in questions:
            row[name] = by_name.get(name, 0.0)
        counts = {k: v for k, v in r.outcome_counts().items() if v and k != "passed"}
        row.update(
            total=r.score,
            max_score=r.max_score,
            status=r.status,
            issues="; ".join(f"{k} {v}" for k, v in counts.items()),
            seed=r.seed,
            grading_seconds=round(r.duration, 3),
            isolation=csv_cell(r.isolation),
            fingerprint=r.fingerprint,
        )
        lateness = r.lateness
        if lateness is not None:
            row.update({c: getattr(lateness, c) for c in LATE_COLUMNS[:4]})
            row.update(submitted=csv_cell(lateness.submitted or ""), late_note=csv_cell(lateness.note))
        if similarity is not None:
            score, partner = similarity.get(r.student, (0.0, ""))
            row.update(similarity=round(score, 3), similar_to=csv_cell(partner))
        rows.append(row)
    tail = list(TAIL_COLUMNS)
    if late:
        tail[1:1] = LATE_COLUMNS
    columns = ["student", *lms_columns, *questions, *tail, *(SIMILARITY_COLUMNS if similarity is not None else ())]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("student", kind="stable").reset_index(drop=True)


def write_gradebook(
    results: Sequence[SubmissionResult],
    path: Path,
    questions: Sequence[str] | None = None,
    similarity: Mapping[str, tuple[float, str]] | None = None,
) -> Path:
    """Write :func:`gradebook_frame` as CSV to ``path`` (through a temporary file and a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    gradebook_frame(results, questions, similarity).to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path
