"""Mutants of a reference solution: small AST edits of one function, as new module sources.

``grade verify`` grades every mutant with the assignment's checks; a mutant
that loses no points *survives*, which means the checks cannot tell that
classic mistake from the right answer.  The edits imitate students' mistakes:

=========  =================================================================
operator   edit
=========  =================================================================
range      ``range(a, n)`` -> ``range(a, n ± 1)``, ``range(a + 1, n)``
slice      ``x[i:j]`` -> ``x[i ± 1:j]``, ``x[i:j ± 1]``; a slice step dropped
axis       ``axis=k`` changed, a permutation's last two axes swapped, ``.T`` dropped
arith      ``+`` <-> ``-`` (also ``+=`` <-> ``-=``)
bias       ``y + b`` -> ``y``; ``out += b`` and ``if b is not None: ...`` dropped
constant   an integer constant ± 1; a stride/padding/dilation variable + 1
minmax     ``max`` <-> ``min`` (also ``maximum``, ``amax``, ``argmax`` ...)
compare    ``<`` -> ``<=``/``>``, ``==`` <-> ``!=``, ``is`` <-> ``is not``, ...
zeros      every ``return v`` -> ``return zeros_like(v)`` (zeros of the right shape)
=========  =================================================================

A mutant is made by splicing the edited expression into the original source,
so comments and layout stay and the diff shows real lines.  Each mutant has a
stable ``key`` (operator, original and new code) that an allow-list of
equivalent mutants can name.

One piece, though long: the nine operators share one walk of the tree and one
splice, and each is a few lines that read best side by side.
"""

from __future__ import annotations

import ast
import copy
import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .pysource import without_docstring

OPERATORS = ("zeros", "bias", "arith", "range", "slice", "axis", "minmax", "compare", "constant")

#: Helper appended to a module by the ``zeros`` mutant.
ZEROS_HELPER_NAME = "_mutant_zeros_like"
_ZEROS_HELPER = f'''

def {ZEROS_HELPER_NAME}(value):
    """Zeros with the shape and type of ``value`` (added by grade verify)."""
    import numpy as _np
    if isinstance(value, _np.ndarray):
        return _np.zeros_like(value)
    if isinstance(value, (bool, _np.bool_)):
        return False
    if isinstance(value, (int, float, complex, _np.number)):
        return type(value)(0)
    if isinstance(value, (tuple, list)):
        return type(value)({ZEROS_HELPER_NAME}(v) for v in value)
    if isinstance(value, dict):
        return {{k: {ZEROS_HELPER_NAME}(v) for k, v in value.items()}}
    return value
'''

_BIAS = re.compile(r"^(b|bias|biases|b\d+|b_\w+|\w*_bias)$")
_BIAS_KEY = re.compile(r"^(b|bias|b\d*)$")
_GEOMETRY = re.compile(r"^(stride|strides|padding|pad|dilation|dil)(_?[hw]|_top|_left)?$|^[sp][hw]$")
_MINMAX = {
    "max": "min",
    "min": "max",
    "maximum": "minimum",
    "minimum": "maximum",
    "amax": "amin",
    "amin": "amax",
    "argmax": "argmin",
    "argmin": "argmax",
    "nanmax": "nanmin",
    "nanmin": "nanmax",
    "fmax": "fmin",
    "fmin": "fmax",
}
_AXIS_KEYWORDS = ("axis", "axes", "dim")
#: Methods/functions whose first positional argument (method form) or second
#: (``np.f(x, axis)`` form) is an axis.
_AXIS_FUNCTIONS = {
    "sum",
    "mean",
    "max",
    "min",
    "argmax",
    "argmin",
    "std",
    "var",
    "prod",
    "cumsum",
    "amax",
    "amin",
    "expand_dims",
    "squeeze",
    "concatenate",
    "stack",
    "flip",
    "any",
    "all",
    "nansum",
    "nanmean",
}
_PERMUTE_FUNCTIONS = {"transpose", "permute"}
_COMPARE: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.Gt),
    ast.LtE: (ast.Lt, ast.GtE),
    ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt, ast.LtE),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}
_NUMPY_MODULES = ("np", "numpy")
#: In a span's text, stands for the source the span covers (the zeros edit wraps it).
_ORIGINAL = "\0ORIGINAL\0"


