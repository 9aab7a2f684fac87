"""Public checks of assignment 1 (linear regression): small fixed cases against PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import (
    CheckFailure,
    assert_allclose,
    assert_true,
    describe_call,
    expect_raises,
    precision_of,
    reference,
)


X_SMALL = np.array([[1.0, 2.0], [0.5, -1.0], [-2.0, 0.0], [3.0, 1.5]])
Y_SMALL = np.array([3.0, -0.5, -2.0, 4.0])
W_SMALL = np.array([0.5, -1.5])
B_SMALL = 0.25


# -- helpers -------------------------------------------------------------------------


def _as_numbers(value: Any, call: str, what: str) -> np.ndarray:
    """``value`` as a float array (a number, an array or a list of numbers), else a failure."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(np.float64)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(float(value))
    if isinstance(value, (list, tuple)) and all(
            (isinstance(v, (int, float)) and not isinstance(v, bool))
            or (isinstance(v, np.ndarray) and v.size == 1 and v.ndim <= 1
                and v.dtype.kind in "biuf")
            for v in value):
        return np.array([float(np.asarray(v).reshape(-1)[0]) for v in value])
    raise CheckFailure(f"{call} returned {_kind(value)} for {what}, expected {what}.")


def _scalar(value: Any) -> Any:
    """A one-element array of at most one dimension as a 0-d array.

    A NumPy scalar returned by student code (np.float64) arrives as such an array.
    """
    if isinstance(value, np.ndarray) and value.size == 1 and value.ndim <= 1:
        return value.reshape(())
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "None (did you forget a return statement?)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _unpack(value: Any, count: int, call: str, names: str) -> tuple[Any, ...]:
    if not (isinstance(value, (tuple, list)) and len(value) == count):
        raise CheckFailure(f"{call} returned {_kind(value)}, expected a tuple {names}.")
    return tuple(value)


