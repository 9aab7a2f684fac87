"""Hidden checks of assignment 1 (linear regression): random shapes, edge cases, trajectories."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from linear_regression_cases import (
    as_scalar,
    check_grad,
    fit_result,
    least_squares,
    regression_data,
)

from autograder.checks import (
    assert_allclose,
    assert_true,
    describe_call,
    describe_value,
    expect_raises,
    reference,
)


@reference
def _torch_gradient_descent(X: np.ndarray, y: np.ndarray, lr: float,
                            epochs: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Full-batch gradient descent from zero with torch.optim.SGD; losses before each step."""
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = F.mse_loss(Xt @ w + b, yt)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return w.detach().numpy(), b.item(), np.array(losses)


def _check_converged(student: Any, X: np.ndarray, y: np.ndarray, call: str, n_epochs: int,
                     **kwargs: Any) -> None:
    w, b, _ = fit_result(student.fit(X, y, **kwargs), call, X, y, n_epochs)
    w_ref, b_ref = least_squares(X, y)
    hint = "gradient descent with this learning rate reaches the least-squares solution."
    assert_allclose(w, w_ref, call=f"{call}: w", atol=1e-6, rtol=1e-6, hint=hint)
    assert_allclose(np.asarray(b), np.asarray(b_ref), call=f"{call}: b", atol=1e-6, rtol=1e-6,
                    hint="the bias must be updated too: b ← b − lr · db.")


# -- predict ---------------------------------------------------------------------------


@pytest.mark.question("predict")
@pytest.mark.points(3)
def test_predict_random_shapes(student, rng):
    n, d = int(rng.integers(5, 30)), int(rng.integers(2, 8))
    X, w, b = rng.standard_normal((n, d)), rng.standard_normal(d), float(rng.normal())
    expected = (torch.from_numpy(X) @ torch.from_numpy(w) + b).numpy()
    assert_allclose(student.predict(X, w, b), expected,
                    call=describe_call("predict", (X, w, b), {}),
                    mistakes={"predict returned a column (n, 1); return shape (n,).":
                              expected[:, None]})


@pytest.mark.question("predict")
@pytest.mark.points(3)
def test_predict_single_sample_and_single_feature(student, rng):
    for n, d in ((1, 4), (6, 1), (1, 1)):
        X, w, b = rng.standard_normal((n, d)), rng.standard_normal(d), float(rng.normal())
        expected = (torch.from_numpy(X) @ torch.from_numpy(w) + b).numpy()
        assert_allclose(student.predict(X, w, b), expected,
                        call=describe_call("predict", (X, w, b), {}),
                        hint="a single sample still gives shape (1,), a single feature uses "
                             "w of shape (1,).")


# -- mse_loss --------------------------------------------------------------------------


@pytest.mark.question("mse_loss")
@pytest.mark.points(4)
def test_mse_loss_random_mean(student, rng):
    n = int(rng.integers(3, 40))
    y_pred, y = rng.standard_normal(n), rng.standard_normal(n)
    ref = F.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y), reduction="mean").numpy()
    assert_allclose(as_scalar(student.mse_loss(y_pred, y, reduction="mean")), ref,
                    call=describe_call("mse_loss", (y_pred, y), {"reduction": "mean"}),
                    mistakes={"this is the sum; 'mean' divides by n.": ref * n})


@pytest.mark.question("mse_loss")
@pytest.mark.points(3)
def test_mse_loss_random_sum(student, rng):
    n = int(rng.integers(3, 40))
    y_pred, y = rng.standard_normal(n), rng.standard_normal(n)
    ref = F.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y), reduction="sum").numpy()
    assert_allclose(as_scalar(student.mse_loss(y_pred, y, reduction="sum")), ref,
                    call=describe_call("mse_loss", (y_pred, y), {"reduction": "sum"}),
                    mistakes={"this is the mean; 'sum' does not divide by n.": ref / n})
    expect_raises("ValueError", student.mse_loss, y_pred, y, reduction="Sum",
                  reason="reductions are case-sensitive: only 'mean' and 'sum'")


# -- mse_grad --------------------------------------------------------------------------


@pytest.mark.question("mse_grad")
@pytest.mark.points(8)
def test_mse_grad_random(student, rng):
    n, d = int(rng.integers(5, 40)), int(rng.integers(2, 8))
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    check_grad(student, X, y, rng.standard_normal(d), float(rng.normal()))


@pytest.mark.question("mse_grad")
@pytest.mark.points(6)
def test_mse_grad_single_sample(student, rng):
    d = int(rng.integers(2, 6))
    X, y = rng.standard_normal((1, d)), rng.standard_normal(1)
    check_grad(student, X, y, rng.standard_normal(d), float(rng.normal()))


@pytest.mark.question("mse_grad")
@pytest.mark.points(6)
def test_mse_grad_single_feature_random(student, rng):
    n = int(rng.integers(2, 20))
    X, y = rng.standard_normal((n, 1)), rng.standard_normal(n)
    check_grad(student, X, y, rng.standard_normal(1), float(rng.normal()))
    check_grad(student, X[:1], y[:1], rng.standard_normal(1), float(rng.normal()))