@dataclass(frozen=True)
class Mutant:
    """One edit of one function of a solution module."""

    #: The mutated function, e.g. ``conv2d_forward``.
    function: str
    #: Module file it lives in, e.g. ``cnn.py``.
    module: str
    #: One of :data:`OPERATORS`.
    operator: str
    #: Stable name: ``"arith: x + b -> x - b"`` (with ``" #2"`` for a repeat within the function).
    key: str
    #: Line of the (first) edit in the original module.
    lineno: int
    #: The whole mutated module source.
    source: str
    #: Unified diff of the edited lines, original -> mutant.
    diff: str


# -- public API -----------------------------------------------------------


def function_names(source: str) -> list[str]:
    """Names of the top-level functions defined in ``source``."""
    tree = ast.parse(source)
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def generate_mutants(source: str, function: str, module: str = "module.py") -> list[Mutant]:
    """Every mutant of top-level ``function`` in ``source``, in source order, ``zeros`` first.

    Mutants whose source does not compile, or is the same as another one's, are
    dropped.  Raises KeyError when ``source`` defines no such function.
    """
    tree = ast.parse(source)
    func = next(
        (n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function), None
    )
    if func is None:
        raise KeyError(function)
    text = _Source(source)
    parents = {child: node for node in ast.walk(func) for child in ast.iter_child_nodes(node)}
    edits = list(_zeros_edits(func))
    edits += sorted(_node_edits(func), key=lambda e: (e.spans[0].lineno, e.spans[0].col))
    mutants: list[Mutant] = []
    seen_sources = {source}
    seen_keys: dict[str, int] = {}
    for edit in edits:
        mutated = text.splice(edit.spans)
        if mutated in seen_sources:
            continue
        seen_sources.add(mutated)
        diff = _diff(source, mutated, module, function)
        if edit.operator == "zeros":
            mutated = mutated.rstrip("\n") + "\n" + _ZEROS_HELPER
        if not _compiles(mutated):
            continue
        if edit.anchor is not None:
            before, after = text.context(_context(edit.anchor, parents), edit.spans)
        else:
            before, after = edit.before, edit.after
        key = f"{edit.operator}: {before} -> {after}"
        seen_keys[key] = seen_keys.get(key, 0) + 1
        if seen_keys[key] > 1:
            key += f" #{seen_keys[key]}"
        mutants.append(
            Mutant(
                function=function,
                module=module,
                operator=edit.operator,
                key=key,
                lineno=edit.spans[0].lineno,
                source=mutated,
                diff=diff,
            )
        )
    return mutants


def sample_mutants(mutants: Sequence[Mutant], limit: int | None) -> list[Mutant]:
    """At most ``limit`` of ``mutants``: round-robin across operators, each spread over lines.

    Deterministic: the same list gives the same sample.  ``None`` keeps all.
    """
    if limit is None or len(mutants) <= limit:
        return list(mutants)
    groups: dict[str, list[Mutant]] = {}
    for m in mutants:
        groups.setdefault(m.operator, []).append(m)
    queues = [_spread(groups[op]) for op in OPERATORS if op in groups]
    picked: list[Mutant] = []
    depth = 0
    while len(picked) < limit:
        for queue in queues:
            if depth < len(queue) and len(picked) < limit:
                picked.append(queue[depth])
        depth += 1
    order = {id(m): i for i, m in enumerate(mutants)}
    return sorted(picked, key=lambda m: order[id(m)])


def _spread(mutants: list[Mutant]) -> list[Mutant]:
    """``mutants`` reordered to visit every line once before any line twice."""
    rank: dict[int, int] = {}
    keyed = []
    for i, m in enumerate(mutants):
        rank[m.lineno] = rank.get(m.lineno, -1) + 1
        keyed.append((rank[m.lineno], i, m))
    return [m for _, _, m in sorted(keyed, key=lambda t: (t[0], t[1]))]


# -- source text --------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    """Replace the source from ``(lineno, col)`` to ``(end_lineno, end_col)`` with ``text``.

    Positions are as ``ast`` gives them: 1-based lines, UTF-8 byte columns.
    """

    lineno: int
    col: int
    end_lineno: int
    end_col: int
    text: str


class _Source:
    """A module's source as UTF-8 bytes, addressed the way ``ast`` positions are."""

    def __init__(self, source: str) -> None:
        self.data = source.encode("utf-8")
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line.encode("utf-8")))

    def offsets(self, span: _Span) -> tuple[int, int]:
        """Byte range ``[start, end)`` of ``span``."""
        return (self.line_starts[span.lineno - 1] + span.col, self.line_starts[span.end_lineno - 1] + span.end_col)

    def splice(self, spans: Sequence[_Span], start: int = 0, end: int | None = None) -> str:
        """The source between byte offsets ``start`` and ``end`` with every span replaced."""
        end = len(self.data) if end is None else end
        out, pos = [], start
        for span in sorted(spans, key=lambda s: (s.lineno, s.col)):
            a, b = self.offsets(span)
            covered = self.data[a:b].decode("utf-8")
            out += [self.data[pos:a], span.text.replace(_ORIGINAL, covered).encode("utf-8")]
            pos = b
        out.append(self.data[pos:end])
        return b"".join(out).decode("utf-8")

    def context(self, node: ast.AST, spans: Sequence[_Span]) -> tuple[str, str]:
        """``node``'s source before and after the edit, on one line and shortened around it."""
        start, end = self.offsets(_node_span(node, ""))
        before = self.data[start:end].decode("utf-8")
        after = self.splice(spans, start, end)
        return _shorten_pair(" ".join(before.split()), " ".join(after.split()))


