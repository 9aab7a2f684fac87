"""Wrong submission: every function returns zeros (or 0.0) of the right shapes and types."""

from __future__ import annotations

import numpy as np


def predict(X, w, b):
    return np.zeros(X.shape[0])


def mse_loss(y_pred, y, reduction="mean"):
    return 0.0


def mse_grad(X, y, w, b):
    return np.zeros(X.shape[1]), 0.0


def gd_step(params, grads, lr):
    return {"w": np.zeros_like(params["w"]), "b": 0.0}


def fit(X, y, lr=0.1, epochs=500):
    return np.zeros(X.shape[1]), 0.0, [0.0] * epochs
