"""Mutant generation: each operator's edits, spliced sources that keep comments, stable keys, sampling."""

from __future__ import annotations

from collections import Counter
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from autograder.mutation import (
    OPERATORS,
    Mutant,
    function_names,
    generate_mutants,
    sample_mutants,
)

CONV = '''"""A module with comments and non-ASCII text: x⁽ᵏ⁾."""
import numpy as np


def conv(x, w, b=None, stride=1, padding=0):
    """Cross-correlate x (N, C, H, W) with w (K, C, F, F)."""
    n, c, h, wd = x.shape  # shapes
    k, _, f, _ = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h = (h + 2 * padding - f) // stride + 1  # the formula
    out_w = (wd + 2 * padding - f) // stride + 1
    out = np.zeros((n, k, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, :, i * stride:i * stride + f, j * stride:j * stride + f]
            out[:, :, i, j] = np.tensordot(patch, w, axes=((1, 2, 3), (1, 2, 3)))
    if b is not None:
        out += b[None, :, None, None]
    return out


def pool(x, size):
    """Max over windows."""
    return np.max(x.reshape(x.shape[0], -1, size), axis=-1)


def helper(a, b):
    """Not mutated unless asked."""
    return a.T @ b if a.ndim < 3 else min(a.sum(), b.sum())
'''


def load(source: str) -> ModuleType:
    module = ModuleType("mutant")
    exec(compile(source, "mutant.py", "exec"), module.__dict__)
    return module


def by_operator(mutants: list[Mutant]) -> dict[str, list[Mutant]]:
    out: dict[str, list[Mutant]] = {}
    for m in mutants:
        out.setdefault(m.operator, []).append(m)
    return out


def conv_args(rng: np.random.Generator) -> tuple[Any, ...]:
    return rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)


def test_every_operator_edits_the_conv_function() -> None:
    mutants = generate_mutants(CONV, "conv", "cnn.py")
    ops = by_operator(mutants)
    assert {"zeros", "bias", "arith", "range", "slice", "axis", "compare", "constant"} <= set(ops)
    keys = [m.key for m in mutants]
    assert len(keys) == len(set(keys)), "keys are unique within a function"
    assert "bias: out += b[None, :, None, None] -> pass" in keys
    assert any(k.startswith("range: range(out_h) -> range(out_h + 1)") for k in keys)
    assert any("i * stride + f + 1" in k or "i * stride + f - 1" in k for k in keys)
    assert "compare: b is not None -> b is None" in [m.key for m in ops["compare"]]
    assert any("stride + 1" in k for k in keys), "a stride variable is changed"
    assert all(m.function == "conv" and m.module == "cnn.py" for m in mutants)


def test_mutants_compile_differ_and_keep_the_rest_of_the_source() -> None:
    mutants = generate_mutants(CONV, "conv", "cnn.py")
    sources = {m.source for m in mutants}
    assert len(sources) == len(mutants) and CONV not in sources
    for m in mutants:
        compile(m.source, "m.py", "exec")
        assert "# the formula" in m.source and "x⁽ᵏ⁾" in m.source
        # Only the function itself changes (the zeros mutant also appends its helper).
        head, tail = CONV.split("def pool")[0], "def pool" + CONV.split("def pool")[1]
        assert tail in m.source
        assert m.source.startswith(head[: head.index("def conv")])


def test_diff_shows_the_real_changed_line_with_the_function_name() -> None:
    mutants = generate_mutants(CONV, "conv", "cnn.py")
    arith = next(m for m in mutants if m.key.endswith("out_h = (h - 2 * padding - f) // stride + 1"))
    assert "cnn.py (conv)" in arith.diff
    assert "-    out_h = (h + 2 * padding - f) // stride + 1  # the formula" in arith.diff
    assert "+    out_h = (h - 2 * padding - f) // stride + 1  # the formula" in arith.diff
    assert arith.lineno == 10


def test_each_mutant_behaves_differently_from_the_original_on_some_input() -> None:
    rng = np.random.default_rng(0)
    cases = [(conv_args(rng), dict(stride=s, padding=p)) for s in (1, 2, 3) for p in (0, 1, 2)]
    original = load(CONV)
    expected = [original.conv(*args, **kw) for args, kw in cases]
    same = []
    for m in generate_mutants(CONV, "conv", "cnn.py"):
        conv = load(m.source).conv
        for (args, kw), reference in zip(cases, expected, strict=True):
            try:
                got = conv(*args, **kw)
            except Exception:
                break
            if np.shape(got) != reference.shape or not np.allclose(got, reference):
                break
        else:
            same.append(m.key)
    # Extra padding after the last row or column is never read by a window: equivalent.
    assert len(same) == 2
    assert all(
        (k.startswith("constant: …") and k.endswith("(padding + 1))))"))
        or k.endswith("(padding, (padding + 1)), (padding, padding)))")
        for k in same
    )


