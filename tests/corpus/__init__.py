"""The wrong-submission corpora: each mistake is a few changes to a reference solution.

``tests/corpus/<assignment>/mistakes.toml`` lists them::

    [[mistake]]
    name = "wrong_stride_ignored"     # the submission's file stem
    why = '''...'''                   # what is wrong: the submission's module docstring
    [[mistake.change]]                # applied to the solution's text, in order
    find = '''...'''                  # must occur exactly once in it
    replace = '''...'''

A submission is the solution's module with the changes applied and its module
docstring swapped for ``why``.  A ``find`` that no longer occurs exactly once
(the solution was edited there) raises ``MistakeDoesNotApply``, naming the
file, the mistake and the text; fix the mistake in its ``mistakes.toml``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.paths import CourseDir
from autograder.spec import load_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CORPUS = Path(__file__).resolve().parent
COURSE = CourseDir(CORPUS.parent.parent)


class MistakeDoesNotApply(Exception):
    """A mistake of a ``mistakes.toml`` cannot be applied to the current solution."""


@dataclass(frozen=True)
class Change:
    #: Text of the solution module to replace; it must occur there exactly once.
    find: str
    #: What stands there instead in the wrong submission.
    replace: str


@dataclass(frozen=True)
class Mistake:
    """A wrong submission of ``mistakes.toml``, or an honest style of ``honest.toml``."""

    #: The assignment whose solution it changes.
    assignment: str
    #: The submission's file stem, e.g. ``wrong_stride_ignored``.
    name: str
    #: What is wrong, written as the submission's module docstring.
    why: str
    #: Applied to the solution's text one after the other.
    changes: tuple[Change, ...]
    #: Whether the submission is then made to compute in float32 (see :func:`as_float32`).
    float32: bool = False

    def source(self) -> str:
        """The submission's text: the solution with the changes applied and ``why`` as its docstring."""
        solution = solution_file(self.assignment)
        text = solution.read_text(encoding="utf-8")
        docstring = text[: _docstring_end(text, solution)]
        for change in self.changes:
            count = text.count(change.find)
            if count != 1:
                raise MistakeDoesNotApply(
                    f"{mistakes_file(self.assignment)}: mistake {self.name!r}: this find occurs "
                    f"{count} times in {solution}, not exactly once:\n{change.find}"
                )
            text = text.replace(change.find, change.replace)
        if not text.startswith(docstring):
            raise MistakeDoesNotApply(
                f"{mistakes_file(self.assignment)}: mistake {self.name!r} changes "
                f"the module docstring of {solution}, which its why replaces"
            )
        text = f'"""{self.why}"""' + text[len(docstring) :]
        return as_float32(text) if self.float32 else text


def solution_file(assignment: str) -> Path:
    """The reference solution's module that the mistakes of ``assignment`` change."""
    [module] = load_spec(COURSE.spec_file(assignment)).modules
    return COURSE.solution_dir(assignment) / module


def mistakes_file(assignment: str) -> Path:
    return CORPUS / assignment / "mistakes.toml"


def mistakes(assignment: str) -> list[Mistake]:
    """The mistakes of ``assignment``, in the order of its ``mistakes.toml``."""
    path = mistakes_file(assignment)
    found: list[Mistake] = []
    for entry in tomllib.loads(path.read_text(encoding="utf-8"))["mistake"]:
        try:
            changes = tuple(Change(c["find"], c["replace"]) for c in entry["change"])
            found.append(Mistake(assignment, entry["name"], entry["why"], changes))
        except KeyError as exc:
            raise MistakeDoesNotApply(f"{path}: mistake {entry.get('name')!r} has no {exc}") from None
    names = [m.name for m in found]
    if len(set(names)) != len(names):
        raise MistakeDoesNotApply(f"{path}: a mistake name is used twice: {names}")
    return found


def honest_file(assignment: str) -> Path:
    return CORPUS / assignment / "honest.toml"