def _shorten_pair(before: str, after: str, width: int = 72) -> tuple[str, str]:
    """Cut long texts to a window around their first difference."""
    if max(len(before), len(after)) <= width:
        return before, after
    common = 0
    while common < min(len(before), len(after)) and before[common] == after[common]:
        common += 1
    lead = max(0, common - 24)

    def cut(text: str) -> str:
        piece = text[lead : lead + width]
        return ("…" if lead else "") + piece + ("…" if lead + width < len(text) else "")

    return cut(before), cut(after)


def _context(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.AST:
    """What names an edit: its simple statement, or the header expression of a compound one."""
    current = node
    while not isinstance(current, ast.stmt) and current in parents:
        parent = parents[current]
        if isinstance(parent, ast.stmt) and any(isinstance(parent, kind) for kind in _COMPOUND):
            return current
        current = parent
    return current


_COMPOUND = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
)


# -- edits ------------------------------------------------------------------


@dataclass(frozen=True)
class _Edit:
    operator: str
    spans: tuple[_Span, ...]
    #: The edited node, whose surroundings name the mutant; None for whole-function edits.
    anchor: ast.AST | None = None
    before: str = ""
    after: str = ""


def _expr_edit(operator: str, node: ast.AST, new: ast.AST) -> _Edit:
    """Replace expression ``node`` by ``new``, parenthesised where precedence needs it."""
    ast.fix_missing_locations(new)
    text = ast.unparse(new)
    if _needs_parens(node, new):
        text = f"({text})"
    return _Edit(operator, (_node_span(node, text),), anchor=node)


def _stmt_edit(operator: str, node: ast.stmt, text: str) -> _Edit:
    return _Edit(operator, (_node_span(node, text),), anchor=node)


def _node_span(node: ast.AST, text: str) -> _Span:
    lineno: int = node.lineno  # type: ignore[attr-defined]
    end_lineno: int = node.end_lineno or lineno  # type: ignore[attr-defined]
    return _Span(
        lineno,
        node.col_offset,  # type: ignore[attr-defined]
        end_lineno,
        node.end_col_offset or 0,  # type: ignore[attr-defined]
        text,
    )


_ATOMS = (
    ast.Name,
    ast.Constant,
    ast.Call,
    ast.Attribute,
    ast.Subscript,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.DictComp,
    ast.SetComp,
    ast.GeneratorExp,
    ast.JoinedStr,
)
_ADDITIVE = (ast.Add, ast.Sub)


def _needs_parens(old: ast.AST, new: ast.AST) -> bool:
    """Would ``new`` spliced where ``old`` was bind differently without parentheses?"""
    if isinstance(new, _ATOMS):
        return False
    if isinstance(old, ast.BinOp) and isinstance(new, ast.BinOp):
        return not (isinstance(old.op, _ADDITIVE) and isinstance(new.op, _ADDITIVE))
    if isinstance(old, ast.Compare) and isinstance(new, ast.Compare):
        return False
    return not (isinstance(old, ast.UnaryOp) and isinstance(new, ast.UnaryOp))


