"""Late submissions: the ``[deadline]`` table of assignment.toml, extensions and adjustments -> final score (pure).

A submission is late by whole days counted on the course's wall clock: due at
23:59, it is one day late until 23:59 the next day, whatever daylight saving
time did in between (a student reads "one day late" off the calendar, not off
a stopwatch). A grace period after the due time counts as on time.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SpecError
from .sanitize import one_line

#: Largest overrides CSV read.
MAX_OVERRIDES_BYTES = 4 * 1024 * 1024
DEADLINE_KEYS = frozenset({"due", "timezone", "grace_minutes", "penalty_per_day", "penalties", "last_day"})


@dataclass(frozen=True)
class Deadline:
    """When an assignment is due and what lateness costs."""

    #: The due time, aware (its time zone is the course's clock).
    due: datetime
    #: Minutes after ``due`` that still count as on time.
    grace_minutes: float = 0.0
    #: Percent of the score lost per day late, for each day: ``penalties[0]`` is the first day's
    #: total. Past the list, each further day adds its last step again.
    penalties: tuple[float, ...] = ()
    #: The last day late that is accepted; later submissions score zero. None: no limit.
    last_day: int | None = None

    def percent_lost(self, days_late: int) -> float:
        """Percent of the score lost ``days_late`` days after the due time (0 to 100)."""
        if days_late <= 0 or not self.penalties:
            return 0.0
        if days_late <= len(self.penalties):
            lost = self.penalties[days_late - 1]
        else:
            step = self.penalties[-1] - (self.penalties[-2] if len(self.penalties) > 1 else 0.0)
            lost = self.penalties[-1] + step * (days_late - len(self.penalties))
        return min(max(lost, 0.0), 100.0)


@dataclass(frozen=True)
class Override:
    """One student's extension and manual adjustment, with the reason shown to them."""

    student: str
    #: Extra days before their own due time.
    extension_days: float = 0.0
    #: Points added (or, negative, taken) after the late penalty.
    adjustment: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class Lateness:
    """The late-penalty arithmetic of one submission, as reports show it."""

    raw_score: float
    penalty: float
    adjustment: float
    final_score: float
    #: Whole days late on the course's clock (0: on time, or within the grace period).
    days_late: int
    accepted: bool
    #: One line for the student: on time / N days late, -P points / not accepted / extension / adjustment.
    note: str


def parse_deadline(table: Any, where: str) -> Deadline:
    """The ``[deadline]`` table of an assignment.toml; SpecError (naming ``where`` and the key) when malformed."""

    def fail(key: str, expected: str) -> SpecError:
        return SpecError(f"{where}: key 'deadline.{key}': expected {expected}")

    if not isinstance(table, dict):
        raise SpecError(f"{where}: key 'deadline': expected a table")
    for key in table:
        if key not in DEADLINE_KEYS:
            raise fail(key, f"one of {sorted(DEADLINE_KEYS)} (unknown key)")
    due = table.get("due")
    if isinstance(due, str):
        try:
            due = datetime.fromisoformat(due)
        except ValueError:
            raise fail("due", f"a date and time such as 2026-03-01T23:59:00-05:00, got {due!r}") from None
    if not isinstance(due, datetime):
        raise fail("due", "a date and time such as 2026-03-01T23:59:00-05:00 (missing)")
    zone = table.get("timezone")
    if zone is not None:
        if not isinstance(zone, str):
            raise fail("timezone", "a time zone name such as 'America/New_York'")
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise fail("timezone", f"a time zone name such as 'America/New_York', got {zone!r}") from None
        due = due.replace(tzinfo=tz) if due.tzinfo is None else due.astimezone(tz)
    if due.tzinfo is None:
        raise fail("due", "a time zone: an offset (2026-03-01T23:59:00-05:00) or timezone = 'Europe/Paris'")
    grace = table.get("grace_minutes", 0)
    if isinstance(grace, bool) or not isinstance(grace, (int, float)) or grace < 0:
        raise fail("grace_minutes", f"a number of minutes >= 0, got {grace!r}")
    if "penalty_per_day" in table and "penalties" in table:
        raise fail("penalties", "either penalty_per_day or penalties, not both")
    penalties: tuple[float, ...] = ()
    if "penalty_per_day" in table:
        per_day = table["penalty_per_day"]
        if isinstance(per_day, bool) or not isinstance(per_day, (int, float)) or not 0 <= per_day <= 100:
            raise fail("penalty_per_day", f"a percent from 0 to 100, got {per_day!r}")
        penalties = (float(per_day),)
    elif "penalties" in table:
        steps = table["penalties"]
        if (
            not isinstance(steps, list)
            or not steps
            or not all(isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 100 for p in steps)
            or any(b < a for a, b in itertools.pairwise(steps))
        ):
            raise fail("penalties", f"a non-decreasing list of percents lost by day 1, 2, ... got {steps!r}")
        penalties = tuple(float(p) for p in steps)
    last_day = table.get("last_day")
    if last_day is not None and (isinstance(last_day, bool) or not isinstance(last_day, int) or last_day < 0):
        raise fail("last_day", f"a whole number of days >= 0, got {last_day!r}")
    return Deadline(due=due, grace_minutes=float(grace), penalties=penalties, last_day=last_day)


