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

from .references import REFERENCE_CACHE_ENV, clear_reference_cache, reference

__all__ = [
    "REFERENCE_CACHE_ENV",
    "CheckFailure",
    "NotRun",
    "StudentCodeFailure",
    "assert_allclose",
    "assert_equal",
    "assert_finite",
    "assert_true",
    "clear_reference_cache",
    "describe_call",
    "describe_value",
    "expect_raises",
    "precision_of",
    "reference",
    "rounding_tolerance",
    "tolerance_for",
    "unpack",
]

#: Arrays with at most this many elements are shown in full in reports.
SMALL_ARRAY = 64
#: Rounding a result may carry, in machine epsilons per square root of the terms summed
#: into one output: a sum of n products of magnitude M is off by about eps * M * sqrt(n).
ROUNDING = 8.0
#: Terms summed into one output when a check does not say (a small matrix product).
DEFAULT_TERMS = 100
#: The tolerance of a float64 comparison when a check gives none.
DEFAULT_RTOL, DEFAULT_ATOL = 1e-6, 1e-8
#: Longest student text quoted in a message (a returned string may be megabytes).
QUOTE_CHARS = 200


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


def precision_of(value: Any) -> np.dtype[Any]:
    """The float precision ``value`` was returned in: float16, float32 or float64.

    Integer, boolean and Python numbers count as float64; a complex64 array as float32.
    For lists and tuples, the lowest precision of the arrays they hold.
    """
    lowest = np.dtype(np.float64)
    stack, seen = [value], 0
    while stack and seen < 10_000:
        item = stack.pop()
        seen += 1
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (np.ndarray, np.generic)) and item.dtype.kind in "fc":
            bits = item.dtype.itemsize if item.dtype.kind == "f" else item.dtype.itemsize // 2
            if bits < lowest.itemsize:
                lowest = np.dtype(f"f{bits}")
    return lowest


def rounding_tolerance(precision: Any, terms: float = DEFAULT_TERMS) -> float:
    """Relative error that rounding in ``precision`` may cause in an output summing ``terms`` products."""
    return ROUNDING * float(np.finfo(np.dtype(precision)).eps) * float(np.sqrt(max(terms, 1.0)))


class NotRun(StudentCodeFailure):
    """A call failed because the module holding the function did not import: the check did not run."""

    def __init__(self, outcome: Any, call: str, modules: tuple[str, ...]) -> None:
        super().__init__(outcome, call)
        #: The student's module files that failed to import.
        self.modules = modules

    @property
    def message(self) -> str:
        return f"not run: {', '.join(self.modules)} did not import (see the note at the top)"


def tolerance_for(dtype: Any, *, terms: float = DEFAULT_TERMS, scale: float = 1.0) -> tuple[float, float]:
    """(rtol, atol) for a result of ``dtype``: float64's default, loosened to what rounding in
    ``dtype`` may cost for an output of ``terms`` products whose magnitude is about ``scale``."""
    dt = np.dtype(dtype)
    if dt.kind in "iub":
        return 0.0, 0.0
    floor = rounding_tolerance(precision_of(np.zeros(0, dt)), terms)
    return max(DEFAULT_RTOL, floor), max(DEFAULT_ATOL, floor * scale)


def describe_call(function: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """``conv2d_forward(float64 array of shape (2, 3, 7, 7), stride=2)``: a call, readable at a glance."""
    parts = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 4 and value.ndim <= 1:
            return _small_array_text(value)
        name = _DTYPE_NAMES.get(value.dtype)
        if name is None:
            name = _DTYPE_NAMES.setdefault(value.dtype, str(value.dtype))
        return f"{name} array of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_describe(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    return _quote(repr(value))


#: ``str(dtype)`` runs Python code in NumPy (~7 µs), and every check describes its calls.
_DTYPE_NAMES: dict[np.dtype[Any], str] = {}
#: ``np.array2string`` of small numeric arrays (~45 µs each), by dtype, shape and bytes: a
#: batch's checks describe the same cases for every submission.
_SMALL_ARRAYS: dict[tuple[str, tuple[int, ...], bytes], str] = {}


def _small_array_text(value: np.ndarray) -> str:
    if value.dtype.kind not in "biufc":
        return np.array2string(value, separator=", ")
    key = (value.dtype.str, value.shape, value.tobytes())
    text = _SMALL_ARRAYS.get(key)
    if text is None:
        if len(_SMALL_ARRAYS) >= 4096:
            _SMALL_ARRAYS.clear()
        text = _SMALL_ARRAYS[key] = np.array2string(value, separator=", ")
    return text


def _quote(text: str) -> str:
    """``text`` shortened to :data:`QUOTE_CHARS` characters, marked when cut."""
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 5] + " [...]"


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
        try:
            return np.asarray(_plain_numbers(value), dtype=precision_of(value))
        except ValueError:  # rows of different lengths
            raise CheckFailure(f"{call} returned a ragged list (rows of different lengths), expected {name}.") from None
    raise CheckFailure(f"{call} returned {_kind(value)}, expected {name}.", got=None)


