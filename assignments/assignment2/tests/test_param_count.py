"""Public checks of dense_param_count: weights plus biases of a fully connected layer."""

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


@pytest.mark.points(3)
def test_dense_param_count_course_example(student):
    got = student.dense_param_count((500, 500), 1)
    assert_equal(got, 250_001, call="dense_param_count((500, 500), 1)",
                 hint=count_hint(got, (500, 500), 1))


@pytest.mark.points(2)
def test_dense_param_count_vector_input(student):
    got = student.dense_param_count((784,), 10)
    assert_equal(got, 7_850, call="dense_param_count((784,), 10)",
                 hint=count_hint(got, (784,), 10))