# -- gd_step ---------------------------------------------------------------------------


def _check_step(student: Any, params: dict, grads: dict, lr: float, expected: dict) -> None:
    call = describe_call("gd_step", (params, grads, lr), {})
    got = student.gd_step(params, grads, lr)
    assert_true(isinstance(got, dict) and {"w", "b"} <= set(got),
                f"{call} returned {describe_value(got)}, expected a dict with keys 'w' and 'b'.")
    assert_allclose(got["w"], expected["w"], call=f'{call}["w"]', rtol=1e-12, atol=1e-15,
                    mistakes={"gd_step added the gradient; descent subtracts lr · grad.":
                              params["w"] + lr * grads["w"]})
    assert_allclose(as_scalar(got["b"]), np.asarray(expected["b"]), call=f'{call}["b"]', rtol=1e-12,
                    atol=1e-15, hint="b ← b − lr · db, a float.")


@pytest.mark.question("gd_step")
@pytest.mark.points(3)
def test_gd_step_random(student, rng):
    d = int(rng.integers(1, 10))
    lr = float(rng.uniform(1e-3, 1.0))
    params = {"w": rng.standard_normal(d), "b": float(rng.normal())}
    grads = {"w": rng.standard_normal(d), "b": float(rng.normal())}
    expected = {"w": params["w"] - lr * grads["w"], "b": params["b"] - lr * grads["b"]}
    _check_step(student, params, grads, lr, expected)


@pytest.mark.question("gd_step")
@pytest.mark.points(3)
def test_gd_step_matches_torch_sgd(student, rng):
    d = int(rng.integers(2, 6))
    lr = float(rng.uniform(0.01, 0.5))
    params = {"w": rng.standard_normal(d), "b": float(rng.normal())}
    grads = {"w": rng.standard_normal(d), "b": float(rng.normal())}
    w = torch.tensor(params["w"], requires_grad=True)
    b = torch.tensor(params["b"], dtype=torch.float64, requires_grad=True)
    w.grad, b.grad = torch.tensor(grads["w"]), torch.tensor(grads["b"], dtype=torch.float64)
    torch.optim.SGD([w, b], lr=lr).step()
    _check_step(student, params, grads, lr, {"w": w.detach().numpy(), "b": b.item()})


# -- fit -------------------------------------------------------------------------------


@pytest.mark.question("fit")
@pytest.mark.points(8)
def test_fit_matches_torch_gradient_descent(student, rng):
    n, d = int(rng.integers(20, 60)), int(rng.integers(1, 5))
    lr, epochs = float(rng.uniform(0.02, 0.2)), int(rng.integers(10, 40))
    X, y = regression_data(rng, n, d)
    call = describe_call("fit", (X, y), {"lr": round(lr, 4), "epochs": epochs})
    w, b, losses = fit_result(student.fit(X, y, lr=lr, epochs=epochs), call, X, y, epochs)
    w_ref, b_ref, losses_ref = _torch_gradient_descent(X, y, lr, epochs)
    assert_allclose(losses, losses_ref, call=f"{call}: losses",
                    hint="losses[t] is the MEAN squared error before step t, starting from "
                         "w = 0, b = 0, one full-batch step per epoch.")
    assert_allclose(w, w_ref, call=f"{call}: w")
    assert_allclose(np.asarray(b), np.asarray(b_ref), call=f"{call}: b",
                    hint="b ← b − lr · db every epoch.")


@pytest.mark.question("fit")
@pytest.mark.points(5)
def test_fit_default_hyperparameters_converge(student, rng):
    X, y = regression_data(rng, int(rng.integers(40, 80)), int(rng.integers(2, 5)))
    # Defaults documented in the handout: lr = 0.1, 500 epochs.
    _check_converged(student, X, y, "fit(X, y) with the default lr and epochs", 500)


@pytest.mark.question("fit")
@pytest.mark.points(4)
def test_fit_large_but_stable_learning_rate(student, rng):
    X, y = regression_data(rng, int(rng.integers(40, 80)), int(rng.integers(2, 5)))
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    eig = np.linalg.eigvalsh(2.0 / X.shape[0] * A.T @ A)  # Hessian of the MSE
    lr = 1.5 / float(eig[-1])  # below the stability limit 2 / λmax
    rate = max(abs(1 - lr * eig[0]), abs(1 - lr * eig[-1]))
    epochs = math.ceil(1.2 * math.log(1e-12) / math.log(rate)) + 10
    call = describe_call("fit", (X, y), {"lr": round(lr, 4), "epochs": epochs})
    _check_converged(student, X, y, call, epochs, lr=lr, epochs=epochs)


@pytest.mark.question("fit")
@pytest.mark.points(4)
def test_fit_single_feature(student, rng):
    X, y = regression_data(rng, int(rng.integers(20, 50)), 1)
    _check_converged(student, X, y, "fit(X, y, lr=0.1, epochs=500) with X (n, 1)", 500,
                     lr=0.1, epochs=500)
