"""Source text -> fingerprints: a normalised AST token stream per function, winnowed k-grams.

Read as text and parsed with :func:`ast.parse` only; nothing here imports or runs the
code.  The token stream is what survives disguise: every identifier a student chose
becomes ``V`` (names of builtins, attributes and keyword arguments stay: they are the
API, not a choice); comments, docstrings, bare strings, ``pass``, ``print`` calls,
unreachable statements, ``if False:`` blocks and assignments to names that are never
read are dropped; ``a += b`` is written as ``a = a + b``; ``np.dot(a, b)``,
``np.matmul(a, b)`` and ``a.dot(b)`` as ``a @ b``; ``while i < n: ...; i += 1`` as
``for i in range(n): ...``.  Formatting never reaches the stream.

A file that does not parse (or nests too deeply, or is too large) falls back to a
stream of :mod:`tokenize` tokens, normalised the same way as far as tokens allow.

One piece, though long: the normaliser's rewrites and the token stream they feed
must agree on every node type, so they stay side by side.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import keyword
import tokenize
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

#: Tokens per k-gram and k-grams per winnowing window: a match of at least
#: ``K + W - 1`` tokens (about two lines of code) is always found.
K = 12
W = 8
#: Characters of one module that are read; the rest of a larger file is not compared.
MAX_SOURCE_CHARS = 400_000
#: Tokens kept per submission.
MAX_TOKENS = 150_000
#: AST nesting followed before the file is read as plain tokens.
MAX_DEPTH = 120

Status = Literal["ok", "tokens", "unparseable", "missing"]

_BUILTINS = frozenset(dir(builtins))
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


_DISPATCH: dict[type, Any] = {}


class _TooDeep(Exception):
    """The AST nests deeper than MAX_DEPTH."""


@dataclass(frozen=True)
class Segment:
    """A stretch of the token stream: one top-level function (or the module-level code)."""

    #: Function name (``"<module>"`` for code outside functions), prefixed ``"mod.py:"``
    #: when the assignment has several modules.
    name: str
    module: str
    #: Token indices [start, end).
    start: int
    end: int
    #: Source lines (1-based, inclusive) the segment spans.
    first_line: int
    last_line: int
    #: First line of the body after the signature and docstring (0: the first line).
    body_line: int = 0


@dataclass
class Fingerprinted:
    """One submission's normalised tokens and winnowed fingerprints (never its running)."""

    student: str
    status: Status
    #: Why the submission was read as tokens only or not at all.
    note: str
    #: Source text per module (bounded), for showing matched lines.
    sources: dict[str, str]
    segments: list[Segment]
    #: Source line of every token.
    token_lines: np.ndarray
    #: Winnowed fingerprints: hash and the token index where its k-gram starts.
    hashes: np.ndarray
    positions: np.ndarray
    #: Digest of the whole normalised stream: equal digests mean the same code, up to disguise.
    digest: str

    def segment_at(self, position: int) -> Segment:
        """The segment holding token ``position``."""
        for seg in self.segments:
            if seg.start <= position < seg.end:
                return seg
        return self.segments[-1]


# -- normalising ------------------------------------------------------------------


def _is_increment(stmt: ast.stmt, name: str) -> bool:
    return (
        isinstance(stmt, ast.AugAssign)
        and isinstance(stmt.target, ast.Name)
        and stmt.target.id == name
        and isinstance(stmt.op, ast.Add)
    )


def _counter(test: ast.expr) -> str | None:
    """The name counted in ``while name < end`` (or ``!=``), else None."""
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Lt, ast.NotEq))
        and isinstance(test.left, ast.Name)
    ):
        return test.left.id
    return None


def _loop_start(stmt: ast.stmt, following: list[ast.stmt]) -> bool:
    """``i = 0`` right before ``while i < n:``: part of the loop (``for i in range(n)``)."""
    return (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value == 0
        and bool(following)
        and isinstance(following[0], ast.While)
        and _counter(following[0].test) == stmt.targets[0].id
    )


