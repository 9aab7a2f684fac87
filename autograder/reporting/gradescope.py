"""A SubmissionResult as Gradescope's ``results.json`` (score, tests[name, score, max_score, ...])."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..results import SubmissionResult

#: Our visibility -> Gradescope's.  Hidden checks appear once grades are published.
_VISIBILITY = {"public": "visible", "hidden": "after_published"}


def to_gradescope(result: SubmissionResult) -> dict[str, Any]:
    """The Gradescope results document of what ``result`` holds (give a student's view, from
    :meth:`SubmissionResult.for_student`, for what students see); a redacted check's output is
    its verdict only."""
    tests = []
    for number, check in enumerate(result.checks, start=1):
        output = check.message
        if check.redacted:
            output = "passed" if check.passed else "did not pass"
        tests.append(
            {
                "name": check.name,
                "number": str(number),
                "score": check.score,
                "max_score": check.max_score,
                "status": "passed" if check.passed else "failed",
                "visibility": _VISIBILITY[check.visibility],
                "output": output,
                "tags": [check.question],
                "extra_data": {"outcome": check.outcome, "question": check.question},
            }
        )
    late = result.lateness
    return {
        # With a deadline or an override: the final score; extra_data["lateness"] says how.
        "score": result.final_score,
        **({} if result.redacted else {"execution_time": round(result.duration, 3)}),
        "output": "\n".join([*([late.note] if late else []), *result.notes]),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "assignment": result.assignment,
            "student": result.student,
            **({} if result.redacted else {"seed": result.seed}),
            "status": result.status,
            "isolation": result.isolation,
            "max_score": result.max_score,
            **({"lateness": asdict(late)} if late else {}),
            **({"lms": dict(result.lms)} if result.lms else {}),
            "questions": [
                {
                    "name": q.name,
                    "title": q.title,
                    "score": q.score,
                    "max_score": q.max_score,
                    "extra_credit": q.extra_credit,
                }
                for q in result.questions
            ],
        },
    }


def write_gradescope(result: SubmissionResult, path: Path) -> Path:
    """Write :func:`to_gradescope` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_gradescope(result), indent=2))
    return path
