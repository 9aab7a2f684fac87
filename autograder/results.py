"""Result objects for one check, one question and one submission; imports nothing from the package."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, Literal, get_args

#: How a check ended.  ``passed``/``failed`` are verdicts on the student's values;
#: the next six are classified failures of the student's code; ``grader_error``
#: is ours (a broken check or a broken sandbox) and never the student's fault.
Outcome = Literal[
    "passed",
    "failed",
    "error",
    "timeout",
    "memory",
    "not_implemented",
    "forbidden",
    "grader_error",
]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

Visibility = Literal["public", "hidden"]

#: How reports name each outcome: OUTCOME_LABELS on pages and in summaries, OUTCOME_TAGS in the
#: terminal's status column.  The one place outcome names live: reporters import them.
OUTCOME_LABELS: dict[str, str] = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "timeout": "timed out",
    "memory": "out of memory",
    "not_implemented": "not implemented",
    "forbidden": "forbidden import",
    "grader_error": "grader error",
}
OUTCOME_TAGS: dict[str, str] = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "timeout": "TIMEOUT",
    "memory": "MEMORY",
    "not_implemented": "TODO",
    "forbidden": "FORBIDDEN",
    "grader_error": "GRADER",
}

#: Version 2: typed ``timing``/``notebook_run``/``lateness``/``lms`` instead of ``extra``, and
#: ``CheckResult.redacted``.  Version 1 is still read (a cache of old results must load).
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)

#: Caps on what a check result holds, above the sandbox's own (4000 characters of an exception
#: message, then the call is put in front of it).  Messages, printed output and expected/got values
#: may carry text the student's code produced (a 15 MB string returned to a check); every
#: report, cache entry and gradebook is made from these objects, so the caps are applied
#: once, here, whoever built the result.
MAX_MESSAGE_CHARS = 6000
MAX_TRACEBACK_CHARS = 10000
#: Characters of what a check's calls printed kept in its result: the one cap on printed output
#: (the plugin clips to it, the result enforces it, reports show what is kept).
MAX_STDOUT_CHARS = 20000
#: How a note about a hidden check file that could not be run begins (after "grader error: ").
#: Its text names the file and quotes its traceback, so a student's view says only that much.
HIDDEN_PROBLEM = "hidden checks: "
#: What a student sees of such a note when the hidden-feedback policy hides details.
HIDDEN_PROBLEM_SHOWN = f"grader error: {HIDDEN_PROBLEM}a hidden check file could not be run (not your fault)"
MAX_NOTE_CHARS = 2000
MAX_NOTES = 50
#: expected/got: strings, list lengths and nesting are cut beyond these.
MAX_VALUE_CHARS = 500
MAX_VALUE_ITEMS = 64
MAX_VALUE_DEPTH = 8


def cap_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, saying how much was cut."""
    if not isinstance(text, str):
        text = str(text)
    if len(text) <= limit:
        return text
    marker = f" [... {len(text) - limit} more characters cut]"
    return text[: max(0, limit - len(marker))] + marker


