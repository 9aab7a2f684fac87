"""Hidden checks of mlp_forward: 1 to 4 layers with each activation, and an unknown activation."""

import pytest
from mlp_cases import make_params, torch_forward

from autograder.checks import assert_allclose, expect_raises

pytestmark = pytest.mark.question("mlp_forward")

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
