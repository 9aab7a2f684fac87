"""The time of a repository's last commit, read from its ``.git`` files without running git.

A student's repository is hostile: its config can name programs git would run
(``core.fsmonitor``, hooks), its files can be symbolic links, huge, or garbage.
So git is never run on it.  This module follows ``HEAD`` to a branch, the branch
to a commit id (a loose ref or ``packed-refs``), and reads that commit's loose
object (zlib, inflated with a size bound) for its ``committer`` line.  Every
file is opened below the repository's own folder one component at a time with
``O_NOFOLLOW``, only regular files are read, and every read is bounded.
Anything else (a packed object, a ``.git`` file, a malformed ref) is
:class:`CommitTimeUnknown`, saying why, and the caller falls back to file dates.
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

#: Largest ref, HEAD or packed-refs file read, and largest commit header inflated.
MAX_REF_BYTES = 4096
MAX_PACKED_REFS_BYTES = 1024 * 1024
MAX_OBJECT_BYTES = 64 * 1024
#: Symbolic refs followed (HEAD -> a branch -> ...).
MAX_REF_HOPS = 5

_SHA = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")
_REF_NAME = re.compile(r"refs/[A-Za-z0-9._/-]{1,200}")
_COMMITTER = re.compile(rb"^committer .*> (?P<seconds>-?\d{1,12}) (?P<tz>[+-]\d{4})$", re.MULTILINE)


class CommitTimeUnknown(Exception):
    """The last commit time could not be read safely; the message says why (one line)."""


def last_commit_time(repo: Path) -> datetime:
    """The committer time (aware, in the committer's offset) of the commit ``HEAD`` names in the
    repository at ``repo``; raises CommitTimeUnknown when it is not a plain, loose commit."""
    git = _open_dir(None, str(repo))
    try:
        try:
            inner = _open_dir(git, ".git")
        except CommitTimeUnknown:
            raise CommitTimeUnknown("no .git folder (or it is a file or a link)") from None
        try:
            sha = _resolve_head(inner)
            return _commit_time(inner, sha)
        finally:
            os.close(inner)
    finally:
        os.close(git)


def _resolve_head(git: int) -> str:
    text = _read(git, ["HEAD"], MAX_REF_BYTES).strip()
    for _ in range(MAX_REF_HOPS):
        if _SHA.fullmatch(text):
            return text.decode("ascii")
        if not text.startswith(b"ref: "):
            raise CommitTimeUnknown("HEAD is neither a commit id nor a ref")
        name = text[5:].strip().decode("ascii", "replace")
        if not _REF_NAME.fullmatch(name) or ".." in name or "//" in name or name.endswith("/"):
            raise CommitTimeUnknown("HEAD names an unusual ref")
        try:
            text = _read(git, name.split("/"), MAX_REF_BYTES).strip()
        except FileNotFoundError:
            return _packed_ref(git, name)
    raise CommitTimeUnknown("too many symbolic refs")


def _packed_ref(git: int, name: str) -> str:
    try:
        data = _read(git, ["packed-refs"], MAX_PACKED_REFS_BYTES)
    except FileNotFoundError:
        raise CommitTimeUnknown(f"the branch {name} has no commit") from None
    wanted = name.encode("ascii")
    for line in data.splitlines():
        sha, _, ref = line.partition(b" ")
        if ref.strip() == wanted and _SHA.fullmatch(sha):
            return sha.decode("ascii")
    raise CommitTimeUnknown(f"the branch {name} has no commit")


def _commit_time(git: int, sha: str) -> datetime:
    try:
        raw = _read(git, ["objects", sha[:2], sha[2:]], MAX_OBJECT_BYTES * 4)
    except FileNotFoundError:
        raise CommitTimeUnknown("the last commit is in a pack file, not a loose object") from None
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw, MAX_OBJECT_BYTES)
    except zlib.error:
        raise CommitTimeUnknown("the last commit object is not valid zlib data") from None
    header, nul, body = data.partition(b"\0")
    if not nul or not header.startswith(b"commit "):
        raise CommitTimeUnknown("HEAD does not name a commit object")
    found = _COMMITTER.search(body.split(b"\n\n", 1)[0])
    if found is None:
        if inflater.unconsumed_tail:
            raise CommitTimeUnknown("the last commit object is larger than expected")
        raise CommitTimeUnknown("the last commit has no readable committer line")
    tz = int(found["tz"])
    offset = timedelta(hours=abs(tz) // 100, minutes=abs(tz) % 100) * (1 if tz >= 0 else -1)
    if abs(offset) >= timedelta(hours=24):
        raise CommitTimeUnknown("the last commit has an impossible time zone")
    try:
        return datetime.fromtimestamp(int(found["seconds"]), timezone(offset))
    except (OverflowError, OSError, ValueError):
        raise CommitTimeUnknown("the last commit has an impossible time") from None


_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open_dir(parent: int | None, name: str) -> int:
    """A folder opened without following a symbolic link (its last component: ``repo`` itself
    is the caller's, checked with lstat)."""
    if parent is None:
        st = os.lstat(name)
        if not stat.S_ISDIR(st.st_mode):
            raise CommitTimeUnknown("not a folder")
    try:
        return os.open(name, _FLAGS | os.O_DIRECTORY, dir_fd=parent)
    except OSError:
        raise CommitTimeUnknown(f"{name} is not a folder") from None


def _read(git: int, parts: list[str], limit: int) -> bytes:
    """The bytes of ``git/<parts...>``, each folder and the file opened without following links;
    FileNotFoundError when absent; CommitTimeUnknown when odd or larger than ``limit``."""
    fds: list[int] = []
    try:
        current = git
        for part in parts[:-1]:
            try:
                current = os.open(part, _FLAGS | os.O_DIRECTORY, dir_fd=current)
            except FileNotFoundError:
                raise
            except OSError:  # a link (ELOOP), a file (ENOTDIR), ...
                raise CommitTimeUnknown(f"{'/'.join(parts)}: not a plain folder") from None
            fds.append(current)
        try:
            fd = os.open(parts[-1], _FLAGS | os.O_NONBLOCK, dir_fd=current)
        except FileNotFoundError:
            raise
        except OSError:
            raise CommitTimeUnknown(f"{'/'.join(parts)}: cannot be read (a link?)") from None
        fds.append(fd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CommitTimeUnknown(f"{'/'.join(parts)} is not a regular file")
        if st.st_size > limit:
            raise CommitTimeUnknown(f"{'/'.join(parts)} is larger than expected")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        if size > limit:
            raise CommitTimeUnknown(f"{'/'.join(parts)} is larger than expected")
        return data
    finally:
        for fd in fds:
            os.close(fd)