def _all_numbers(value: Any, depth: int = 0) -> bool:
    """Numbers, one-element numeric arrays (a NumPy scalar crosses as one) and lists of them."""
    if isinstance(value, (list, tuple)):
        return depth < 8 and all(_all_numbers(v, depth + 1) for v in value)
    if isinstance(value, np.ndarray):
        return value.size == 1 and value.ndim <= 1 and value.dtype.kind in "biuf"
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _plain_numbers(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.reshape(-1)[0].item()
    return value


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
    terms: float = DEFAULT_TERMS,
    scale: float | None = None,
    precision: Any = None,
    required_dtype: Any = None,
) -> None:
    """Check that ``got`` is an array of ``expected``'s shape with values within tolerance.

    Values are compared at the precision the student returned them in
    (:func:`precision_of`, or ``precision`` when lower and a check knows better, e.g. for a
    float that came back beside float32 arrays).  ``rtol``/``atol`` say how strict to be in
    float64 (default 1e-6 and 1e-8); a float32 or float16 result is given at least the
    error rounding may cause there (:func:`rounding_tolerance`): ``terms`` is how many
    products one output sums and ``scale`` their magnitude (default: the largest
    ``|expected|``), so outputs near zero are judged against the size of the computation,
    not by relative error.  ``required_dtype`` (e.g. ``np.float64``) fails a result of
    lower precision with a message saying so: for functions whose docstring asks for it.

    ``mistakes`` maps a hint to the value a classic mistake would produce; when
    ``got`` matches one of those (and it differs from ``expected``), its hint is given.
    """
    exp = np.asarray(expected)
    arr = _as_array(got, f"an array of shape {tuple(exp.shape)}", call)
    if arr.dtype.kind not in "biufc":
        raise CheckFailure(f"{call} returned an array of dtype {arr.dtype}, expected numbers.")
    if arr.shape != exp.shape:
        msg = f"{call} returned shape {tuple(arr.shape)}, expected {tuple(exp.shape)}."
        raise CheckFailure(_with_hint(msg, hint, arr, exp, mistakes, 1e-5, 1e-7), expected=exp, got=arr)
    returned = _returned_precision(got, arr, exp)
    if precision is not None and np.dtype(precision).itemsize < returned.itemsize:
        returned = np.dtype(precision)
    lowest = min(returned, precision_of(exp), key=lambda d: d.itemsize)
    if required_dtype is not None and lowest.itemsize < np.dtype(required_dtype).itemsize:
        raise CheckFailure(
            f"{call} returned {returned}; this function must return {np.dtype(required_dtype)} "
            f"(its docstring asks for it). Compute in {np.dtype(required_dtype)}: drop the "
            f"astype/dtype={returned} conversions.",
            expected=exp,
            got=arr,
        )
    exp_f = exp.astype(np.float64) if exp.dtype.kind != "c" else exp
    arr_f = arr.astype(np.float64) if arr.dtype.kind != "c" else arr
    exp_finite = np.isfinite(exp_f)
    finite = np.abs(exp_f[exp_finite])
    if scale is None:
        scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    floor = rounding_tolerance(lowest, terms)
    rtol = max(DEFAULT_RTOL if rtol is None else rtol, floor)
    atol = max(DEFAULT_ATOL if atol is None else atol, floor * scale)
    bad_nan = ~np.isfinite(arr_f) & exp_finite
    if bad_nan.any():
        idx = tuple(int(i) for i in np.argwhere(bad_nan)[0])
        msg = (
            f"{call} returned {arr_f[idx]} at index {idx} where {exp_f[idx]:.6g} was expected "
            f"({int(bad_nan.sum())} non-finite values in all). Look for overflow, a division "
            "by zero or an uninitialised array (np.empty)."
        )
        raise CheckFailure(_with_hint(msg, hint, arr, exp, mistakes, rtol, atol), expected=exp, got=arr)
    close = _within(arr_f, exp_f, rtol, atol, all_finite=bool(exp_finite.all()))
    if close.all():
        return
    idx = tuple(int(i) for i in np.argwhere(~close)[0])
    abs_err = np.abs(arr_f - exp_f)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_err = np.where(np.abs(exp_f) > 0, abs_err / np.abs(exp_f), np.inf)
    shown_idx = idx if idx else "()"
    got_text, exp_text, note = _difference(arr_f[idx], exp_f[idx], returned, scale, terms)
    msg = (
        f"{call} returned wrong values: {int((~close).sum())} of {close.size} differ. "
        f"First at index {shown_idx}: got {got_text}, expected {exp_text}.{note} "
        f"Max abs error {float(np.nanmax(abs_err)):.3g}, max rel error "
        f"{float(np.nanmax(rel_err[~close])):.3g} (tolerance rtol={rtol:.3g}, atol={atol:.3g} "
        f"for a {lowest} result)."
    )
    raise CheckFailure(_with_hint(msg, hint, arr, exp, mistakes, rtol, atol), expected=exp, got=arr)


