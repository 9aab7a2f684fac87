"""Public checks: conv_transpose2d against torch.nn.functional.conv_transpose2d."""

from __future__ import annotations

import numpy as np
import pytest
from cnn_cases import conv_t

from autograder.checks import assert_allclose, describe_call, reference

pytestmark = pytest.mark.question("conv_transpose2d")

FORMULA = ("Each input value scales a copy of the filter that is added to the output at "
           "(i·S, j·S); overlapping copies are summed. Then P rows/columns are cut from EACH "
           "side and the bias is added.")


@reference
def mistakes(x, w, b=None, stride=1, padding=0, output_padding=0) -> dict[str, np.ndarray]:
    """What classic mistakes would return for this call."""
    out = {"The kernel looks flipped: conv_transpose2d scatters w[c, o, u, v] to output "
           "(i·S + u, j·S + v) without flipping it.":
           conv_t(x, w[:, :, ::-1, ::-1], b, stride, padding, output_padding)}
    if padding:
        expected = conv_t(x, w, b, stride, padding, output_padding)
        full = conv_t(x, w, b, stride, 0, output_padding)
        h, wd = expected.shape[2:]
        out["The output was cropped at the end only: padding removes P rows at the top AND P "
            "at the bottom (and P columns on the left AND the right)."] = full[:, :, :h, :wd]
        out["The padding was not removed: cut P rows/columns from each side of the full "
            "output."] = full
    return out


@pytest.mark.points(2)
def test_conv_transpose2d_stride_one(student, rng):
    x = rng.standard_normal((1, 2, 3, 3))
    w = rng.standard_normal((2, 3, 3, 3))
    got = student.conv_transpose2d(x, w)
    assert_allclose(got, conv_t(x, w), call=describe_call("conv_transpose2d", (x, w), {}),
                    hint=FORMULA + " With stride 1 a 3×3 input and a 3×3 filter give 5×5.",
                    mistakes=mistakes(x, w))


@pytest.mark.points(2)
def test_conv_transpose2d_stride_two_overlap(student, rng):
    x = rng.standard_normal((1, 1, 2, 2))
    w = rng.standard_normal((1, 1, 3, 3))
    kwargs = {"stride": 2}
    got = student.conv_transpose2d(x, w, **kwargs)
    assert_allclose(got, conv_t(x, w, **kwargs),
                    call=describe_call("conv_transpose2d", (x, w), kwargs),
                    hint=FORMULA + " With stride 2 the copies overlap in the middle row and "
                                   "column: add them up there.",
                    mistakes=mistakes(x, w, **kwargs))


@pytest.mark.points(2)
def test_conv_transpose2d_stride_two_padding_one(student, rng):
    x = rng.standard_normal((2, 2, 3, 3))
    w = rng.standard_normal((2, 1, 4, 4))
    b = rng.standard_normal(1)
    kwargs = {"stride": 2, "padding": 1}
    got = student.conv_transpose2d(x, w, b, **kwargs)
    assert_allclose(got, conv_t(x, w, b, **kwargs),
                    call=describe_call("conv_transpose2d", (x, w, b), kwargs),
                    hint=FORMULA + " Output size: (3 - 1)·2 - 2·1 + 4 = 6.",
                    mistakes=mistakes(x, w, b, **kwargs))
