"""A student's self-contained HTML report (inline CSS, no network, prints well), rendered with jinja2."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jinja2

from ..results import OUTCOME_LABELS, CheckResult, SubmissionResult

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    # Compiled templates kept between runs (jinja2's per-user folder under the temporary
    # directory, which it checks is the user's own): compiling costs ~50 ms a run.
    bytecode_cache=jinja2.FileSystemBytecodeCache(),
)

#: Cells shown per side of an array in the report (larger slices are cut).
MAX_ROWS = 16
MAX_COLS = 16


def env() -> jinja2.Environment:
    """The jinja2 environment of every report template (student page and class summary)."""
    return _ENV


def stylesheet() -> str:
    """The shared inline stylesheet."""
    return _ENV.get_template("report.css").render()


def check_view(check: CheckResult) -> dict[str, Any]:
    """What the page shows of one check: what the result holds (a redacted check has no details)."""
    return {
        "name": check.name,
        "outcome": check.outcome,
        "label": OUTCOME_LABELS.get(check.outcome, check.outcome),
        "score": check.score,
        "max_score": check.max_score,
        "hidden": check.visibility == "hidden",
        "redacted": check.redacted,
        "message": check.message,
        "traceback": check.traceback,
        "stdout": check.stdout,
        "arrays": array_view(check.expected, check.got),
        "duration_ms": None if check.redacted else round(check.duration * 1000, 1),
    }


def array_view(expected: Any, got: Any) -> dict[str, Any] | None:
    """Expected and got as two small tables; where shapes agree, each wrong cell of ``got`` is
    shaded by its error (a heat map).  Arrays of more than two dimensions show their first
    2-D slice, labelled.  None when there is nothing to show."""
    if expected is None and got is None:
        return None
    exp = _Grid.of(expected)
    act = _Grid.of(got)
    same = exp is not None and act is not None and exp.shape == act.shape and exp.numeric and act.numeric
    heat: list[list[float]] | None = None
    if same and exp is not None and act is not None:
        errors = [
            [abs(a - e) if math.isfinite(a) and math.isfinite(e) else math.inf for a, e in zip(ra, re_, strict=True)]
            for ra, re_ in zip(act.rows, exp.rows, strict=True)
        ]
        finite = [x for row in errors for x in row if math.isfinite(x)]
        top = max(finite) if finite else 0.0
        heat = [
            [_heat(x, e, top) for x, e in zip(row, erow, strict=True)]
            for row, erow in zip(errors, exp.rows, strict=True)
        ]
    sides = []
    for label, grid, shade in (("expected", exp, None), ("got", act, heat)):
        if grid is None:
            continue
        rows = []
        for i, row in enumerate(grid.rows[:MAX_ROWS]):
            cells = []
            for j, value in enumerate(row[:MAX_COLS]):
                h = shade[i][j] if shade is not None else 0.0
                cells.append({"text": _fmt(value), "heat": round(h, 3), "bad": h > 0})
            if len(row) > MAX_COLS:
                cells.append({"text": "…", "heat": 0.0, "bad": False})
            rows.append(cells)
        if len(grid.rows) > MAX_ROWS:
            rows.append([{"text": "⋮", "heat": 0.0, "bad": False}])
        sides.append({"label": label, "rows": rows, "caption": grid.caption})
    wrong = sum(1 for row in heat or [] for h in row if h > 0)
    total = sum(len(row) for row in heat or [])
    return {"sides": sides, "wrong": wrong, "total": total, "compared": heat is not None}


def _heat(error: float, expected: float, top: float) -> float:
    """0 for a value within a tight tolerance, else in (0.15, 1] growing with the error.

    Report arrays are rounded to six decimals, hence the tolerance's floor."""
    if math.isfinite(error) and error <= 1e-5 * abs(expected) + 2e-6:
        return 0.0
    if not math.isfinite(error) or top <= 0:
        return 1.0
    return 0.15 + 0.85 * min(1.0, error / top)


class _Grid:
    """A value from a CheckResult (nested lists or a scalar) as rows of at most two dimensions."""

    def __init__(self, rows: list[list[Any]], shape: tuple[int, ...], caption: str) -> None:
        self.rows = rows
        self.shape = shape
        self.caption = caption
        self.numeric = all(_is_number(v) for row in rows for v in row)
        if self.numeric:
            self.rows = [[float(v) for v in row] for row in rows]

    @classmethod
    def of(cls, value: Any) -> _Grid | None:
        if value is None:
            return None
        if not isinstance(value, list):
            return cls([[value]], (), "scalar")
        shape = _shape(value)
        if shape is None:  # ragged: show it flat
            return cls([[str(v) for v in value]], (len(value),), f"{len(value)} values")
        probe: Any = value
        prefix: list[str] = []
        while len(shape) - len(prefix) > 2:
            probe = probe[0] if probe else []
            prefix.append("0")
        rows = [probe] if len(shape) == 1 else list(probe)
        caption = f"shape {_shape_text(shape)}"
        if prefix:
            caption += f", showing [{', '.join(prefix)}, :, :]"
        return cls([list(r) for r in rows], shape, caption)


def _shape(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    inner = [_shape(v) for v in value]
    if any(s is None for s in inner) or len(set(inner)) != 1:
        return None
    return (len(value), *inner[0])  # type: ignore[misc]


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e9:
            return str(int(v))
        return f"{v:.4g}"
    return str(v)


def student_context(result: SubmissionResult) -> dict[str, Any]:
    """Everything the student template renders, from the result alone."""
    questions = []
    for q in result.questions:
        checks = [check_view(c) for c in result.checks if c.question == q.name]
        questions.append(
            {
                "q": q,
                "checks": checks,
                "passed": sum(1 for c in checks if c["outcome"] == "passed"),
                "pct": 100.0 * q.score / q.max_score if q.max_score else 0.0,
            }
        )
    pct = 100.0 * result.score / result.max_score if result.max_score else 0.0
    return {
        "r": result,
        "questions": questions,
        "pct": pct,
        "counts": {k: v for k, v in result.outcome_counts().items() if v},
        "labels": OUTCOME_LABELS,
        "any_redacted": any(c.redacted for c in result.checks),
        "total_ms": round(sum(c.duration for c in result.checks) * 1000),
        "css": stylesheet(),
    }


def render_student_html(result: SubmissionResult) -> str:
    """The report page of what ``result`` holds, as a string (give a student's view, from
    :meth:`SubmissionResult.for_student`, for a page students see)."""
    return _ENV.get_template("student.html").render(**student_context(result))


def write_student_html(result: SubmissionResult, path: Path) -> Path:
    """Write :func:`render_student_html` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_student_html(result), encoding="utf-8")
    return path
