"""End-of-run summaries for the terminal: a batch's counts, scores and problems; verify's stages.

They only read what a run produced (results, what a batch run did, verify's stage
reports) and return the text; the commands print it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..results import OUTCOME_LABELS
from ..sanitize import one_line

if TYPE_CHECKING:
    from ..batch.run import BatchRun
    from ..results import SubmissionResult
    from ..sandbox.isolation import Isolation
    from ..spec import AssignmentSpec
    from ..verify import AssignmentReport

# -- grade batch ---------------------------------------------------------------------

#: The outcomes the batch summary lists students for, in this order.
_PROBLEM_OUTCOMES = ("timeout", "forbidden", "error", "memory", "not_implemented", "grader_error")


def render_batch_summary(
    batch: BatchRun,
    results: Sequence[SubmissionResult],
    spec: AssignmentSpec,
    isolation: Isolation,
    jobs: int,
    seed: int,
) -> str:
    """What the terminal shows at the end of a batch: counts, score statistics, problems, paths."""
    lines = [""]
    n = len(results)
    graded = len(batch.graded)
    rate = graded / batch.wall_seconds * 60 if batch.wall_seconds > 0 else 0.0
    lines.append(f"{spec.name} — {spec.title}")
    lines.append(
        f"  {n} submissions: {graded} graded, {len(batch.skipped)} unchanged (skipped)"
        f" · {_duration(batch.wall_seconds)}"
        + (f" ({rate:.0f}/min)" if graded else "")
        + f" · seed {seed} · isolation {isolation.level}"
    )
    scores = [r.score for r in results if r.status == "ok"]
    if scores:
        mx = max((r.max_score for r in results), default=0.0)
        q = statistics.quantiles(scores, n=4, method="inclusive") if len(scores) > 1 else [scores[0]] * 3
        full = sum(1 for r in results if r.status == "ok" and r.max_score and r.score >= r.max_score)
        perfect = sum(1 for r in results if r.status == "ok" and r.checks and all(c.passed for c in r.checks))
        lines.append(
            f"  score /{mx:g}: mean {statistics.fmean(scores):.1f} · median "
            f"{statistics.median(scores):g} · quartiles {q[0]:g}–{q[2]:g} · min "
            f"{min(scores):g} · max {max(scores):g} · score ≥ {mx:g}: {full} · passed every check: {perfect}"
        )
    for outcome_name in _PROBLEM_OUTCOMES:
        label = OUTCOME_LABELS[outcome_name]
        who = [r.student for r in results if any(c.outcome == outcome_name for c in r.checks)]
        if outcome_name == "grader_error":
            who = sorted(set(who) | {r.student for r in results if r.status != "ok"})
        if who:
            shown = ", ".join(one_line(w, 60) for w in who[:6]) + (f" (+{len(who) - 6} more)" if len(who) > 6 else "")
            lines.append(f"  {label + ':':<18} {len(who):>4}  {shown}")
    lines.append(f"  reports: {batch.out / 'summary.html'}")
    lines.append(f"  gradebook: {batch.out / 'gradebook.csv'}  (per student: <student>.html, <student>.json)")
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


# -- grade verify --------------------------------------------------------------------


def render_verify_summary(reports: Sequence[AssignmentReport]) -> str:
    """The one-screen summary: one line per stage per assignment, then the verdict."""
    lines = ["", "=" * 78, "grade verify summary", "=" * 78]
    for report in reports:
        lines.append(f"{report.name} — {report.title}  ({report.duration:.1f} s)")
        for stage in report.stages:
            took = f"{stage.duration:5.1f}s" if stage.status != "skipped" else ""
            lines.append(f"  {stage.name:<11}{stage.status:<8}{clip(stage.summary, 52):<53}{took}")
    failed = [r for r in reports if not r.ok]
    scores = ", ".join(f"{r.name} {percent(r.mutation_score)}" for r in reports if r.mutation_score is not None)
    if scores:
        lines.append(f"mutation scores: {scores}")
    if failed:
        n = sum(len(s.problems) for r in failed for s in r.stages)
        lines.append(f"FAILED: {n} problems in {', '.join(r.name for r in failed)} (details above)")
    else:
        lines.append(f"OK: {len(reports)} assignments verified")
    return "\n".join(lines) + "\n"


def clip(text: str, limit: int = 400) -> str:
    """``text`` on one line (runs of whitespace made one space), cut to ``limit`` characters with "…"."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def percent(score: float | None) -> str:
    """``score`` (0 to 1) as a percent with one decimal; "n/a" for None."""
    return "n/a" if score is None else f"{100 * score:.1f}%"
