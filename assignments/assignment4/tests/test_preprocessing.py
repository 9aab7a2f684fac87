"""Public checks of assignment 4 (data preprocessing): small fixed cases against PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from autograder.checks import (
    CheckFailure,
    assert_allclose,
    assert_finite,
    assert_true,
    reference,
    rounding_tolerance,
)


# -- helpers -------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "None (did you forget a return statement?)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"a {type(value).__name__}"


def _unpack(value: Any, count: int, call: str, names: str) -> tuple[Any, ...]:
    if not (isinstance(value, (tuple, list)) and len(value) == count):
        raise CheckFailure(f"{call} returned {_kind(value)}, expected a tuple {names}.")
    return tuple(value)


def _array(value: Any, shape: tuple[int, ...], call: str) -> np.ndarray:
    """``value`` as a finite float array of ``shape``, else a failure naming the call; a float32
    (or float16) array keeps its precision, so what is computed from it is judged at that precision."""
    arr = assert_finite(value, call=call)
    if arr.shape != shape:
        raise CheckFailure(f"{call} returned shape {tuple(arr.shape)}, expected {shape}.")
    return arr if arr.dtype.kind == "f" and arr.dtype.itemsize < 8 else arr.astype(np.float64)


def _like(expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    """``expected`` rounded to ``got``'s float precision when that is lower (float32 rows)."""
    if got.dtype.kind == "f" and got.dtype.itemsize < expected.dtype.itemsize:
        return expected.astype(got.dtype)
    return expected


