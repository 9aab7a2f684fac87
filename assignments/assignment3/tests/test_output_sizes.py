"""Public checks: output sizes of convolution, pooling and transpose convolution (the slides' examples)."""

from __future__ import annotations

import pytest
from cnn_cases import size_hint

from autograder.checks import assert_equal, describe_call, expect_raises

pytestmark = pytest.mark.question("output_sizes")

CONV_FORMULA = ("The output size is (N - F + 2P) / S + 1, with F replaced by D·(F - 1) + 1 "
                "when the filter is dilated.")


@pytest.mark.points(1)
def test_conv_output_size_slides_stride_one(student):
    got = student.conv_output_size(7, 3)
    hint = size_hint(got, {"You are off by one: don't forget the + 1 (a 3×3 filter fits at "
                           "5 positions of a 7-wide input).": 4}, CONV_FORMULA)
    assert_equal(got, 5, call=describe_call("conv_output_size", (7, 3), {}), hint=hint)


@pytest.mark.points(1)
def test_conv_output_size_slides_stride_two(student):
    got = student.conv_output_size(7, 3, stride=2)
    hint = size_hint(got, {"You are off by one: don't forget the + 1 after dividing by the "
                           "stride.": 2, "Divide (N - F + 2P) by the stride S before adding 1.": 5},
                     CONV_FORMULA)
    assert_equal(got, 3, call=describe_call("conv_output_size", (7, 3), {"stride": 2}), hint=hint)


@pytest.mark.points(1)
def test_conv_output_size_with_padding(student):
    got = student.conv_output_size(5, 3, stride=1, padding=1)
    hint = size_hint(got, {"The padding was forgotten: with P zeros on each side the input is "
                           "N + 2P wide, so a 3×3 filter with padding 1 keeps the size.": 3,
                           "Padding adds P on EACH side: N + 2P, not N + P.": 4},
                     CONV_FORMULA)
    assert_equal(got, 5, call=describe_call("conv_output_size", (5, 3), {"stride": 1, "padding": 1}),
                 hint=hint)


@pytest.mark.points(1)
def test_conv_output_size_filter_does_not_fit(student):
    expect_raises("ValueError", student.conv_output_size, 7, 3, stride=3,
                  reason="with a 7×7 input, a 3×3 filter and stride 3, (7 - 3) / 3 + 1 = 2.33 "
                         "is not an integer: the filter doesn't fit")


@pytest.mark.points(1)
def test_pool_output_size_halves(student):
    got = student.pool_output_size(224, 2, 2)
    hint = size_hint(got, {"You are off by one: (N - F) / S + 1.": 111},
                     "A 2×2 pool with stride 2 halves the size: (N - F) / S + 1.")
    assert_equal(got, 112, call=describe_call("pool_output_size", (224, 2, 2), {}), hint=hint)


@pytest.mark.points(1)
def test_transpose_conv_output_size_doubles(student):
    got = student.transpose_conv_output_size(4, 4, stride=2, padding=1)
    hint = size_hint(got, {"Padding removes P from EACH side of the output: subtract 2P, "
                           "not P.": 9, "Padding is subtracted in a transpose convolution, "
                           "not added.": 12},
                     "The output size is (N - 1)·S - 2P + D·(F - 1) + output_padding + 1.")
    assert_equal(got, 8, call=describe_call("transpose_conv_output_size", (4, 4),
                                            {"stride": 2, "padding": 1}), hint=hint)
