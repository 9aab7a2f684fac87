"""Hidden checks of sgd_step: weight decay, momentum, Nesterov, on a quadratic, against torch's SGD."""

import pytest
from mlp_cases import (
    BUFFER_HINT,
    MOMENTUM_IGNORED,
    NESTEROV_IGNORED,
    WD_AFTER,
    WD_IGNORED,
    numpy_trajectory,
    quadratic,
    run_student,
    torch_trajectory,
)

from autograder.checks import expect_raises

pytestmark = pytest.mark.question("sgd")

STEPS = 5
SHAPES = {"W1": (4, 3), "b1": (4,), "W2": (2, 4), "b2": (2,)}
def check_trajectory(student, rng, momentum, weight_decay, nesterov):
    params, curv, centre = quadratic(rng, SHAPES)
    lr = float(rng.choice([0.05, 0.1, 0.2]))
    options = dict(momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    expected = torch_trajectory(params, curv, centre, STEPS, lr, **options)
    mistakes = {
        WD_IGNORED: numpy_trajectory(params, curv, centre, STEPS, lr, momentum, 0.0, nesterov),
        WD_AFTER: numpy_trajectory(params, curv, centre, STEPS, lr, **options, decay_after=True),
        NESTEROV_IGNORED: numpy_trajectory(params, curv, centre, STEPS, lr, momentum, weight_decay),
        BUFFER_HINT: numpy_trajectory(params, curv, centre, STEPS, lr, **options, ema=True),
    }
    if momentum:
        mistakes[MOMENTUM_IGNORED] = numpy_trajectory(params, curv, centre, STEPS, lr, 0.0, weight_decay)
    run_student(student, params, curv, centre, STEPS, lr, expected, mistakes, **options)


@pytest.mark.points(2)
def test_sgd_weight_decay(student, rng):
    check_trajectory(student, rng, 0.0, round(float(rng.uniform(0.05, 0.3)), 2), False)


@pytest.mark.points(2)
def test_sgd_momentum_weight_decay(student, rng):
    check_trajectory(student, rng, round(float(rng.uniform(0.5, 0.95)), 2), round(float(rng.uniform(0.05, 0.3)), 2),
                     False)


@pytest.mark.points(2)
def test_sgd_nesterov(student, rng):
    check_trajectory(student, rng, round(float(rng.uniform(0.5, 0.95)), 2), 0.0, True)


@pytest.mark.points(1)
def test_sgd_nesterov_weight_decay(student, rng):
    check_trajectory(student, rng, round(float(rng.uniform(0.5, 0.95)), 2), round(float(rng.uniform(0.05, 0.3)), 2),
                     True)


@pytest.mark.points(1)
@pytest.mark.parametrize("factor", ["weight_decay", "momentum"])
def test_sgd_factor_of_exactly_one(student, rng, factor):
    """weight_decay = 1.0 or momentum = 1.0 are ordinary values: only 0 switches a term off."""
    options = {"momentum": 0.0, "weight_decay": 0.0, factor: 1.0}
    check_trajectory(student, rng, options["momentum"], options["weight_decay"], False)


@pytest.mark.points(1)
def test_sgd_nesterov_needs_momentum(student, rng):
    params = {"W1": rng.standard_normal((2, 2))}
    grads = {"W1": rng.standard_normal((2, 2))}
    expect_raises("ValueError", student.sgd_step, params, grads, {}, 0.1, momentum=0.0,
                  nesterov=True, reason="Nesterov momentum needs momentum > 0, as in torch")
