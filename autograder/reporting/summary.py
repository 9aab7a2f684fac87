"""The class summary page ``summary.html``: score distribution, pass rates, common failures, problems.

Reads results only.  Charts are inline SVG drawn here, so the page needs no
network and prints as it shows.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..results import OUTCOME_LABELS, OUTCOMES, SubmissionResult
from ..sanitize import file_stem
from .html_report import env, stylesheet

#: Failure messages listed per check.
TOP_MESSAGES = 3
#: Outcomes that mark a submission as having a problem worth the instructor's eye, in the order listed.
PROBLEM_OUTCOMES = ("grader_error", "timeout", "forbidden", "error", "memory")

_NUMBER = re.compile(
    r"(?<![\w.])[-+]?\d+(?P<frac>\.\d+)?(?P<exp>[eE][-+]?\d+)?(?!\w)"
    r"|\b(?:nan|inf)\b"
)


def failure_key(message: str) -> str:
    """A failure message reduced to what students who made the same mistake share.

    The first sentence (what went wrong) plus any hint, with the numbers that
    differ from student to student (decimals anywhere, counts and line numbers
    outside brackets) shown as ``…``; shapes such as ``(2, 8, 5, 5)`` stay.
    """
    text = " ".join(message.split())
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text, maxsplit=1)[0]
    if "Hint:" in text and "Hint:" not in first:
        first += " … Hint:" + text.split("Hint:", 1)[1]
    depth = [0] * (len(first) + 1)
    level = 0
    for i, ch in enumerate(first):
        depth[i] = level
        level += (ch in "([") - (ch in ")]")
    depth[len(first)] = level

    def mask(m: re.Match[str]) -> str:
        decimal = m.group("frac") or m.group("exp") or m.group(0) in ("nan", "inf")
        return "…" if decimal or depth[m.start()] <= 0 else m.group(0)

    return _NUMBER.sub(mask, first)[:400]


@dataclass
class CheckStats:
    """How the class did on one check."""

    name: str
    question: str
    visibility: str
    max_score: float
    runs: int = 0
    passed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


@dataclass
class QuestionStats:
    """How the class did on one question."""

    name: str
    title: str
    max_score: float
    extra_credit: bool
    scores: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def full_rate(self) -> float:
        if not self.scores or not self.max_score:
            return 0.0
        return sum(1 for s in self.scores if s >= self.max_score) / len(self.scores)


def class_statistics(results: Sequence[SubmissionResult]) -> dict[str, Any]:
    """Score statistics, per-question and per-check numbers and problem lists for ``results``."""
    graded = [r for r in results if r.status == "ok"]
    scores = [r.score for r in graded]
    max_score = max((r.max_score for r in results), default=0.0)
    extra = max((sum(q.max_score for q in r.questions if q.extra_credit) for r in results), default=0.0)
    stats: dict[str, Any] = {
        "n": len(results),
        "graded": len(graded),
        "max_score": max_score,
        #: The highest score possible: the maximum plus every extra-credit point.
        "top_score": max_score + extra,
        "scores": scores,
    }
    if scores:
        quartiles = statistics.quantiles(scores, n=4, method="inclusive") if len(scores) > 1 else [scores[0]] * 3
        stats.update(
            mean=statistics.fmean(scores),
            median=statistics.median(scores),
            q1=quartiles[0],
            q3=quartiles[2],
            min=min(scores),
            max=max(scores),
            stdev=statistics.pstdev(scores),
            # Two counts: with extra credit a score can reach the maximum with checks failed.
            at_max=sum(1 for r in graded if r.max_score and r.score >= r.max_score),
            all_passed=sum(1 for r in graded if r.checks and all(c.passed for c in r.checks)),
        )
    questions: dict[str, QuestionStats] = {}
    checks: dict[str, CheckStats] = {}
    for r in graded:
        for q in r.questions:
            qs = questions.setdefault(q.name, QuestionStats(q.name, q.title, q.max_score, q.extra_credit))
            qs.max_score = max(qs.max_score, q.max_score)
            qs.scores.append(q.score)
        for c in r.checks:
            cs = checks.setdefault(c.name, CheckStats(c.name, c.question, c.visibility, c.max_score))
            cs.runs += 1
            cs.outcomes[c.outcome] += 1
            if c.passed:
                cs.passed += 1
            elif c.message:
                cs.messages[failure_key(c.message)] += 1
    stats["questions"] = list(questions.values())
    order = {name: i for i, name in enumerate(questions)}
    stats["checks"] = sorted(checks.values(), key=lambda c: order.get(c.question, len(order)))
    stats["hardest"] = sorted((c for c in checks.values() if c.runs), key=lambda c: (c.pass_rate, c.name))[:10]
    problems: dict[str, list[str]] = {k: [] for k in PROBLEM_OUTCOMES}
    for r in results:
        seen = {c.outcome for c in r.checks}
        for kind in PROBLEM_OUTCOMES:
            if kind in seen or (kind == "grader_error" and r.status != "ok"):
                problems[kind].append(r.student)
    stats["problems"] = problems
    stats["outcome_totals"] = Counter(c.outcome for r in graded for c in r.checks)
    return stats


# -- inline SVG charts --------------------------------------------------------


def histogram_svg(
    scores: Sequence[float], max_score: float, *, bins: int = 10, width: int = 640, height: int = 200
) -> str:
    """A histogram of ``scores`` on [0, max_score] as an inline SVG element; pass the maximum
    with extra credit (scores above ``max_score`` land in the last bin)."""
    top = max_score if max_score > 0 else max(scores, default=1.0) or 1.0
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, max(0, int(s / top * bins)))] += 1
    peak = max(counts, default=0) or 1
    left, bottom, right, topm = 34, 28, 10, 12
    plot_w, plot_h = width - left - right, height - bottom - topm
    bw = plot_w / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart histogram" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="histogram of scores">'
    ]
    parts.append(f'<line class="axis" x1="{left}" y1="{topm + plot_h}" x2="{left + plot_w}" y2="{topm + plot_h}"/>')
    for i, n in enumerate(counts):
        h = plot_h * n / peak
        x = left + i * bw
        lo, hi = top * i / bins, top * (i + 1) / bins
        parts.append(
            f'<rect class="hbar" x="{x + 1:.1f}" y="{topm + plot_h - h:.1f}" '
            f'width="{bw - 2:.1f}" height="{h:.1f}"><title>{lo:g}–{hi:g}: {n} '
            f"submission{'s' if n != 1 else ''}</title></rect>"
        )
        if n:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{topm + plot_h - h - 3:.1f}" text-anchor="middle">{n}</text>')
    for i in range(0, bins + 1, max(1, bins // 5)):
        x = left + i * bw
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{top * i / bins:g}</text>')
    parts.append(f'<text x="4" y="{topm + 8}">n</text></svg>')
    return "".join(parts)


def rate_bar_svg(rate: float, *, width: int = 120, height: int = 12) -> str:
    """A small horizontal bar for a rate in [0, 1], coloured from red to green."""
    rate = min(1.0, max(0.0, rate))
    color = "#1a7f37" if rate >= 0.8 else "#bf8700" if rate >= 0.5 else "#cf222e"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart rate" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{rate * 100:.0f} percent"><rect x="0" y="0" width="{width}" '
        f'height="{height}" rx="3" fill="#eaeef2"/><rect x="0" y="0" '
        f'width="{width * rate:.1f}" height="{height}" rx="3" fill="{color}"/></svg>'
    )


def outcome_bar_svg(outcomes: Counter[str], *, width: int = 160, height: int = 12) -> str:
    """One stacked bar of a check's outcomes across the class."""
    colors = {
        "passed": "#1a7f37",
        "failed": "#cf222e",
        "error": "#a40e26",
        "timeout": "#bc4c00",
        "memory": "#953800",
        "not_implemented": "#bf8700",
        "forbidden": "#6e7781",
        "grader_error": "#8250df",
    }
    total = sum(outcomes.values()) or 1
    x = 0.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart outcomes" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="outcomes">'
    ]
    for name in OUTCOMES:
        n = outcomes.get(name, 0)
        if not n:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" '
            f'fill="{colors.get(name, "#999")}"><title>{OUTCOME_LABELS.get(name, name)}: '
            f"{n}</title></rect>"
        )
        x += w
    parts.append("</svg>")
    return "".join(parts)


