"""Hidden checks of assignment 1 (linear regression): random shapes, edge cases, trajectories."""

from __future__ import annotations

import math
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


def _check_grad(student: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> None:
    dw_ref, db_ref = _torch_grad(X, y, w, b)
    call = describe_call("mse_grad", (X, y, w, b), {})
    dw, db = _unpack(student.mse_grad(X, y, w, b), 2, call, "(dw, db)")
    precision = precision_of((dw, db))  # a float db beside a float32 dw was computed in float32
    n = X.shape[0]
    mistakes = {
        "dw is half the gradient: keep the factor 2.": dw_ref / 2,
        "dw has the wrong sign.": -dw_ref,
        "dw is n times too large: divide by n.": dw_ref * n,
        "dw came back as a (d, 1) column: with a single sample the residual must stay a 1-D "
        "array of shape (1,) (do not squeeze it).": dw_ref[:, None],
    }
    assert_allclose(dw, dw_ref, call=f"{call}[0] (dw)", mistakes=mistakes, precision=precision,
                    hint="dL/dw = (2/n) Xᵀ r with the residuals r = X @ w + b − y.")
    assert_allclose(_scalar(db), np.asarray(db_ref), call=f"{call}[1] (db)", precision=precision,
                    hint="dL/db = (2/n) Σ rᵢ, a float (not an array).")


def _regression_data(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.standard_normal((n, d))
    y = X @ rng.uniform(-2, 2, d) + rng.uniform(-1, 1) + 0.1 * rng.standard_normal(n)
    return X, y


@reference
def _least_squares(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    return theta[:-1], float(theta[-1])


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
    w, b, _ = _fit_result(student.fit(X, y, **kwargs), call, X, y, n_epochs)
    w_ref, b_ref = _least_squares(X, y)
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
    assert_allclose(_scalar(student.mse_loss(y_pred, y, reduction="mean")), ref,
                    call=describe_call("mse_loss", (y_pred, y), {"reduction": "mean"}),
                    mistakes={"this is the sum; 'mean' divides by n.": ref * n})


@pytest.mark.question("mse_loss")
@pytest.mark.points(3)
def test_mse_loss_random_sum(student, rng):
    n = int(rng.integers(3, 40))
    y_pred, y = rng.standard_normal(n), rng.standard_normal(n)
    ref = F.mse_loss(torch.from_numpy(y_pred), torch.from_numpy(y), reduction="sum").numpy()
    assert_allclose(_scalar(student.mse_loss(y_pred, y, reduction="sum")), ref,
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
    _check_grad(student, X, y, rng.standard_normal(d), float(rng.normal()))


@pytest.mark.question("mse_grad")
@pytest.mark.points(6)
def test_mse_grad_single_sample(student, rng):
    d = int(rng.integers(2, 6))
    X, y = rng.standard_normal((1, d)), rng.standard_normal(1)
    _check_grad(student, X, y, rng.standard_normal(d), float(rng.normal()))


@pytest.mark.question("mse_grad")
@pytest.mark.points(6)
def test_mse_grad_single_feature_random(student, rng):
    n = int(rng.integers(2, 20))
    X, y = rng.standard_normal((n, 1)), rng.standard_normal(n)
    _check_grad(student, X, y, rng.standard_normal(1), float(rng.normal()))
    _check_grad(student, X[:1], y[:1], rng.standard_normal(1), float(rng.normal()))


# -- gd_step ---------------------------------------------------------------------------


def _check_step(student: Any, params: dict, grads: dict, lr: float, expected: dict) -> None:
    call = describe_call("gd_step", (params, grads, lr), {})
    got = student.gd_step(params, grads, lr)
    assert_true(isinstance(got, dict) and {"w", "b"} <= set(got),
                f"{call} returned {_kind(got)}, expected a dict with keys 'w' and 'b'.")
    assert_allclose(got["w"], expected["w"], call=f'{call}["w"]', rtol=1e-12, atol=1e-15,
                    mistakes={"gd_step added the gradient; descent subtracts lr · grad.":
                              params["w"] + lr * grads["w"]})
    assert_allclose(_scalar(got["b"]), np.asarray(expected["b"]), call=f'{call}["b"]', rtol=1e-12,
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
    X, y = _regression_data(rng, n, d)
    call = describe_call("fit", (X, y), {"lr": round(lr, 4), "epochs": epochs})
    w, b, losses = _fit_result(student.fit(X, y, lr=lr, epochs=epochs), call, X, y, epochs)
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
    X, y = _regression_data(rng, int(rng.integers(40, 80)), int(rng.integers(2, 5)))
    # Defaults documented in the handout: lr = 0.1, 500 epochs.
    _check_converged(student, X, y, "fit(X, y) with the default lr and epochs", 500)


@pytest.mark.question("fit")
@pytest.mark.points(4)
def test_fit_large_but_stable_learning_rate(student, rng):
    X, y = _regression_data(rng, int(rng.integers(40, 80)), int(rng.integers(2, 5)))
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
    X, y = _regression_data(rng, int(rng.integers(20, 50)), 1)
    _check_converged(student, X, y, "fit(X, y, lr=0.1, epochs=500) with X (n, 1)", 500,
                     lr=0.1, epochs=500)
