"""Result objects for one check, one question and one submission; imports nothing from the package."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
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

SCHEMA_VERSION = 1


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

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
    extra: dict[str, Any] = field(default_factory=dict)

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

    def for_student(self, hidden_feedback: str) -> SubmissionResult:
        """What a student may see under the assignment's ``hidden_feedback`` policy.

        ``"full"``: everything.  ``"pass_fail"`` (or any other value: the strict
        default): hidden checks keep their name, points and verdict; their message,
        traceback, printed output, arrays and duration are removed.  The one place
        that decides this: reporters render the result they are given, and
        instructor outputs use the full result.
        """
        if hidden_feedback == "full":
            return self
        checks = tuple(
            replace(c, message="", traceback="", stdout="", expected=None, got=None, duration=0.0)
            if c.visibility == "hidden"
            else c
            for c in self.checks
        )
        return replace(self, checks=checks)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"unsupported result schema {data.get('schema_version')!r}")
        fields = dict(data)
        fields.pop("score", None)
        fields.pop("max_score", None)
        fields["checks"] = tuple(CheckResult.from_dict(c) for c in fields["checks"])
        fields["questions"] = tuple(QuestionResult(**q) for q in fields["questions"])
        fields["notes"] = tuple(fields.get("notes", ()))
        return cls(**fields)
