"""Hidden checks of sgd_step: weight decay, momentum, Nesterov, on a quadratic, against torch's SGD."""

import numpy as np
import pytest
import torch
from torch.optim.sgd import sgd

from autograder.checks import assert_allclose, assert_true, expect_raises

pytestmark = pytest.mark.question("sgd")

STEPS = 5
SHAPES = {"W1": (4, 3), "b1": (4,), "W2": (2, 4), "b2": (2,)}
WD_IGNORED = "weight_decay is ignored: add weight_decay * p to the gradient first."
WD_AFTER = ("weight decay was added after the momentum update: torch adds weight_decay * p to "
            "the gradient first, so the decay also goes into the momentum buffer.")
NESTEROV_IGNORED = ("nesterov=True behaves like plain momentum: with Nesterov the step uses "
                    "g + momentum * buf, not buf.")
MOMENTUM_IGNORED = ("momentum is ignored: any momentum other than 0 (1.0 included) keeps one buffer "
                    "per parameter in state.")
BUFFER_HINT = ("torch sets buf = g on the first step and buf = momentum * buf + g afterwards "
               "(no (1 - momentum) factor).")


def quadratic(rng):
    """Parameters, curvatures A and centres C of f(p) = sum 0.5 * A * (p - C)**2."""
    params = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    curv = {k: rng.uniform(0.5, 2.0, s) for k, s in SHAPES.items()}
    centre = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    return params, curv, centre


def torch_trajectory(params, curv, centre, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    """Parameters after each step of torch.optim.SGD (dampening 0) on the quadratic.

    Calls ``torch.optim.sgd.sgd``, the update ``torch.optim.SGD.step`` runs: building an
    optimizer object would import ``torch._dynamo``, which takes over a second.
    """
    tensors = {k: torch.tensor(v) for k, v in params.items()}
    buffers = [None] * len(tensors)
    out = []
    for _ in range(STEPS):
        grads = [torch.from_numpy(curv[k] * (t.numpy() - centre[k])) for k, t in tensors.items()]
        sgd(list(tensors.values()), grads, buffers, weight_decay=weight_decay,
            momentum=momentum, lr=lr, dampening=0.0, nesterov=nesterov, maximize=False,
            foreach=False)
        out.append({k: t.numpy().copy() for k, t in tensors.items()})
    return out


def numpy_trajectory(params, curv, centre, lr, momentum=0.0, weight_decay=0.0, nesterov=False,
                     decay_after=False, ema=False):
    """A classic mistake's trajectory: weight decay after momentum, or an averaging buffer."""
    p = {k: v.copy() for k, v in params.items()}
    buf = {}
    out = []
    for _ in range(STEPS):
        for k in p:
            g = curv[k] * (p[k] - centre[k])
            if not decay_after:
                g = g + weight_decay * p[k]
            if momentum:
                if ema:
                    buf[k] = momentum * buf.get(k, 0.0) + (1 - momentum) * g
                else:
                    buf[k] = g.copy() if k not in buf else momentum * buf[k] + g
                g = g + momentum * buf[k] if nesterov else buf[k]
            if decay_after:
                g = g + weight_decay * p[k]
            p[k] = p[k] - lr * g
        out.append({k: v.copy() for k, v in p.items()})
    return out


def check_trajectory(student, rng, momentum, weight_decay, nesterov):
    params, curv, centre = quadratic(rng)
    lr = float(rng.choice([0.05, 0.1, 0.2]))
    options = dict(momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    expected = torch_trajectory(params, curv, centre, lr, **options)
    mistakes = {
        WD_IGNORED: numpy_trajectory(params, curv, centre, lr, momentum, 0.0, nesterov),
        WD_AFTER: numpy_trajectory(params, curv, centre, lr, **options, decay_after=True),
        NESTEROV_IGNORED: numpy_trajectory(params, curv, centre, lr, momentum, weight_decay),
        BUFFER_HINT: numpy_trajectory(params, curv, centre, lr, **options, ema=True),
    }
    if momentum:
        mistakes[MOMENTUM_IGNORED] = numpy_trajectory(params, curv, centre, lr, 0.0, weight_decay)
    shown = f"lr={lr}, momentum={momentum}, weight_decay={weight_decay}, nesterov={nesterov}"
    state = {}
    for step in range(STEPS):
        grads = {k: curv[k] * (params[k] - centre[k]) for k in params}
        call = f"sgd_step(params, grads, state, {shown}) at step {step + 1} of {STEPS}"
        result = student.sgd_step(params, grads, state, lr, **options)
        assert_true(isinstance(result, (tuple, list)) and len(result) == 2,
                    f"{call} returned {type(result).__name__}, expected a pair "
                    "(new_params, new_state).")
        new_params, state = result
        assert_true(isinstance(new_params, dict) and all(k in new_params for k in params),
                    f"{call} returned new_params without the keys {sorted(params)}; return a "
                    "dict with the same keys as params.")
        for k in params:
            assert_allclose(new_params[k], expected[step][k], call=f"{call}: params[{k!r}]",
                            mistakes={hint: traj[step][k] for hint, traj in mistakes.items()},
                            hint="follow the update of torch.optim.SGD given in the docstring.")
        params = {k: np.asarray(new_params[k], dtype=np.float64) for k in params}


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
