"""Moodle's "Download all submissions": ``Full Name_<participant>_assignsubmission_<plugin>_[/<file>]``.

Moodle makes a folder per student and plugin (``John Smith_98765_assignsubmission_file_/cnn.py``),
or, with "Download submissions in folders" off, prefixes each file with the same
name.  The number is the participant id its offline grading worksheet calls
``Participant 98765``.  The files keep the dates Moodle has for them: the newest
is the submission time.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import Entry, newest_mtime, unique_ids

NAME = re.compile(
    r"^(?P<name>.+?)_(?P<participant>\d{1,20})_assignsubmission_(?P<plugin>[a-z]{1,40})_(?P<file>.*)$", re.S
)


def read(listed: list[Path], modules: list[str]) -> list[Entry]:
    """One entry per Moodle participant among ``listed`` (their folders and prefixed files)."""
    groups: dict[str, list[tuple[Path, re.Match[str]]]] = {}
    skipped = 0
    for path in listed:
        found = NAME.match(path.name)
        if found is None or path.is_symlink() or (not found["file"] and not path.is_dir()):
            skipped += 1
            continue
        groups.setdefault(found["participant"], []).append((path, found))
    participants = sorted(groups, key=lambda p: (groups[p][0][1]["name"], p))
    ids = unique_ids([(groups[p][0][1]["name"], p) for p in participants])
    entries: list[Entry] = []
    for participant, student in zip(participants, ids, strict=True):
        files = groups[participant]
        parts = tuple((path, "" if path.is_dir() else found["file"]) for path, found in files)
        times = [t for t in (newest_mtime(p) for p, _ in parts) if t is not None]
        newest = max(times) if times else None
        entries.append(
            Entry(
                student=student,
                parts=parts,
                name=files[0][1]["name"],
                ids={"moodle_participant": participant},
                submitted=newest,
                time_source="the dates of Moodle's download" if newest else "",
                mtime=newest,
                warnings=(f"{skipped} entries not named as Moodle names downloads were ignored",)
                if skipped and not entries
                else (),
            )
        )
    return entries
