"""Hidden checks of assignment 4 (data preprocessing): random shapes, edge cases and properties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from preprocessing_cases import (
    ID_OFFSET,
    as_float_array,
    best_signs,
    check_pca,
    check_stats,
    eigenvalue_mistakes,
    epoch,
    ids_data,
    min_max_ref,
    pca_data,
    pca_ref,
    stats_ref,
)

from autograder.checks import (
    CheckFailure,
    assert_allclose,
    assert_true,
    describe_call,
    reference,
    rounding_tolerance,
    unpack,
)


def _random_range(rng: np.random.Generator) -> tuple[float, float]:
    lo = float(np.round(rng.uniform(-3, 1), 2))
    return lo, float(np.round(lo + rng.uniform(0.5, 4), 2))


def _scaled_data(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Features of very different spreads (the first one below 1) and offsets."""
    scales = np.concatenate([[rng.uniform(0.1, 0.5)], rng.uniform(0.5, 20, d - 1)])
    return rng.standard_normal((n, d)) * scales + rng.uniform(-50, 50, d)


# -- min_max_normalize -----------------------------------------------------------------


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(4)
def test_min_max_random_range(student, rng):
    X = _scaled_data(rng, int(rng.integers(5, 30)), int(rng.integers(2, 6)))
    lo, hi = _random_range(rng)
    expected = min_max_ref(X, lo, hi)
    assert_allclose(student.min_max_normalize(X, feature_range=(lo, hi)), expected,
                    call=describe_call("min_max_normalize", (X,), {"feature_range": (lo, hi)}),
                    mistakes={"the values are in [0, 1]: feature_range was ignored.":
                              min_max_ref(X)})


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(2)
def test_min_max_constant_feature_custom_range(student, rng):
    X = _scaled_data(rng, int(rng.integers(4, 15)), int(rng.integers(2, 6)))
    column = int(rng.integers(0, X.shape[1]))
    X[:, column] = float(rng.integers(-5, 5))
    lo, hi = _random_range(rng)
    expected = min_max_ref(X, lo, hi)
    assert_allclose(student.min_max_normalize(X, feature_range=(lo, hi)), expected,
                    call=describe_call("min_max_normalize", (X,), {"feature_range": (lo, hi)})
                    + f" with a constant column {column}",
                    hint="a constant feature gives 0 before scaling, i.e. lo after scaling.")


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(2)
def test_min_max_single_sample(student, rng):
    X = rng.standard_normal((1, int(rng.integers(2, 6))))
    expected = np.full_like(X, 2.0)
    assert_allclose(student.min_max_normalize(X, feature_range=(2, 5)), expected,
                    call="min_max_normalize(X, feature_range=(2, 5)) with one sample",
                    hint="with one sample every feature is constant: it maps to lo.")


# -- z_score_fit / z_score_apply -------------------------------------------------------


@pytest.mark.question("z_score")
@pytest.mark.points(4)
def test_z_score_fit_random(student, rng):
    X = _scaled_data(rng, int(rng.integers(5, 40)), int(rng.integers(2, 7)))
    check_stats(student, X, describe_call("z_score_fit", (X,), {}))


@pytest.mark.question("z_score")
@pytest.mark.points(3)
def test_z_score_apply_random_test_data(student, rng):
    d = int(rng.integers(2, 7))
    X_train = _scaled_data(rng, int(rng.integers(10, 40)), d)
    X_test = _scaled_data(rng, int(rng.integers(3, 10)), d)
    mean, std = stats_ref(X_train)
    expected = (X_test - mean) / std
    leaked = (X_test - X_test.mean(axis=0)) / X_test.std(axis=0)
    assert_allclose(student.z_score_apply(X_test, mean, std), expected,
                    call=describe_call("z_score_apply", (X_test, mean, std), {}),
                    mistakes={"z_score_apply recomputed the statistics on its own input: use "
                              "the training mean and std passed in.": leaked})


