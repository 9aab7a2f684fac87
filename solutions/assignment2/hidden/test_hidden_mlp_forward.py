"""Hidden checks of mlp_forward: 1 to 4 layers with each activation, and an unknown activation."""

import numpy as np
import pytest
import torch
from torch import nn

from autograder.checks import assert_allclose, expect_raises

pytestmark = pytest.mark.question("mlp_forward")

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def make_params(rng, sizes):
    params = {}
    for k in range(1, len(sizes)):
        params[f"W{k}"] = rng.standard_normal((sizes[k], sizes[k - 1])) / np.sqrt(sizes[k - 1])
        params[f"b{k}"] = 0.5 * rng.standard_normal(sizes[k])
    return params


def torch_forward(x, params, activation, last_activation=False):
    n_layers = len(params) // 2
    layers = []
    for k in range(1, n_layers + 1):
        W = torch.from_numpy(params[f"W{k}"])
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(W)
            linear.bias.copy_(torch.from_numpy(params[f"b{k}"]))
        layers.append(linear)
        if k < n_layers or last_activation:
            layers.append(ACTIVATIONS[activation]())
    with torch.no_grad():
        return nn.Sequential(*layers)(torch.from_numpy(x)).numpy()


@pytest.mark.points(2)
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_mlp_forward_depths(student, rng, activation):
    for n_layers in (1, 2, 3, 4):
        sizes = [int(v) for v in rng.integers(2, 7, size=n_layers + 1)]
        n = int(rng.integers(2, 6))
        x = rng.standard_normal((n, sizes[0]))
        params = make_params(rng, sizes)
        got = student.mlp_forward(x, params, activation=activation)
        shape = "-".join(map(str, sizes))
        assert_allclose(
            got, torch_forward(x, params, activation),
            call=f"mlp_forward(x ({n}, {sizes[0]}), params of {n_layers} layers {shape}, "
                 f"activation={activation!r})",
            mistakes={"the last layer has no activation: its outputs are the logits.":
                      torch_forward(x, params, activation, last_activation=True)},
            hint=f"apply {activation} after layers 1..L-1 only, in order W1, W2, ..., WL.")


@pytest.mark.points(1)
def test_mlp_forward_unknown_activation(student, rng):
    x = rng.standard_normal((2, 3))
    params = make_params(rng, [3, 4, 2])
    expect_raises("ValueError", student.mlp_forward, x, params, activation="softplus",
                  reason="the docstring allows only 'relu', 'sigmoid' and 'tanh'")
