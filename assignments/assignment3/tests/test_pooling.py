"""Public checks: max and average pooling on the slides' 4×4 example and with padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import assert_allclose, describe_call

pytestmark = pytest.mark.question("pooling")

#: The slides' single depth slice.
SLICE = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)


@pytest.mark.points(2)
def test_max_pool2d_slides_example(student):
    x = np.stack([SLICE, -SLICE])[None]  # (1, 2, 4, 4)
    got = student.max_pool2d(x, 2)
    expected = F.max_pool2d(torch.from_numpy(x), 2).numpy()
    assert_allclose(got, expected, call=describe_call("max_pool2d", (x, 2), {}),
                    hint="With kernel_size=2 and no stride given, the stride is 2 too: "
                         "four non-overlapping 2×2 windows per channel.",
                    mistakes={"That is the output of a 2×2 window moved by 1: when stride is None "
                              "it equals kernel_size.": F.max_pool2d(torch.from_numpy(x), 2,
                                                                    1).numpy()})


@pytest.mark.points(2)
def test_avg_pool2d_slides_example(student):
    x = np.stack([SLICE, 2 * SLICE])[None]
    got = student.avg_pool2d(x, 2)
    expected = F.avg_pool2d(torch.from_numpy(x), 2).numpy()
    assert_allclose(got, expected, call=describe_call("avg_pool2d", (x, 2), {}),
                    hint="Each output is the mean of its 2×2 window; with no stride given the "
                         "windows don't overlap.")


@pytest.mark.points(2)
def test_avg_pool2d_padding_not_counted(student, rng):
    x = rng.standard_normal((1, 2, 4, 5))
    kwargs = {"stride": 1, "padding": 1}
    got = student.avg_pool2d(x, 3, **kwargs)
    t = torch.from_numpy(x)
    expected = F.avg_pool2d(t, 3, count_include_pad=False, **kwargs).numpy()
    assert_allclose(got, expected, call=describe_call("avg_pool2d", (x, 3), kwargs),
                    hint="Padded positions are not values: average each window over the real "
                         "inputs it covers only.",
                    mistakes={"The padded zeros were counted: a 3×3 window at a corner covers "
                              "4 real values, so divide by 4, not 9 (count_include_pad=False).":
                              F.avg_pool2d(t, 3, count_include_pad=True, **kwargs).numpy()})


@pytest.mark.points(1)
def test_max_pool2d_padding_with_negative_inputs_small(student):
    """All inputs negative: zero padding would win every window that reaches the border."""
    x = -np.arange(1.0, 17.0).reshape(1, 1, 4, 4) / 4
    kwargs = {"stride": 2, "padding": 1}
    zero_padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert_allclose(student.max_pool2d(x, 3, **kwargs),
                    F.max_pool2d(torch.from_numpy(x), 3, **kwargs).numpy(),
                    call=describe_call("max_pool2d", (x, 3), kwargs),
                    hint="out[n, c, i, j] is the maximum of x_pad[n, c, i·S:i·S + K, j·S:j·S + K], "
                         "where x_pad is x padded with -inf.",
                    mistakes={"The input was padded with zeros: a padded position must never be "
                              "the maximum, pad with -inf.":
                              F.max_pool2d(torch.from_numpy(zero_padded), 3, 2).numpy()})
