"""Python source read as a tree, never run: what the mutation generator, the release's stub
check and the handout builder all need to know about a body of statements."""

from __future__ import annotations

import ast


def without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    """``body`` (a module's or a function's statements) without its leading docstring, if any."""
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        return body[1:]
    return body
