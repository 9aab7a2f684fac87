"""Deadline arithmetic: days late on the course's wall clock, penalties, extensions, adjustments."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from autograder import deadlines
from autograder.deadlines import Deadline, Override, apply_deadline, days_late, parse_deadline, read_overrides
from autograder.errors import AutograderError, SpecError
from autograder.lateness import Marker
from autograder.spec import load_spec

NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc


def deadline(**table: object) -> Deadline:
    return parse_deadline({"due": "2026-03-07T23:59:00", "timezone": "America/New_York", **table}, "assignment.toml")


def test_days_are_counted_on_the_course_clock_across_daylight_saving_time() -> None:
    # Clocks in New York go forward on 2026-03-08 at 02:00: that day has 23 hours.
    d = deadline()
    assert d.due.utcoffset() == timedelta(hours=-5)
    on_time = datetime(2026, 3, 7, 23, 59, tzinfo=NEW_YORK)
    assert days_late(d, on_time) == 0
    # 23 h 30 min of real time later, but past 23:59 on the next day's wall clock: 2 days late.
    next_night = datetime(2026, 3, 9, 0, 29, tzinfo=NEW_YORK)
    assert next_night.astimezone(UTC) - on_time.astimezone(UTC) == timedelta(hours=23, minutes=30)
    assert days_late(d, next_night) == 2
    assert days_late(d, datetime(2026, 3, 8, 23, 59, tzinfo=NEW_YORK)) == 1
    # The same instants given in UTC, or in another zone, count the same.
    assert days_late(d, next_night.astimezone(UTC)) == 2
    assert days_late(d, next_night.astimezone(ZoneInfo("Asia/Tokyo"))) == 2


def test_offsets_and_time_zones_name_the_same_due_time() -> None:
    with_offset = parse_deadline({"due": "2026-03-07T23:59:00-05:00"}, "a.toml")
    named = deadline()
    assert with_offset.due == named.due
    tokyo = parse_deadline({"due": "2026-03-08T13:59:00", "timezone": "Asia/Tokyo"}, "a.toml")
    assert tokyo.due == named.due
    submitted = datetime(2026, 3, 8, 14, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert days_late(tokyo, submitted) == 1


def test_grace_period_counts_as_on_time() -> None:
    d = deadline(grace_minutes=15, penalty_per_day=10)
    assert apply_deadline(80, d, datetime(2026, 3, 8, 0, 14, tzinfo=NEW_YORK)).final_score == 80
    late = apply_deadline(80, d, datetime(2026, 3, 8, 0, 15, tzinfo=NEW_YORK))
    assert (late.days_late, late.penalty, late.final_score) == (1, 8, 72)
    assert late.note == "submitted 1 day late: -8 points"


def test_a_penalty_table_and_the_last_accepted_day() -> None:
    d = deadline(penalties=[10, 25, 50], last_day=4)
    expected = {1: 90, 2: 75, 3: 50, 4: 25}  # past the table, each day adds the last step (25)
    for day, final in expected.items():
        submitted = d.due + timedelta(days=day - 1, hours=1)
        assert apply_deadline(100, d, submitted).final_score == final, day
    refused = apply_deadline(100, d, d.due + timedelta(days=4, hours=1))
    assert not refused.accepted and refused.final_score == 0 and "not accepted" in refused.note
    assert deadline(penalty_per_day=40).percent_lost(3) == 100


def test_an_extension_moves_the_due_time_and_an_adjustment_comes_after_the_penalty() -> None:
    d = deadline(penalty_per_day=10)
    submitted = d.due + timedelta(days=2, hours=3)
    assert apply_deadline(60, d, submitted).final_score == 42
    extended = apply_deadline(60, d, submitted, Override("jdoe", extension_days=2, reason="medical"))
    assert (extended.days_late, extended.final_score) == (1, 54)
    assert extended.note == "submitted 1 day late: -6 points; extension of 2 days (medical)"
    adjusted = apply_deadline(60, d, submitted, Override("jdoe", adjustment=-5, reason="copied a helper"))
    assert adjusted.final_score == 37 and "adjustment of -5 points (copied a helper)" in adjusted.note
    assert apply_deadline(3, d, submitted, Override("jdoe", adjustment=-5)).final_score == 0
    unknown = apply_deadline(60, d, None)
    assert unknown.final_score == 60 and "no submission time known" in unknown.note


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"due": "2026-03-07 23:59"}, "deadline.due': expected a time zone"),
        ({"due": "tomorrow", "timezone": "UTC"}, "deadline.due': expected a date and time"),
        ({"due": "2026-03-07T23:59:00", "timezone": "Mars/Olympus"}, "deadline.timezone'"),
        ({"due": "2026-03-07T23:59:00Z", "penalties": [20, 10]}, "non-decreasing"),
        ({"due": "2026-03-07T23:59:00Z", "penalty_per_day": 10, "penalties": [10]}, "not both"),
        ({"due": "2026-03-07T23:59:00Z", "grace": 5}, "deadline.grace'"),
        ({"due": "2026-03-07T23:59:00Z", "last_day": -1}, "deadline.last_day'"),
    ],
)
def test_malformed_deadlines_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_deadline(table, "assignment.toml")


def test_assignment_toml_carries_its_deadline(tmp_path: Path) -> None:
    folder = tmp_path / "hw"
    folder.mkdir()
    (folder / "assignment.toml").write_text(
        'title = "T"\nmodules = ["m.py"]\n[deadline]\ndue = 2026-03-07T23:59:00-05:00\npenalty_per_day = 5\n'
        '[[questions]]\nname = "q"\nfunctions = ["f"]\npoints = 1\n'
    )
    spec = load_spec(folder / "assignment.toml")
    assert spec.deadline is not None and spec.deadline.penalties == (5.0,)
    assert spec.deadline.due == datetime(2026, 3, 8, 4, 59, tzinfo=UTC)


def test_overrides_csv(tmp_path: Path) -> None:
    path = tmp_path / "overrides.csv"
    path.write_text("student,extension_days,adjustment,reason\njdoe,2,,medical\nasmith,,-3,late notebook\n")
    overrides = read_overrides(path)
    assert overrides["jdoe"] == Override("jdoe", 2.0, 0.0, "medical")
    assert overrides["asmith"] == Override("asmith", 0.0, -3.0, "late notebook")
    path.write_text("student,adjustment\njdoe,lots\n")
    with pytest.raises(SpecError, match="line 2: extension_days and adjustment must be numbers"):
        read_overrides(path)


def test_overrides_csv_is_read_within_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "overrides.csv"
    rows = "student,adjustment\n" + "".join(f"student{i},1\n" for i in range(10))
    path.write_text(rows)
    assert len(read_overrides(path)) == 10
    monkeypatch.setattr(deadlines, "MAX_OVERRIDES_BYTES", len(rows) - 1)
    with pytest.raises(SpecError, match=r"overrides.csv is larger than .* MB"):
        read_overrides(path)
    monkeypatch.undo()
    path.write_bytes(b"student,adjustment\nj\xffdoe,1\n")
    with pytest.raises(SpecError, match=r"not UTF-8 text \(byte 20\)"):
        read_overrides(path)
    path.write_text('student,reason\njdoe,"' + "x" * 200_000 + '"\n')  # past the csv module's field limit
    with pytest.raises(SpecError, match="line 2: not CSV"):
        read_overrides(path)
    path.write_text("student,extension_days\njdoe,inf\n")
    with pytest.raises(SpecError, match="line 2: extension_days and adjustment must be finite numbers"):
        read_overrides(path)
    path.write_text("student,adjustment\njdoe,1\njdoe,2\n")
    with pytest.raises(SpecError, match="line 3: jdoe has a row already"):
        read_overrides(path)


def test_overrides_that_are_no_file_fail_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "overrides.csv"
    os.mkfifo(fifo)
    failed: list[BaseException] = []
    reader = threading.Thread(target=lambda: _record(failed, fifo), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(failed[0], SpecError) and "is not a file" in str(failed[0])


def _record(failed: list[BaseException], path: Path) -> None:
    try:
        read_overrides(path)
    except BaseException as exc:
        failed.append(exc)


def test_the_batch_says_which_option_names_a_bad_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "overrides.csv"
    path.write_bytes(b"student,adjustment\n\xff\n")
    with pytest.raises(SpecError, match=r"^--overrides: .*overrides.csv: not UTF-8 text"):
        Marker.from_files([], None, None, overrides=path)
    with pytest.raises(AutograderError, match=r"^--overrides: cannot read .*nowhere.csv"):
        Marker.from_files([], None, None, overrides=tmp_path / "nowhere.csv")