def render_summary_html(
    results: Sequence[SubmissionResult],
    *,
    assignment: str = "",
    title: str = "",
    report_links: bool = True,
    similarity_href: str | None = None,
) -> str:
    """The class summary page as a string; ``report_links`` links each student's report
    (``<student>.html`` beside the page), ``similarity_href`` the similarity report."""
    stats = class_statistics(results)
    rows = []
    for r in results:
        counts = {k: v for k, v in r.outcome_counts().items() if v and k != "passed"}
        rows.append(
            {
                "r": r,
                "href": quote(f"{file_stem(r.student)}.html") if report_links else None,
                "issues": ", ".join(f"{n} {OUTCOME_LABELS.get(k, k)}" for k, n in counts.items()),
                "problem": r.status != "ok" or any(k in counts for k in PROBLEM_OUTCOMES),
            }
        )
    seeds = sorted({r.seed for r in results})
    isolation = sorted({r.isolation for r in results if r.isolation})
    return (
        env()
        .get_template("summary.html")
        .render(
            assignment=assignment or (results[0].assignment if results else ""),
            title=title,
            s=stats,
            rows=rows,
            seeds=seeds,
            isolation=isolation,
            histogram=histogram_svg(stats["scores"], stats["top_score"]),
            rate_bar=rate_bar_svg,
            outcome_bar=outcome_bar_svg,
            labels=OUTCOME_LABELS,
            problem_outcomes=PROBLEM_OUTCOMES,
            top_messages=TOP_MESSAGES,
            report_links=report_links,
            css=stylesheet(),
            quote=quote,
            similarity_href=similarity_href,
            late_rows=[
                {"r": r, "late": r.lateness}
                for r in results
                if r.lateness
                and (
                    r.lateness.late_penalty
                    or r.lateness.adjustment
                    or r.lateness.extension_days
                    or not r.lateness.accepted
                )
            ],
        )
    )


def write_summary_html(
    results: Sequence[SubmissionResult],
    path: Path,
    *,
    assignment: str = "",
    title: str = "",
    report_links: bool = True,
    similarity_href: str | None = None,
) -> Path:
    """Write :func:`render_summary_html` to ``path`` (through a temporary file and a rename)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(
        render_summary_html(
            results, assignment=assignment, title=title, report_links=report_links, similarity_href=similarity_href
        ),
        encoding="utf-8",
    )
    os.replace(tmp, path)
    return path