@reference
def _min_max_ref(X: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    t = torch.from_numpy(X)
    span = t.amax(dim=0) - t.amin(dim=0)
    scaled = torch.where(span > 0, (t - t.amin(dim=0)) / torch.where(span > 0, span, 1.0), 0.0)
    return (scaled * (hi - lo) + lo).numpy()


@reference
def _stats_ref(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.from_numpy(X)
    return torch.mean(t, dim=0).numpy(), torch.std(t, dim=0, unbiased=False).numpy()


@reference
def _pca_ref(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Xc, eigenvalues descending, eigenvectors as columns) with torch.linalg.eigh."""
    t = torch.from_numpy(X)
    centred = t - t.mean(dim=0)
    values, vectors = torch.linalg.eigh(centred.T @ centred / t.shape[0])
    return centred.numpy(), values.flip(0).numpy(), vectors.flip(1).numpy()


def _pca_data(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Correlated data with well separated variances and a non-zero mean."""
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = 3.0 * 0.6 ** np.arange(d)
    return (rng.standard_normal((n, d)) * scales) @ rotation.T + rng.uniform(-5, 5, d)


def _signs(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per column, +1 or -1: the sign that best aligns ``got`` with ``ref``."""
    signs = np.sign(np.sum(got * ref, axis=0))
    return np.where(signs == 0, 1.0, signs)


# -- min_max_normalize -----------------------------------------------------------------

X_MINMAX = np.array([[1.0, -2.0, 0.1], [3.0, 0.0, 0.6], [2.0, 6.0, 0.35], [5.0, 2.0, 0.2]])


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(3)
def test_min_max_default_range(student):
    expected = _min_max_ref(X_MINMAX)
    assert_allclose(student.min_max_normalize(X_MINMAX), expected,
                    call="min_max_normalize(X) with X (4, 3)",
                    hint="per feature (column, axis 0): (value − min) / (max − min).",
                    mistakes={"you scaled per row (axis=1); statistics are per feature, over the "
                              "samples (axis=0).": _min_max_ref(X_MINMAX.T).T})


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(2)
def test_min_max_custom_range(student):
    expected = _min_max_ref(X_MINMAX, -1.0, 1.0)
    assert_allclose(student.min_max_normalize(X_MINMAX, feature_range=(-1, 1)), expected,
                    call="min_max_normalize(X, feature_range=(-1, 1))",
                    hint="after (value − min) / (max − min), scale to the range: "
                         "scaled · (hi − lo) + lo.",
                    mistakes={"the values are in [0, 1]: feature_range was ignored; map "
                              "[0, 1] onto (lo, hi) with scaled · (hi − lo) + lo.":
                              _min_max_ref(X_MINMAX)})


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(2)
def test_min_max_constant_feature_gives_zero(student):
    X = X_MINMAX.copy()
    X[:, 1] = 7.0
    expected = _min_max_ref(X)
    assert_allclose(student.min_max_normalize(X), expected,
                    call="min_max_normalize(X) with a constant column 1",
                    hint="a constant feature (max == min) gives 0, not NaN: avoid dividing by 0.")


# -- z_score_fit / z_score_apply -------------------------------------------------------

X_TRAIN = np.array([[0.1, 200.0, -3.0], [0.4, 180.0, -1.0], [0.9, 260.0, 0.0],
                    [0.3, 240.0, 2.0], [0.7, 220.0, -2.0], [0.2, 210.0, 1.0]])


def _check_stats(student: Any, X: np.ndarray, call: str) -> None:
    mean_ref, std_ref = _stats_ref(X)
    mean, std = _unpack(student.z_score_fit(X), 2, call, "(mean, std)")
    assert_allclose(mean, mean_ref, call=f"{call}: mean",
                    hint="the mean of every feature (column): X.mean(axis=0).")
    sample_std = np.std(X, axis=0, ddof=1)
    assert_allclose(std, std_ref, call=f"{call}: std",
                    hint="the population standard deviation of every column: divide by n "
                         "(ddof=0).",
                    mistakes={"this is the sample std (ddof=1, dividing by n − 1); use the "
                              "population std (ddof=0, dividing by n), like np.std(X, axis=0).":
                              sample_std})


@pytest.mark.question("z_score")
@pytest.mark.points(4)
def test_z_score_fit_population_std(student):
    _check_stats(student, X_TRAIN, "z_score_fit(X) with X (6, 3)")


@pytest.mark.question("z_score")
@pytest.mark.points(4)
def test_z_score_apply_uses_given_statistics(student):
    mean, std = _stats_ref(X_TRAIN)
    X_test = np.array([[1.5, 300.0, 5.0], [-0.5, 150.0, 4.0], [0.6, 250.0, -6.0]])
    expected = (X_test - mean) / std
    own_mean, own_std = X_test.mean(axis=0), X_test.std(axis=0)
    assert_allclose(student.z_score_apply(X_test, mean, std), expected,
                    call="z_score_apply(X_test, mean, std) with the TRAINING mean and std",
                    hint="standardise with the mean and std passed in: (X − mean) / std.",
                    mistakes={"z_score_apply recomputed the mean and std on the data it was "
                              "given: use the training statistics passed as arguments, or the "
                              "test data leaks into the preprocessing.":
                              (X_test - own_mean) / own_std})


@pytest.mark.question("z_score")
@pytest.mark.points(2)
def test_z_score_constant_feature_gives_zero(student):
    X = X_TRAIN.copy()
    X[:, 2] = 3.0
    _check_stats(student, X, "z_score_fit(X) with a constant column 2")
    mean, std = _stats_ref(X)
    expected = np.zeros_like(X)
    expected[:, :2] = (X[:, :2] - mean[:2]) / std[:2]
    assert_allclose(student.z_score_apply(X, mean, std), expected,
                    call="z_score_apply(X, mean, std) where std[2] == 0",
                    hint="where std == 0 the result is 0, not NaN or inf.")


# -- normalize_images ------------------------------------------------------------------


@pytest.mark.question("normalize_images")
@pytest.mark.points(4)
def test_normalize_images_per_channel(student):
    x = np.random.default_rng(4).uniform(0, 1, (2, 3, 4, 5))
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = ((torch.from_numpy(x) - torch.from_numpy(mean).view(1, 3, 1, 1))
                / torch.from_numpy(std).view(1, 3, 1, 1)).numpy()
    assert_allclose(student.normalize_images(x, mean, std), expected,
                    call="normalize_images(x, mean, std) with x (2, 3, 4, 5), mean/std (3,)",
                    hint="channel c of every image uses mean[c] and std[c]: reshape them to "
                         "(1, C, 1, 1) so they broadcast over (N, C, H, W).")


# -- pca -------------------------------------------------------------------------------


def _check_pca(student: Any, X: np.ndarray, k: int | None, call: str) -> None:
    """Compare pca's three outputs with torch.linalg.eigh, up to the sign of each component."""
    n, d = X.shape
    kk = d if k is None else k
    centred, values, vectors = _pca_ref(X)
    values, vectors = values[:kk], vectors[:, :kk]
    X_rot, components, eigenvalues = _unpack(
        student.pca(X) if k is None else student.pca(X, k=k), 3, call,
        "(X_rot, components, eigenvalues)")
    assert_allclose(eigenvalues, values, call=f"{call}: eigenvalues",
                    hint="eigenvalues of the covariance (1/n) Xcᵀ Xc, largest first.",
                    mistakes={"the eigenvalues are in ascending order (np.linalg.eigh's order); "
                              "sort them descending, and the components with them.":
                              np.sort(values),
                              "the covariance was divided by n − 1; use 1/n.":
                              values * n / (n - 1)})
    components = _array(components, (d, kk), f"{call}: components")
    signs = _signs(components, vectors)
    assert_allclose(components * signs, vectors, call=f"{call}: components (up to sign)",
                    hint="component j is the unit eigenvector of eigenvalue j, stored as "
                         "COLUMN j of a (d, k) array.")
    X_rot = _array(X_rot, (n, kk), f"{call}: X_rot")
    assert_allclose(X_rot * signs, centred @ vectors, call=f"{call}: X_rot (up to sign)",
                    hint="X_rot = (X − mean) @ components: centre the data first.")


@pytest.mark.question("pca")
@pytest.mark.points(5)
def test_pca_matches_torch_eigh(student):
    X = _pca_data(np.random.default_rng(5), 30, 3)
    _check_pca(student, X, None, "pca(X) with X (30, 3)")


@pytest.mark.question("pca")
@pytest.mark.points(3)
def test_pca_components_orthonormal(student):
    X = _pca_data(np.random.default_rng(6), 25, 4)
    call = "pca(X) with X (25, 4)"
    _, components, _ = _unpack(student.pca(X), 3, call, "(X_rot, components, eigenvalues)")
    components = _array(components, (4, 4), f"{call}: components")
    gram = components.T @ components
    assert_allclose(gram, np.eye(4), call=f"{call}: componentsᵀ @ components", atol=1e-8,
                    hint="the components must be orthonormal: unit length and perpendicular "
                         "(the eigenvectors of the symmetric covariance; use np.linalg.eigh).")


@pytest.mark.question("pca")
@pytest.mark.points(3)
def test_pca_rotated_covariance_is_diagonal(student):
    X = _pca_data(np.random.default_rng(7), 40, 3)
    call = "pca(X) with X (40, 3)"
    X_rot, _, _ = _unpack(student.pca(X), 3, call, "(X_rot, components, eigenvalues)")
    X_rot = _array(X_rot, (40, 3), f"{call}: X_rot")
    _, values, _ = _pca_ref(X)
    cov = X_rot.T @ X_rot / X.shape[0]
    assert_allclose(cov, np.diag(values), call=f"{call}: covariance (1/n) X_rotᵀ X_rot",
                    atol=1e-8,
                    hint="in the eigenbasis the covariance is diagonal with the eigenvalues, "
                         "largest first, on its diagonal; centre X before rotating.")


# -- whiten ----------------------------------------------------------------------------


@pytest.mark.question("whiten")
@pytest.mark.points(5)
def test_whiten_covariance_is_identity(student):
    X = _pca_data(np.random.default_rng(8), 60, 3)
    call = "whiten(X) with X (60, 3)"
    white = _array(student.whiten(X), (60, 3), call)
    mean = white.mean(axis=0)
    assert_true(np.allclose(mean, 0.0, atol=max(1e-8, rounding_tolerance(white.dtype) * np.abs(white).max())),
                f"{call}: the columns have means {np.round(mean, 4).tolist()}, expected 0. "
                "Centre the data (subtract the mean of every feature) before rotating.")
    cov = white.T @ white / X.shape[0]
    assert_allclose(cov, np.eye(3), call=f"{call}: covariance (1/n) Wᵀ W", atol=1e-3, rtol=0,
                    hint="divide rotated component j by √(λⱼ + eps), the square root of its "
                         "eigenvalue, so that every component has variance ≈ 1 and the "
                         "covariance is ≈ the identity.")


# -- minibatches -----------------------------------------------------------------------

ID_OFFSET = 100


def _epoch(value: Any, X: np.ndarray, y: np.ndarray, call: str) -> tuple[list[int], np.ndarray]:
    """Validate one epoch of batches; return the batch sizes and the sample order.

    ``y`` holds ``ID_OFFSET + index`` so every batch tells which samples it holds.
    """
    if not isinstance(value, (list, tuple)):
        raise CheckFailure(f"{call} returned {_kind(value)}, expected a list of "
                           "(X_batch, y_batch) tuples (return a list, not a generator).")
    if not value:
        raise CheckFailure(f"{call} returned no batches; every sample must appear once per "
                           "epoch: keep the last batch even when it is smaller than batch_size.")
    sizes, order = [], []
    for i, batch in enumerate(value):
        X_batch, y_batch = _unpack(batch, 2, f"{call}: batch {i}", "(X_batch, y_batch)")
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
        if not np.array_equal(X_batch, _like(X[ids], X_batch)):
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


def _ids_data(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((n, d)), np.arange(n) + ID_OFFSET


@pytest.mark.question("minibatches")
@pytest.mark.points(4)
def test_minibatches_cover_every_sample_once(student):
    X, y = _ids_data(np.random.default_rng(9), 10, 2)
    call = "minibatches(X, y, batch_size=4) with 10 samples"
    sizes, _ = _epoch(student.minibatches(X, y, 4), X, y, call)
    assert_true(sizes == [4, 4, 2],
                f"{call} gave batches of sizes {sizes}, expected [4, 4, 2]: full batches of "
                "batch_size, and the last one smaller when batch_size does not divide n.")


@pytest.mark.question("minibatches")
@pytest.mark.points(3)
def test_minibatches_no_shuffle_keeps_order(student):
    X, y = _ids_data(np.random.default_rng(10), 7, 3)
    call = "minibatches(X, y, batch_size=3, shuffle=False) with 7 samples"
    sizes, order = _epoch(student.minibatches(X, y, 3, shuffle=False), X, y, call)
    assert_true(order.tolist() == list(range(7)) and sizes == [3, 3, 1],
                f"{call} visited the samples in the order {order.tolist()} with batch sizes "
                f"{sizes}, expected 0, 1, ..., 6 in batches of [3, 3, 1]: without shuffling "
                "keep the original order.")