@reference
def _torch_grad(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = F.mse_loss(torch.from_numpy(X) @ wt + bt, torch.from_numpy(y), reduction="mean")
    loss.backward()
    return wt.grad.numpy(), float(bt.grad)


def _fit_result(value: Any, call: str, X: np.ndarray, y: np.ndarray,
                epochs: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Validate ``fit``'s (w, b, losses); NaN/inf or a growing loss is reported as divergence."""
    w, b, losses = _unpack(value, 3, call, "(w, b, losses)")
    w = _as_numbers(w, call, "w")
    b = _as_numbers(b, call, "b")
    losses = _as_numbers(losses, call, "losses")
    d = X.shape[1]
    assert_true(w.shape == (d,), f"{call} returned w of shape {w.shape}, expected ({d},).")
    assert_true(b.size == 1, f"{call} returned b of shape {b.shape}, expected a float.")
    assert_true(losses.shape == (epochs,), f"{call} returned losses of shape {losses.shape}, "
                f"expected ({epochs},): one mean squared error per epoch.")
    for name, arr in (("w", w), ("b", b), ("losses", losses)):
        if not np.isfinite(arr).all():
            raise CheckFailure(
                f"{call} diverged: NaN values (or inf) in {name} — learning rate too large? With "
                "this learning rate gradient descent on the MEAN squared error converges, so "
                "check that mse_grad averages over the n samples (the factor 2/n) and that "
                "gd_step moves against the gradient (θ − lr·∇L).")
    b_value = float(b.reshape(-1)[0])
    with np.errstate(all="ignore"):
        final = float(np.mean((X @ w + b_value - y) ** 2))
    start = float(np.mean(y**2))
    if not final <= start:
        raise CheckFailure(
            f"{call} diverged: the mean squared error of the returned w, b is {final:.4g}, "
            f"larger than {start:.4g} at the start (w = 0, b = 0) — learning rate too large, or "
            "a step that goes uphill? Check the sign and the 2/n factor of mse_grad and that "
            "gd_step subtracts lr·grad.")
    return w, b_value, losses


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
    got = _scalar(student.mse_loss(y_pred, Y_SMALL))
    assert_allclose(got, ref, call="mse_loss(y_pred, y) (default reduction)",
                    hint="the default reduction is 'mean': (1/n) Σ (ŷᵢ − yᵢ)².",
                    mistakes={"this is the sum of the squared errors; the default reduction is "
                              "'mean': divide by n.": ref * len(Y_SMALL)})


@pytest.mark.question("mse_loss")
@pytest.mark.points(3)
def test_mse_loss_sum(student):
    y_pred = X_SMALL @ W_SMALL + B_SMALL
    ref = F.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(Y_SMALL), reduction="sum").numpy()
    got = _scalar(student.mse_loss(y_pred, Y_SMALL, reduction="sum"))
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


def _check_grad(student: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> None:
    dw_ref, db_ref = _torch_grad(X, y, w, b)
    call = describe_call("mse_grad", (X, y, w, b), {})
    dw, db = _unpack(student.mse_grad(X, y, w, b), 2, call, "(dw, db)")
    precision = precision_of((dw, db))  # a float db beside a float32 dw was computed in float32
    n = X.shape[0]
    mistakes = {
        "dw is half the gradient: the derivative of r² is 2r, keep the factor 2.": dw_ref / 2,
        "dw has the wrong sign: with r = (X @ w + b) − y the gradient is +(2/n) Xᵀ r.": -dw_ref,
        "dw is n times too large: this is the gradient of the MEAN squared error, divide by n.":
            dw_ref * n,
    }
    assert_allclose(dw, dw_ref, call=f"{call}[0] (dw)", mistakes=mistakes, precision=precision,
                    hint="dL/dw = (2/n) Xᵀ r with the residuals r = X @ w + b − y.")
    assert_allclose(_scalar(db), np.asarray(db_ref), call=f"{call}[1] (db)", precision=precision,
                    hint="dL/db = (2/n) Σ rᵢ, a float (not an array).",
                    mistakes={"db is half the gradient: keep the factor 2.": db_ref / 2,
                              "db has the wrong sign.": -db_ref,
                              "db is n times too large: divide by n.": db_ref * n})


@pytest.mark.question("mse_grad")
@pytest.mark.points(6)
def test_mse_grad_small(student):
    _check_grad(student, X_SMALL, Y_SMALL, W_SMALL, B_SMALL)


@pytest.mark.question("mse_grad")
@pytest.mark.points(4)
def test_mse_grad_single_feature(student):
    X = np.array([[1.0], [2.0], [-1.0]])
    y = np.array([2.0, 3.5, -1.0])
    _check_grad(student, X, y, np.array([0.5]), -0.5)


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
                f"{call} returned {_kind(got)}, expected a dict with keys 'w' and 'b'.")
    expected_w = params["w"] - lr * grads["w"]
    assert_allclose(got["w"], expected_w, call=f'{call}["w"]', rtol=1e-12, atol=1e-15,
                    hint="θ ← θ − lr · ∇L for every parameter.",
                    mistakes={"gd_step added the gradient; gradient DEScent subtracts lr · grad.":
                              params["w"] + lr * grads["w"]})
    assert_allclose(_scalar(got["b"]), np.asarray(params["b"] - lr * grads["b"]),
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
                f"{call} returned {_kind(got)}, expected a dict with keys 'w' and 'b'.")
    assert_allclose(got["w"], np.array([-0.5, 2.0]), call=f'{call}["w"]',
                    hint="θ ← θ − lr · ∇L for every parameter.")
    assert_allclose(_scalar(got["b"]), np.asarray(-0.5), call=f'{call}["b"]',
                    hint="b ← b − lr · db, a float.")


# -- fit -------------------------------------------------------------------------------


def _regression_data(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.standard_normal((n, d))
    y = X @ rng.uniform(-2, 2, d) + rng.uniform(-1, 1) + 0.1 * rng.standard_normal(n)
    return X, y


@reference
def _least_squares(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    return theta[:-1], float(theta[-1])


@pytest.mark.question("fit")
@pytest.mark.points(8)
def test_fit_converges_to_least_squares(student):
    X, y = _regression_data(np.random.default_rng(1), 60, 3)
    call = "fit(X, y, lr=0.1, epochs=500) with X (60, 3)"
    w, b, _ = _fit_result(student.fit(X, y, lr=0.1, epochs=500), call, X, y, 500)
    w_ref, b_ref = _least_squares(X, y)
    hint = "500 steps with lr = 0.1 reach the least-squares solution; check mse_grad and gd_step."
    assert_allclose(w, w_ref, call=f"{call}: w", atol=1e-6, rtol=1e-6, hint=hint)
    assert_allclose(np.asarray(b), np.asarray(b_ref), call=f"{call}: b", atol=1e-6, rtol=1e-6,
                    hint="the bias must be updated too: b ← b − lr · db.")


@pytest.mark.question("fit")
@pytest.mark.points(6)
def test_fit_loss_history_starts_at_zero_weights_and_never_increases(student):
    X, y = _regression_data(np.random.default_rng(2), 40, 2)
    call = "fit(X, y, lr=0.01, epochs=50)"
    _, _, losses = _fit_result(student.fit(X, y, lr=0.01, epochs=50), call, X, y, 50)
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
