"""A roster CSV: each student's name, email, section and SIS ids, matched to submissions by id or name.

Any of these files works as it is downloaded: Canvas's gradebook export
(Student, ID, SIS User ID, SIS Login ID, Section), Moodle's grading worksheet
(Identifier "Participant N", Full name, Email address), GitHub Classroom's roster
(identifier, github_username), or a plain one with ``id, name, email, section``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import AutograderError
from ..sanitize import one_line

#: Largest roster read.
MAX_ROSTER_BYTES = 16 * 1024 * 1024
#: Headers (lower case) of columns that hold an id a submission may carry.
ID_COLUMNS = (
    "id",
    "student_id",
    "identifier",
    "github_username",
    "username",
    "login",
    "user_id",
    "canvas_user_id",
    "participant",
    "moodle_participant",
    "sis user id",
    "sis_user_id",
    "sis login id",
    "sis_login_id",
)
_FIELDS = {
    "name": ("name", "full name", "full_name", "student"),
    "email": ("email", "email address", "e-mail"),
    "section": ("section", "sections"),
    "sis_user_id": ("sis user id", "sis_user_id"),
    "sis_login_id": ("sis login id", "sis_login_id"),
}


@dataclass(frozen=True)
class Person:
    """One roster row."""

    name: str = ""
    email: str = ""
    section: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    #: Every id the row holds (``Participant 98765`` also as ``98765``).
    ids: frozenset[str] = frozenset()

    def columns(self) -> dict[str, str]:
        """The non-empty fields as gradebook columns."""
        fields = {
            "name": self.name,
            "email": self.email,
            "section": self.section,
            "sis_user_id": self.sis_user_id,
            "sis_login_id": self.sis_login_id,
        }
        return {k: v for k, v in fields.items() if v}


def read_roster(path: Path) -> list[Person]:
    """The rows of the roster at ``path`` (Canvas's "Points Possible" row skipped);
    AutograderError when it cannot be read or has no id or name column."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_ROSTER_BYTES + 1)
    except OSError as exc:
        raise AutograderError(f"--roster: cannot read {one_line(path)} ({exc.strerror})") from None
    if len(data) > MAX_ROSTER_BYTES:
        raise AutograderError(f"--roster: {one_line(path)} is larger than {MAX_ROSTER_BYTES // 2**20} MB")
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig", "replace")))
    headers = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    id_headers = [headers[h] for h in ID_COLUMNS if h in headers]
    field_headers = {k: next((headers[a] for a in aliases if a in headers), None) for k, aliases in _FIELDS.items()}
    if not id_headers and field_headers["name"] is None:
        raise AutograderError(
            f"--roster: {one_line(path)} has no id or name column (expected e.g. id, name, email, section)"
        )
    people = []
    for row in reader:
        values = {k: (row.get(h) or "").strip() if h else "" for k, h in field_headers.items()}
        if values["name"].lower() == "points possible":
            continue
        ids = set()
        for header in id_headers:
            value = (row.get(header) or "").strip()
            if value:
                ids.add(value)
                participant = re.fullmatch(r"participant\s*(\d+)", value, re.I)
                if participant:
                    ids.add(participant[1])
        people.append(Person(ids=frozenset(ids), **values))
    return people


def name_key(name: str) -> str:
    """A name compared loosely: "Doe, Jane", "doejane" and "Jane Doe" -> "doejane", "doejane", "janedoe"."""
    last, comma, first = name.partition(",")
    if comma:
        name = last + first
    return "".join(ch for ch in name.lower() if ch.isalnum())


def match_roster(people: list[Person], keys: dict[str, list[str]], names: dict[str, str]) -> dict[str, Person]:
    """Student -> roster row: by any of ``keys[student]`` (the student's ids), else by ``names[student]``
    when exactly one row has that name."""
    by_id: dict[str, Person] = {}
    by_name: dict[str, list[Person]] = {}
    for person in people:
        for i in person.ids:
            by_id.setdefault(i, person)
        if person.name:
            by_name.setdefault(name_key(person.name), []).append(person)
    out = {}
    for student, ids in keys.items():
        found = next((by_id[i] for i in ids if i in by_id), None)
        if found is None:
            same = by_name.get(name_key(names.get(student, "")), []) if names.get(student) else []
            found = same[0] if len(same) == 1 else None
        if found is not None:
            out[student] = found
    return out