def honest_styles(assignment: str) -> list[Mistake]:
    """The honest styles of ``assignment`` (its ``honest.toml``): right answers written another
    way (loops, float32, another formula) that must score full marks.  Same format as
    ``mistakes.toml`` with ``[[honest]]`` entries, ``changes`` optional and ``float32 = true``
    to compute in float32."""
    path = honest_file(assignment)
    found: list[Mistake] = []
    for entry in tomllib.loads(path.read_text(encoding="utf-8"))["honest"]:
        try:
            changes = tuple(Change(c["find"], c["replace"]) for c in entry.get("change", []))
            found.append(Mistake(assignment, entry["name"], entry["why"], changes, bool(entry.get("float32", False))))
        except KeyError as exc:
            raise MistakeDoesNotApply(f"{path}: style {entry.get('name')!r} has no {exc}") from None
    names = [m.name for m in found]
    if len(set(names)) != len(names):
        raise MistakeDoesNotApply(f"{path}: a style name is used twice: {names}")
    return found


def write_mistake(assignment: str, name: str, folder: Path) -> Path:
    """Write the mistake ``name`` of ``assignment`` as ``folder/<name>.py``."""
    by_name = {m.name: m for m in mistakes(assignment)}
    if name not in by_name:
        raise MistakeDoesNotApply(f"{mistakes_file(assignment)}: no mistake named {name!r}")
    path = Path(folder) / f"{name}.py"
    path.write_text(by_name[name].source(), encoding="utf-8")
    return path


def code_dump(source: str) -> str:
    """``ast.dump`` of a module without its docstring: what a mistake must change."""
    tree = ast.parse(source)
    if ast.get_docstring(tree, clean=False) is not None:
        del tree.body[0]
    return ast.dump(tree)


def _docstring_end(text: str, path: Path) -> int:
    """Where the module docstring of ``text`` (the text of ``path``) ends, as a character offset."""
    tree = ast.parse(text, str(path))
    if ast.get_docstring(tree, clean=False) is None or tree.body[0].lineno != 1:
        raise MistakeDoesNotApply(f"{path} must open with its module docstring")
    first = tree.body[0]
    assert first.end_lineno is not None and first.end_col_offset is not None
    start = 0  # of the docstring's last line, whose end column counts UTF-8 bytes
    for _ in range(first.end_lineno - 1):
        start = text.index("\n", start) + 1
    last = text[start : start + first.end_col_offset].encode("utf-8")[: first.end_col_offset]
    return start + len(last.decode("utf-8"))


#: Appended to a module by :func:`as_float32`: every public function of the module gets its
#: float64 arguments (arrays, floats, and those inside lists, tuples and dicts) as float32,
#: and its float64 arrays back as float32: a student who computes and returns float32.
FLOAT32_WRAPPER = """


def _float32_version():
    import functools as _functools
    import inspect as _inspect

    import numpy as _np

    def _f32(value):
        if isinstance(value, _np.ndarray) and value.dtype == _np.float64:
            return value.astype(_np.float32)
        if type(value) is float:
            return _np.float32(value)
        if type(value) in (list, tuple):
            return type(value)(_f32(v) for v in value)
        if type(value) is dict:
            return {k: _f32(v) for k, v in value.items()}
        return value

    def _f32_arrays(value):
        if isinstance(value, _np.ndarray) and value.dtype == _np.float64:
            return value.astype(_np.float32)
        if type(value) in (list, tuple):
            return type(value)(_f32_arrays(v) for v in value)
        if type(value) is dict:
            return {k: _f32_arrays(v) for k, v in value.items()}
        return value

    def _wrap(function):
        @_functools.wraps(function)
        def wrapper(*args, **kwargs):
            return _f32_arrays(function(*_f32(args), **_f32(kwargs)))

        return wrapper

    module = globals()
    for _name, _value in list(module.items()):
        keep = _name in module.get("FLOAT64_FUNCTIONS", ())  # those the docstrings want in float64
        if _inspect.isfunction(_value) and not _name.startswith("_") and _value.__module__ == __name__ and not keep:
            module[_name] = _wrap(_value)


_float32_version()
"""


def as_float32(source: str) -> str:
    """``source`` (a module) turned into its float32 version (see :data:`FLOAT32_WRAPPER`)."""
    return source + FLOAT32_WRAPPER
