"""Public checks of sgd_step: trajectories on a fixed quadratic, compared with torch.optim.SGD."""

import numpy as np
import pytest
import torch
from torch.optim.sgd import sgd

from autograder.checks import assert_allclose, assert_true

pytestmark = pytest.mark.question("sgd")

MOMENTUM_IGNORED = "momentum is ignored: keep one buffer per parameter in state."
BUFFER_HINT = ("torch sets buf = g on the first step and buf = momentum * buf + g afterwards "
               "(no (1 - momentum) factor).")


def quadratic(rng, shapes):
    """Parameters, curvatures A and centres C of f(p) = sum 0.5 * A * (p - C)**2."""
    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    curv = {k: rng.uniform(0.5, 2.0, s) for k, s in shapes.items()}
    centre = {k: rng.standard_normal(s) for k, s in shapes.items()}
    return params, curv, centre


def torch_trajectory(params, curv, centre, steps, lr, momentum=0.0, weight_decay=0.0,
                     nesterov=False):
    """Parameters after each step of torch.optim.SGD (dampening 0) on the quadratic.

    Calls ``torch.optim.sgd.sgd``, the update ``torch.optim.SGD.step`` runs: building an
    optimizer object would import ``torch._dynamo``, which takes over a second.
    """
    tensors = {k: torch.tensor(v) for k, v in params.items()}
    buffers = [None] * len(tensors)
    out = []
    for _ in range(steps):
        grads = [torch.from_numpy(curv[k] * (t.numpy() - centre[k])) for k, t in tensors.items()]
        sgd(list(tensors.values()), grads, buffers, weight_decay=weight_decay,
            momentum=momentum, lr=lr, dampening=0.0, nesterov=nesterov, maximize=False,
            foreach=False)
        out.append({k: t.numpy().copy() for k, t in tensors.items()})
    return out


def numpy_trajectory(params, curv, centre, steps, lr, momentum=0.0, ema=False):
    """A classic mistake's trajectory: ``ema`` averages g into a buffer that starts at 0."""
    p = {k: v.copy() for k, v in params.items()}
    buf = {k: np.zeros_like(v) for k, v in params.items()}
    out = []
    for _ in range(steps):
        for k in p:
            g = curv[k] * (p[k] - centre[k])
            if momentum:
                buf[k] = momentum * buf[k] + ((1 - momentum) * g if ema else g)
                g = buf[k]
            p[k] = p[k] - lr * g
        out.append({k: v.copy() for k, v in p.items()})
    return out


def run_student(student, params, curv, centre, steps, lr, expected, mistakes, **options):
    shown = ", ".join([f"lr={lr}", *(f"{k}={v}" for k, v in options.items())])
    state = {}
    for step in range(steps):
        grads = {k: curv[k] * (params[k] - centre[k]) for k in params}
        call = f"sgd_step(params, grads, state, {shown}) at step {step + 1} of {steps}"
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