@pytest.mark.question("z_score")
@pytest.mark.points(3)
def test_z_score_constant_feature_random(student, rng):
    n, d = int(rng.integers(5, 20)), int(rng.integers(2, 6))
    X = _scaled_data(rng, n, d)
    column = int(rng.integers(0, d))
    X[:, column] = float(rng.integers(-10, 10))
    check_stats(student, X, describe_call("z_score_fit", (X,), {})
                 + f" with a constant column {column}")
    mean, std = stats_ref(X)
    X_test = _scaled_data(rng, 4, d)
    expected = np.zeros_like(X_test)
    keep = np.arange(d) != column
    expected[:, keep] = (X_test[:, keep] - mean[keep]) / std[keep]
    assert_allclose(student.z_score_apply(X_test, mean, std), expected,
                    call=f"z_score_apply(X_test, mean, std) where std[{column}] == 0",
                    hint="where std == 0 the result is 0, even when X_test varies there.")


# -- normalize_images ------------------------------------------------------------------


@reference
def _normalize_ref(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    c = x.shape[1]
    return ((torch.from_numpy(x) - torch.from_numpy(mean).view(1, c, 1, 1))
            / torch.from_numpy(std).view(1, c, 1, 1)).numpy()


@pytest.mark.question("normalize_images")
@pytest.mark.points(3)
def test_normalize_images_random(student, rng):
    c = int(rng.integers(1, 5))
    shape = (int(rng.integers(1, 4)), c, int(rng.integers(2, 6)), c + int(rng.integers(1, 4)))
    x = rng.uniform(0, 255, shape)
    mean, std = rng.uniform(50, 200, c), rng.uniform(20, 80, c)
    assert_allclose(student.normalize_images(x, mean, std), _normalize_ref(x, mean, std),
                    call=describe_call("normalize_images", (x, mean, std), {}))


@pytest.mark.question("normalize_images")
@pytest.mark.points(3)
def test_normalize_images_width_equals_channels(student, rng):
    x = rng.uniform(0, 1, (2, 3, 5, 3))
    mean, std = rng.uniform(0.3, 0.6, 3), rng.uniform(0.1, 0.3, 3)
    channels_last = (x - mean) / std
    assert_allclose(student.normalize_images(x, mean, std), _normalize_ref(x, mean, std),
                    call="normalize_images(x, mean, std) with x (2, 3, 5, 3)",
                    mistakes={"mean and std were applied along the LAST axis (width), as for "
                              "(N, H, W, C) images; the channels are axis 1 of (N, C, H, W): "
                              "reshape mean and std to (1, C, 1, 1).": channels_last})


# -- pca -------------------------------------------------------------------------------


@pytest.mark.question("pca")
@pytest.mark.points(4)
def test_pca_random_matches_torch(student, rng):
    X = pca_data(rng, int(rng.integers(20, 60)), int(rng.integers(2, 6)))
    check_pca(student, X, None, describe_call("pca", (X,), {}))


@pytest.mark.question("pca")
@pytest.mark.points(4)
def test_pca_k_truncation(student, rng):
    d = int(rng.integers(3, 6))
    X = pca_data(rng, int(rng.integers(20, 60)), d)
    k = int(rng.integers(1, d))
    check_pca(student, X, k, describe_call("pca", (X,), {"k": k}))


@pytest.mark.question("pca")
@pytest.mark.points(4)
def test_pca_properties_random(student, rng):
    n, d = int(rng.integers(20, 60)), int(rng.integers(2, 6))
    X = pca_data(rng, n, d)
    call = describe_call("pca", (X,), {})
    X_rot, components, eigenvalues = unpack(student.pca(X), 3, call,
                                             "(X_rot, components, eigenvalues)")
    eigenvalues = as_float_array(eigenvalues, (d,), f"{call}: eigenvalues")
    assert_true(np.all(np.diff(eigenvalues) <= 1e-12 * (1 + np.abs(eigenvalues[:-1]))),
                f"{call}: eigenvalues {np.round(eigenvalues, 4).tolist()} are not sorted "
                "descending; sort them (and the components with them) largest first.")
    components = as_float_array(components, (d, d), f"{call}: components")
    assert_allclose(components.T @ components, np.eye(d), atol=1e-8,
                    call=f"{call}: componentsᵀ @ components",
                    hint="the components (columns) must be orthonormal.")
    X_rot = as_float_array(X_rot, (n, d), f"{call}: X_rot")
    cov = X_rot.T @ X_rot / n
    off = np.abs(cov - np.diag(np.diag(cov))).max()
    assert_true(off <= max(1e-8, rounding_tolerance(cov.dtype)) * (1 + np.abs(cov).max()),
                f"{call}: the covariance of X_rot has off-diagonal entries up to {off:.3g}; in "
                "the eigenbasis of the covariance it is diagonal. Centre X and rotate with the "
                "eigenvectors: X_rot = (X − mean) @ components.")
    assert_allclose(np.diag(cov), eigenvalues, call=f"{call}: variance of each column of X_rot",
                    hint="the variance (1/n) Σ X_rot[:, j]² of component j is its eigenvalue.")


@pytest.mark.question("pca")
@pytest.mark.points(2)
def test_pca_fewer_samples_than_features(student, rng):
    d = int(rng.integers(5, 8))
    n = int(rng.integers(3, d))
    X = pca_data(rng, n, d)
    call = describe_call("pca", (X,), {})
    centred, values, vectors = pca_ref(X)
    rank = n - 1  # centring n samples leaves n - 1 directions of non-zero variance
    X_rot, components, eigenvalues = unpack(student.pca(X), 3, call,
                                             "(X_rot, components, eigenvalues)")
    assert_allclose(eigenvalues, values, call=f"{call}: eigenvalues",
                    hint=f"with k=None pca keeps all d = X.shape[1] = {d} components (one per "
                         f"feature), also when X has fewer samples than features; here the last "
                         f"{d - rank} eigenvalues are 0.",
                    mistakes=eigenvalue_mistakes(values, n))
    components = as_float_array(components, (d, d), f"{call}: components")
    assert_allclose(components.T @ components, np.eye(d), atol=1e-8,
                    call=f"{call}: componentsᵀ @ components",
                    hint=f"all {d} components (columns) must be orthonormal, those of the zero "
                         "eigenvalues too: take them from the same eigendecomposition.")
    signs = best_signs(components[:, :rank], vectors[:, :rank])
    assert_allclose(components[:, :rank] * signs, vectors[:, :rank],
                    call=f"{call}: the first {rank} components (up to sign)",
                    hint="component j is the unit eigenvector of eigenvalue j, stored as COLUMN j.")
    X_rot = as_float_array(X_rot, (n, d), f"{call}: X_rot")
    assert_allclose(X_rot, centred @ components, atol=1e-8, call=f"{call}: X_rot",
                    hint="X_rot = (X − mean) @ components: centre the data first.")


# -- whiten ----------------------------------------------------------------------------


@reference
def _whiten_ref(X: np.ndarray, eps: float) -> np.ndarray:
    centred, values, vectors = pca_ref(X)
    return centred @ vectors / np.sqrt(values + eps)


def _check_whiten(student: Any, X: np.ndarray, eps: float | None, call: str, required_dtype: Any = None) -> None:
    ref = _whiten_ref(X, 1e-5 if eps is None else eps)
    got = student.whiten(X) if eps is None else student.whiten(X, eps=eps)
    got = as_float_array(got, X.shape, call)
    signs = best_signs(got, ref)
    with np.errstate(all="ignore"):
        no_eps = _whiten_ref(X, 0.0)
    assert_allclose(got * signs, ref, call=f"{call} (each column up to sign)",
                    hint="W = (X − mean) @ components / √(λ + eps) with pca's components and "
                         "eigenvalues, largest first.",
                    mistakes={"eps was left out: divide by √(λ + eps), not √λ.": no_eps},
                    required_dtype=required_dtype)


@pytest.mark.question("whiten")
@pytest.mark.points(4)
def test_whiten_matches_reference_with_eps(student, rng):
    X = pca_data(rng, int(rng.integers(30, 60)), int(rng.integers(2, 5)))
    eps = float(np.round(rng.uniform(0.05, 0.5), 3))
    _check_whiten(student, X, eps, describe_call("whiten", (X,), {"eps": eps}))


@pytest.mark.question("whiten")
@pytest.mark.points(3)
def test_whiten_default_eps_small_variance(student, rng):
    d = int(rng.integers(2, 5))
    X = pca_data(rng, int(rng.integers(30, 60)), d)
    X[:, -1] = X[:, 0] + 0.03 * rng.standard_normal(X.shape[0])  # a direction of tiny variance
    _check_whiten(student, X, None, describe_call("whiten", (X,), {}) + " (default eps)", np.float64)


@pytest.mark.question("whiten")
@pytest.mark.points(3)
def test_whiten_rank_deficient_stays_finite(student, rng):
    n, d = int(rng.integers(30, 60)), int(rng.integers(2, 4))
    base = pca_data(rng, n, d)
    X = np.hstack([base, base[:, :1] - 2.0 * base[:, 1:2]])  # last feature is a combination
    call = describe_call("whiten", (X,), {}) + " whose last feature = x₀ − 2·x₁"
    got = student.whiten(X)
    if isinstance(got, np.ndarray) and got.dtype.kind == "f" and not np.isfinite(got).all():
        raise CheckFailure(
            f"{call} returned NaN or inf values. This data has a direction of zero variance: its "
            "eigenvalue λ is 0 up to rounding (it may even be slightly negative), so divide by "
            "√(λ + eps), never by √λ.")
    got = as_float_array(got, X.shape, call)
    cov = got.T @ got / n
    assert_allclose(cov[:d, :d], np.eye(d), atol=1e-3, rtol=0,
                    call=f"{call}: covariance of the first {d} columns",
                    hint="the directions with non-zero variance are whitened to variance 1.")
    assert_true(np.abs(got[:, d]).max() <= 1e-3,
                f"{call}: the last column (the zero-variance direction) has values up to "
                f"{np.abs(got[:, d]).max():.3g}, expected ≈ 0: with λ ≈ 0 the rotated values "
                "are ≈ 0 and √(λ + eps) keeps the division finite.")


# -- minibatches -----------------------------------------------------------------------


@pytest.mark.question("minibatches")
@pytest.mark.points(3)
def test_minibatches_seed_controls_order(student, rng):
    n, batch_size = int(rng.integers(12, 30)), int(rng.integers(2, 6))
    X, y = ids_data(rng, n, 2)
    seed = int(rng.integers(0, 1000))
    orders = []
    for s in (seed, seed, seed + 1):
        call = describe_call("minibatches", (X, y, batch_size), {"seed": s})
        orders.append(epoch(student.minibatches(X, y, batch_size, seed=s), X, y, call)[1])
    first = describe_call("minibatches", (X, y, batch_size), {"seed": seed})
    assert_true(not np.array_equal(orders[0], np.arange(n)),
                f"{first} kept the original order; shuffle=True (the default) must visit the "
                "samples in a random order.")
    assert_true(np.array_equal(orders[0], orders[1]),
                f"{first} gave a different order on a second call; the order must depend only "
                "on seed (e.g. np.random.default_rng(seed).permutation(n)).")
    assert_true(not np.array_equal(orders[0], orders[2]),
                f"{first} and seed={seed + 1} gave the same order; use seed to draw the order.")


@pytest.mark.question("minibatches")
@pytest.mark.points(3)
def test_minibatches_random_sizes_and_pairing(student, rng):
    n, batch_size = int(rng.integers(10, 40)), int(rng.integers(2, 8))
    if n % batch_size == 0:
        n += 1
    X, y = rng.standard_normal((n, 2, 3)), np.arange(n) + ID_OFFSET
    call = describe_call("minibatches", (X, y, batch_size), {"seed": 3})
    sizes, _ = epoch(student.minibatches(X, y, batch_size, seed=3), X, y, call)
    expected = [batch_size] * (n // batch_size) + [n % batch_size]
    assert_true(sizes == expected,
                f"{call} gave batches of sizes {sizes}, expected {expected}.")


@pytest.mark.question("minibatches")
@pytest.mark.points(2)
def test_minibatches_edge_batch_sizes(student, rng):
    n = int(rng.integers(3, 9))
    X, y = ids_data(rng, n, 2)
    for batch_size, expected in ((n + 2, [n]), (1, [1] * n)):
        call = describe_call("minibatches", (X, y, batch_size), {"shuffle": False})
        sizes, order = epoch(student.minibatches(X, y, batch_size, shuffle=False), X, y, call)
        assert_true(sizes == expected and order.tolist() == list(range(n)),
                    f"{call} gave batches of sizes {sizes}, expected {expected} in the "
                    "original order.")
