"""Public checks of assignment 1 (linear regression): small fixed cases against PyTorch."""

from __future__ import annotations

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
    CheckFailure,
    assert_allclose,
    assert_true,
    describe_value,
    expect_raises,
)

X_SMALL = np.array([[1.0, 2.0], [0.5, -1.0], [-2.0, 0.0], [3.0, 1.5]])
Y_SMALL = np.array([3.0, -0.5, -2.0, 4.0])
W_SMALL = np.array([0.5, -1.5])
B_SMALL = 0.25


# -- predict ---------------------------------------------------------------------------


@pytest.mark.question("predict")
@pytest.mark.points(4)
def test_predict_small(student):
    expected = (torch.from_numpy(X_SMALL) @ torch.from_numpy(W_SMALL) + B_SMALL).numpy()
    got = student.predict(X_SMALL, W_SMALL, B_SMALL)
    assert_allclose(got, expected, call="predict(X, w, b) with X (4, 2), w (2,)",
                    hint="ŷᵢ = w · xᵢ + b for every row xᵢ of X, i.e. X @ w + b.",
                    mistakes={"predict returned a column (n, 1); return shape (n,): X @ w with w "
                              "of shape (d,), not (d, 1).": expected[:, None]})


# -- mse_loss --------------------------------------------------------------------------


@pytest.mark.question("mse_loss")
@pytest.mark.points(3)
def test_mse_loss_mean_is_default(student):
    y_pred = X_SMALL @ W_SMALL + B_SMALL
    ref = F.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(Y_SMALL)).numpy()
    got = as_scalar(student.mse_loss(y_pred, Y_SMALL))
    assert_allclose(got, ref, call="mse_loss(y_pred, y) (default reduction)",
                    hint="the default reduction is 'mean': (1/n) Σ (ŷᵢ − yᵢ)².",
                    mistakes={"this is the sum of the squared errors; the default reduction is "
                              "'mean': divide by n.": ref * len(Y_SMALL)})


@pytest.mark.question("mse_loss")
@pytest.mark.points(3)
def test_mse_loss_sum(student):
    y_pred = X_SMALL @ W_SMALL + B_SMALL
    ref = F.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(Y_SMALL), reduction="sum").numpy()
    got = as_scalar(student.mse_loss(y_pred, Y_SMALL, reduction="sum"))
    assert_allclose(got, ref, call='mse_loss(y_pred, y, reduction="sum")',
                    hint="reduction='sum' is the slides' Σ form: Σ (ŷᵢ − yᵢ)², no division.",
                    mistakes={"this is the mean; reduction='sum' must not divide by n.":
                              ref / len(Y_SMALL)})


@pytest.mark.question("mse_loss")
@pytest.mark.points(2)
def test_mse_loss_unknown_reduction_raises(student):
    y_pred = X_SMALL @ W_SMALL
    expect_raises("ValueError", student.mse_loss, y_pred, Y_SMALL, reduction="median",
                  reason="only 'mean' and 'sum' are valid reductions; raise ValueError otherwise")


# -- mse_grad --------------------------------------------------------------------------


@pytest.mark.question("mse_grad")
@pytest.mark.points(6)
def test_mse_grad_small(student):
    check_grad(student, X_SMALL, Y_SMALL, W_SMALL, B_SMALL)


@pytest.mark.question("mse_grad")
@pytest.mark.points(4)
def test_mse_grad_single_feature(student):
    X = np.array([[1.0], [2.0], [-1.0]])
    y = np.array([2.0, 3.5, -1.0])
    check_grad(student, X, y, np.array([0.5]), -0.5)


# -- gd_step ---------------------------------------------------------------------------


