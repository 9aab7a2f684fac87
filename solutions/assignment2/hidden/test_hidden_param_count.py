"""Hidden checks of dense_param_count: image inputs and random shapes."""

import numpy as np
import pytest

from autograder.checks import assert_equal

pytestmark = pytest.mark.question("param_count")


def count_hint(got, input_shape, n_neurons):
    """A hint when ``got`` matches a classic mistake."""
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got.item()
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return "return a single int."
    n_in = int(np.prod(input_shape))
    if got == n_in * n_neurons:
        return "each neuron also has a bias: add n_neurons."
    if got == sum(input_shape) * n_neurons + n_neurons:
        return "the input is flattened: multiply its dimensions, don't add them."
    return "each of the n_neurons neurons has one weight per input value and one bias."


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
