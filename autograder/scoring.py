"""Check results + assignment spec -> per-question subtotals (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from .results import CheckResult, QuestionResult
from .spec import AssignmentSpec


def score_questions(spec: AssignmentSpec, checks: Iterable[CheckResult]) -> tuple[QuestionResult, ...]:
    """One subtotal per question that has checks in this run, in the spec's order.

    A question's maximum is the sum of the points of the checks that ran (so a
    public-only run is scored out of the public points).  Checks that name a
    question the spec lacks are gathered under that name, flagged in the title.
    """
    checks = list(checks)
    names = [q.name for q in spec.questions]
    names += sorted({c.question for c in checks} - set(names))
    out = []
    for name in names:
        mine = [c for c in checks if c.question == name]
        if not mine:
            continue
        try:
            q = spec.question(name)
            title, extra = q.title, q.extra_credit
        except KeyError:
            title, extra = f"{name} (not in assignment.toml)", False
        out.append(
            QuestionResult(
                name=name,
                title=title,
                score=sum(c.score for c in mine),
                max_score=sum(c.max_score for c in mine),
                extra_credit=extra,
            )
        )
    return tuple(out)


def points_mismatches(spec: AssignmentSpec, checks: Iterable[CheckResult], *, complete: bool) -> list[str]:
    """One line per question whose checks' points disagree with assignment.toml.

    With ``complete`` (public and hidden checks both ran) a question's checks
    must add up to its points; otherwise (hidden checks hold the rest) they
    must not add up to more.
    """
    checks = list(checks)
    out = []
    for q in spec.questions:
        mine = [c for c in checks if c.question == q.name]
        if not mine:
            continue
        public = sum(c.max_score for c in mine if c.visibility == "public")
        hidden = sum(c.max_score for c in mine if c.visibility == "hidden")
        total = public + hidden
        if total > q.points + 1e-9 or (complete and abs(total - q.points) > 1e-9):
            out.append(
                f"question {q.name!r}: assignment.toml gives {q.points:g} points, its "
                f"{len(mine)} checks add up to {total:g} ({public:g} public + {hidden:g} hidden)"
            )
    return out
