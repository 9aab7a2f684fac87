"""Public checks of mlp_loss_and_grads: the loss and every gradient, compared with torch autograd."""

import numpy as np
import pytest
from mlp_cases import check_loss_and_grads, make_params

pytestmark = pytest.mark.question("backprop")


@pytest.mark.points(2)
def test_mlp_loss_two_layers(student):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3))
    labels = np.array([0, 1, 3, 2, 1])
    params = make_params(rng, [3, 6, 4])
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params, loss_only=True,
                         call="mlp_loss_and_grads(x (5, 3), labels (5,), params 3-6-4)")


@pytest.mark.points(4)
def test_mlp_grads_two_layers(student):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3))
    labels = np.array([0, 1, 3, 2, 1, 0])
    params = make_params(rng, [3, 5, 4])
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params,
                         call="mlp_loss_and_grads(x (6, 3), labels (6,), params 3-5-4)")