def _plus(node: ast.expr, k: int) -> ast.expr:
    """``node + k`` (or ``node - |k|``), folding integer constants."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return ast.Constant(node.value + k)
    op: ast.operator = ast.Add() if k > 0 else ast.Sub()
    return ast.BinOp(copy.deepcopy(node), op, ast.Constant(abs(k)))


def _body_nodes(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Nodes of the function's body that compute something.

    Left out: the docstring, ``raise`` statements (their messages are text, and
    the condition that leads to them is an ``if`` that is mutated) and f-strings.
    """
    body = without_docstring(func.body)
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Raise, ast.JoinedStr)):
            continue
        yield node
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """Nodes of ``func`` outside nested function definitions, lambdas and classes."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop(0)
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _zeros_edits(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[_Edit]:
    """One edit turning every returned (or yielded) value of ``func`` into zeros like it."""
    spans = [
        _node_span(node.value, f"{ZEROS_HELPER_NAME}(({_ORIGINAL}))")
        for node in _own_nodes(func)
        if isinstance(node, (ast.Return, ast.Yield)) and node.value is not None
    ]
    if spans:
        yield _Edit("zeros", tuple(spans), before="return value", after="zeros like it")


def _node_edits(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[_Edit]:
    for node in _body_nodes(func):
        for make in _NODE_OPERATORS:
            yield from make(node)


def _range_edits(node: ast.AST) -> Iterator[_Edit]:
    if not (isinstance(node, ast.Call) and _callee(node) in ("range", "arange") and node.args and not node.keywords):
        return
    args = node.args
    stop_index = 0 if len(args) == 1 else 1
    for k in (1, -1):
        new = copy.deepcopy(node)
        new.args[stop_index] = _plus(args[stop_index], k)
        yield _expr_edit("range", node, new)
    if len(args) >= 2:
        new = copy.deepcopy(node)
        new.args[0] = _plus(args[0], 1)
        yield _expr_edit("range", node, new)


def _slice_edits(node: ast.AST) -> Iterator[_Edit]:
    if not isinstance(node, ast.Slice):
        return
    for bound in ("lower", "upper"):
        value = getattr(node, bound)
        if value is None:
            continue
        for k in (1, -1):
            yield _expr_edit("slice", value, _plus(value, k))
    if node.step is not None:
        new = copy.deepcopy(node)
        new.step = None
        yield _Edit("slice", (_node_span(node, ast.unparse(new) or ":"),), anchor=node)


def _int_value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    return None


def _other_axis(k: int) -> int:
    return k ^ 1 if k >= 0 else (-2 if k == -1 else -1)


def _axis_value_edits(value: ast.expr) -> Iterator[_Edit]:
    """Another axis; a tuple of axes shortened or shifted; a pair of axis lists (tensordot)
    with the last two axes of its second list swapped."""
    if (
        isinstance(value, (ast.Tuple, ast.List))
        and len(value.elts) == 2
        and all(isinstance(e, (ast.Tuple, ast.List)) for e in value.elts)
    ):
        second = value.elts[1]
        if len(second.elts) >= 2:  # type: ignore[attr-defined]
            new = copy.deepcopy(second)
            new.elts[-2], new.elts[-1] = new.elts[-1], new.elts[-2]  # type: ignore[attr-defined]
            yield _expr_edit("axis", second, new)
        return
    k = _int_value(value)
    if k is not None:
        yield _expr_edit(
            "axis",
            value,
            ast.Constant(_other_axis(k))
            if _other_axis(k) >= 0
            else ast.UnaryOp(ast.USub(), ast.Constant(-_other_axis(k))),
        )
        return
    if isinstance(value, (ast.Tuple, ast.List)) and value.elts and all(_int_value(e) is not None for e in value.elts):
        if len(value.elts) > 1:
            new = copy.deepcopy(value)
            new.elts = new.elts[:-1]
            yield _expr_edit("axis", value, new)
        first = _int_value(value.elts[0])
        if first is not None and first > 0:
            new = copy.deepcopy(value)
            new.elts[0] = ast.Constant(first - 1)
            yield _expr_edit("axis", value, new)


def _axis_edits(node: ast.AST) -> Iterator[_Edit]:
    if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        yield _expr_edit("axis", node, copy.deepcopy(node.value))
        return
    if not isinstance(node, ast.Call):
        return
    for kw in node.keywords:
        if kw.arg in _AXIS_KEYWORDS:
            yield from _axis_value_edits(kw.value)
    name = _callee(node)
    numpy_form = _is_numpy_call(node)
    if name in _AXIS_FUNCTIONS:
        index = 1 if numpy_form else 0
        if len(node.args) > index and isinstance(node.func, ast.Attribute):
            yield from _axis_value_edits(node.args[index])
    if name in _PERMUTE_FUNCTIONS:
        perm: list[ast.expr]
        if numpy_form and len(node.args) == 2 and isinstance(node.args[1], (ast.Tuple, ast.List)):
            perm = node.args[1].elts
            target: ast.expr | None = node.args[1]
        elif not numpy_form and len(node.args) >= 2:
            perm, target = node.args, None
        elif not numpy_form and len(node.args) == 1 and isinstance(node.args[0], (ast.Tuple, ast.List)):
            perm, target = node.args[0].elts, node.args[0]
        else:
            return
        if len(perm) < 2:
            return
        if target is not None:
            new = copy.deepcopy(target)
            new.elts[-2], new.elts[-1] = new.elts[-1], new.elts[-2]  # type: ignore[attr-defined]
            yield _expr_edit("axis", target, new)
        else:
            call = copy.deepcopy(node)
            call.args[-2], call.args[-1] = call.args[-1], call.args[-2]
            yield _expr_edit("axis", node, call)


def _arith_edits(node: ast.AST) -> Iterator[_Edit]:
    swap = {ast.Add: ast.Sub, ast.Sub: ast.Add}
    if isinstance(node, ast.BinOp) and type(node.op) in swap:
        new = copy.deepcopy(node)
        new.op = swap[type(node.op)]()
        yield _expr_edit("arith", node, new)
    elif isinstance(node, ast.AugAssign) and type(node.op) in swap:
        stmt = copy.deepcopy(node)
        stmt.op = swap[type(node.op)]()
        yield _stmt_edit("arith", node, ast.unparse(stmt))


def _is_bias(node: ast.AST) -> bool:
    """Does ``node`` denote a bias: ``b``, ``bias``, ``self.bias``, ``params["b1"]``, ``b[:, None]``?"""
    if isinstance(node, ast.Name):
        return bool(_BIAS.match(node.id))
    if isinstance(node, ast.Attribute):
        return bool(_BIAS.match(node.attr)) or (node.attr in ("reshape", "T") and _is_bias(node.value))
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return bool(_BIAS_KEY.match(key.value))
        if isinstance(key, ast.JoinedStr) and key.values and isinstance(key.values[0], ast.Constant):
            return str(key.values[0].value) == "b"
        return _is_bias(node.value)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and _is_bias(node.func.value):
            return True
        return _is_numpy_call(node) and bool(node.args) and _is_bias(node.args[0])
    return False


def _mentions_bias(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and _BIAS.match(n.id) for n in ast.walk(node))


def _bias_edits(node: ast.AST) -> Iterator[_Edit]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        if _is_bias(node.right):
            yield _expr_edit("bias", node, copy.deepcopy(node.left))
        elif _is_bias(node.left):
            yield _expr_edit("bias", node, copy.deepcopy(node.right))
    elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and _is_bias(node.value):
        yield _stmt_edit("bias", node, "pass")
    elif isinstance(node, ast.If) and not node.orelse and _mentions_bias(node.test):
        yield _stmt_edit("bias", node, "pass")


def _constant_edits(node: ast.AST) -> Iterator[_Edit]:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        for k in (1, -1):
            yield _expr_edit("constant", node, ast.Constant(node.value + k))
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and _GEOMETRY.match(node.id):
        yield _expr_edit("constant", node, _plus(node, 1))


def _minmax_edits(node: ast.AST) -> Iterator[_Edit]:
    if not isinstance(node, ast.Call):
        return
    func = node.func
    if isinstance(func, ast.Name) and func.id in ("max", "min"):
        yield _expr_edit("minmax", func, ast.Name(_MINMAX[func.id], ast.Load()))
    elif isinstance(func, ast.Attribute) and func.attr in _MINMAX:
        new = copy.deepcopy(func)
        new.attr = _MINMAX[func.attr]
        yield _expr_edit("minmax", func, new)


def _compare_edits(node: ast.AST) -> Iterator[_Edit]:
    if not isinstance(node, ast.Compare):
        return
    for i, op in enumerate(node.ops):
        for replacement in _COMPARE.get(type(op), ()):
            new = copy.deepcopy(node)
            new.ops[i] = replacement()
            yield _expr_edit("compare", node, new)


_NODE_OPERATORS: tuple[Callable[[ast.AST], Iterator[_Edit]], ...] = (
    _bias_edits,
    _arith_edits,
    _range_edits,
    _slice_edits,
    _axis_edits,
    _minmax_edits,
    _compare_edits,
    _constant_edits,
)


# -- helpers ----------------------------------------------------------------


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_numpy_call(call: ast.Call) -> bool:
    """``np.f(...)`` rather than ``x.f(...)``."""
    func = call.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in _NUMPY_MODULES


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _diff(source: str, mutated: str, module: str, function: str) -> str:
    """Unified diff of the lines the mutant changes, one line of context."""
    out = difflib.unified_diff(
        source.splitlines(),
        mutated.splitlines(),
        fromfile=f"{module} ({function})",
        tofile=f"{module} (mutant)",
        lineterm="",
        n=1,
    )
    return "\n".join(out)
