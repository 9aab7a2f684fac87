"""assignment.toml -> a validated, frozen AssignmentSpec."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .deadlines import Deadline, parse_deadline
from .errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_FORBIDDEN = ("torch", "tensorflow", "jax", "scipy", "ctypes")
HIDDEN_FEEDBACK = ("pass_fail", "full")
QUESTION_KEYS = frozenset({"name", "title", "functions", "points", "extra_credit"})
#: An assignment's name: what students type after ``grade``; also a folder name.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_NAME_EXPECTED = "a name of letters, digits, '_', '.' or '-' (at most 64)"


@dataclass(frozen=True)
class Limits:
    """Resource limits for the student's code."""

    #: Wall-clock seconds for one call into the student's code.
    call_timeout: float = 10.0
    #: Address-space limit of the sandbox worker, MiB.
    memory_mb: int = 2048
    #: CPU seconds for a whole sandbox worker.
    cpu_seconds: int = 120
    #: Characters of the student's printed output kept per call (``output_bytes`` in an older
    #: assignment.toml means the same: it always counted characters).
    output_chars: int = 65536


@dataclass(frozen=True)
class Question:
    """One graded question: the functions it covers and its points."""

    name: str
    title: str
    functions: tuple[str, ...]
    points: float
    extra_credit: bool = False


@dataclass(frozen=True)
class AssignmentSpec:
    """What ``assignment.toml`` promises about one assignment."""

    #: What students type after ``grade``: the ``name`` key, else the folder's name.
    name: str
    title: str
    #: Module files students edit, e.g. ``("cnn.py",)``.
    modules: tuple[str, ...]
    questions: tuple[Question, ...]
    limits: Limits
    forbidden_imports: tuple[str, ...]
    #: Handout notebook file name, if the assignment has one.
    notebook: str | None
    #: How much of a hidden check's message a student report shows.
    hidden_feedback: str
    path: Path
    #: When it is due and what lateness costs (the ``[deadline]`` table), if anything.
    deadline: Deadline | None = None

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(f for q in self.questions for f in q.functions)

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions if not q.extra_credit)

    def question(self, name: str) -> Question:
        for q in self.questions:
            if q.name == name:
                return q
        raise KeyError(name)

    def question_of_function(self, function: str) -> Question | None:
        for q in self.questions:
            if function in q.functions:
                return q
        return None


def load_spec(path: Path) -> AssignmentSpec:
    """Read and validate ``path``; errors are one line naming the file, the key and what was expected."""
    return _parse(_read_toml(path), path)


def declared_name(path: Path) -> str:
    """The assignment's name as ``path`` (an assignment.toml) declares it: its ``name`` key, else
    its folder's name; raises SpecError (one line) when the file can't be read."""
    name = _read_toml(path).get("name", path.parent.name)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(f"{path}: key 'name': expected {_NAME_EXPECTED}, got {name!r}")
    return name


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = " ".join(str(exc).split())
        raise SpecError(f"{path}: not valid TOML: {reason}") from None


def _parse(data: dict[str, Any], path: Path) -> AssignmentSpec:
    def fail(key: str, expected: str) -> SpecError:
        return SpecError(f"{path}: key {key!r}: expected {expected}")

    def get(
        table: dict[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        where: str,
        default: Any = ...,
        expected: str = "",
    ) -> Any:
        if key not in table:
            if default is ...:
                raise fail(f"{where}{key}", f"{expected or kind} (missing)")
            return default
        value = table[key]
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise fail(f"{where}{key}", expected or "a number")
        if not isinstance(value, kind):
            raise fail(f"{where}{key}", f"{expected or kind}, got {value!r}")
        return value

    known = {
        "name",
        "title",
        "modules",
        "questions",
        "limits",
        "forbidden_imports",
        "notebook",
        "hidden_feedback",
        "deadline",
    }
    for key in data:
        if key not in known:
            raise fail(key, f"one of {sorted(known)} (unknown key)")

    assignment_name = get(data, "name", str, "", default=path.parent.name, expected=_NAME_EXPECTED)
    if not _NAME.fullmatch(assignment_name):
        raise fail("name", f"{_NAME_EXPECTED}, got {assignment_name!r}")
    title = get(data, "title", str, "", expected="a string")
    modules = get(data, "modules", list, "", expected="a list of .py file names")
    if not modules or not all(isinstance(m, str) and m.endswith(".py") for m in modules):
        raise fail("modules", "a non-empty list of .py file names")

    limits_table = get(data, "limits", dict, "", default={}, expected="a table")
    limit_fields: dict[str, type | tuple[type, ...]] = {
        "call_timeout": (int, float),
        "memory_mb": int,
        "cpu_seconds": int,
        "output_chars": int,
    }
    if "output_bytes" in limits_table:  # the old name of output_chars
        if "output_chars" in limits_table:
            raise fail("limits.output_bytes", "only one of output_chars and output_bytes (its old name)")
        limit_fields["output_bytes"] = int
    limit_values: dict[str, Any] = {}
    for key, value in limits_table.items():
        if key not in limit_fields:
            raise fail(f"limits.{key}", f"one of {sorted(limit_fields)} (unknown key)")
        field_name = "output_chars" if key == "output_bytes" else key
        limit_values[field_name] = get(limits_table, key, limit_fields[key], "limits.", expected="a positive number")
        if limit_values[field_name] <= 0:
            raise fail(f"limits.{key}", f"a positive number, got {value!r}")

    questions_list = get(data, "questions", list, "", expected="an array of [[questions]] tables")
    if not questions_list:
        raise fail("questions", "at least one [[questions]] table")
    questions = []
    seen: set[str] = set()
    for i, table in enumerate(questions_list):
        where = f"questions[{i}]."
        if not isinstance(table, dict):
            raise fail(f"questions[{i}]", "a table")
        for key in table:
            if key not in QUESTION_KEYS:
                raise fail(f"{where}{key}", f"one of {sorted(QUESTION_KEYS)} (unknown key)")
        name = get(table, "name", str, where, expected="a string")
        if name in seen:
            raise fail(f"{where}name", f"a unique name, {name!r} is used twice")
        seen.add(name)
        functions = get(table, "functions", list, where, expected="a list of function names")
        if not functions or not all(isinstance(f, str) and f.isidentifier() for f in functions):
            raise fail(f"{where}functions", "a non-empty list of function names")
        points = get(table, "points", (int, float), where, expected="a positive number")
        if points <= 0:
            raise fail(f"{where}points", f"a positive number, got {points!r}")
        questions.append(
            Question(
                name=name,
                title=get(table, "title", str, where, default=name),
                functions=tuple(functions),
                points=float(points),
                extra_credit=get(table, "extra_credit", bool, where, default=False),
            )
        )

    forbidden = get(
        data, "forbidden_imports", list, "", default=list(DEFAULT_FORBIDDEN), expected="a list of module names"
    )
    hidden_feedback = get(data, "hidden_feedback", str, "", default="pass_fail")
    if hidden_feedback not in HIDDEN_FEEDBACK:
        raise fail("hidden_feedback", f"one of {HIDDEN_FEEDBACK}, got {hidden_feedback!r}")
    deadline = parse_deadline(data["deadline"], str(path)) if "deadline" in data else None
    return AssignmentSpec(
        name=assignment_name,
        title=title,
        modules=tuple(modules),
        questions=tuple(questions),
        limits=Limits(**limit_values),
        forbidden_imports=tuple(forbidden),
        notebook=get(data, "notebook", str, "", default=None),
        hidden_feedback=hidden_feedback,
        path=path,
        deadline=deadline,
    )
