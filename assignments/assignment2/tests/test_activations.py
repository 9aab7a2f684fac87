"""Public checks of relu, sigmoid and tanh on small fixed inputs, compared with torch."""

import numpy as np
import pytest
import torch

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("activations")

X = np.array([[-3.0, -1.0, -0.5, 0.0], [0.25, 0.5, 1.0, 3.0]])


@pytest.mark.points(1)
def test_relu_small(student):
    expected = torch.relu(torch.from_numpy(X)).numpy()
    assert_allclose(student.relu(X), expected, call="relu(x (2, 4))",
                    hint="relu keeps positive values and replaces the others by 0: max(0, x).")


@pytest.mark.points(2)
def test_sigmoid_small(student):
    expected = torch.sigmoid(torch.from_numpy(X)).numpy()
    assert_allclose(student.sigmoid(X), expected, call="sigmoid(x (2, 4))",
                    mistakes={"sigmoid is 1 / (1 + exp(-x)): check the sign of the exponent.":
                              1.0 / (1.0 + np.exp(X))},
                    hint="sigmoid(x) = 1 / (1 + exp(-x)), so sigmoid(0) = 0.5.")


@pytest.mark.points(1)
def test_tanh_small(student):
    expected = torch.tanh(torch.from_numpy(X)).numpy()
    assert_allclose(student.tanh(X), expected, call="tanh(x (2, 4))",
                    hint="tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)); np.tanh computes it.")
