"""Assignment 4: data preprocessing in NumPy — scaling, PCA, whitening and minibatches.

A data set is a 2-D array X of shape (n, d): one sample per row, one feature per
column.  Statistics are computed PER FEATURE, i.e. over the samples (axis 0):

    min-max:  (value − min) / (max − min), then scaled to feature_range
    z-score:  (value − mean) / std, with the population std √((1/n) Σ (xᵢ − mean)²)
              (ddof = 0, as np.std(X, axis=0) and torch.std(X, dim=0, unbiased=False))

A constant feature (max == min, std == 0) gives 0, never NaN.  Statistics come
from the TRAINING data only and are then applied unchanged to validation and
test data: recomputing them on the test data leaks information about it.

PCA centres the data and rotates it into the eigenbasis of its covariance
matrix C = (1/n) Xcᵀ Xc (Xc = X − mean, and 1/n, not 1/(n − 1)), where the
covariance becomes diagonal.  Whitening also divides each rotated feature by
√(eigenvalue + eps), so the covariance becomes (close to) the identity.

Use NumPy only.
"""

from __future__ import annotations

import numpy as np


def min_max_normalize(X: np.ndarray, feature_range: tuple[float, float] = (0, 1)) -> np.ndarray:
    """Scale every feature (column) linearly onto ``feature_range``.

    With ``lo, hi = feature_range`` and the minimum and maximum of each column:

        scaled = (X − min) / (max − min)          in [0, 1]
        result = scaled · (hi − lo) + lo          in [lo, hi]

    A constant feature (max == min) has ``scaled = 0``, so it maps to ``lo`` (0 for
    the default range), never NaN.

    Args:
        X: data, shape (n, d).
        feature_range: ``(lo, hi)`` with lo < hi.

    Returns:
        Array of shape (n, d): each column's minimum becomes ``lo`` and its maximum ``hi``.
    """
    lo, hi = feature_range
    x_min = X.min(axis=0)
    span = X.max(axis=0) - x_min
    # Divide only where max > min; elsewhere keep the 0 of ``out``.
    scaled = np.divide(X - x_min, span, out=np.zeros(X.shape), where=span > 0)
    return scaled * (hi - lo) + lo


def z_score_fit(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and POPULATION standard deviation of the (training) data.

        mean = (1/n) Σᵢ xᵢ,      std = √((1/n) Σᵢ (xᵢ − mean)²)      (ddof = 0)

    A constant feature has std 0 (return it as 0; :func:`z_score_apply` handles it).

    Args:
        X: training data, shape (n, d).

    Returns:
        ``(mean, std)``, each of shape (d,).
    """
    mean = X.mean(axis=0)
    std = np.sqrt(np.mean((X - mean) ** 2, axis=0))
    return mean, std


def z_score_apply(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Standardise X with GIVEN statistics (those of the training data): ``(X − mean) / std``.

    Use ``mean`` and ``std`` as passed in, never statistics of X itself: X may be
    test data, whose own statistics differ.  Where ``std == 0`` (a constant
    training feature) the result is 0, not NaN or inf.

    Args:
        X: data to transform, shape (m, d) (any number of samples m).
        mean: per-feature means, shape (d,), from :func:`z_score_fit`.
        std: per-feature standard deviations, shape (d,), from :func:`z_score_fit`.

    Returns:
        Array of shape (m, d).
    """
    # Divide only where std > 0; elsewhere keep the 0 of ``out``.
    return np.divide(X - mean, std, out=np.zeros(X.shape), where=std > 0)


def normalize_images(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Normalise a batch of images per channel: ``(x[:, c] − mean[c]) / std[c]``.

    The same as ``torchvision.transforms.Normalize(mean, std)`` applied to every
    image of the batch: channel c of every image and every pixel uses mean[c] and
    std[c].

    Args:
        x: images, shape (N, C, H, W).
        mean: per-channel means, shape (C,).
        std: per-channel standard deviations, shape (C,), all > 0.

    Returns:
        Array of shape (N, C, H, W).
    """
    return (x - mean[None, :, None, None]) / std[None, :, None, None]


def pca(X: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal component analysis: rotate the centred data into the covariance eigenbasis.

        Xc = X − mean(X, axis=0)
        C = (1/n) Xcᵀ Xc                                  (d, d), 1/n not 1/(n − 1)
        C vⱼ = λⱼ vⱼ,   λ₁ ≥ λ₂ ≥ ... ≥ λ_d               (sorted DESCENDING)
        components = [v₁ ... v_k]                         (d, k), orthonormal columns
        X_rot = Xc @ components                           (n, k)

    The covariance of X_rot is diagonal: (1/n) X_rotᵀ X_rot = diag(λ₁, ..., λ_k).
    Each eigenvector is defined only up to its sign; either sign is accepted.
    (``np.linalg.eigh`` returns eigenvalues in ascending order.)

    Args:
        X: data, shape (n, d).
        k: number of components to keep, 1 <= k <= d; None keeps all d.

    Returns:
        ``(X_rot, components, eigenvalues)`` of shapes (n, k), (d, k) and (k,).
    """
    Xc = X - X.mean(axis=0)
    cov = Xc.T @ Xc / X.shape[0]
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    order = np.argsort(eigenvalues)[::-1]
    k = X.shape[1] if k is None else k
    components = eigenvectors[:, order[:k]]
    return Xc @ components, components, eigenvalues[order[:k]]


def whiten(X: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """PCA whitening: rotate with :func:`pca`, then scale every component to unit variance.

        X_rot, components, λ = pca(X)
        X_white = X_rot / √(λ + eps)                  (column j divided by √(λⱼ + eps))

    The covariance (1/n) X_whiteᵀ X_white is diag(λⱼ / (λⱼ + eps)) ≈ the identity, and
    the columns have mean 0.  ``eps`` keeps directions with (almost) zero variance
    finite.  Columns follow pca's order (largest variance first) and, like pca's
    components, each is defined only up to its sign.

    Return float64 (compute in float64): along a direction of tiny variance, float32
    rounding is larger than the effect of ``eps`` you are asked to get right.

    Args:
        X: data, shape (n, d).
        eps: small positive number added to every eigenvalue.

    Returns:
        Array of shape (n, d).
    """
    X_rot, _, eigenvalues = pca(X)
    return X_rot / np.sqrt(eigenvalues + eps)


def minibatches(X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split one epoch of (X, y) into minibatches; every sample appears exactly once.

    With ``shuffle=True`` the samples are visited in a random order that depends
    only on ``seed`` (e.g. ``np.random.default_rng(seed).permutation(n)``): the same
    seed gives the same batches, another seed another order.  With
    ``shuffle=False`` the original order is kept.  Consecutive groups of
    ``batch_size`` samples form the batches; the last batch is smaller when
    ``batch_size`` does not divide n (it is kept, not dropped).  X[i] and y[i]
    always stay together.

    The batches are RETURNED as a list (a generator could not be passed back to
    the grader).

    Args:
        X: samples, shape (n, ...) (first axis = samples).
        y: targets, shape (n,) (or (n, ...)).
        batch_size: number of samples per batch (>= 1).
        shuffle: visit the samples in a random order.
        seed: seed of the random order.

    Returns:
        A list of ``ceil(n / batch_size)`` tuples ``(X_batch, y_batch)``; X_batch has
        shape (b, ...) and y_batch shape (b,) with b = batch_size, except possibly
        the last batch.
    """
    n = X.shape[0]
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]])
            for i in range(0, n, batch_size)]