def cap_value(value: Any, depth: int = 0) -> Any:
    """A JSON-able expected/got value with strings, lists and nesting cut to the caps above;
    anything else (an object, a huge integer) becomes a short description."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 256 else f"<an integer of {value.bit_length()} bits>"
    if isinstance(value, str):
        return cap_text(value, MAX_VALUE_CHARS)
    if isinstance(value, (list, tuple)):
        if depth >= MAX_VALUE_DEPTH:
            return "<nested too deeply to show>"
        if len(value) <= MAX_VALUE_ITEMS:
            return [cap_value(v, depth + 1) for v in value]
        kept = MAX_VALUE_ITEMS - 1  # and a marker: capping twice changes nothing
        return [*(cap_value(v, depth + 1) for v in value[:kept]), f"<{len(value) - kept} more>"]
    return f"<{type(value).__name__}>"


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` for results, several times faster: dataclasses become dicts,
    lists, tuples and dicts are copied with their contents, anything else is deep-copied."""
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind is tuple or kind is list:
        return kind(_plain(v) for v in value)
    if kind is dict:
        return {k: _plain(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.get(kind)
        if names is None:
            names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))
        return {name: _plain(getattr(value, name)) for name in names}
    return copy.deepcopy(value)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def clip_output(text: str, limit: int) -> str:
    """The start of ``text``, at most ``limit`` characters and cut at a line end where one is near,
    followed by a line saying how much was cut here (upstream cuts keep their own notes)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    newline = head.rfind("\n")
    if newline >= limit // 2:
        head = head[: newline + 1]
    rest = text[len(head) :]
    lines = rest.count("\n") + (not rest.endswith("\n"))
    counted = f"{len(rest)} more characters ({lines} more line{'s' if lines != 1 else ''})"
    return f"{head.rstrip(chr(10))}\n[... {counted} of printed output not shown]"


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one check (one pytest test) for one submission."""

    #: Test function name, e.g. ``test_conv2d_forward_stride``.
    name: str
    #: Question (from assignment.toml) this check counts towards.
    question: str
    #: Points available and points earned (``score`` is 0 or ``max_score``).
    max_score: float
    score: float
    outcome: Outcome
    visibility: Visibility
    #: One-paragraph explanation for the student; empty when passed.
    message: str = ""
    #: Student's traceback, trimmed to their own frames; empty if none.
    traceback: str = ""
    #: What the student's code printed during this check (capped).
    stdout: str = ""
    #: Small expected/got arrays for the report, as nested lists; optional.
    expected: Any = None
    got: Any = None
    #: Wall time of the check, seconds.
    duration: float = 0.0
    #: True when the hidden-feedback policy removed this check's details (message, traceback,
    #: printed output, expected/got, duration) from the view a student gets.
    redacted: bool = False

    def __post_init__(self) -> None:
        # The caps: whoever made this result, nothing larger reaches a report or the cache.
        set_field = object.__setattr__
        set_field(self, "message", cap_text(self.message, MAX_MESSAGE_CHARS))
        set_field(self, "traceback", cap_text(self.traceback, MAX_TRACEBACK_CHARS))
        if len(self.stdout) > MAX_STDOUT_CHARS:  # the end of printed output is the useful part
            marker = f"[... {len(self.stdout)} characters printed, the last shown]\n"
            set_field(self, "stdout", marker + self.stdout[-(MAX_STDOUT_CHARS - len(marker)) :])
        set_field(self, "expected", cap_value(self.expected))
        set_field(self, "got", cap_value(self.got))

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(**data)


@dataclass(frozen=True)
class QuestionResult:
    """Subtotal of one question."""

    name: str
    title: str
    score: float
    max_score: float
    #: Extra-credit points add to the score but not to the maximum.
    extra_credit: bool = False


@dataclass(frozen=True)
class Timing:
    """Where one batch task's time went (``grade batch`` sets it; the benchmark reads it)."""

    #: Wall seconds: the whole task, inside the student's calls, inside the sandbox.
    task: float
    student: float
    sandbox: float
    #: CPU seconds of the grading process (pytest, references, verdicts) and of the sandbox
    #: worker alive at the end (None when unknown).
    cpu_harness: float
    cpu_sandbox: float | None
    #: Calls into the student's code.
    calls: int
    #: The executor process that graded it.
    pid: int


@dataclass(frozen=True)
class LateScore:
    """The late policy applied to one result: raw score, penalty, adjustment, final score, and why."""

    raw_score: float
    late_penalty: float
    adjustment: float
    final_score: float
    #: Whole days late on the course's clock (0: on time, or within the grace period).
    days_late: int
    accepted: bool
    #: One line for the student: on time / N days late, -P points / not accepted / extension.
    note: str
    #: When it was submitted (ISO, minutes), or None when no time is known or shown.
    submitted: str | None
    #: How the submission time is known.
    time_source: str
    extension_days: float = 0.0
    #: The override's reason, if any.
    reason: str = ""
    #: The deadline (ISO, minutes), or None with overrides only.
    due: str | None = None


