"""Public checks: conv2d_forward against torch.nn.functional.conv2d on small inputs."""

from __future__ import annotations

import numpy as np
import pytest
from cnn_cases import conv, pair

from autograder.checks import assert_allclose, describe_call, reference

pytestmark = pytest.mark.question("conv2d_forward")

FORMULA = ("conv2d_forward is a cross-correlation, like F.conv2d: out[n, k, i, j] = b[k] + "
           "Σ_c Σ_u Σ_v w[k, c, u, v] · x_pad[n, c, i·S + u, j·S + v]. Work one output by hand "
           "and compare.")


@reference
def mistakes(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> dict[str, np.ndarray]:
    """What classic mistakes would return for this call."""
    ph, pw = pair(padding)
    out = {"The kernel looks flipped: a CNN layer computes a cross-correlation (no flip), "
           "unlike convolve2d.": conv(x, w[:, :, ::-1, ::-1], b, stride, padding, dilation, groups)}
    if b is not None:
        out["The bias b[k] is missing: add it to every output of channel k."] = conv(
            x, w, None, stride, padding, dilation, groups)
    if pair(stride) != (1, 1):
        out["The stride was ignored: output (i, j) starts at input row i·S, column j·S."] = conv(
            x, w, b, 1, padding, dilation, groups)
    if (ph, pw) != (0, 0):
        one_side = np.pad(x, ((0, 0), (0, 0), (ph, 0), (pw, 0)))
        try:
            out["The padding looks applied on one side only: add P zeros at the top AND the "
                "bottom (and left AND right)."] = conv(one_side, w, b, stride, 0, dilation, groups)
        except RuntimeError:
            pass
    return out


@pytest.mark.points(3)
def test_conv2d_forward_basic(student, rng):
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    got = student.conv2d_forward(x, w, b)
    assert_allclose(got, conv(x, w, b), call=describe_call("conv2d_forward", (x, w, b), {}),
                    hint=FORMULA, mistakes=mistakes(x, w, b))


@pytest.mark.points(3)
def test_conv2d_forward_stride_and_padding(student, rng):
    x = rng.standard_normal((1, 2, 7, 7))
    w = rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(3)
    kwargs = {"stride": 2, "padding": 1}
    got = student.conv2d_forward(x, w, b, **kwargs)
    assert_allclose(got, conv(x, w, b, **kwargs),
                    call=describe_call("conv2d_forward", (x, w, b), kwargs),
                    hint=FORMULA + " With stride 2 and padding 1 a 7×7 input gives "
                         "(7 - 3 + 2) // 2 + 1 = 4 rows.",
                    mistakes=mistakes(x, w, b, **kwargs))


@pytest.mark.points(2)
def test_conv2d_forward_pair_arguments(student, rng):
    x = rng.standard_normal((1, 2, 7, 8))
    w = rng.standard_normal((2, 2, 3, 2))
    b = rng.standard_normal(2)
    kwargs = {"stride": (2, 1), "padding": (1, 0)}
    got = student.conv2d_forward(x, w, b, **kwargs)
    swapped = conv(x, w, b, stride=(1, 2), padding=(0, 1))
    assert_allclose(got, conv(x, w, b, **kwargs),
                    call=describe_call("conv2d_forward", (x, w, b), kwargs),
                    hint="A pair (h, w) gives the stride/padding along the height first, then "
                         "the width; an int k means (k, k).",
                    mistakes={**mistakes(x, w, b, **kwargs),
                              "Height and width look swapped: stride=(SH, SW) and padding="
                              "(PH, PW) list the height first.": swapped})
