"""Hidden checks: output sizes for random hyper-parameters, dilation, output_padding, "doesn't fit"."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cnn_cases import size_hint

from autograder.checks import assert_equal, describe_call, expect_raises

pytestmark = pytest.mark.question("output_sizes")


def fitting_case(rng: np.random.Generator) -> dict[str, int]:
    """Random (n, f, stride, padding, dilation) for which the filter fits exactly."""
    while True:
        f, s, d = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
        p, out = int(rng.integers(0, 3)), int(rng.integers(1, 9))
        n = (out - 1) * s + d * (f - 1) + 1 - 2 * p
        if n >= 1:
            return {"n": n, "f": f, "stride": s, "padding": p, "dilation": d}


@pytest.mark.points(1)
def test_conv_output_size_random_hyperparameters(student, rng):
    for _ in range(6):
        case = fitting_case(rng)
        n, f, s, p, d = case.values()
        expected = (n - d * (f - 1) - 1 + 2 * p) // s + 1
        got = student.conv_output_size(n, f, stride=s, padding=p, dilation=d)
        hint = size_hint(got, {
            "You are off by one: don't forget the + 1.": expected - 1,
            "Zero padding is added on BOTH sides: + 2P, not + P.": (n - d * (f - 1) - 1 + p) // s + 1,
            "With dilation D the filter covers D·(F - 1) + 1 positions.": (n - f + 2 * p) // s + 1,
        }, "The output size is (N - F_eff + 2P) / S + 1 with F_eff = D·(F - 1) + 1.")
        assert_equal(got, expected, hint=hint, call=describe_call(
            "conv_output_size", (n, f), {"stride": s, "padding": p, "dilation": d}))


@pytest.mark.points(1)
def test_conv_output_size_does_not_fit_random(student, rng):
    s = int(rng.integers(2, 5))
    f, p = int(rng.integers(2, 6)), int(rng.integers(0, 2))
    n = f - 2 * p + s * int(rng.integers(1, 4)) + int(rng.integers(1, s))  # remainder 1..s-1
    expect_raises("ValueError", student.conv_output_size, n, f, stride=s, padding=p,
                  reason=f"({n} - {f} + 2·{p}) / {s} + 1 is not an integer: the filter doesn't fit")
    big = int(rng.integers(3, 7))
    expect_raises("ValueError", student.conv_output_size, big - 1, big,
                  reason="a filter larger than the (padded) input doesn't fit")


@pytest.mark.points(1)
def test_pool_output_size_random_rounds_down(student, rng):
    for _ in range(4):
        f, s = int(rng.integers(2, 5)), int(rng.integers(1, 4))
        n = f + int(rng.integers(0, 12))
        expected = (n - f) // s + 1
        got = student.pool_output_size(n, f, s)
        hint = size_hint(got, {"Pooling drops a window that doesn't fit at the end: round "
                               "(N - F) / S down before adding 1.": -(-(n - f) // s) + 1},
                         "The output size is floor((N - F) / S) + 1, like PyTorch.")
        assert_equal(got, expected, call=describe_call("pool_output_size", (n, f, s), {}),
                     hint=hint)


@pytest.mark.points(1)
def test_transpose_conv_output_size_random(student, rng):
    for _ in range(4):
        n, f = int(rng.integers(1, 8)), int(rng.integers(1, 6))
        s, d = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        op = int(rng.integers(0, max(s, d)))
        p = int(rng.integers(0, (d * (f - 1) + (n - 1) * s + op) // 2 + 1))
        kwargs = {"stride": s, "padding": p, "output_padding": op, "dilation": d}
        shape = F.conv_transpose2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, f, 1), stride=(s, 1),
                                   padding=(p, 0), output_padding=(op, 0), dilation=(d, 1)).shape
        expected = int(shape[2])
        got = student.transpose_conv_output_size(n, f, **kwargs)
        hint = size_hint(got, {
            "Padding removes P from EACH side of the output: subtract 2P.": expected + p,
            "output_padding adds to the size: + output_padding.": expected - 2 * op,
            "With dilation D the filter covers D·(F - 1) + 1 positions.": expected - (d - 1) * (f - 1),
        }, "The output size is (N - 1)·S - 2P + D·(F - 1) + output_padding + 1.")
        assert_equal(got, expected, call=describe_call("transpose_conv_output_size", (n, f), kwargs),
                     hint=hint)
