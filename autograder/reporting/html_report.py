"""A student's self-contained HTML report (inline CSS, no network), rendered with jinja2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..results import CheckResult, SubmissionResult

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

LABELS = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "timeout": "timed out",
    "memory": "out of memory",
    "not_implemented": "not implemented",
    "forbidden": "forbidden import",
    "grader_error": "grader error",
}


def check_view(check: CheckResult, hidden_details: bool) -> dict[str, Any]:
    """What the page shows of one check; hidden checks show name and pass/fail unless allowed."""
    redacted = check.visibility == "hidden" and not hidden_details
    return {
        "name": check.name,
        "outcome": check.outcome,
        "label": LABELS[check.outcome],
        "score": check.score,
        "max_score": check.max_score,
        "hidden": check.visibility == "hidden",
        "message": "" if redacted else check.message,
        "traceback": "" if redacted else check.traceback,
        "stdout": "" if redacted else check.stdout[:5000],
        "expected": None if redacted else _grid(check.expected),
        "got": None if redacted else _grid(check.got),
        "duration_ms": round(check.duration * 1000, 1),
    }


def _grid(value: Any) -> list[list[str]] | None:
    """A small array (nested lists) as rows of formatted cells, for a compact table."""
    if value is None or isinstance(value, (int, float, bool, str)):
        return None if value is None else [[_fmt(value)]]
    flat: list[Any] = value
    depth = 0
    probe: Any = value
    while isinstance(probe, list) and probe:
        probe = probe[0]
        depth += 1
    if depth == 1:
        return [[_fmt(v) for v in flat]]
    if depth == 2:
        return [[_fmt(v) for v in row] for row in flat]
    # Higher-dimensional: show the first 2-D slice.
    while depth > 2:
        flat = flat[0]
        depth -= 1
    return [[_fmt(v) for v in row] for row in flat]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def render_student_html(result: SubmissionResult, *, hidden_details: bool = False) -> str:
    """The report page as a string."""
    questions = []
    for q in result.questions:
        checks = [check_view(c, hidden_details) for c in result.checks if c.question == q.name]
        questions.append({"q": q, "checks": checks})
    pct = 100.0 * result.score / result.max_score if result.max_score else 0.0
    return _ENV.get_template("student.html").render(
        r=result, questions=questions, pct=pct, counts=result.outcome_counts(),
        css=_ENV.get_template("report.css").render(),
    )


def write_student_html(result: SubmissionResult, path: Path, *, hidden_details: bool = False) -> Path:
    """Write :func:`render_student_html` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_student_html(result, hidden_details=hidden_details), encoding="utf-8")
    return path
