"""``grade ASSIGNMENT --watch``: grade again on every save, the checks of the changed functions first.

One process keeps what a grade costs to start (PyTorch, the collected checks,
the fork server's zygote), so a save costs only the student's code and the
comparisons. Saves are noticed by polling the submission's files
(modification time and size, every :data:`POLL_SECONDS`).
"""

from __future__ import annotations

import ast
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal, TextIO

from .errors import AutograderError, ExitCode
from .grading import GradingJob, grade
from .reporting.terminal import render
from .results import SubmissionResult
from .sandbox.client import WorkerSandbox
from .scoring import score_questions
from .submission import Submission, load_submission

POLL_SECONDS = 0.05
#: Files of a watched folder looked at, at most (a submission folder holds a few).
MAX_WATCHED_FILES = 500
_CLEAR = "\033[H\033[2J"


def watch(
    path: Path,
    job: GradingJob,
    out: TextIO,
    *,
    student: str | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> ExitCode:
    """Grade ``path`` now and after every change to its files, until Ctrl-C (or ``keep_going`` says stop).

    Each grade prints the table (redrawn in place on a terminal) and a line
    per question whose score changed ("conv2d_forward: 3/8 -> 8/8").
    """
    screen = hasattr(out, "isatty") and out.isatty()
    seen: tuple[tuple[str, int, int], ...] | None = None
    functions: dict[str, str] = {}
    previous: SubmissionResult | None = None
    try:
        while keep_going():
            state = files_state(path)
            if state != seen:
                seen = state
                previous, functions = _regrade(path, job, out, screen, student, previous, functions)
                out.write(f"Watching {path} for changes (Ctrl-C to stop)\n")
                out.flush()
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        out.write("\nStopped watching.\n")
    return ExitCode.OK


def _regrade(
    path: Path,
    job: GradingJob,
    out: TextIO,
    screen: bool,
    student: str | None,
    previous: SubmissionResult | None,
    functions: dict[str, str],
) -> tuple[SubmissionResult | None, dict[str, str]]:
    start = time.perf_counter()
    try:
        submission = load_submission(path, job.spec, student=student)
    except AutograderError as exc:
        out.write(f"{_CLEAR if screen else ''}Could not read {path}: {exc}\n")
        return previous, functions
    now = function_bodies(submission)
    changed = {name for name in now.keys() | functions.keys() if now.get(name) != functions.get(name)}
    first = [q.name for q in job.spec.questions if previous is not None and changed & set(q.functions)]
    rest = [q.name for q in job.spec.questions if q.name not in first]
    box = WorkerSandbox(submission.files, job.spec.modules, job.sandbox_config(), fork=True)
    try:
        box.start()
        parts = []
        if first:
            parts.append(grade(submission, job, box, questions=first))
            others = f"{len(rest)} question{'s' if len(rest) != 1 else ''}"
            _show(out, screen, parts[0], previous, f"... grading the other {others}")
        parts.append(grade(submission, job, box, questions=rest))
    finally:
        box.close()
    result = _combined(parts, job, submission)
    _show(out, screen, result, previous, f"graded in {time.perf_counter() - start:.2f} s")
    return result, now


def _combined(parts: list[SubmissionResult], job: GradingJob, submission: Submission) -> SubmissionResult:
    checks = tuple(c for part in parts for c in part.checks)
    notes = tuple(dict.fromkeys(n for part in parts for n in part.notes))
    status: Literal["ok", "grader_error"] = "ok" if all(p.status == "ok" for p in parts) else "grader_error"
    return replace(
        parts[-1],
        checks=checks,
        questions=score_questions(job.spec, checks),
        notes=notes,
        status=status,
        duration=round(sum(p.duration for p in parts), 4),
    )


def _show(out: TextIO, screen: bool, result: SubmissionResult, previous: SubmissionResult | None, last: str) -> None:
    text = render(result, color=screen)
    lines = changes(previous, result)
    out.write(
        (_CLEAR if screen else "\n")
        + text
        + "".join(f"{line}\n" for line in lines)
        + f"{time.strftime('%H:%M:%S')}  {last}\n"
    )
    out.flush()


def changes(before: SubmissionResult | None, after: SubmissionResult) -> list[str]:
    """One line per question whose score changed: ``conv2d_forward: 3/8 -> 8/8``."""
    if before is None:
        return []
    old = {q.name: q for q in before.questions}
    lines = []
    for q in after.questions:
        was = old.get(q.name)
        if was is not None and (was.score, was.max_score) != (q.score, q.max_score):
            lines.append(f"{q.name}: {was.score:g}/{was.max_score:g} -> {q.score:g}/{q.max_score:g}")
    return lines


def function_bodies(submission: Submission) -> dict[str, str]:
    """Each top-level function of the submission's modules, as its AST (so a comment or a blank
    line changes nothing); a module that does not parse counts as one changed thing."""
    bodies: dict[str, str] = {}
    for name, data in submission.files.items():
        try:
            tree = ast.parse(data.decode("utf-8", errors="replace"))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            bodies[f"<{name}>"] = hashlib.sha256(data).hexdigest()  # changed when its bytes change
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bodies[node.name] = ast.dump(node)
    return bodies


def files_state(path: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime, size) of ``path``'s files, symlinks not followed, at most MAX_WATCHED_FILES."""
    if not path.is_dir():
        try:
            info = path.stat()
        except OSError:
            return ()
        return ((path.name, info.st_mtime_ns, info.st_size),)
    state = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("__pycache__", "reports"))
        for name in sorted(files):
            if not name.endswith((".py", ".ipynb")):
                continue
            full = os.path.join(folder, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            state.append((os.path.relpath(full, path), info.st_mtime_ns, info.st_size))
            if len(state) >= MAX_WATCHED_FILES:
                return tuple(state)
    return tuple(state)
