"""Hidden checks: conv2d_forward against F.conv2d with random shapes, pairs, dilation and groups."""

from __future__ import annotations

import numpy as np
import pytest
from cnn_cases import conv, pair

from autograder.checks import assert_allclose, describe_call, reference

pytestmark = pytest.mark.question("conv2d_forward")

FORMULA = ("conv2d_forward must equal F.conv2d: out[n, k, i, j] = b[k] + Σ_c Σ_u Σ_v "
           "w[k, c, u, v] · x_pad[n, c, i·SH + u·DH, j·SW + v·DW], H_out = (H + 2·PH - "
           "DH·(FH - 1) - 1) // SH + 1.")


@reference
def mistakes(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> dict[str, np.ndarray]:
    """What classic mistakes would return for this call (those torch can compute)."""
    ph, pw = pair(padding)
    candidates = {
        "The kernel looks flipped: a CNN layer computes a cross-correlation (no flip), unlike "
        "convolve2d.": lambda: conv(x, w[:, :, ::-1, ::-1], b, stride, padding, dilation, groups),
    }
    if b is not None:
        candidates["The bias b[k] is missing: add it to every output of channel k."] = \
            lambda: conv(x, w, None, stride, padding, dilation, groups)
    if pair(stride) != (1, 1):
        candidates["The stride was ignored: output (i, j) starts at input row i·SH, column "
                   "j·SW."] = lambda: conv(x, w, b, 1, padding, dilation, groups)
        candidates["Height and width look swapped in the stride: stride=(SH, SW) lists the "
                   "height first."] = lambda: conv(x, w, b, pair(stride)[::-1], padding, dilation,
                                                   groups)
    if (ph, pw) != (0, 0):
        one_side = np.pad(x, ((0, 0), (0, 0), (ph, 0), (pw, 0)))
        candidates["The padding looks applied on one side only: add PH zeros at the top AND the "
                   "bottom, PW at the left AND the right."] = \
            lambda: conv(one_side, w, b, stride, 0, dilation, groups)
    if pair(dilation) != (1, 1):
        candidates["The dilation was ignored: filter tap (u, v) reads input row i·SH + u·DH, "
                   "column j·SW + v·DW."] = lambda: conv(x, w, b, stride, padding, 1, groups)
    if groups > 1 and w.shape[1] == 1:
        candidates["groups looks ignored: each filter was applied to all C input channels. With "
                   "groups = g, filter k sees only the C/g channels of its group."] = \
            lambda: conv(x, np.repeat(w, x.shape[1], axis=1), b, stride, padding, dilation)
    out = {}
    for hint, compute in candidates.items():
        try:
            out[hint] = compute()
        except RuntimeError:  # the mistake gives no output at all for this shape
            pass
    return out


GROUPS = (" With groups = g, the C input and K output channels are split into g groups in "
          "order: output channels j·K/g ... (j + 1)·K/g - 1 use w[k] (C/g channels) on input "
          "channels j·C/g ... (j + 1)·C/g - 1 only.")


def check(student, x, w, b=None, **kwargs) -> None:
    args = (x, w) if b is None else (x, w, b)
    got = student.conv2d_forward(*args, **kwargs)
    hint = FORMULA + (GROUPS if kwargs.get("groups", 1) > 1 else "")
    assert_allclose(got, conv(x, w, b, **kwargs), hint=hint,
                    call=describe_call("conv2d_forward", args, kwargs),
                    mistakes=mistakes(x, w, b, **kwargs))


def dims(rng: np.random.Generator, low: int, high: int) -> tuple[int, int]:
    """Two different ints in [low, high): a non-square size."""
    a = int(rng.integers(low, high))
    return a, int(rng.choice([v for v in range(low, high) if v != a]))


@pytest.mark.points(3)
def test_conv2d_forward_random_batch(student, rng):
    n, c, k = int(rng.integers(2, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
    h, w = dims(rng, 5, 10)
    fh, fw = dims(rng, 2, 5)
    x = rng.standard_normal((n, c, h, w))
    check(student, x, rng.standard_normal((k, c, fh, fw)), rng.standard_normal(k),
          padding=int(rng.integers(0, 3)))


@pytest.mark.points(3)
def test_conv2d_forward_pair_stride_and_padding(student, rng):
    n, c, k = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    x = rng.standard_normal((n, c, *dims(rng, 6, 11)))
    w = rng.standard_normal((k, c, *dims(rng, 2, 4)))
    check(student, x, w, rng.standard_normal(k), stride=dims(rng, 1, 4), padding=dims(rng, 0, 3))


@pytest.mark.points(3)
def test_conv2d_forward_dilation(student, rng):
    c, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    x = rng.standard_normal((2, c, *dims(rng, 8, 12)))
    w = rng.standard_normal((k, c, 3, int(rng.integers(2, 4))))
    dilation = (int(rng.integers(2, 4)), int(rng.integers(1, 3)))
    check(student, x, w, rng.standard_normal(k), padding=(int(rng.integers(0, 3)), 1),
          dilation=dilation)


@pytest.mark.points(3)
def test_conv2d_forward_groups(student, rng):
    groups = int(rng.integers(2, 4))
    c, k = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    x = rng.standard_normal((2, c, *dims(rng, 5, 9)))
    w = rng.standard_normal((k, c // groups, *dims(rng, 2, 4)))
    check(student, x, w, rng.standard_normal(k), stride=int(rng.integers(1, 3)), padding=1,
          groups=groups)


@pytest.mark.points(2)
def test_conv2d_forward_depthwise(student, rng):
    c = int(rng.integers(2, 5))
    x = rng.standard_normal((1, c, *dims(rng, 5, 9)))
    check(student, x, rng.standard_normal((2 * c, 1, 3, 3)), rng.standard_normal(2 * c),
          padding=1, groups=c)


@pytest.mark.points(1)
def test_conv2d_forward_without_bias(student, rng):
    c, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    x = rng.standard_normal((2, c, *dims(rng, 4, 8)))
    check(student, x, rng.standard_normal((k, c, 3, 2)))


@pytest.mark.points(2)
def test_conv2d_forward_rounds_down_when_filter_does_not_fit(student, rng):
    x = rng.standard_normal((1, 2, 7, 7))
    w = rng.standard_normal((2, 2, 3, 3))
    check(student, x, w, rng.standard_normal(2), stride=3)  # (7 - 3) / 3 + 1 = 2.33 -> 2
    h, wd = dims(rng, 8, 13)
    x = rng.standard_normal((2, 1, h, wd))
    check(student, x, rng.standard_normal((3, 1, 2, 3)), rng.standard_normal(3),
          stride=(3, 4), padding=(1, 0))