def _within(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float, *, all_finite: bool) -> np.ndarray:
    """``np.isclose(got, expected, rtol, atol, equal_nan=True)``; when the caller knows both
    arrays hold only finite values (``all_finite``), isclose's own formula for them, without
    its care for infinite and nan values, which is most of its cost for small arrays."""
    if not all_finite:
        return np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    with np.errstate(over="ignore", invalid="ignore"):  # a tolerance of inf times 0, as in isclose
        return (np.abs(got - expected) <= atol + rtol * np.abs(expected)) | (got == expected)


def _returned_precision(got: Any, arr: np.ndarray, exp: np.ndarray) -> np.dtype[Any]:
    """:func:`precision_of` ``got``, except that float64 values which all are float32 numbers
    (a float32 result stored in a float64 array, or passed through ``float()``) count as
    float32 when the expected values are not all float32 numbers themselves."""
    returned = precision_of(got)
    if returned.itemsize < 8 or arr.dtype.kind != "f" or exp.dtype.kind not in "f" or arr.size == 0:
        return returned
    with np.errstate(all="ignore"):
        arr_finite = arr[np.isfinite(arr)]
        if not arr_finite.size or not (arr_finite == arr_finite.astype(np.float32)).all():
            return returned  # what honest float64 results are: no need to look at the expected values
        exp_finite = exp[np.isfinite(exp)].astype(np.float64)
        if not (exp_finite == exp_finite.astype(np.float32)).all():
            return np.dtype(np.float32)
    return returned


def _difference(got: Any, expected: Any, returned: np.dtype[Any], scale: float, terms: float) -> tuple[str, str, str]:
    """``got`` and ``expected`` printed so that they differ, and a note when 6 digits hid the gap."""
    if isinstance(got, complex) or isinstance(expected, complex) or np.iscomplexobj(got):
        return f"{got:.6g}", f"{expected:.6g}", ""
    got, expected = float(got), float(expected)
    short = f"{got:.6g}", f"{expected:.6g}"
    if short[0] != short[1]:
        return short[0], short[1], ""
    digits = 7
    while digits < 17 and f"{got:.{digits}g}" == f"{expected:.{digits}g}":
        digits += 1
    shown = f"{got:#.{digits}g}", f"{expected:#.{digits}g}"  # '#': 0.9500000, not 0.95
    gap = abs(got - expected)
    if gap <= rounding_tolerance(np.float32, terms) * max(scale, abs(expected)):
        why = (
            " The gap is within float32 precision: your result is float64 but looks computed in "
            "float32 (or through a float32 value). Return the float32 array itself (it is then "
            "judged at float32 precision) or compute in float64 throughout."
            if returned.itemsize >= 8
            else " The gap is within float32 precision."
        )
    else:
        why = " The gap is larger than float32 rounding explains: a small term is off (an epsilon, a factor, a step)."
    return shown[0], shown[1], f" They agree in the first {digits - 1} significant digits.{why}"


def _with_hint(
    msg: str,
    hint: str,
    got: np.ndarray,
    expected: np.ndarray,
    mistakes: Mapping[str, Any] | None,
    rtol: float,
    atol: float,
) -> str:
    """``msg`` with the hint of the first mistake ``got`` matches, else the generic ``hint``.

    A mistake whose value is the expected value (weight decay added after momentum,
    when there is no momentum) cannot be told apart from correct code: its hint never fires.
    """
    if got.dtype.kind in "biuf":
        got_f = got.astype(np.float64)
        exp_f = expected.astype(np.float64) if expected.dtype.kind in "biuf" else None
        for mistake_hint, value in (mistakes or {}).items():
            val = np.asarray(value)
            if val.shape != got.shape or val.dtype.kind not in "biuf":
                continue
            val_f = val.astype(np.float64)
            if not np.allclose(got_f, val_f, rtol=rtol, atol=atol):
                continue
            if exp_f is not None and val.shape == expected.shape and np.allclose(val_f, exp_f, rtol=rtol, atol=atol):
                continue
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
        if isinstance(failure, NotRun):
            raise
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


def describe_value(value: Any) -> str:
    """What a student's function returned, in a few words: ``an array of shape (2, 3)``,
    ``a tuple of 2 values``, ``None (did you forget a return statement?)``."""
    return _kind(value)


def unpack(value: Any, count: int, call: str, names: str) -> tuple[Any, ...]:
    """``value`` as a tuple of ``count`` values (a tuple or list of that length), else a
    failure saying ``call`` should have returned the tuple ``names``, e.g. ``"(dw, db)"``."""
    if not (isinstance(value, (tuple, list)) and len(value) == count):
        raise CheckFailure(f"{call} returned {describe_value(value)}, expected a tuple {names}.")
    return tuple(value)