class _Normaliser:
    """Walks an AST and emits the normalised label of every node, with its source line."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.lines: list[int] = []
        self.line = 1
        self.depth = 0
        #: Names read anywhere in the current top-level function, and the token ranges of its
        #: assignments to plain names: those to names never read are dead code, cut at its end.
        self.read: set[str] | None = None
        self.assigned: list[tuple[int, int, tuple[str, ...]]] = []

    def emit(self, label: str) -> None:
        self.labels.append(label)
        self.lines.append(self.line)

    def visit(self, node: ast.AST) -> None:
        line = getattr(node, "lineno", None)
        if isinstance(line, int):
            self.line = line
        self.depth += 1
        if self.depth > MAX_DEPTH or len(self.labels) > MAX_TOKENS:
            raise _TooDeep
        kind = type(node)
        method = _DISPATCH.get(kind)
        if method is None:
            method = _DISPATCH[kind] = getattr(_Normaliser, "visit_" + kind.__name__, _Normaliser.generic)
        method(self, node)
        self.depth -= 1

    def generic(self, node: ast.AST) -> None:
        self.emit(type(node).__name__)
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    self.block(value)
                else:
                    for item in value:
                        if isinstance(item, ast.AST) and not isinstance(item, ast.expr_context):
                            self.visit(item)
            elif isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
                self.visit(value)

    def block(self, stmts: list[ast.stmt]) -> None:
        for i, stmt in enumerate(stmts):
            if self._dead(stmt) or _loop_start(stmt, stmts[i + 1 : i + 2]):
                continue
            start = len(self.labels)
            self.visit(stmt)
            if self.read is not None and isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if all(type(t) is ast.Name for t in targets):
                    self.assigned.append((start, len(self.labels), tuple(t.id for t in targets)))  # type: ignore[attr-defined]
            if isinstance(stmt, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
                break  # what follows is unreachable

    def _dead(self, stmt: ast.stmt) -> bool:
        if isinstance(stmt, ast.Pass):
            return True
        if isinstance(stmt, ast.Expr):
            value = stmt.value
            if isinstance(value, (ast.Constant, ast.JoinedStr)):
                return True  # docstrings, bare strings, ...
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print":
                return True
        return False

    # statements

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.emit("def")
        self.visit(node.args)
        if self.read is not None:  # a nested function: part of the outer one
            self.block(node.body)
            return
        self.read, self.assigned = set(), []
        try:
            self.block(node.body)
            dead = [(lo, hi) for lo, hi, names in self.assigned if not any(n in self.read for n in names)]
            for lo, hi in reversed(dead):
                del self.labels[lo:hi]
                del self.lines[lo:hi]
        finally:
            self.read, self.assigned = None, []

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.emit("class")
        for base in node.bases:
            self.visit(base)
        self.block(node.body)

    def visit_arg(self, node: ast.arg) -> None:
        self.emit("arg")  # the name is a choice; the annotation is not code

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        # a += b  is  a = a + b
        self.emit("Assign")
        self.visit(node.target)
        self.emit("BinOp")
        self.visit(node.target)
        self.visit(node.op)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            return
        self.emit("Assign")
        self.visit(node.target)
        self.visit(node.value)

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Constant):
            self.block(node.body if node.test.value else node.orelse)
            return
        self.generic(node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.emit("Loop")
        self.visit(node.target)
        self.visit(node.iter)
        self.block(node.body)
        self.block(node.orelse)

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        test = node.test
        if isinstance(test, ast.Constant) and not test.value:
            self.block(node.orelse)
            return
        counter = _counter(test)
        if counter is not None and isinstance(test, ast.Compare):
            # i = 0; while i < n: ...; i += 1   is   for i in range(n): ...
            body = node.body
            if body and _is_increment(body[-1], counter):
                body = body[:-1]
            self.emit("Loop")
            self.visit(test.left)
            self.emit("Call")
            self.emit("range")
            self.visit(test.comparators[0])
            self.block(body)
        else:
            self.emit("While")
            self.visit(test)
            self.block(node.body)
        self.block(node.orelse)

    # expressions

    def visit_Name(self, node: ast.Name) -> None:
        if self.read is not None and type(node.ctx) is not ast.Store:
            self.read.add(node.id)
        self.emit(node.id if node.id in _BUILTINS else "V")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.emit("." + node.attr)
        self.visit(node.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            self.emit(repr(value))
        elif isinstance(value, int):
            self.emit(str(value) if -16 <= value <= 16 else "INT")
        elif isinstance(value, float):
            self.emit(repr(value) if value in (0.0, 0.5, 1.0, 2.0) else "FLOAT")
        elif isinstance(value, (str, bytes)):
            self.emit("STR")
        else:
            self.emit("NUM")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self.emit("STR")

    def visit_keyword(self, node: ast.keyword) -> None:
        self.emit("kw:" + (node.arg or "**"))
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("dot", "matmul") and not node.keywords:
            # np.dot(a, b), np.matmul(a, b), a.dot(b)  are  a @ b
            pair: tuple[ast.expr, ast.expr] | None = None
            if len(node.args) == 2 and isinstance(func.value, ast.Name):
                pair = (node.args[0], node.args[1])
            elif len(node.args) == 1:
                pair = (func.value, node.args[0])
            if pair is not None:
                self.emit("BinOp")
                self.visit(pair[0])
                self.emit("MatMult")
                self.visit(pair[1])
                return
        self.generic(node)


def _ast_segments(tree: ast.Module, module: str, prefix: str) -> tuple[list[str], list[int], list[Segment]]:
    norm = _Normaliser()
    segments: list[Segment] = []
    module_level: list[ast.stmt] = []
    body = [s for s in tree.body if not norm._dead(s)]
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = len(norm.labels)
            norm.visit(stmt)
            last = getattr(stmt, "end_lineno", None) or stmt.lineno
            code = [inner for inner in stmt.body if not norm._dead(inner)]
            body_line = code[0].lineno if code else last
            segments.append(Segment(prefix + stmt.name, module, start, len(norm.labels), stmt.lineno, last, body_line))
        else:
            module_level.append(stmt)
    if module_level:
        start = len(norm.labels)
        norm.block(module_level)
        if len(norm.labels) > start:
            first = module_level[0].lineno
            last = max(getattr(s, "end_lineno", None) or s.lineno for s in module_level)
            segments.append(Segment(prefix + "<module>", module, start, len(norm.labels), first, last))
    return norm.labels, norm.lines, segments


def _token_segments(text: str, module: str, prefix: str) -> tuple[list[str], list[int], list[Segment]]:
    """The fallback: :mod:`tokenize` tokens, a segment per top-level ``def`` (as far as it reads)."""
    labels: list[str] = []
    lines: list[int] = []
    segments: list[Segment] = []
    name, start, first = "<module>", 0, 1
    expect_name = False
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if len(labels) >= MAX_TOKENS:
                break
            if tok.type in skip:
                continue
            if expect_name and tok.type == tokenize.NAME:
                name = tok.string
            expect_name = False
            if tok.type == tokenize.NAME and tok.string in ("def", "class") and tok.start[1] == 0:
                if len(labels) > start:
                    segments.append(Segment(prefix + name, module, start, len(labels), first, lines[-1]))
                name, start, first, expect_name = "<module>", len(labels), tok.start[0], True
            if tok.type == tokenize.NAME:
                is_kept = keyword.iskeyword(tok.string) or tok.string in _BUILTINS
                label = tok.string if is_kept else "V"
            elif tok.type == tokenize.NUMBER:
                label = "NUM"
            elif tok.type == tokenize.STRING:
                label = "STR"
            else:
                label = tok.string[:8]
            labels.append(label)
            lines.append(tok.start[0])
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError, MemoryError):
        pass  # keep what was read
    if len(labels) > start:
        segments.append(Segment(prefix + name, module, start, len(labels), first, lines[-1]))
    return labels, lines, segments


def normalise(text: str, module: str = "", prefix: str = "") -> tuple[list[str], list[int], list[Segment], Status, str]:
    """Labels, their lines and the segments of one module's source; its status and a note.

    Never raises on hostile input: a file that ``ast.parse`` refuses (syntax error,
    null bytes, nesting, memory) is read as tokens, and one that doesn't even
    tokenize keeps the tokens read up to the problem.
    """
    note = ""
    if len(text) > MAX_SOURCE_CHARS:
        text = text[:MAX_SOURCE_CHARS]
        note = f"{module}: only the first {MAX_SOURCE_CHARS} characters were compared"
    if not note:
        try:
            tree = ast.parse(text)
            labels, lines, segments = _ast_segments(tree, module, prefix)
            return labels, lines, segments, "ok", ""
        except SyntaxError as exc:
            note = f"{module} does not parse (line {exc.lineno}: {exc.msg}); compared as plain tokens"
        except (_TooDeep, RecursionError):
            note = f"{module} nests too deeply or is too long to read as a tree; compared as plain tokens"
        except (ValueError, MemoryError, TypeError) as exc:
            note = f"{module} could not be parsed ({type(exc).__name__}); compared as plain tokens"
    labels, lines, segments = _token_segments(text, module, prefix)
    return labels, lines, segments, ("tokens" if labels else "unparseable"), note


# -- hashing and winnowing ---------------------------------------------------------

_LABEL_IDS: dict[str, int] = {}


def _label_id(label: str) -> int:
    """A stable 32-bit id per label (the same in every run, whatever the order of files)."""
    value = _LABEL_IDS.get(label)
    if value is None:
        value = zlib.crc32(label.encode("utf-8", "replace")) + 1
        if len(_LABEL_IDS) < 100_000:
            _LABEL_IDS[label] = value
    return value


def kgram_hashes(ids: np.ndarray, k: int = K) -> np.ndarray:
    """The hash of every k-gram of ``ids`` (uint64), well mixed so that minima are spread evenly."""
    n = len(ids) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    base = np.uint64(1_000_003)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * base + ids[j : j + n]
        # fmix64 of MurmurHash3
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
    return h


def winnow(hashes: np.ndarray, w: int = W) -> np.ndarray:
    """Positions chosen by winnowing: the rightmost minimal hash of every window of ``w``
    (Schleimer, Wilkerson and Aiken, 2003); hashes equal to the all-ones mask are never chosen."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(hashes) < w:
        picked = np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))])
    else:
        windows = np.lib.stride_tricks.sliding_window_view(hashes, w)
        picked = np.arange(len(windows)) + (w - 1 - np.argmin(windows[:, ::-1], axis=1))
        picked = np.unique(picked)
    return picked[hashes[picked] != _MASK]