def test_zeros_mutant_returns_zeros_of_the_right_shape_and_type() -> None:
    source = '''import numpy as np
def f(x):
    """Doc."""
    if x.ndim == 1:
        return x * 2, {"a": x, "n": 3}
    return x + 1
def g(n):
    for i in range(n):
        yield i + 1.5
'''
    zf = next(m for m in generate_mutants(source, "f") if m.operator == "zeros")
    module = load(zf.source)
    arr, extra = module.f(np.ones(3))
    assert arr.shape == (3,) and not arr.any()
    assert extra["n"] == 0 and not extra["a"].any()
    out = module.f(np.ones((2, 2)))
    assert out.shape == (2, 2) and not out.any()
    assert "return _mutant_zeros_like((x + 1))" in zf.diff
    assert "def _mutant_zeros_like" not in zf.diff
    zg = next(m for m in generate_mutants(source, "g") if m.operator == "zeros")
    assert list(load(zg.source).g(3)) == [0.0, 0.0, 0.0]


def test_axis_minmax_compare_and_transpose_edits() -> None:
    pool = {m.key for m in generate_mutants(CONV, "pool")}
    assert (
        "minmax: return np.max(x.reshape(x.shape[0], -1, size), axis=-1) -> "
        "return np.min(x.reshape(x.shape[0], -1, size), axis=-1)" in pool
    )
    assert any(k.startswith("axis:") and "axis=-2" in k for k in pool)
    helper = {m.key: m for m in generate_mutants(CONV, "helper")}
    assert (
        "axis: return a.T @ b if a.ndim < 3 else min(a.sum(), b.sum()) -> "
        "return a @ b if a.ndim < 3 else min(a.sum(), b.sum())" in helper
    )
    assert any(k.startswith("minmax:") and k.endswith("else max(a.sum(), b.sum())") for k in helper)
    compares = [k for k in helper if k.startswith("compare:")]
    assert any("a.ndim <= 3" in k for k in compares) and any("a.ndim > 3" in k for k in compares)


def test_precedence_is_kept_by_parentheses() -> None:
    source = "def f(stride, x):\n    return x * stride - 1\n"
    plus = next(m for m in generate_mutants(source, "f") if m.key.endswith("x * (stride + 1) - 1"))
    assert "return x * (stride + 1) - 1" in plus.source
    assert load(plus.source).f(2, 3) == 8
    minus = next(m for m in generate_mutants(source, "f") if m.operator == "arith")
    assert "return x * stride + 1" in minus.source


def test_keys_are_stable_and_repeats_are_numbered() -> None:
    source = "def f(a, b):\n    return (a + b) * (a + b)\n"
    again = generate_mutants("# moved down\n\n" + source, "f")
    keys = [m.key for m in generate_mutants(source, "f")]
    assert keys == [m.key for m in again]
    assert "arith: return (a + b) * (a + b) -> return (a - b) * (a + b)" in keys
    assert "arith: return (a + b) * (a + b) -> return (a + b) * (a - b)" in keys
    twice = generate_mutants("def f(a):\n    a = a + 1\n    a = a + 1\n    return a\n", "f")
    assert [m.key for m in twice if m.operator == "arith"] == [
        "arith: a = a + 1 -> a = a - 1",
        "arith: a = a + 1 -> a = a - 1 #2",
    ]


def test_unknown_function_raises_key_error() -> None:
    with pytest.raises(KeyError):
        generate_mutants(CONV, "nosuch")
    assert function_names(CONV) == ["conv", "pool", "helper"]


def test_docstrings_signatures_and_defaults_are_never_mutated() -> None:
    for m in generate_mutants(CONV, "conv"):
        assert "def conv(x, w, b=None, stride=1, padding=0):" in m.source
        assert '"""Cross-correlate x (N, C, H, W) with w (K, C, F, F)."""' in m.source


def test_sample_is_deterministic_round_robin_and_in_source_order() -> None:
    mutants = generate_mutants(CONV, "conv")
    picked = sample_mutants(mutants, 8)
    assert picked == sample_mutants(mutants, 8) and len(picked) == 8
    counts = Counter(m.operator for m in picked)
    assert set(counts) == {op for op in OPERATORS if any(m.operator == op for m in mutants)}
    order = [mutants.index(m) for m in picked]
    assert order == sorted(order)
    assert sample_mutants(mutants, None) == mutants
    assert sample_mutants(mutants[:3], 8) == mutants[:3]


def test_raise_messages_and_f_strings_are_not_mutated() -> None:
    source = """def f(n, k):
    if n - k < 1:
        raise ValueError(f"n - k = {n - k + 1} is too small")
    return n - k
"""
    keys = [m.key for m in generate_mutants(source, "f")]
    assert all("too small" not in k for k in keys)
    assert "compare: n - k < 1 -> n - k <= 1" in keys
    assert "arith: return n - k -> return n + k" in keys
