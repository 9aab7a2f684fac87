"""Public checks of affine_forward: the fully connected layer x @ W.T + b, compared with F.linear."""

import numpy as np
import pytest
from mlp_cases import TRANSPOSED_HINT, linear

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("affine")


@pytest.mark.points(3)
def test_affine_forward_small(student):
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5], [2.0, 0.0, -2.0], [-1.0, 1.0, 1.0]])
    W = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
    b = np.array([0.1, -0.2])
    got = student.affine_forward(x, W, b)
    assert_allclose(got, linear(x, W, b), call="affine_forward(x (4, 3), W (2, 3), b (2,))",
                    hint="the output of sample n, neuron j is sum_i W[j, i] * x[n, i] + b[j].")


@pytest.mark.points(2)
def test_affine_forward_square_weights(student):
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    W = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]])
    b = np.array([0.5, 0.0, -0.5])
    got = student.affine_forward(x, W, b)
    assert_allclose(got, linear(x, W, b), call="affine_forward(x (2, 3), W (3, 3), b (3,))",
                    mistakes={TRANSPOSED_HINT: x @ W + b})
