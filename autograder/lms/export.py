"""``grade export``: a batch's results -> the grade file Canvas, Moodle or a spreadsheet imports.

Canvas's gradebook import wants ``Student, ID, SIS User ID, SIS Login ID,
Section`` then one column per assignment, with a second row ``Points
Possible``; rows are matched by ID (or the SIS ids).  Moodle's offline grading
worksheet matches rows by ``Identifier`` (``Participant 98765``).  The score sent
is the final score (after late penalty and adjustment) when the batch had a
deadline or overrides, the checks' score otherwise.  A result that ended in a
grader error is never sent (it would read as a zero): it is left out and named.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import AutograderError
from ..results import SubmissionResult
from ..sanitize import csv_cell, one_line

FORMATS = ("canvas", "moodle", "csv")
CANVAS_HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_HEADER = (
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
)
CSV_IDS = (
    "name",
    "email",
    "section",
    "canvas_user_id",
    "sis_user_id",
    "sis_login_id",
    "moodle_participant",
    "github_username",
)
CSV_HEADER = ("student", *CSV_IDS, "raw_score", "late_penalty", "adjustment", "final_score", "max_score", "note")


@dataclass
class Exported:
    """What :func:`export_grades` wrote."""

    path: Path
    rows: int = 0
    #: Students left out, with why (no LMS id, a grader error).
    left_out: list[str] = field(default_factory=list)


def batch_results(batch_out: Path) -> list[SubmissionResult]:
    """Every result a ``grade batch --out`` folder holds, by student; AutograderError when the folder
    is not one."""
    from ..batch.cache import CACHE_DIR, STATE_FILE, ResultCache

    try:
        state = json.loads((batch_out / CACHE_DIR / STATE_FILE).read_text(encoding="utf-8"))
        assignment = str(state["assignment"])
    except (OSError, ValueError, KeyError, TypeError):
        raise AutograderError(
            f"{one_line(batch_out)} is not the output folder of grade batch (run grade batch ... --out FOLDER first)"
        ) from None
    found = ResultCache(batch_out / CACHE_DIR).every_result(assignment)
    if not found:
        raise AutograderError(f"no graded results in {one_line(batch_out)}")
    return [found[s] for s in sorted(found)]


def export_grades(
    results: Sequence[SubmissionResult], to: str, path: Path, *, column: str | None = None, now: datetime | None = None
) -> Exported:
    """Write ``results`` to ``path`` in the ``to`` format (``canvas``, ``moodle``, ``csv``);
    ``column`` names Canvas's assignment column (default: the assignment's name)."""
    if to not in FORMATS:
        raise AutograderError(f"--to: expected one of {', '.join(FORMATS)}, got {one_line(to, 40)}")
    done = Exported(path)
    rows: list[list[str]] = []
    if to == "canvas":
        max_score = max((r.max_score for r in results), default=0.0)
        rows.append([*CANVAS_HEADER, csv_cell(column or (results[0].assignment if results else "grade"))])
        rows.append(["Points Possible", "", "", "", "", f"{max_score:g}"])
    elif to == "moodle":
        rows.append(list(MOODLE_HEADER))
    else:
        rows.append(list(CSV_HEADER))
    graded = (now or datetime.now().astimezone()).strftime("%A, %d %B %Y, %I:%M %p")
    for r in results:
        lms = r.lms
        late = r.lateness
        final = r.final_score
        if r.status != "ok":
            done.left_out.append(f"{one_line(r.student, 80)} (grader error: grade again before sending)")
            continue
        name = lms.get("name") or r.student
        if to == "canvas":
            if not (lms.get("canvas_user_id") or lms.get("sis_user_id") or lms.get("sis_login_id")):
                done.left_out.append(
                    f"{one_line(r.student, 80)} (no Canvas ID or SIS id: use --from canvas or a roster)"
                )
                continue
            rows.append(
                [
                    *(csv_cell(v) for v in (name, lms.get("canvas_user_id", ""), lms.get("sis_user_id", ""))),
                    *(csv_cell(v) for v in (lms.get("sis_login_id", ""), lms.get("section", ""))),
                    f"{final:g}",
                ]
            )
        elif to == "moodle":
            if not lms.get("moodle_participant"):
                done.left_out.append(f"{one_line(r.student, 80)} (no Moodle participant id: use --from moodle)")
                continue
            submitted = ""
            if late and late.submitted:
                submitted = datetime.fromisoformat(late.submitted).strftime("%A, %d %B %Y, %I:%M %p")
            rows.append(
                [
                    f"Participant {csv_cell(lms['moodle_participant'])}",
                    csv_cell(name),
                    csv_cell(lms.get("email", "")),
                    "Submitted for grading",
                    f"{final:.2f}",
                    f"{r.max_score:.2f}",
                    "Yes",
                    submitted,
                    graded,
                    csv_cell(_feedback(r), 2000),
                ]
            )
        else:
            rows.append(
                [
                    csv_cell(r.student),
                    *(csv_cell(lms.get(c, "")) for c in CSV_IDS),
                    f"{r.score:g}",
                    f"{late.late_penalty:g}" if late else "0",
                    f"{late.adjustment:g}" if late else "0",
                    f"{final:g}",
                    f"{r.max_score:g}",
                    csv_cell(late.note if late else ""),
                ]
            )
        done.rows += 1
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    return done


def _feedback(r: SubmissionResult) -> str:
    passed = sum(1 for c in r.checks if c.passed)
    text = f"{passed} of {len(r.checks)} checks passed ({r.score:g} / {r.max_score:g} points)."
    late = r.lateness
    if late:
        text += f" {late.note}; final score {late.final_score:g}."
    return text
