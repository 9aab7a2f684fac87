"""The terminal table: one block per question, one line per check, the total.

Text from the submission (the student id, notes, check messages) is shown with its
control characters and escape sequences made visible (:mod:`autograder.sanitize`);
the only escape sequences written are this module's colours.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from typing import TextIO

from ..results import OUTCOME_TAGS, CheckResult, SubmissionResult
from ..sanitize import one_line, printable

_COLOR = {"passed": "32", "not_implemented": "33", "grader_error": "35"}


def _points(x: float) -> str:
    return f"{x:g}"


def render(result: SubmissionResult, *, color: bool = False, width: int | None = None) -> str:
    """The table as text, showing what ``result`` holds (a student's view comes from
    :meth:`SubmissionResult.for_student`; a redacted check says its details are hidden)."""
    width = width or min(shutil.get_terminal_size((100, 20)).columns, 120)

    def paint(text: str, outcome: str) -> str:
        if not color:
            return text
        code = _COLOR.get(outcome, "31")
        return f"\033[{code}m{text}\033[0m"

    lines = [
        f"{result.assignment} — {one_line(result.student, 100)}   ({'' if result.redacted else f'seed {result.seed}, '}"
        f"{'public + hidden' if result.hidden else 'public'} checks, "
        f"isolation: {result.isolation or 'n/a'})",
        "",
    ]
    for note in result.notes:
        lines += textwrap.wrap(f"note: {one_line(note, 1000)}", width, subsequent_indent="      ")
    if result.notes:
        lines.append("")
    for q in result.questions:
        head = f"{q.title}{' (extra credit)' if q.extra_credit else ''}"
        pts = f"{_points(q.score)}/{_points(q.max_score)}"
        lines.append(f"{head[: width - len(pts) - 2]:<{width - len(pts) - 1}} {pts}")
        for check in (c for c in result.checks if c.question == q.name):
            lines += _check_lines(check, width, paint)
        lines.append("")
    total = f"TOTAL {_points(result.score)}/{_points(result.max_score)}"
    extra = sum(q.score for q in result.questions if q.extra_credit)
    if extra:
        total += f" (including {_points(extra)} extra credit)"
    lines.append(total)
    return "\n".join(lines) + "\n"


def _check_lines(check: CheckResult, width: int, paint: Callable[[str, str], str]) -> list[str]:
    tag = OUTCOME_TAGS[check.outcome]
    vis = " [hidden]" if check.visibility == "hidden" else ""
    pts = f"{_points(check.score)}/{_points(check.max_score)}"
    name = f"{check.name}{vis}"
    left = f"  {paint(f'{tag:<9}', check.outcome)} {name}"
    pad = width - len(f"  {tag:<9} {name}") - len(pts)
    out = [f"{left}{' ' * max(pad, 1)}{pts}"]
    if check.redacted and not check.passed:
        out.append("      (details of hidden checks are not shown)")
    elif check.message and not check.passed:
        # The message may quote the student's values and exception text: no raw escape sequence.
        msg = printable(check.message if len(check.message) < 600 else check.message[:597] + "...", keep="\n")
        out += textwrap.wrap(msg, width - 4, initial_indent="      ", subsequent_indent="      ")
    return out


def print_result(result: SubmissionResult, stream: TextIO) -> None:
    """Print :func:`render` to ``stream``, in colour when it is a terminal."""
    color = hasattr(stream, "isatty") and stream.isatty()
    stream.write(render(result, color=color))
