"""Assignment 1: linear regression in NumPy, trained with gradient descent.

The model predicts one number per sample from its d features x:

    ŷ = w · x + b

with a weight vector w and a scalar bias b.  Over n samples the squared error is

    L = Σᵢ |(w · xᵢ + b) − yᵢ|²             (the slides' Σ form, reduction="sum")

and the mean squared error (MSE) is L / n (reduction="mean").  Training minimises
the MEAN squared error with gradient descent: every parameter θ takes the step

    θ ← θ − lr · ∇L

Shapes used throughout (one sample per row, as in PyTorch):

    X: (n, d)    y: (n,)    w: (d,)    b: a float

The grader can pass only arrays, numbers, tuples, lists and dicts with string
keys to your code, so parameters and gradients travel as ``{"w": w, "b": b}``.

Use NumPy only.
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
    raise NotImplementedError("predict")


def mse_loss(y_pred: np.ndarray, y: np.ndarray, reduction: str = "mean") -> float:
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
    raise NotImplementedError("mse_loss")


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
    raise NotImplementedError("mse_grad")


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
    raise NotImplementedError("gd_step")


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
    raise NotImplementedError("fit")
