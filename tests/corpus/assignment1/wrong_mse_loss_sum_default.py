"""Wrong submission: mse_loss returns the SUM of squared errors when no reduction is given
(the default should be the mean).
"""

from __future__ import annotations

import numpy as np


def predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Predictions of the linear model for every sample: ``ŷᵢ = w · xᵢ + b``.

    Args:
        X: features, shape (n, d), one sample per row.
        w: weights, shape (d,).
        b: bias, a float.

    Returns:
        Array of shape (n,) (not (n, 1)): ``X @ w + b``.
    """
    return X @ w + b


def mse_loss(y_pred: np.ndarray, y: np.ndarray, reduction: str = "sum") -> float:
    """Squared-error loss between predictions and targets.

    ``reduction="mean"``: ``(1/n) Σᵢ (ŷᵢ − yᵢ)²``, the mean squared error (the default,
    as ``torch.nn.functional.mse_loss``).
    ``reduction="sum"``: ``Σᵢ (ŷᵢ − yᵢ)²``, the slides' Σ form.

    Args:
        y_pred: predictions, shape (n,).
        y: targets, shape (n,).
        reduction: "mean" or "sum".

    Returns:
        The loss, a float.

    Raises:
        ValueError: if ``reduction`` is neither "mean" nor "sum".
    """
    squared = (y_pred - y) ** 2
    if reduction == "mean":
        return float(np.mean(squared))
    if reduction == "sum":
        return float(np.sum(squared))
    raise ValueError(f"unknown reduction {reduction!r}; use 'mean' or 'sum'")


def mse_grad(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    """Gradient of the MEAN squared error ``(1/n) Σᵢ (w · xᵢ + b − yᵢ)²`` for w and b.

    With the residuals ``rᵢ = w · xᵢ + b − yᵢ``:

        dL/dw = (2/n) Σᵢ rᵢ xᵢ = (2/n) Xᵀ r
        dL/db = (2/n) Σᵢ rᵢ

    This is what PyTorch's autograd gives for
    ``F.mse_loss(X @ w + b, y, reduction="mean")``.  It must work for a single
    sample (n = 1) and a single feature (d = 1) too.

    Args:
        X: features, shape (n, d).
        y: targets, shape (n,).
        w: weights, shape (d,).
        b: bias, a float.

    Returns:
        ``(dw, db)``: dw of shape (d,) and db a float.
    """
    n = X.shape[0]
    residual = predict(X, w, b) - y
    dw = (2.0 / n) * (X.T @ residual)
    db = (2.0 / n) * float(np.sum(residual))
    return dw, db


def gd_step(params: dict, grads: dict, lr: float) -> dict:
    """One gradient-descent step: ``θ ← θ − lr · ∇L`` for every parameter.

    Args:
        params: ``{"w": array of shape (d,), "b": float}``.
        grads: the gradients, same keys and shapes: ``{"w": dw, "b": db}``.
        lr: learning rate (> 0).

    Returns:
        A new dict with the same keys, ``params[k] − lr · grads[k]`` for every key k
        (``"w"`` an array of shape (d,), ``"b"`` a float).  Do not modify ``params``.
    """
    return {key: params[key] - lr * grads[key] for key in params}


def fit(X: np.ndarray, y: np.ndarray, lr: float = 0.1, epochs: int = 500
        ) -> tuple[np.ndarray, float, list[float]]:
    """Fit w and b by full-batch gradient descent on the mean squared error.

    Start from ``w = 0`` (shape (d,)) and ``b = 0.0``.  Each epoch takes ONE step
    on the whole data set:

        losses.append(mse_loss(predict(X, w, b), y))      # the loss BEFORE the step
        dw, db = mse_grad(X, y, w, b)
        w, b = gd_step({"w": w, "b": b}, {"w": dw, "b": db}, lr)

    so ``losses[0]`` is the loss of w = 0, b = 0 and ``losses[t]`` the loss at the
    start of epoch t.  The defaults (lr = 0.1, 500 epochs) converge to the
    least-squares solution for features of about unit scale (standardise them
    first otherwise).  A learning rate that is too large makes gradient descent
    diverge: the loss grows every epoch until it overflows to inf/NaN.

    Args:
        X: features, shape (n, d).
        y: targets, shape (n,).
        lr: learning rate (> 0).
        epochs: number of gradient-descent steps (>= 1).

    Returns:
        ``(w, b, losses)``: the final weights, shape (d,), the final bias, a float, and
        the list of the ``epochs`` per-epoch mean squared errors.
    """
    w = np.zeros(X.shape[1])
    b = 0.0
    losses = []
    for _ in range(epochs):
        losses.append(mse_loss(predict(X, w, b), y))
        dw, db = mse_grad(X, y, w, b)
        params = gd_step({"w": w, "b": b}, {"w": dw, "b": db}, lr)
        w, b = params["w"], params["b"]
    return w, float(b), losses
