"""Wrong submission: every function returns zeros of the right shapes."""

from __future__ import annotations

import numpy as np


def min_max_normalize(X, feature_range=(0, 1)):
    return np.zeros_like(X, dtype=float)


def z_score_fit(X):
    return np.zeros(X.shape[1]), np.zeros(X.shape[1])


def z_score_apply(X, mean, std):
    return np.zeros_like(X, dtype=float)


def normalize_images(x, mean, std):
    return np.zeros_like(x, dtype=float)


def pca(X, k=None):
    k = X.shape[1] if k is None else k
    return np.zeros((X.shape[0], k)), np.zeros((X.shape[1], k)), np.zeros(k)


def whiten(X, eps=1e-5):
    return np.zeros_like(X, dtype=float)


def minibatches(X, y, batch_size, shuffle=True, seed=0):
    n = X.shape[0]
    return [
        (np.zeros_like(X[i : i + batch_size], dtype=float), np.zeros(len(y[i : i + batch_size])))
        for i in range(0, n, batch_size)
    ]
