"""What the checks of assignment 4 share: data builders, torch references and check helpers.

Imported by the public checks beside it and by the hidden ones; it holds no check itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from autograder.checks import (
    CheckFailure,
    assert_allclose,
    assert_finite,
    describe_value,
    reference,
    unpack,
)


def as_float_array(value: Any, shape: tuple[int, ...], call: str) -> np.ndarray:
    """``value`` as a finite float array of ``shape``, else a failure naming the call; a float32
    (or float16) array keeps its precision, so what is computed from it is judged at that precision."""
    arr = assert_finite(value, call=call)
    if arr.shape != shape:
        raise CheckFailure(f"{call} returned shape {tuple(arr.shape)}, expected {shape}.")
    return arr if arr.dtype.kind == "f" and arr.dtype.itemsize < 8 else arr.astype(np.float64)


def like(expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    """``expected`` rounded to ``got``'s float precision when that is lower (float32 rows)."""
    if got.dtype.kind == "f" and got.dtype.itemsize < expected.dtype.itemsize:
        return expected.astype(got.dtype)
    return expected


@reference
def min_max_ref(X: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    t = torch.from_numpy(X)
    span = t.amax(dim=0) - t.amin(dim=0)
    scaled = torch.where(span > 0, (t - t.amin(dim=0)) / torch.where(span > 0, span, 1.0), 0.0)
    return (scaled * (hi - lo) + lo).numpy()


@reference
def stats_ref(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.from_numpy(X)
    return torch.mean(t, dim=0).numpy(), torch.std(t, dim=0, unbiased=False).numpy()


@reference
def pca_ref(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Xc, eigenvalues descending, eigenvectors as columns) with torch.linalg.eigh."""
    t = torch.from_numpy(X)
    centred = t - t.mean(dim=0)
    values, vectors = torch.linalg.eigh(centred.T @ centred / t.shape[0])
    return centred.numpy(), values.flip(0).numpy(), vectors.flip(1).numpy()


def pca_data(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Correlated data with well separated variances and a non-zero mean."""
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = 3.0 * 0.6 ** np.arange(d)
    return (rng.standard_normal((n, d)) * scales) @ rotation.T + rng.uniform(-5, 5, d)


def best_signs(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per column, +1 or -1: the sign that best aligns ``got`` with ``ref``."""
    signs = np.sign(np.sum(got * ref, axis=0))
    return np.where(signs == 0, 1.0, signs)


def check_stats(student: Any, X: np.ndarray, call: str) -> None:
    mean_ref, std_ref = stats_ref(X)
    mean, std = unpack(student.z_score_fit(X), 2, call, "(mean, std)")
    assert_allclose(mean, mean_ref, call=f"{call}: mean",
                    hint="the mean of every feature (column): X.mean(axis=0).")
    sample_std = np.std(X, axis=0, ddof=1)
    assert_allclose(std, std_ref, call=f"{call}: std",
                    hint="the population standard deviation of every column: divide by n "
                         "(ddof=0).",
                    mistakes={"this is the sample std (ddof=1, dividing by n − 1); use the "
                              "population std (ddof=0, dividing by n), like np.std(X, axis=0).":
                              sample_std})


def eigenvalue_mistakes(values: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """What pca's eigenvalues would be with a classic mistake, by hint."""
    return {"the eigenvalues are in ascending order (np.linalg.eigh's order); sort them "
            "descending, and the components with them.": np.sort(values),
            "the covariance was divided by n − 1; use 1/n.": values * n / (n - 1)}


def check_pca(student: Any, X: np.ndarray, k: int | None, call: str) -> None:
    """Compare pca's three outputs with torch.linalg.eigh, up to the sign of each component."""
    n, d = X.shape
    kk = d if k is None else k
    centred, values, vectors = pca_ref(X)
    values, vectors = values[:kk], vectors[:, :kk]
    X_rot, components, eigenvalues = unpack(
        student.pca(X) if k is None else student.pca(X, k=k), 3, call,
        "(X_rot, components, eigenvalues)")
    assert_allclose(eigenvalues, values, call=f"{call}: eigenvalues",
                    hint="eigenvalues of the covariance (1/n) Xcᵀ Xc, largest first.",
                    mistakes=eigenvalue_mistakes(values, n))
    components = as_float_array(components, (d, kk), f"{call}: components")
    signs = best_signs(components, vectors)
    assert_allclose(components * signs, vectors, call=f"{call}: components (up to sign)",
                    hint="component j is the unit eigenvector of eigenvalue j, stored as "
                         "COLUMN j of a (d, k) array.")
    X_rot = as_float_array(X_rot, (n, kk), f"{call}: X_rot")
    assert_allclose(X_rot * signs, centred @ vectors, call=f"{call}: X_rot (up to sign)",
                    hint="X_rot = (X − mean) @ components: centre the data first.")


ID_OFFSET = 100


def epoch(value: Any, X: np.ndarray, y: np.ndarray, call: str) -> tuple[list[int], np.ndarray]:
    """Validate one epoch of batches; return the batch sizes and the sample order.

    ``y`` holds ``ID_OFFSET + index`` so every batch tells which samples it holds.
    """
    if not isinstance(value, (list, tuple)):
        raise CheckFailure(f"{call} returned {describe_value(value)}, expected a list of "
                           "(X_batch, y_batch) tuples (return a list, not a generator).")
    if not value:
        raise CheckFailure(f"{call} returned no batches; every sample must appear once per "
                           "epoch: keep the last batch even when it is smaller than batch_size.")
    sizes, order = [], []
    for i, batch in enumerate(value):
        X_batch, y_batch = unpack(batch, 2, f"{call}: batch {i}", "(X_batch, y_batch)")
        y_batch = assert_finite(y_batch, call=f"{call}: batch {i} y_batch").reshape(-1)
        X_batch = assert_finite(X_batch, call=f"{call}: batch {i} X_batch")
        if X_batch.shape != (y_batch.size, *X.shape[1:]):
            raise CheckFailure(
                f"{call}: batch {i} has X_batch of shape {tuple(X_batch.shape)} and y_batch of "
                f"{y_batch.size} values; expected X_batch of shape ({y_batch.size}, "
                f"{', '.join(map(str, X.shape[1:]))}): one row of X per target.")
        ids = y_batch - ID_OFFSET
        valid = np.isclose(ids, np.round(ids)) & (ids >= 0) & (ids < len(y))
        if not valid.all():
            raise CheckFailure(f"{call}: batch {i} holds targets that are not in y (e.g. "
                               f"{y_batch[~valid][0]:.6g}). Take y_batch from y with the same "
                               "indices as X_batch.")
        ids = np.round(ids).astype(int)
        if not np.array_equal(X_batch, like(X[ids], X_batch)):
            raise CheckFailure(f"{call}: in batch {i} the rows of X_batch are not the samples "
                               "of its targets y_batch: index X and y with the SAME indices so "
                               "every sample keeps its target.")
        sizes.append(int(y_batch.size))
        order.extend(ids.tolist())
    order_arr = np.array(order, dtype=int)
    counts = np.bincount(order_arr, minlength=len(y))
    if (counts != 1).any():
        missing = np.flatnonzero(counts == 0)
        twice = np.flatnonzero(counts > 1)
        problem = (f"sample {int(missing[0])} is missing ({missing.size} missing in all)"
                   if missing.size else f"sample {int(twice[0])} appears {counts[twice[0]]} times")
        raise CheckFailure(f"{call}: every sample must appear exactly once per epoch, but "
                           f"{problem}. Keep the last, smaller batch and do not draw samples "
                           "with replacement.")
    return sizes, order_arr


def ids_data(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((n, d)), np.arange(n) + ID_OFFSET
