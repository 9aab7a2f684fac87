"""Hidden checks: unpooling with random batches, scale 3 and (h, w) scales, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import assert_allclose, describe_call, reference

pytestmark = pytest.mark.question("unpooling")


@reference
def nearest(x: np.ndarray, scale: tuple[int, int]) -> np.ndarray:
    return F.interpolate(torch.from_numpy(x), scale_factor=scale, mode="nearest").numpy()


@reference
def bed_of_nails(x: np.ndarray, scale: tuple[int, int], corner: tuple[int, int] = (0, 0)):
    """A depthwise transpose convolution, stride = scale, whose SH×SW kernel is 1 at ``corner``."""
    c = x.shape[1]
    kernel = torch.zeros(c, 1, *scale, dtype=torch.float64)
    kernel[:, 0, corner[0], corner[1]] = 1.0
    return F.conv_transpose2d(torch.from_numpy(x), kernel, stride=scale, groups=c).numpy()


def check_nearest(student, x, scale) -> None:
    pair = (scale, scale) if isinstance(scale, int) else scale
    got = student.unpool_nearest(x, scale)
    assert_allclose(got, nearest(x, pair), call=describe_call("unpool_nearest", (x, scale), {}),
                    hint="out[n, c, i, j] = x[n, c, i // SH, j // SW]: repeat each value SH times "
                         "along the rows and SW times along the columns.",
                    mistakes={"That is the whole image tiled (np.tile); repeat each value instead "
                              "(np.repeat along axes 2 and 3).": np.tile(x, (1, 1, *pair)),
                              "Height and width scales look swapped: scale=(SH, SW) lists the "
                              "height first.": nearest(x, pair[::-1])})


def check_bed(student, x, scale) -> None:
    pair = (scale, scale) if isinstance(scale, int) else scale
    got = student.unpool_bed_of_nails(x, scale)
    mistakes = {"The values are at the bottom-right of their blocks; put them at the top-left: "
                "out[:, :, ::SH, ::SW] = x.": bed_of_nails(x, pair, (pair[0] - 1, pair[1] - 1)),
                "The values are at the centre of their blocks; put them at the top-left.":
                bed_of_nails(x, pair, (pair[0] // 2, pair[1] // 2))}
    assert_allclose(got, bed_of_nails(x, pair),
                    call=describe_call("unpool_bed_of_nails", (x, scale), {}),
                    hint="out[n, c, i·SH, j·SW] = x[n, c, i, j] and 0 everywhere else.",
                    mistakes=mistakes)


@pytest.mark.points(2)
def test_unpool_nearest_random_scale_three(student, rng):
    check_nearest(student, rng.standard_normal((2, 3, int(rng.integers(2, 5)),
                                                int(rng.integers(2, 5)))), 3)


@pytest.mark.points(1)
def test_unpool_nearest_pair_scale(student, rng):
    check_nearest(student, rng.standard_normal((1, 2, 3, 4)), (2, 3))


@pytest.mark.points(2)
def test_unpool_bed_of_nails_random_scale_three(student, rng):
    check_bed(student, rng.standard_normal((2, 2, int(rng.integers(2, 5)),
                                            int(rng.integers(2, 5)))), 3)


@pytest.mark.points(1)
def test_unpool_bed_of_nails_pair_scale(student, rng):
    check_bed(student, rng.standard_normal((1, 3, 3, 2)), (3, 2))
