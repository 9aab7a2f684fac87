"""Public checks of mlp_forward, compared with a torch nn.Sequential holding the same weights."""

import numpy as np
import pytest
from mlp_cases import make_params, torch_forward

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("mlp_forward")

@pytest.mark.points(2)
def test_mlp_forward_two_layers_relu(student):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    params = make_params(rng, [3, 5, 2])
    got = student.mlp_forward(x, params)
    assert_allclose(
        got, torch_forward(x, params, "relu"),
        call="mlp_forward(x (4, 3), params {W1 (5, 3), b1, W2 (2, 5), b2})",
        mistakes={"the last layer has no activation: its outputs are the logits.":
                  torch_forward(x, params, "relu", last_activation=True)},
        hint="layer k computes f(x @ Wk.T + bk) with f = relu for layers 1..L-1 and no f for L.")


@pytest.mark.points(1)
def test_mlp_forward_one_layer(student):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    params = make_params(rng, [4, 2])
    got = student.mlp_forward(x, params, activation="tanh")
    assert_allclose(
        got, torch_forward(x, params, "tanh"),
        call="mlp_forward(x (3, 4), params {W1 (2, 4), b1}, activation='tanh')",
        mistakes={"with one layer there is no hidden layer: the output is x @ W1.T + b1, "
                  "no activation.": torch_forward(x, params, "tanh", last_activation=True)},
        hint="count the layers from the 'W' keys of params.")
