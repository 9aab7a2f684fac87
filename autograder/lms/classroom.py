"""GitHub Classroom: a folder of repositories ``<assignment>-<username>/``; the time is the last commit's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..sanitize import one_line
from . import Entry, newest_mtime, unique_ids
from .gitcommit import CommitTimeUnknown, last_commit_time


def read(listed: list[Path], modules: list[str]) -> list[Entry]:
    """One entry per repository folder among ``listed``; the username is what follows the
    assignment prefix every repository shares (``assignment3-``)."""
    repos = [p for p in listed if p.is_dir() and not p.is_symlink()]
    skipped = len(listed) - len(repos)
    users = usernames([p.name for p in repos])
    ids = unique_ids([(user, repo.name) for user, repo in zip(users, repos, strict=True)])
    entries = []
    for repo, user, student in zip(repos, users, ids, strict=True):
        warnings = []
        mtime = newest_mtime(repo)
        try:
            submitted, source = last_commit_time(repo), "the last commit"
        except (CommitTimeUnknown, OSError) as exc:
            submitted, source = None, ""
            warnings.append(f"{one_line(student, 80)}: last commit time unknown ({one_line(exc, 200)})")
        entries.append(
            Entry(
                student=student,
                parts=((repo, ""),),
                name=user,
                ids={"github_username": user, "repository": repo.name},
                submitted=submitted,
                time_source=source,
                mtime=mtime,
                warnings=tuple(warnings),
            )
        )
    if skipped and entries:
        warning = f"{skipped} entries that are not repository folders were ignored"
        entries[0] = replace(entries[0], warnings=(*entries[0].warnings, warning))
    return entries


def usernames(names: list[str]) -> list[str]:
    """Each repository name without the prefix all share up to a ``-`` (with one repository,
    up to its first ``-``); a name left empty keeps its whole name."""
    if not names:
        return []
    if len(names) == 1:
        prefix_end = names[0].find("-") + 1
    else:
        first, last = min(names), max(names)
        n = 0
        while n < min(len(first), len(last)) and first[n] == last[n]:
            n += 1
        prefix_end = first[:n].rfind("-") + 1
    return [name[prefix_end:] or name for name in names]
