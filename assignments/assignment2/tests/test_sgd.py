"""Public checks of sgd_step: trajectories on a fixed quadratic, compared with torch.optim.SGD."""

import numpy as np
import pytest
from mlp_cases import BUFFER_HINT, MOMENTUM_IGNORED, numpy_trajectory, quadratic, run_student, torch_trajectory

pytestmark = pytest.mark.question("sgd")


@pytest.mark.points(2)
def test_sgd_plain_step(student):
    rng = np.random.default_rng(6)
    params, curv, centre = quadratic(rng, {"W1": (3, 2), "b1": (3,)})
    expected = torch_trajectory(params, curv, centre, 2, 0.1)
    run_student(student, params, curv, centre, 2, 0.1, expected, {
        "the step goes against the gradient: p - lr * g.":
            numpy_trajectory(params, curv, centre, 2, -0.1)})


@pytest.mark.points(2)
def test_sgd_momentum_five_steps(student):
    rng = np.random.default_rng(7)
    params, curv, centre = quadratic(rng, {"W1": (3, 2), "b1": (3,), "W2": (2, 3), "b2": (2,)})
    expected = torch_trajectory(params, curv, centre, 5, 0.1, momentum=0.9)
    run_student(student, params, curv, centre, 5, 0.1, expected, {
        MOMENTUM_IGNORED: numpy_trajectory(params, curv, centre, 5, 0.1),
        BUFFER_HINT: numpy_trajectory(params, curv, centre, 5, 0.1, momentum=0.9, ema=True),
    }, momentum=0.9)


@pytest.mark.points(1)
@pytest.mark.arguments_unchanged("sgd_step")
def test_sgd_step_leaves_its_arguments_unchanged(student):
    """The docstring says "Do not modify the dicts or arrays you were given": params, grads
    and state (with its momentum buffers) stay as they were; new dicts come back."""
    rng = np.random.default_rng(8)
    params, curv, centre = quadratic(rng, {"W1": (2, 3), "b1": (2,)})
    options = {"momentum": 0.9, "weight_decay": 0.1}
    expected = torch_trajectory(params, curv, centre, 2, 0.1, **options)
    run_student(student, params, curv, centre, 2, 0.1, expected, {}, **options)
