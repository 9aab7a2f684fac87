"""The exception tree drawn in errors.py's docstring is every exception class of the package."""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import autograder.errors

PACKAGE = Path(autograder.errors.__file__).resolve().parent
_CONNECTOR = re.compile(r"[├└]── ")


def drawn_tree(docstring: str) -> dict[str, str | None]:
    """Each class drawn in ``docstring``'s tree (its last dotted part) -> the class it is drawn under
    (None at the top).  Tree lines are the indented ones; a line with a connector sits under the
    nearest line above it that starts further left."""
    drawn: dict[str, str | None] = {}
    above: list[tuple[int, str]] = []  # (column of the name, name) of the lines above
    for line in docstring.splitlines():
        if not line.startswith("    ") or not line.strip() or line.strip() == "::":
            continue
        connector = _CONNECTOR.search(line)
        column = connector.end() if connector else len(line) - len(line.lstrip())
        name = line[column:].split()[0].rsplit(".", 1)[-1]
        while above and above[-1][0] >= column:
            above.pop()
        drawn[name] = above[-1][1] if connector and above else None
        above.append((column, name))
    return drawn


def exception_classes(package: Path) -> dict[str, list[str]]:
    """Every public class in ``package`` deriving (in its source) from an exception -> its base names."""
    classes: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [
                    b.id if isinstance(b, ast.Name) else b.attr
                    for b in node.bases
                    if isinstance(b, (ast.Name, ast.Attribute))
                ]
                classes[node.name] = bases

    def is_exception(name: str, seen: frozenset[str] = frozenset()) -> bool:
        builtin = getattr(builtins, name, None)
        if isinstance(builtin, type) and issubclass(builtin, BaseException):
            return True
        return name in classes and name not in seen and any(is_exception(b, seen | {name}) for b in classes[name])

    return {n: b for n, b in classes.items() if not n.startswith("_") and is_exception(n)}


def test_the_tree_reader_finds_names_and_parents() -> None:
    tree = """Intro line, not drawn.

    Base                 what it is
     ├── Child           a child
     │    └── pkg.Grand  a grandchild
     └── Other           another
    Alone                at the top
    """
    assert drawn_tree(tree) == {"Base": None, "Child": "Base", "Grand": "Child", "Other": "Base", "Alone": None}


def test_the_walk_finds_exceptions_through_their_bases(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("class Base(Exception): ...\nclass Plain: ...\nclass _Private(Base): ...\n")
    (tmp_path / "b.py").write_text("import a\nclass Child(a.Base): ...\nclass Lookup(KeyError): ...\n")
    assert exception_classes(tmp_path) == {"Base": ["Exception"], "Child": ["Base"], "Lookup": ["KeyError"]}


def test_every_exception_class_is_drawn_under_its_base() -> None:
    drawn = drawn_tree(autograder.errors.__doc__ or "")
    found = exception_classes(PACKAGE)
    assert {"AutograderError", "GraderError", "SpecError", "CheckFailure"} <= set(found), "the walk found them"
    assert sorted(set(found) - set(drawn)) == [], "exception classes missing from errors.py's tree"
    misplaced = {
        name: (drawn[name], bases)
        for name, bases in found.items()
        if drawn[name] is not None and drawn[name] not in bases
    }
    assert misplaced == {}, "drawn under a class that is not their base"
    # A project exception drawn at the top level must not hide that it derives from another one.
    nested = {name: bases for name, bases in found.items() if drawn[name] is None and set(bases) & set(found)}
    assert nested == {}, "drawn at the top, but derived from a project exception"
    # Nothing drawn that the package no longer has (builtins drawn as parents aside).
    stale = [n for n in drawn if n not in found and not isinstance(getattr(builtins, n, None), type)]
    assert stale == []
