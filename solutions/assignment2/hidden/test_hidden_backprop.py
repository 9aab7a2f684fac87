"""Hidden checks of mlp_loss_and_grads: 1, 3 and 4 layers, square shapes, ReLU at exactly 0."""

import numpy as np
import pytest
from mlp_cases import check_loss_and_grads, make_params

pytestmark = pytest.mark.question("backprop")

RELU_HINT = ("a hidden unit whose pre-activation is exactly 0 must get zero gradient: relu'(0) "
             "is 0 (as in PyTorch), so the mask is z > 0, not z >= 0.")


@pytest.mark.points(2)
@pytest.mark.parametrize("n_layers", [1, 3, 4])
def test_mlp_grads_depth(student, rng, n_layers):
    sizes = [int(v) for v in rng.integers(2, 8, size=n_layers + 1)]
    n = int(rng.integers(2, 9))
    x = rng.standard_normal((n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    params = make_params(rng, sizes)
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params,
                         call=f"mlp_loss_and_grads(x ({n}, {sizes[0]}), labels ({n},), "
                              f"params of {n_layers} layers {'-'.join(map(str, sizes))})")


@pytest.mark.points(3)
def test_mlp_grads_square_shapes(student, rng):
    n = int(rng.integers(3, 6))
    x = rng.standard_normal((n, n))
    labels = rng.permutation(n)
    params = make_params(rng, [n, n, n])
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params,
                         call=f"mlp_loss_and_grads(x ({n}, {n}), labels ({n},), "
                              f"params {n}-{n}-{n})")


@pytest.mark.points(3)
def test_mlp_grads_relu_at_zero(student, rng):
    sizes = [3, 5, 3]
    n = 6
    x = rng.standard_normal((n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    params = make_params(rng, sizes)
    dead = int(rng.integers(0, sizes[1]))
    params["W1"][dead] = 0.0
    params["b1"][dead] = 0.0
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params, hint=RELU_HINT,
                         call=f"mlp_loss_and_grads(x ({n}, 3), labels ({n},), params 3-5-3 "
                              f"where hidden unit {dead} has W1[{dead}] = 0 and b1[{dead}] = 0)")


@pytest.mark.points(2)
def test_mlp_grads_single_sample(student, rng):
    sizes = [4, 6, 3]
    x = rng.standard_normal((1, sizes[0]))
    labels = np.array([int(rng.integers(0, sizes[-1]))])
    params = make_params(rng, sizes)
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params,
                         call="mlp_loss_and_grads(x (1, 4), labels (1,), params 4-6-3)")
