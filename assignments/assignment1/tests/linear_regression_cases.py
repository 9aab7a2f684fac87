"""What the checks of assignment 1 share: data builders, torch references and check helpers.

Imported by the public checks beside it and by the hidden ones; it holds no check itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.checks import (
    CheckFailure,
    assert_allclose,
    assert_true,
    describe_call,
    describe_value,
    precision_of,
    reference,
    unpack,
)


def as_numbers(value: Any, call: str, what: str) -> np.ndarray:
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
    raise CheckFailure(f"{call} returned {describe_value(value)} for {what}, expected {what}.")


def as_scalar(value: Any) -> Any:
    """A one-element array of at most one dimension as a 0-d array.

    A NumPy scalar returned by student code (np.float64) arrives as such an array.
    """
    if isinstance(value, np.ndarray) and value.size == 1 and value.ndim <= 1:
        return value.reshape(())
    return value


@reference
def torch_grad(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = F.mse_loss(torch.from_numpy(X) @ wt + bt, torch.from_numpy(y), reduction="mean")
    loss.backward()
    return wt.grad.numpy(), float(bt.grad)


def fit_result(value: Any, call: str, X: np.ndarray, y: np.ndarray,
                epochs: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Validate ``fit``'s (w, b, losses); NaN/inf or a growing loss is reported as divergence."""
    w, b, losses = unpack(value, 3, call, "(w, b, losses)")
    w = as_numbers(w, call, "w")
    b = as_numbers(b, call, "b")
    losses = as_numbers(losses, call, "losses")
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


def check_grad(student: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> None:
    dw_ref, db_ref = torch_grad(X, y, w, b)
    call = describe_call("mse_grad", (X, y, w, b), {})
    dw, db = unpack(student.mse_grad(X, y, w, b), 2, call, "(dw, db)")
    precision = precision_of((dw, db))  # a float db beside a float32 dw was computed in float32
    n = X.shape[0]
    mistakes = {
        "dw is half the gradient: the derivative of r² is 2r, keep the factor 2.": dw_ref / 2,
        "dw has the wrong sign: with r = (X @ w + b) − y the gradient is +(2/n) Xᵀ r.": -dw_ref,
        "dw is n times too large: this is the gradient of the MEAN squared error, divide by n.":
            dw_ref * n,
        "dw came back as a (d, 1) column: with a single sample the residual must stay a 1-D "
        "array of shape (1,) (do not squeeze it).": dw_ref[:, None],
    }
    assert_allclose(dw, dw_ref, call=f"{call}[0] (dw)", mistakes=mistakes, precision=precision,
                    hint="dL/dw = (2/n) Xᵀ r with the residuals r = X @ w + b − y.")
    assert_allclose(as_scalar(db), np.asarray(db_ref), call=f"{call}[1] (db)", precision=precision,
                    hint="dL/db = (2/n) Σ rᵢ, a float (not an array).",
                    mistakes={"db is half the gradient: keep the factor 2.": db_ref / 2,
                              "db has the wrong sign.": -db_ref,
                              "db is n times too large: divide by n.": db_ref * n})


def regression_data(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.standard_normal((n, d))
    y = X @ rng.uniform(-2, 2, d) + rng.uniform(-1, 1) + 0.1 * rng.standard_normal(n)
    return X, y


@reference
def least_squares(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    return theta[:-1], float(theta[-1])