@dataclass(frozen=True)
class SubmissionResult:
    """Everything known about grading one submission: what reports read."""

    assignment: str
    student: str
    seed: int
    checks: tuple[CheckResult, ...]
    questions: tuple[QuestionResult, ...]
    #: ``ok`` when grading ran (whatever the score); ``grader_error`` when it could not.
    status: Literal["ok", "grader_error"] = "ok"
    #: Problems with the submission as a whole (syntax error, missing module, ...).
    notes: tuple[str, ...] = ()
    #: Which isolation the sandbox used (``bwrap``, ``rlimits``, ``in-process``).
    isolation: str = ""
    #: Whether hidden checks were run.
    hidden: bool = False
    #: Wall time for the whole submission, seconds.
    duration: float = 0.0
    #: Hash of submission files + checks + seed, for the batch cache.
    fingerprint: str = ""
    schema_version: int = SCHEMA_VERSION
    #: Where the time went, for a batch task; None elsewhere.
    timing: Timing | None = None
    #: ``grade --execute``: the student's notebook run in the sandbox (JSON-ready, as
    #: ``autograder.notebooks.execute_submission`` returns it); None when not run.
    notebook_run: dict[str, Any] | None = None
    #: The late policy applied (``grade batch`` with a deadline or overrides); None without one.
    lateness: LateScore | None = None
    #: The student's LMS identity: ``system``, name, email, section and the LMS's ids (the
    #: gradebook columns grades go back by); empty when not known.
    lms: dict[str, str] = field(default_factory=dict)
    #: A student's view under a policy that hides hidden checks' details: its reports leave
    #: out the seed (with it and the public plugin, hidden cases could be drawn again) and
    #: the total time (less the public checks' times, the hidden checks' time).
    redacted: bool = False

    def __post_init__(self) -> None:
        notes = tuple(cap_text(n, MAX_NOTE_CHARS) for n in self.notes[:MAX_NOTES])
        if len(self.notes) > MAX_NOTES:
            notes += (f"... {len(self.notes) - MAX_NOTES} more notes cut",)
        object.__setattr__(self, "notes", notes)

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions if not q.extra_credit)

    def outcome_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for check in self.checks:
            counts[check.outcome] += 1
        return counts

    @property
    def final_score(self) -> float:
        """The score after the late policy, or the score when there is none."""
        return self.lateness.final_score if self.lateness is not None else self.score

    def for_student(self, hidden_feedback: str) -> SubmissionResult:
        """What a student may see under the assignment's ``hidden_feedback`` policy.

        ``"full"``: everything but the batch's timing.  ``"pass_fail"`` (or any other
        value: the strict default): hidden checks keep their name, question, points and
        verdict; their message, traceback, printed output, expected/got values and
        duration are removed and they are marked ``redacted``; a note on a hidden check file
        that could not be run keeps only that it happened, and the result is marked
        ``redacted``: reports leave out its seed and total time.  This is the one place
        that applies the policy: reporters render the result they are given, and
        instructor outputs use the full result.
        """
        if hidden_feedback == "full":
            return replace(self, timing=None)
        checks = tuple(
            replace(c, message="", traceback="", stdout="", expected=None, got=None, duration=0.0, redacted=True)
            if c.visibility == "hidden"
            else c
            for c in self.checks
        )
        hidden_problem = f"grader error: {HIDDEN_PROBLEM}"
        notes = tuple(HIDDEN_PROBLEM_SHOWN if n.startswith(hidden_problem) else n for n in self.notes)
        hides = any(c.visibility == "hidden" for c in self.checks)
        return replace(self, checks=checks, notes=notes, timing=None, redacted=self.redacted or hides)

    def to_dict(self) -> dict[str, Any]:
        data = _plain(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        """The result :meth:`to_dict` made, of this schema version or an earlier readable one."""
        version = data.get("schema_version")
        if version not in READABLE_SCHEMAS:
            raise ValueError(f"unsupported result schema {version!r}")
        fields = dict(data)
        fields.pop("score", None)
        fields.pop("max_score", None)
        if version == 1:
            # Version 1 kept timing, lateness, LMS identity and notebook run in one ``extra`` dict.
            extra = fields.pop("extra", None) or {}
            fields.update(
                timing=extra.get("timing"),
                notebook_run=extra.get("notebook_outputs"),
                lateness=extra.get("lateness"),
                lms=extra.get("lms") or {},
            )
        fields["schema_version"] = SCHEMA_VERSION
        fields["checks"] = tuple(CheckResult.from_dict(c) for c in fields["checks"])
        fields["questions"] = tuple(QuestionResult(**q) for q in fields["questions"])
        fields["notes"] = tuple(fields.get("notes", ()))
        if fields.get("timing") is not None:
            fields["timing"] = Timing(**fields["timing"])
        if fields.get("lateness") is not None:
            fields["lateness"] = LateScore(**fields["lateness"])
        fields["lms"] = {str(k): str(v) for k, v in (fields.get("lms") or {}).items()}
        return cls(**fields)
