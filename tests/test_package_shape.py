"""The package's shape: imports point down the data flow, with no cycle (type-only imports aside)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every module of the package ``path`` imports, at the top or inside a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (never imported at run time)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                todo.extend(child.orelse)
                continue
            todo.append(child)
    return out


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package() -> None:
    graph = import_graph()
    assert len(graph) > 20 and graph["autograder.grading"], "the walk found the package's imports"
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


#: A module longer than this says in its docstring why it is one piece.
LONG_MODULE_LINES = 500


def test_a_long_module_says_why_it_is_one_piece() -> None:
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        if source.count("\n") <= LONG_MODULE_LINES:
            continue
        doc = ast.get_docstring(ast.parse(source)) or ""
        if "one piece" not in " ".join(doc.lower().split()):
            unexplained.append(f"{path.relative_to(PACKAGE.parent)} ({source.count(chr(10))} lines)")
    assert not unexplained, "over 500 lines, with no sentence on why it is one piece: " + ", ".join(unexplained)


#: The only modules that read command-line arguments: the parser and the commands' adapters.
ARGUMENT_MODULES = {"autograder.cli", "autograder.commands"}


def modules_seeing_arguments() -> list[str]:
    """Modules outside :data:`ARGUMENT_MODULES` that import argparse or name a ``Namespace``."""
    pattern = re.compile(r"\bargparse\b|\bNamespace\b")
    return sorted(
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if module_name(path) not in ARGUMENT_MODULES and pattern.search(path.read_text(encoding="utf-8"))
    )


def test_only_the_commands_see_parsed_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert modules_seeing_arguments() == []
    # The scan finds an engine module that takes a Namespace, and lets the word "namespaces" by.
    fake = tmp_path / "autograder"
    fake.mkdir()
    (fake / "engine.py").write_text("import argparse\n\ndef run(args: argparse.Namespace) -> int: ...\n")
    (fake / "shadow.py").write_text("def run(args: Namespace) -> int: ...\n")
    (fake / "sandbox.py").write_text('"""Linux namespaces keep the worker apart."""\n')
    (fake / "cli.py").write_text("import argparse\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert modules_seeing_arguments() == ["autograder.engine", "autograder.shadow"]