@pytest.mark.question("gd_step")
@pytest.mark.points(3)
def test_gd_step_small(student):
    params = {"w": np.array([1.0, -2.0, 0.5]), "b": 0.75}
    grads = {"w": np.array([0.5, 1.0, -4.0]), "b": -2.0}
    lr = 0.1
    got = student.gd_step(params, grads, lr)
    call = "gd_step(params, grads, lr=0.1)"
    assert_true(isinstance(got, dict) and {"w", "b"} <= set(got),
                f"{call} returned {describe_value(got)}, expected a dict with keys 'w' and 'b'.")
    expected_w = params["w"] - lr * grads["w"]
    assert_allclose(got["w"], expected_w, call=f'{call}["w"]', rtol=1e-12, atol=1e-15,
                    hint="θ ← θ − lr · ∇L for every parameter.",
                    mistakes={"gd_step added the gradient; gradient DEScent subtracts lr · grad.":
                              params["w"] + lr * grads["w"]})
    assert_allclose(as_scalar(got["b"]), np.asarray(params["b"] - lr * grads["b"]),
                    call=f'{call}["b"]', rtol=1e-12, atol=1e-15, hint="b ← b − lr · db, a float.")


@pytest.mark.question("gd_step")
@pytest.mark.points(1)
@pytest.mark.arguments_unchanged("gd_step")
def test_gd_step_leaves_params_and_grads_unchanged(student):
    """The docstring says "Do not modify params": gd_step returns a new dict."""
    params = {"w": np.array([0.5, 1.5]), "b": -0.25}
    grads = {"w": np.array([2.0, -1.0]), "b": 0.5}
    got = student.gd_step(params, grads, 0.5)
    call = "gd_step(params, grads, lr=0.5)"
    assert_true(isinstance(got, dict) and {"w", "b"} <= set(got),
                f"{call} returned {describe_value(got)}, expected a dict with keys 'w' and 'b'.")
    assert_allclose(got["w"], np.array([-0.5, 2.0]), call=f'{call}["w"]',
                    hint="θ ← θ − lr · ∇L for every parameter.")
    assert_allclose(as_scalar(got["b"]), np.asarray(-0.5), call=f'{call}["b"]',
                    hint="b ← b − lr · db, a float.")


# -- fit -------------------------------------------------------------------------------


@pytest.mark.question("fit")
@pytest.mark.points(8)
def test_fit_converges_to_least_squares(student):
    X, y = regression_data(np.random.default_rng(1), 60, 3)
    call = "fit(X, y, lr=0.1, epochs=500) with X (60, 3)"
    w, b, _ = fit_result(student.fit(X, y, lr=0.1, epochs=500), call, X, y, 500)
    w_ref, b_ref = least_squares(X, y)
    hint = "500 steps with lr = 0.1 reach the least-squares solution; check mse_grad and gd_step."
    assert_allclose(w, w_ref, call=f"{call}: w", atol=1e-6, rtol=1e-6, hint=hint)
    assert_allclose(np.asarray(b), np.asarray(b_ref), call=f"{call}: b", atol=1e-6, rtol=1e-6,
                    hint="the bias must be updated too: b ← b − lr · db.")


@pytest.mark.question("fit")
@pytest.mark.points(6)
def test_fit_loss_history_starts_at_zero_weights_and_never_increases(student):
    X, y = regression_data(np.random.default_rng(2), 40, 2)
    call = "fit(X, y, lr=0.01, epochs=50)"
    _, _, losses = fit_result(student.fit(X, y, lr=0.01, epochs=50), call, X, y, 50)
    start = float(np.mean(y**2))
    assert_allclose(losses[0], np.asarray(start), call=f"{call}: losses[0]",
                    hint="start from w = 0, b = 0 and record the MEAN squared error before each "
                         "step, so losses[0] = mean(y²).",
                    mistakes={"losses[0] is the SUM of squared errors; record the mean.":
                              start * len(y)})
    steps = np.diff(losses)
    rises = np.flatnonzero(steps > 1e-12 * (1.0 + np.abs(losses[:-1])))
    if rises.size:
        t = int(rises[0]) + 1
        raise CheckFailure(
            f"{call}: the loss history increases at epoch {t} ({losses[t - 1]:.6g} -> "
            f"{losses[t]:.6g}). With a small learning rate every gradient-descent step lowers "
            "the loss: check the sign of the step and that losses[t] is the loss before step t.")
