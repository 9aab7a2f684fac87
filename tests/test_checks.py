"""The assertion helpers: every message says what differs and how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks import (
    CheckFailure,
    StudentCodeFailure,
    _within,
    assert_allclose,
    assert_equal,
    assert_finite,
    describe_call,
    expect_raises,
    tolerance_for,
)
from autograder.plugin import Student
from autograder.sandbox.client import CallOutcome


class InProcessSandbox:
    """Stand-in sandbox for unit tests: runs trusted test functions in this process."""

    isolation_level = "in-process"

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        self.functions = functions

    def start(self) -> None:
        pass

    def call(self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallOutcome:
        if function not in self.functions:
            return CallOutcome("missing", function, message=f"no function named {function}")
        try:
            return CallOutcome("ok", function, value=self.functions[function](*args, **kwargs))
        except NotImplementedError:
            return CallOutcome("not_implemented", function, message="not implemented")
        except Exception as exc:
            return CallOutcome("error", function, message=str(exc), exc_type=type(exc).__name__)

    def load_problems(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


def failure(fn: Callable[[], object]) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        fn()
    return info.value


def test_shape_mismatch_is_reported_first() -> None:
    exc = failure(
        lambda: assert_allclose(np.zeros((2, 8, 6, 6)), np.zeros((2, 8, 5, 5)), call="conv2d_forward(x, w, stride=2)")
    )
    assert exc.message == ("conv2d_forward(x, w, stride=2) returned shape (2, 8, 6, 6), expected (2, 8, 5, 5).")


def test_value_mismatch_gives_index_errors_and_tolerance() -> None:
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] += 0.5
    msg = failure(lambda: assert_allclose(got, expected, call="f(x)")).message
    assert "1 of 6 differ" in msg
    assert "First at index (1, 2): got 5.5, expected 5" in msg
    assert "Max abs error 0.5" in msg and "rtol=1e-06" in msg


def test_classic_mistake_is_recognised() -> None:
    x = np.arange(9.0).reshape(3, 3)
    msg = failure(
        lambda: assert_allclose(
            x[::-1, ::-1], x, call="conv(x)", mistakes={"the kernel looks flipped": x[::-1, ::-1]}, hint="generic hint"
        )
    ).message
    assert msg.endswith("Hint: the kernel looks flipped")
    msg = failure(
        lambda: assert_allclose(
            x + 1, x, call="conv(x)", mistakes={"the kernel looks flipped": x[::-1, ::-1]}, hint="generic hint"
        )
    ).message
    assert msg.endswith("Hint: generic hint")


def test_nan_and_wrong_types_have_their_own_messages() -> None:
    msg = failure(lambda: assert_allclose(np.array([1.0, np.nan]), np.ones(2), call="f()")).message
    assert "nan at index (1,)" in msg and "overflow" in msg
    msg = failure(lambda: assert_allclose(None, np.ones(2), call="f()")).message
    assert "returned None (did you forget a return statement?)" in msg
    msg = failure(lambda: assert_allclose((np.ones(2), 1), np.ones(2), call="f()")).message
    assert "a tuple of 2 values" in msg
    msg = failure(lambda: assert_finite(np.array([np.inf]), call="fit(X, y)")).message
    assert "NaN or inf" in msg


def test_scalars_and_lists_compare_as_arrays() -> None:
    assert_allclose(1.0 + 1e-12, 1.0)
    assert_allclose([1.0, 2.0], np.array([1.0, 2.0]))
    failure(lambda: assert_allclose(1.1, 1.0))


def test_assert_equal_is_exact_and_ignores_numpy_scalar_types() -> None:
    assert_equal(np.int64(5), 5)
    assert_equal(5.0, 5)
    assert_equal((np.int64(2), 3), (2, 3))
    assert "returned 6, expected 5" in failure(lambda: assert_equal(6, 5, call="n()")).message
    failure(lambda: assert_equal(True, 1))
    failure(lambda: assert_equal("5", 5))


def test_expect_raises_through_the_student_proxy() -> None:
    def size(n: int, f: int, stride: int = 1) -> int:
        if (n - f) % stride:
            raise ValueError("does not fit")
        return (n - f) // stride + 1

    student = Student(
        InProcessSandbox(
            {
                "size": size,
                "wrong": lambda n, f, stride=1: 2,
                "todo": lambda *a, **k: (_ for _ in ()).throw(NotImplementedError()),
            }
        )
    )
    expect_raises("ValueError", student.size, 7, 3, stride=3)
    msg = failure(lambda: expect_raises("ValueError", student.wrong, 7, 3, stride=3, reason="3x3 does not fit")).message
    assert msg == "wrong(7, 3, stride=3) returned 2, expected it to raise ValueError (3x3 does not fit)."
    with pytest.raises(StudentCodeFailure):
        expect_raises("ValueError", student.todo, 7, 3)


def test_a_described_array_reads_the_same_however_often_and_never_as_another_dtype() -> None:
    """Call descriptions are kept by dtype, shape and bytes: the int64 1 and the float64 5e-324
    have the same bytes, and neither may be shown as the other."""
    ints, floats = np.array([1], dtype=np.int64), np.array([5e-324])
    assert ints.tobytes() == floats.tobytes()
    for _ in range(2):
        assert describe_call("f", (ints,), {}) == "f([1])"
        assert describe_call("f", (floats,), {}) == "f([5.e-324])"
        assert describe_call("f", (np.zeros((2, 3), np.float32),), {}) == "f(float32 array of shape (2, 3))"


def test_describe_call_is_short() -> None:
    x = np.zeros((2, 3, 7, 7))
    assert describe_call("conv2d_forward", (x, None), {"stride": (2, 1)}) == (
        "conv2d_forward(float64 array of shape (2, 3, 7, 7), None, stride=(2, 1))"
    )


def test_tolerances_follow_the_dtype() -> None:
    assert tolerance_for(np.float64) == (1e-6, 1e-8)
    assert tolerance_for(np.float32)[0] > 1e-6
    assert tolerance_for(np.int64) == (0.0, 0.0)


def test_float32_results_are_judged_at_float32_precision_and_real_bugs_still_fail() -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((50, 27)), rng.standard_normal(27)
    expected = x @ w
    got32 = (x.astype(np.float32) @ w.astype(np.float32)).astype(np.float32)
    assert_allclose(got32, expected, call="conv(x, w)", terms=27)
    # the same float32 values stored in a float64 array, and passed through float()
    assert_allclose(got32.astype(np.float64), expected, call="conv(x, w)", terms=27)
    assert_allclose(float(got32[0]), expected[0], call="loss(x)")
    # an explicit float64 tolerance is a floor, not a ceiling, for float32
    assert_allclose(got32, expected, call="conv(x, w)", rtol=1e-12, atol=1e-15, terms=27)
    # a window off by one, a wrong normaliser: far beyond float32 rounding
    failure(lambda: assert_allclose(got32 * (1 + 1e-3), expected, call="f()", terms=27))
    failure(lambda: assert_allclose(np.roll(got32, 1), expected, call="f()", terms=27))
    # float64 results keep float64's default strictness
    failure(lambda: assert_allclose(expected * (1 + 1e-5), expected, call="f()"))


def test_required_dtype_names_both_dtypes() -> None:
    msg = failure(
        lambda: assert_allclose(np.ones(3, np.float32), np.ones(3), call="whiten(X)", required_dtype=np.float64)
    ).message
    assert "whiten(X) returned float32; this function must return float64" in msg


def test_digits_that_differ_and_whether_float32_explains_the_gap() -> None:
    msg = failure(lambda: assert_allclose(np.array([0.95000012]), np.array([0.95]), call="f()", rtol=1e-9)).message
    assert "got 0.9500001, expected 0.9500000" in msg, msg
    assert "agree in the first 6 significant digits" in msg and "within float32 precision" in msg
    msg = failure(lambda: assert_allclose(np.array([0.9500031]), np.array([0.95]), call="f()")).message
    assert "got 0.950003, expected 0.95" in msg and "significant digits" not in msg


def test_a_mistake_hint_that_equals_the_answer_never_fires() -> None:
    expected = np.array([1.0, 2.0])
    msg = failure(
        lambda: assert_allclose(
            np.array([1.5, 2.0]), expected, call="sgd_step()", mistakes={"weight decay after momentum": expected}
        )
    ).message
    assert "weight decay" not in msg


def test_ragged_lists_fail_with_a_message() -> None:
    msg = failure(lambda: assert_allclose([[1.0], [1.0, 2.0]], np.ones((2, 2)), call="f()")).message
    assert "ragged" in msg


_FINITE = {w: st.floats(allow_nan=False, allow_infinity=False, width=w) for w in (64, 32)}


@settings(max_examples=300, deadline=None)
@given(
    arrays=st.integers(1, 6).flatmap(
        lambda n: st.tuples(*[st.lists(_FINITE[w], min_size=n, max_size=n) for w in (64, 32)])
    ),
    nudge=st.sampled_from([0.0, 1e-12, 1e-7, 1e-3, 1.0]),
    rtol=st.sampled_from([0.0, 1e-9, 1e-6, 1e-3, np.inf]),
    atol=st.sampled_from([0.0, 1e-300, 1e-8, 1.0, np.inf]),
)
def test_finite_values_are_close_exactly_when_np_isclose_says_so(
    arrays: tuple[list[float], list[float]], nudge: float, rtol: float, atol: float
) -> None:
    expected, other = (np.array(a, np.float64) for a in arrays)
    with np.errstate(over="ignore"):
        pairs = [(got, expected) for got in (other, expected * (1 + nudge), expected + nudge, -expected)]
        pairs.append((expected * (1 + nudge) + 1j * other[::-1], expected + 1j * other[::-1]))
    for got, exp in pairs:
        if not (np.isfinite(got).all() and np.isfinite(exp).all()):
            continue  # what _within is told: finite values only
        with np.errstate(over="ignore", invalid="ignore"):
            want = np.isclose(got, exp, rtol=rtol, atol=atol, equal_nan=True)
        np.testing.assert_array_equal(_within(got, exp, rtol, atol, all_finite=True), want)
