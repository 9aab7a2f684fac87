"""Hidden checks of dense_param_count: image inputs and random shapes."""

import numpy as np
import pytest
from mlp_cases import count_hint

from autograder.checks import assert_equal

pytestmark = pytest.mark.question("param_count")


@pytest.mark.points(2)
def test_dense_param_count_images(student):
    for shape, n, expected in (((3, 32, 32), 10, 30_730), ((28, 28), 128, 100_480)):
        got = student.dense_param_count(shape, n)
        assert_equal(got, expected, call=f"dense_param_count({shape}, {n})",
                     hint=count_hint(got, shape, n))


@pytest.mark.points(3)
def test_dense_param_count_random(student, rng):
    for _ in range(3):
        shape = tuple(int(v) for v in rng.integers(1, 40, size=int(rng.integers(1, 4))))
        n = int(rng.integers(1, 300))
        expected = int(np.prod(shape)) * n + n
        got = student.dense_param_count(shape, n)
        assert_equal(got, expected, call=f"dense_param_count({shape}, {n})",
                     hint=count_hint(got, shape, n))
