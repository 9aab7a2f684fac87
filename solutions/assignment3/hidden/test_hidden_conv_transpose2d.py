"""Hidden checks: conv_transpose2d against F.conv_transpose2d (stride, padding, output_padding, pairs)."""

from __future__ import annotations

import numpy as np
import pytest
from cnn_cases import conv_t, pair

from autograder.checks import assert_allclose, describe_call, reference

pytestmark = pytest.mark.question("conv_transpose2d")

FORMULA = ("Each input value scales a copy of the filter that is added to the full output at "
           "(i·SH, j·SW), overlaps summed; the full output has (H - 1)·SH + FH + OPH rows; then "
           "PH rows are cut at the top AND the bottom (PW columns left AND right) and the bias "
           "is added.")


@reference
def mistakes(x, w, b=None, stride=1, padding=0, output_padding=0) -> dict[str, np.ndarray]:
    """What classic mistakes would return for this call."""
    out = {"The kernel looks flipped: conv_transpose2d scatters w[c, o, u, v] to output "
           "(i·SH + u, j·SW + v) without flipping it.":
           conv_t(x, w[:, :, ::-1, ::-1], b, stride, padding, output_padding)}
    if b is not None:
        out["The bias is missing: add b[o] to every output of channel o."] = conv_t(
            x, w, None, stride, padding, output_padding)
    ph, pw = pair(padding)
    expected = conv_t(x, w, b, stride, padding, output_padding)
    h, wd = expected.shape[2:]
    full = conv_t(x, w, b, stride, 0, output_padding)
    if (ph, pw) != (0, 0):
        out["The output was cropped at the end only: padding removes PH rows at the top AND "
            "at the bottom (PW columns on the left AND the right)."] = full[:, :, :h, :wd]
        out["The padding was not removed: cut PH rows and PW columns from each side of the "
            "full output."] = full
    return out


def check(student, x, w, b=None, **kwargs) -> None:
    args = (x, w) if b is None else (x, w, b)
    got = student.conv_transpose2d(*args, **kwargs)
    assert_allclose(got, conv_t(x, w, b, **kwargs), hint=FORMULA,
                    call=describe_call("conv_transpose2d", args, kwargs),
                    mistakes=mistakes(x, w, b, **kwargs))


@pytest.mark.points(3)
def test_conv_transpose2d_random_stride_padding_bias(student, rng):
    c_in, c_out = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    f = int(rng.integers(2, 5))
    x = rng.standard_normal((2, c_in, int(rng.integers(2, 5)), int(rng.integers(2, 5))))
    check(student, x, rng.standard_normal((c_in, c_out, f, f)), rng.standard_normal(c_out),
          stride=int(rng.integers(2, 4)), padding=int(rng.integers(1, f // 2 + 1)))


@pytest.mark.points(3)
def test_conv_transpose2d_output_padding(student, rng):
    c_in, c_out = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    x = rng.standard_normal((1, c_in, int(rng.integers(2, 5)), int(rng.integers(2, 5))))
    w = rng.standard_normal((c_in, c_out, 3, 3))
    check(student, x, w, stride=2, padding=1, output_padding=1)
    check(student, x, w, stride=3, output_padding=(2, 1))


@pytest.mark.points(3)
def test_conv_transpose2d_pair_arguments(student, rng):
    c_in, c_out = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    x = rng.standard_normal((1, c_in, int(rng.integers(2, 5)), int(rng.integers(2, 5))))
    w = rng.standard_normal((c_in, c_out, 4, 3))
    check(student, x, w, rng.standard_normal(c_out), stride=(2, 3), padding=(1, 2),
          output_padding=(1, 0))


@pytest.mark.points(2)
def test_conv_transpose2d_batch_without_bias(student, rng):
    c_in, c_out = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    x = rng.standard_normal((int(rng.integers(2, 4)), c_in, 3, 4))
    check(student, x, rng.standard_normal((c_in, c_out, 2, 2)), stride=2)


@pytest.mark.points(3)
def test_conv_transpose2d_large_padding(student, rng):
    x = rng.standard_normal((1, 2, int(rng.integers(3, 6)), int(rng.integers(3, 6))))
    w = rng.standard_normal((2, 2, 5, 5))
    check(student, x, w, rng.standard_normal(2), padding=2)  # "same" size with stride 1
    check(student, x, w, stride=2, padding=(4, 3))
