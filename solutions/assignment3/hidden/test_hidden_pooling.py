"""Hidden checks: max and average pooling against torch with pairs, overlap, padding and rounding down."""

from __future__ import annotations

import numpy as np
import pytest
from cnn_cases import avg_pool, max_pool

from autograder.checks import assert_allclose, describe_call

pytestmark = pytest.mark.question("pooling")


def check_max(student, x, kernel_size, **kwargs) -> None:
    got = student.max_pool2d(x, kernel_size, **kwargs)
    mistakes = {}
    stride = kwargs.get("stride")
    if stride is not None:
        mistakes["The stride was ignored: window (i, j) starts at input row i·SH, column "
                 "j·SW."] = max_pool(x, kernel_size, 1, kwargs.get("padding", 0))
    if kwargs.get("padding"):
        padding = kwargs["padding"]
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        zero_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        mistakes["The input was padded with zeros: a padded position must never be the "
                 "maximum, pad with -inf."] = max_pool(zero_padded, kernel_size, stride)
    assert_allclose(got, max_pool(x, kernel_size, **kwargs),
                    call=describe_call("max_pool2d", (x, kernel_size), kwargs),
                    hint="out[n, c, i, j] is the maximum of x_pad[n, c, i·SH:i·SH + KH, "
                         "j·SW:j·SW + KW]; H_out = (H + 2·PH - KH) // SH + 1.",
                    mistakes=mistakes)


def check_avg(student, x, kernel_size, **kwargs) -> None:
    got = student.avg_pool2d(x, kernel_size, **kwargs)
    mistakes = {}
    if kwargs.get("padding"):
        mistakes["The padded zeros were counted: average each window over the real inputs it "
                 "covers only (count_include_pad=False)."] = avg_pool(
            x, kernel_size, count_include_pad=True, **kwargs)
    assert_allclose(got, avg_pool(x, kernel_size, **kwargs),
                    call=describe_call("avg_pool2d", (x, kernel_size), kwargs),
                    hint="out[n, c, i, j] is the mean of the real inputs in window (i, j); "
                         "H_out = (H + 2·PH - KH) // SH + 1.", mistakes=mistakes)


@pytest.mark.points(2)
def test_max_pool2d_overlapping_pair_windows(student, rng):
    x = rng.standard_normal((2, int(rng.integers(1, 4)), int(rng.integers(5, 9)),
                             int(rng.integers(5, 9))))
    check_max(student, x, (3, 2), stride=(1, 2))


@pytest.mark.points(1)
def test_max_pool2d_padding_with_negative_inputs(student, rng):
    x = -np.abs(rng.standard_normal((1, 2, int(rng.integers(5, 8)), int(rng.integers(5, 8))))) - 0.1
    check_max(student, x, 3, stride=2, padding=1)
    check_max(student, x, (2, 4), stride=(2, 1), padding=(0, 2))


@pytest.mark.points(2)
def test_avg_pool2d_random_pair_windows(student, rng):
    x = rng.standard_normal((int(rng.integers(1, 3)), 3, int(rng.integers(5, 10)),
                             int(rng.integers(5, 10))))
    kernel = (int(rng.integers(1, 4)), int(rng.integers(2, 4)))
    check_avg(student, x, kernel, stride=(int(rng.integers(1, 3)), int(rng.integers(1, 3))))


@pytest.mark.points(2)
def test_avg_pool2d_padding_not_counted_random(student, rng):
    x = rng.standard_normal((2, int(rng.integers(1, 3)), int(rng.integers(4, 8)),
                             int(rng.integers(4, 8))))
    check_avg(student, x, (3, 4), stride=(int(rng.integers(1, 3)), 2), padding=(1, 2))


@pytest.mark.points(1)
def test_pooling_default_stride_rounds_down(student, rng):
    x = rng.standard_normal((1, 2, 7, 5))
    check_max(student, x, 2)
    check_avg(student, x, (3, 2))
