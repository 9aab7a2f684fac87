"""What check authors call: compare a student's value with a reference and explain any difference.

Every helper raises :class:`CheckFailure` (an AssertionError) with a message a
student can act on: the call, shape expected vs got, first mismatching index,
max abs/rel error, and a hint when a classic mistake is recognised.  Values
reaching these helpers come from the sandbox as plain NumPy arrays and Python
scalars; nothing here trusts an object's own ``__eq__``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "CheckFailure",
    "StudentCodeFailure",
    "assert_allclose",
    "assert_equal",
    "assert_finite",
    "assert_true",
    "describe_call",
    "expect_raises",
    "tolerance_for",
]

#: Arrays with at most this many elements are shown in full in reports.
SMALL_ARRAY = 64


class CheckFailure(AssertionError):
    """The student's value is wrong; ``message`` says how."""

    def __init__(self, message: str, expected: Any = None, got: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = _small(expected)
        self.got = _small(got)


class StudentCodeFailure(Exception):
    """A call into student code did not return a value (raised by the ``student`` fixture).

    ``outcome`` is a :class:`autograder.sandbox.client.CallOutcome`.
    """

    def __init__(self, outcome: Any, call: str) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome
        self.call = call


def tolerance_for(dtype: Any) -> tuple[float, float]:
    """(rtol, atol) suited to ``dtype``: tight for float64, looser for float32 and below."""
    dt = np.dtype(dtype)
    if dt.kind in "iub":
        return 0.0, 0.0
    if dt.itemsize >= 8:
        return 1e-6, 1e-8
    return 1e-4, 1e-5


def describe_call(function: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """``conv2d_forward(array(2, 3, 7, 7) float64, stride=2)``: a call, readable at a glance."""
    parts = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 4 and value.ndim <= 1:
            return np.array2string(value, separator=", ")
        return f"array{tuple(value.shape)} {value.dtype}"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_describe(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    return repr(value)


def _small(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.size <= SMALL_ARRAY and value.dtype.kind in "biuf":
            return np.round(value.astype(float), 6).tolist() if value.dtype.kind == "f" else value.tolist()
        return None
    if isinstance(value, (int, float, bool, str)) or value is None:
        return value
    return None


def _as_array(value: Any, name: str, call: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if _all_numbers(value):
        return np.asarray(value, dtype=np.float64)
    raise CheckFailure(f"{call} returned {_kind(value)}, expected {name}.", got=None)


def _all_numbers(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_all_numbers(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "None (did you forget a return statement?)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    return f"a {type(value).__name__} ({str(value)[:60]})"


def assert_allclose(
    got: Any,
    expected: Any,
    *,
    call: str = "your function",
    rtol: float | None = None,
    atol: float | None = None,
    hint: str = "",
    mistakes: Mapping[str, Any] | None = None,
) -> None:
    """Check that ``got`` is an array of ``expected``'s shape with values within tolerance.

    ``mistakes`` maps a hint to the value a classic mistake would produce; when
    ``got`` matches one of those, its hint is given.  Tolerances default to
    :func:`tolerance_for` the expected dtype and are stated in the message.
    """
    exp = np.asarray(expected)
    arr = _as_array(got, f"an array of shape {tuple(exp.shape)}", call)
    if arr.dtype.kind not in "biufc":
        raise CheckFailure(f"{call} returned an array of dtype {arr.dtype}, expected numbers.")
    if arr.shape != exp.shape:
        msg = f"{call} returned shape {tuple(arr.shape)}, expected {tuple(exp.shape)}."
        raise CheckFailure(_with_hint(msg, hint, arr, mistakes), expected=exp, got=arr)
    d_rtol, d_atol = tolerance_for(exp.dtype if exp.dtype.kind == "f" else np.float64)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    exp_f = exp.astype(np.float64)
    arr_f = arr.astype(np.float64) if arr.dtype.kind != "c" else arr
    bad_nan = ~np.isfinite(arr_f) & np.isfinite(exp_f)
    if bad_nan.any():
        idx = tuple(int(i) for i in np.argwhere(bad_nan)[0])
        msg = (
            f"{call} returned {arr_f[idx]} at index {idx} where {exp_f[idx]:.6g} was expected "
            f"({int(bad_nan.sum())} non-finite values in all). Look for overflow, a division "
            "by zero or an uninitialised array (np.empty)."
        )
        raise CheckFailure(_with_hint(msg, hint, arr, mistakes), expected=exp, got=arr)
    close = np.isclose(arr_f, exp_f, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    idx = tuple(int(i) for i in np.argwhere(~close)[0])
    abs_err = np.abs(arr_f - exp_f)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_err = np.where(np.abs(exp_f) > 0, abs_err / np.abs(exp_f), np.inf)
    shown_idx = idx if idx else "()"
    msg = (
        f"{call} returned wrong values: {int((~close).sum())} of {close.size} differ. "
        f"First at index {shown_idx}: got {arr_f[idx]:.6g}, expected {exp_f[idx]:.6g}. "
        f"Max abs error {float(np.nanmax(abs_err)):.3g}, max rel error "
        f"{float(np.nanmax(rel_err[~close])):.3g} (tolerance rtol={rtol:g}, atol={atol:g})."
    )
    raise CheckFailure(_with_hint(msg, hint, arr, mistakes), expected=exp, got=arr)


def _with_hint(msg: str, hint: str, got: np.ndarray, mistakes: Mapping[str, Any] | None) -> str:
    for mistake_hint, value in (mistakes or {}).items():
        val = np.asarray(value)
        if (
            val.shape == got.shape
            and got.dtype.kind in "biuf"
            and np.allclose(got.astype(np.float64), val.astype(np.float64), rtol=1e-5, atol=1e-7)
        ):
            return f"{msg} Hint: {mistake_hint}"
    return f"{msg} Hint: {hint}" if hint else msg


def assert_equal(got: Any, expected: Any, *, call: str = "your function", hint: str = "") -> None:
    """Exact equality for integers, strings, booleans and tuples of them (no ``__eq__`` of the student's)."""
    if _plain(got) != _plain(expected) or type(_plain(got)) is not type(_plain(expected)):
        msg = f"{call} returned {_show(got)}, expected {_show(expected)}."
        raise CheckFailure(f"{msg} Hint: {hint}" if hint else msg, expected=expected, got=got)


def _plain(value: Any) -> Any:
    """Normalise NumPy scalars and 0-d arrays to Python numbers; tuples/lists to tuples."""
    if isinstance(value, (np.ndarray, np.generic)) and value.ndim == 0 and value.dtype.kind in "biuf":
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return ("<unsupported>", type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return _kind(value)
    plain = _plain(value)
    return _kind(value) if _unsupported(plain) else repr(plain)


def _unsupported(plain: Any) -> bool:
    if isinstance(plain, tuple):
        return plain[:1] == ("<unsupported>",) or any(_unsupported(p) for p in plain)
    return False


def assert_true(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition``: for properties (orthonormal, sorted, ...)."""
    if not bool(condition):
        raise CheckFailure(message)


def assert_finite(got: Any, *, call: str = "your function") -> np.ndarray:
    """Check ``got`` is a numeric array (or number) with no NaN/inf; return it as an array."""
    arr = _as_array(got, "a numeric array", call)
    if arr.dtype.kind not in "biuf":
        raise CheckFailure(f"{call} returned an array of dtype {arr.dtype}, expected numbers.")
    if not np.isfinite(arr.astype(np.float64)).all():
        raise CheckFailure(
            f"{call} returned NaN or inf values. Look for overflow (too large a "
            "learning rate?), a division by zero or an uninitialised array."
        )
    return arr


def expect_raises(exc_name: str, func: Callable[..., Any], *args: Any, reason: str = "", **kwargs: Any) -> None:
    """Check that ``func(*args, **kwargs)`` (a ``student`` function) raises ``exc_name``."""
    name = getattr(func, "__name__", "function")
    call = describe_call(name, args, kwargs)
    try:
        value = func(*args, **kwargs)
    except StudentCodeFailure as failure:
        if failure.outcome.kind == "error" and failure.outcome.exc_type == exc_name:
            return
        if failure.outcome.kind != "error":
            raise
        raise CheckFailure(
            f"{call} raised {failure.outcome.exc_type or 'an error'}, expected {exc_name}"
            + (f" ({reason})." if reason else ".")
        ) from None
    raise CheckFailure(
        f"{call} returned {_show(value)}, expected it to raise {exc_name}" + (f" ({reason})." if reason else ".")
    )