def days_late(deadline: Deadline, submitted: datetime, extension_days: float = 0.0) -> int:
    """Whole days ``submitted`` comes after the (extended) due time, on the course's wall clock."""
    if submitted.tzinfo is None:
        raise ValueError("submitted must be an aware datetime")
    tz = deadline.due.tzinfo
    local_due = deadline.due.replace(tzinfo=None) + timedelta(days=extension_days)
    local_submitted = submitted.astimezone(tz).replace(tzinfo=None)
    late = local_submitted - local_due
    if late <= timedelta(minutes=deadline.grace_minutes):
        return 0
    return math.ceil(late / timedelta(days=1))


def apply_deadline(
    raw_score: float, deadline: Deadline | None, submitted: datetime | None, override: Override | None = None
) -> Lateness:
    """The final score of a submission graded ``raw_score``, submitted at ``submitted``.

    The late penalty is a percent of the raw score; an override's adjustment
    comes after it; the final score is never below zero.
    """
    override = override or Override(student="")
    notes = []
    days, accepted, penalty = 0, True, 0.0
    if deadline is not None and submitted is not None:
        days = days_late(deadline, submitted, override.extension_days)
        if deadline.last_day is not None and days > deadline.last_day:
            accepted, penalty = False, raw_score
            notes.append(f"submitted {days} days late, after the last accepted day ({deadline.last_day}): not accepted")
        elif days:
            penalty = raw_score * deadline.percent_lost(days) / 100
            notes.append(f"submitted {days} day{'s' if days > 1 else ''} late: -{penalty:g} points")
    elif deadline is not None:
        notes.append("no submission time known: no late penalty applied")
    if override.extension_days:
        notes.append(f"extension of {override.extension_days:g} days" + _reason(override))
    if override.adjustment:
        notes.append(f"adjustment of {override.adjustment:+g} points" + _reason(override))
    final = max(raw_score - penalty + override.adjustment, 0.0)
    note = "; ".join(notes) if notes else "on time"
    return Lateness(raw_score, round(penalty, 6), override.adjustment, round(final, 6), days, accepted, note)


def _reason(override: Override) -> str:
    return f" ({override.reason})" if override.reason else ""


def read_overrides(path: Path) -> dict[str, Override]:
    """An overrides CSV (columns ``student``, and any of ``extension_days``, ``adjustment``, ``reason``);
    SpecError naming the file (and the line) when it is too large, not UTF-8 text or malformed;
    OSError when it cannot be read."""
    shown = one_line(path)
    if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the batch, a device never end
        raise SpecError(f"{shown} is not a file")
    with open(path, "rb") as f:
        data = f.read(MAX_OVERRIDES_BYTES + 1)
    if len(data) > MAX_OVERRIDES_BYTES:
        raise SpecError(f"{shown} is larger than {MAX_OVERRIDES_BYTES // 2**20} MB: expected one short row per student")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{shown}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None
    out: dict[str, Override] = {}
    reader = csv.DictReader(io.StringIO(text))
    try:
        for row in reader:
            number = reader.line_num
            student = (row.get("student") or "").strip()
            if not student:
                raise SpecError(
                    f"{shown}, line {number}: no student (columns: student, extension_days, adjustment, reason)"
                )
            try:
                extension = float(row.get("extension_days") or 0)
                adjustment = float(row.get("adjustment") or 0)
            except ValueError:
                raise SpecError(f"{shown}, line {number}: extension_days and adjustment must be numbers") from None
            if not (math.isfinite(extension) and math.isfinite(adjustment)):
                raise SpecError(f"{shown}, line {number}: extension_days and adjustment must be finite numbers")
            if student in out:
                raise SpecError(f"{shown}, line {number}: {one_line(student, 80)} has a row already")
            out[student] = Override(student, extension, adjustment, (row.get("reason") or "").strip())
    except csv.Error as exc:
        raise SpecError(f"{shown}, line {reader.line_num + 1}: not CSV ({exc})") from None
    return out