def fingerprint_files(
    student: str, files: dict[str, bytes], modules: tuple[str, ...] | list[str], k: int = K, w: int = W
) -> Fingerprinted:
    """Fingerprint the ``modules`` of one submission (``files`` as loaded: name -> bytes)."""
    labels: list[str] = []
    lines: list[int] = []
    segments: list[Segment] = []
    notes: list[str] = []
    sources: dict[str, str] = {}
    statuses: list[Status] = []
    for module in modules:
        if module not in files:
            notes.append(f"{module} is missing")
            statuses.append("missing")
            continue
        text = files[module][: MAX_SOURCE_CHARS * 4].decode("utf-8", "replace")
        prefix = f"{module}:" if len(modules) > 1 else ""
        mod_labels, mod_lines, mod_segments, mod_status, note = normalise(text, module, prefix)
        offset = len(labels)
        labels += mod_labels
        lines += mod_lines
        segments += [
            Segment(s.name, s.module, s.start + offset, s.end + offset, s.first_line, s.last_line, s.body_line)
            for s in mod_segments
        ]
        sources[module] = text[:MAX_SOURCE_CHARS]
        statuses.append(mod_status)
        if note:
            notes.append(note)
    ids = np.fromiter((_label_id(x) for x in labels), dtype=np.uint64, count=len(labels))
    hashes = kgram_hashes(ids, k)
    # A k-gram that runs from one function into the next is not a fingerprint.
    seg_of = np.zeros(len(labels), dtype=np.int64)
    for i, seg in enumerate(segments):
        seg_of[seg.start : seg.end] = i
    if len(hashes):
        crossing = seg_of[: len(hashes)] != seg_of[k - 1 :]
        hashes[crossing] = _MASK
    positions = winnow(hashes, w)
    digest = hashlib.sha256(ids.tobytes()).hexdigest()[:32]
    if "ok" in statuses:
        status: Status = "ok"
    elif "tokens" in statuses:
        status = "tokens"
    elif "unparseable" in statuses:
        status = "unparseable"
    else:
        status = "missing"
    return Fingerprinted(
        student=student,
        status=status,
        note="; ".join(notes),
        sources=sources,
        segments=segments,
        token_lines=np.asarray(lines, dtype=np.int32),
        hashes=hashes[positions],
        positions=positions,
        digest=digest,
    )


def all_kgrams(files: dict[str, bytes], modules: tuple[str, ...] | list[str], k: int = K) -> np.ndarray:
    """Every k-gram hash of ``files`` (not only the winnowed ones): the base that never matches."""
    fp = fingerprint_files("<base>", files, modules, k=k, w=1)
    return np.unique(fp.hashes)
