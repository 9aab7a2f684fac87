"""Public checks of assignment 4 (data preprocessing): small fixed cases against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from preprocessing_cases import (
    as_float_array,
    check_pca,
    check_stats,
    epoch,
    ids_data,
    min_max_ref,
    pca_data,
    pca_ref,
    stats_ref,
)

from autograder.checks import (
    assert_allclose,
    assert_true,
    rounding_tolerance,
    unpack,
)

# -- min_max_normalize -----------------------------------------------------------------

X_MINMAX = np.array([[1.0, -2.0, 0.1], [3.0, 0.0, 0.6], [2.0, 6.0, 0.35], [5.0, 2.0, 0.2]])


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(3)
def test_min_max_default_range(student):
    expected = min_max_ref(X_MINMAX)
    assert_allclose(student.min_max_normalize(X_MINMAX), expected,
                    call="min_max_normalize(X) with X (4, 3)",
                    hint="per feature (column, axis 0): (value − min) / (max − min).",
                    mistakes={"you scaled per row (axis=1); statistics are per feature, over the "
                              "samples (axis=0).": min_max_ref(X_MINMAX.T).T})


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(2)
def test_min_max_custom_range(student):
    expected = min_max_ref(X_MINMAX, -1.0, 1.0)
    assert_allclose(student.min_max_normalize(X_MINMAX, feature_range=(-1, 1)), expected,
                    call="min_max_normalize(X, feature_range=(-1, 1))",
                    hint="after (value − min) / (max − min), scale to the range: "
                         "scaled · (hi − lo) + lo.",
                    mistakes={"the values are in [0, 1]: feature_range was ignored; map "
                              "[0, 1] onto (lo, hi) with scaled · (hi − lo) + lo.":
                              min_max_ref(X_MINMAX)})


@pytest.mark.question("min_max_normalize")
@pytest.mark.points(2)
def test_min_max_constant_feature_gives_zero(student):
    X = X_MINMAX.copy()
    X[:, 1] = 7.0
    expected = min_max_ref(X)
    assert_allclose(student.min_max_normalize(X), expected,
                    call="min_max_normalize(X) with a constant column 1",
                    hint="a constant feature (max == min) gives 0, not NaN: avoid dividing by 0.")


# -- z_score_fit / z_score_apply -------------------------------------------------------

X_TRAIN = np.array([[0.1, 200.0, -3.0], [0.4, 180.0, -1.0], [0.9, 260.0, 0.0],
                    [0.3, 240.0, 2.0], [0.7, 220.0, -2.0], [0.2, 210.0, 1.0]])


@pytest.mark.question("z_score")
@pytest.mark.points(4)
def test_z_score_fit_population_std(student):
    check_stats(student, X_TRAIN, "z_score_fit(X) with X (6, 3)")


@pytest.mark.question("z_score")
@pytest.mark.points(4)
def test_z_score_apply_uses_given_statistics(student):
    mean, std = stats_ref(X_TRAIN)
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
    check_stats(student, X, "z_score_fit(X) with a constant column 2")
    mean, std = stats_ref(X)
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


@pytest.mark.question("pca")
@pytest.mark.points(5)
def test_pca_matches_torch_eigh(student):
    X = pca_data(np.random.default_rng(5), 30, 3)
    check_pca(student, X, None, "pca(X) with X (30, 3)")


@pytest.mark.question("pca")
@pytest.mark.points(3)
def test_pca_components_orthonormal(student):
    X = pca_data(np.random.default_rng(6), 25, 4)
    call = "pca(X) with X (25, 4)"
    _, components, _ = unpack(student.pca(X), 3, call, "(X_rot, components, eigenvalues)")
    components = as_float_array(components, (4, 4), f"{call}: components")
    gram = components.T @ components
    assert_allclose(gram, np.eye(4), call=f"{call}: componentsᵀ @ components", atol=1e-8,
                    hint="the components must be orthonormal: unit length and perpendicular "
                         "(the eigenvectors of the symmetric covariance; use np.linalg.eigh).")


@pytest.mark.question("pca")
@pytest.mark.points(3)
def test_pca_rotated_covariance_is_diagonal(student):
    X = pca_data(np.random.default_rng(7), 40, 3)
    call = "pca(X) with X (40, 3)"
    X_rot, _, _ = unpack(student.pca(X), 3, call, "(X_rot, components, eigenvalues)")
    X_rot = as_float_array(X_rot, (40, 3), f"{call}: X_rot")
    _, values, _ = pca_ref(X)
    cov = X_rot.T @ X_rot / X.shape[0]
    assert_allclose(cov, np.diag(values), call=f"{call}: covariance (1/n) X_rotᵀ X_rot",
                    atol=1e-8,
                    hint="in the eigenbasis the covariance is diagonal with the eigenvalues, "
                         "largest first, on its diagonal; centre X before rotating.")


# -- whiten ----------------------------------------------------------------------------


@pytest.mark.question("whiten")
@pytest.mark.points(5)
def test_whiten_covariance_is_identity(student):
    X = pca_data(np.random.default_rng(8), 60, 3)
    call = "whiten(X) with X (60, 3)"
    white = as_float_array(student.whiten(X), (60, 3), call)
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


@pytest.mark.question("minibatches")
@pytest.mark.points(4)
def test_minibatches_cover_every_sample_once(student):
    X, y = ids_data(np.random.default_rng(9), 10, 2)
    call = "minibatches(X, y, batch_size=4) with 10 samples"
    sizes, _ = epoch(student.minibatches(X, y, 4), X, y, call)
    assert_true(sizes == [4, 4, 2],
                f"{call} gave batches of sizes {sizes}, expected [4, 4, 2]: full batches of "
                "batch_size, and the last one smaller when batch_size does not divide n.")


@pytest.mark.question("minibatches")
@pytest.mark.points(3)
def test_minibatches_no_shuffle_keeps_order(student):
    X, y = ids_data(np.random.default_rng(10), 7, 3)
    call = "minibatches(X, y, batch_size=3, shuffle=False) with 7 samples"
    sizes, order = epoch(student.minibatches(X, y, 3, shuffle=False), X, y, call)
    assert_true(order.tolist() == list(range(7)) and sizes == [3, 3, 1],
                f"{call} visited the samples in the order {order.tolist()} with batch sizes "
                f"{sizes}, expected 0, 1, ..., 6 in batches of [3, 3, 1]: without shuffling "
                "keep the original order.")
