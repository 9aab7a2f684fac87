"""Public checks: nearest-neighbour and bed-of-nails unpooling on the slides' 2×2 example."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.checks import assert_allclose, describe_call

pytestmark = pytest.mark.question("unpooling")

X = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])  # (1, 1, 2, 2)


@pytest.mark.points(2)
def test_unpool_nearest_slides_example(student):
    got = student.unpool_nearest(X)
    expected = np.array([[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]], dtype=float)
    assert_allclose(got, expected, call=describe_call("unpool_nearest", (X,), {}),
                    hint="Each value fills its own 2×2 block: repeat along the rows and along "
                         "the columns (np.repeat), not the whole image (np.tile).",
                    mistakes={"That is the whole image tiled 2×2 (np.tile); repeat each value "
                              "instead (np.repeat along axes 2 and 3).": np.tile(X, (1, 1, 2, 2))})


@pytest.mark.points(2)
def test_unpool_bed_of_nails_slides_example(student):
    got = student.unpool_bed_of_nails(X)
    expected = np.array([[[[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]]], dtype=float)
    bottom_right = np.array([[[[0, 0, 0, 0], [0, 1, 0, 2], [0, 0, 0, 0], [0, 3, 0, 4]]]],
                            dtype=float)
    assert_allclose(got, expected, call=describe_call("unpool_bed_of_nails", (X,), {}),
                    hint="Each value goes to the top-left corner of its 2×2 block; the other "
                         "three entries are 0.",
                    mistakes={"The values are at the bottom-right of their blocks; put them at "
                              "the top-left: out[:, :, ::S, ::S] = x.": bottom_right})
