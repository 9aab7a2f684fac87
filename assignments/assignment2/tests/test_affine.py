"""Public checks of affine_forward: the fully connected layer x @ W.T + b, compared with F.linear."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("affine")

TRANSPOSED_HINT = ("W has shape (out, in), as in PyTorch's nn.Linear: the layer is x @ W.T + b, "
                   "not x @ W + b.")


def linear(x, W, b):
    return F.linear(torch.from_numpy(x), torch.from_numpy(W), torch.from_numpy(b)).numpy()


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
