"""What a batch's output folder remembers between runs: each student's result (the cache) and the seed.

A cached result is reused only when its fingerprint (submission files, check
files, spec, seed) and isolation level match and it reads back cleanly; a
result that ended in a grader error is graded again.  Every file here is
written atomically (temporary file, rename), so Ctrl-C leaves a state the next
run resumes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from pathlib import Path

from ..paths import BATCH_CACHE_DIR
from ..results import SubmissionResult
from ..sanitize import file_stem

#: Folder (inside a batch's output) of the cached results and the seed of the last run.
CACHE_DIR = BATCH_CACHE_DIR


class ResultCache:
    """Results of earlier runs under ``<out>/.cache``, one JSON file per student."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, student: str) -> Path:
        return self.folder / f"{file_stem(student)}.json"

    def every_result(self, assignment: str) -> dict[str, SubmissionResult]:
        """Every result in the cache for ``assignment`` that reads back cleanly, by student."""
        found: dict[str, SubmissionResult] = {}
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                result = SubmissionResult.from_dict(data["result"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                continue
            if result.assignment == assignment and self.path(result.student) == path:
                found[result.student] = result
        return found

    def load(self, student: str, fingerprint: str, isolation: str) -> SubmissionResult | None:
        """The cached result if it is for this fingerprint and isolation level and reads back
        cleanly; None otherwise (a damaged file is never trusted)."""
        try:
            data = json.loads(self.path(student).read_text(encoding="utf-8"))
            if data.get("fingerprint") != fingerprint:
                return None
            result = SubmissionResult.from_dict(data["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        if result.fingerprint != fingerprint or result.student != student or result.isolation != isolation:
            return None
        return result

    def store(self, result: SubmissionResult) -> None:
        data = {"fingerprint": result.fingerprint, "result": result.to_dict()}
        write_atomic(self.path(result.student), json.dumps(data))


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


#: Per output folder: the seed of its batch, reused by the next run unless ``--seed`` is given.
STATE_FILE = "batch-state.txt"


def batch_seed(out: Path, assignment: str, seed: int | None) -> tuple[int, str]:
    """(seed, where it comes from) for a batch writing to ``out``.

    ``seed`` when given.  Otherwise the seed recorded in ``out`` by an earlier run for
    the same assignment, so a resumed or repeated run reuses the cached results;
    otherwise a new random one, so hidden cases cannot be known in advance.  The
    seed used is recorded in ``out`` for the next run.
    """
    state = out / CACHE_DIR / STATE_FILE
    origin = "--seed"
    if seed is None:
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            data = json.loads(state.read_text(encoding="utf-8"))
            if data.get("assignment") == assignment and isinstance(data.get("seed"), int):
                seed, origin = int(data["seed"]), "reused from the earlier run of this output folder"
    if seed is None:
        seed, origin = secrets.randbelow(2**31), "random"
    write_atomic(state, json.dumps({"assignment": assignment, "seed": seed}))
    return seed, origin
