"""Each graded result's LMS identity and late penalty: entries, roster, deadline, overrides -> result.

A result stays the checks' verdict (its score is the raw score, and it is what
the cache keeps); what this module adds is bookkeeping reports read:
``lms`` (name, email, section and the LMS's ids: the gradebook columns
grades go back by) and ``lateness`` (raw score, late penalty,
adjustment, final score, when it was submitted and how that is known).  It is
worked out again on every run, so a changed overrides file or roster changes
the reports without grading anyone again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from .deadlines import Deadline, Override, apply_deadline, days_late, read_overrides
from .errors import AutograderError, SpecError
from .lms import Entry
from .lms.roster import Person, match_roster, read_roster
from .results import LateScore, SubmissionResult
from .sanitize import one_line

#: How a time that is not the submission's own begins its source.
_NO_TIME = "no submission time given"


class Marker:
    """What to add to each student's result; built once per batch."""

    def __init__(
        self,
        entries: list[Entry],
        *,
        system: str | None,
        deadline: Deadline | None,
        people: list[Person] | None = None,
        overrides: dict[str, Override] | None = None,
    ) -> None:
        self.system = system
        self.deadline = deadline
        self.entries = {e.student: e for e in entries}
        #: One line each for the instructor (printed once per batch).
        self.warnings: list[str] = [w for e in entries for w in e.warnings]
        keys = {e.student: [e.student, *e.ids.values()] for e in entries}
        names = {e.student: e.name for e in entries}
        self.people = match_roster(people, keys, names) if people else {}
        if people is not None:
            missing = sorted(set(self.entries) - set(self.people))
            if missing:
                self.warnings.append(f"not in the roster: {_listed(missing)}")
        self.overrides: dict[str, Override] = {}
        for override in (overrides or {}).values():
            student = next((s for s, ids in keys.items() if override.student in ids), None)
            if student is None:
                student = next((s for s, n in names.items() if n and n == override.student), None)
            if student is None:
                self.warnings.append(f"overrides: no submission for {one_line(override.student, 80)}")
            else:
                self.overrides[student] = override
        self.file_dates: list[str] = []
        if deadline is not None:
            self.file_dates = sorted(
                e.student for e in entries if e.submitted is None and not (system == "canvas" and not e.late)
            )

    @classmethod
    def from_files(
        cls,
        entries: list[Entry],
        system: str | None,
        deadline: Deadline | None,
        *,
        roster: Path | None = None,
        overrides: Path | None = None,
    ) -> Marker:
        """A marker with the roster and overrides CSVs at these paths (if given) read;
        AutograderError (saying ``--roster`` or ``--overrides``) when one cannot be read."""
        people = read_roster(roster) if roster is not None else None
        found = None
        if overrides is not None:
            try:
                found = read_overrides(overrides)
            except OSError as exc:
                raise AutograderError(f"--overrides: cannot read {one_line(overrides)} ({exc.strerror})") from None
            except SpecError as exc:  # too large, not UTF-8, not CSV, or a malformed row
                raise SpecError(f"--overrides: {exc}") from None
        return cls(entries, system=system, deadline=deadline, people=people, overrides=found)

    def mtime_warning(self) -> str | None:
        """The one warning that some submission times are file dates, or None."""
        if not self.file_dates:
            return None
        return (
            f"warning: {len(self.file_dates)} submission times are the files' modification dates, which copying "
            f"or unzipping can change ({_listed(self.file_dates)}); check them before publishing late penalties"
        )

    def apply(self, result: SubmissionResult) -> SubmissionResult:
        """``result`` with ``lms`` and ``lateness`` for its student (unchanged when the student is
        not in this batch)."""
        entry = self.entries.get(result.student)
        if entry is None:
            return result
        lms: dict[str, str] = {}
        if self.system is not None:
            lms = {"system": self.system, **({"name": entry.name} if entry.name else {}), **entry.ids}
        person = self.people.get(result.student)
        if person is not None:
            lms.update(person.columns())
        override = self.overrides.get(result.student)
        lateness = None
        if self.deadline is not None or override is not None:
            lateness = self._lateness(result.score, entry, override)
        return replace(result, lms=lms, lateness=lateness)

    def _lateness(self, raw: float, entry: Entry, override: Override | None) -> LateScore:
        submitted, source = self._submitted(entry)
        late = apply_deadline(raw, self.deadline, submitted, override)
        shown = None
        if submitted is not None and not source.startswith(_NO_TIME):
            tz = self.deadline.due.tzinfo if self.deadline is not None else None
            shown = submitted.astimezone(tz).isoformat(timespec="minutes")
        return LateScore(
            raw_score=late.raw_score,
            late_penalty=late.penalty,
            adjustment=late.adjustment,
            final_score=late.final_score,
            days_late=late.days_late,
            accepted=late.accepted,
            note=late.note,
            submitted=shown,
            time_source=source,
            extension_days=override.extension_days if override else 0.0,
            reason=override.reason if override else "",
            due=None if self.deadline is None else self.deadline.due.isoformat(timespec="minutes"),
        )

    def _submitted(self, entry: Entry) -> tuple[datetime | None, str]:
        """(when, how that is known) for ``entry``; when the source starts with ``_NO_TIME`` the
        time only stands for "on time" or "late", it is not shown as the submission time."""
        if entry.submitted is not None:
            return entry.submitted, entry.time_source
        if self.system == "canvas" and self.deadline is not None:
            if not entry.late:
                return self.deadline.due, f"{_NO_TIME}: Canvas does not mark it late"
            if entry.mtime is not None and days_late(self.deadline, entry.mtime) >= 1:
                return entry.mtime, "Canvas marks it late and gives no time: the file's date"
            first_late = self.deadline.due + timedelta(minutes=self.deadline.grace_minutes + 1)
            return first_late, f"{_NO_TIME}: Canvas marks it late, counted as 1 day late"
        if entry.mtime is not None:
            return entry.mtime, "the file's modification date"
        return None, ""


def _listed(students: list[str]) -> str:
    shown = ", ".join(one_line(s, 60) for s in students[:8])
    return shown + (f" and {len(students) - 8} more" if len(students) > 8 else "")
