"""Hidden checks of softmax (every axis, 3-D input) and cross_entropy (random, large logits)."""

import pytest
from mlp_cases import CE_SUM_HINT, torch_ce, torch_softmax

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("softmax_cross_entropy")

AXIS_HINT = "this is the softmax over the last axis: use the axis argument."


@pytest.mark.points(2)
def test_softmax_axis_0_and_1(student, rng):
    n, c = (int(v) for v in rng.integers(2, 7, size=2))
    logits = 3.0 * rng.standard_normal((n, c))
    for axis in (0, 1):
        got = student.softmax(logits, axis=axis)
        assert_allclose(got, torch_softmax(logits, axis),
                        call=f"softmax(logits ({n}, {c}), axis={axis})",
                        mistakes={AXIS_HINT: torch_softmax(logits, -1)},
                        hint="normalise along the given axis (keepdims=True keeps shapes "
                             "broadcastable).")


@pytest.mark.points(2)
def test_softmax_3d_every_axis(student, rng):
    shape = tuple(int(v) for v in rng.integers(2, 5, size=3))
    logits = 500.0 * rng.standard_normal(shape)
    for axis in (0, 1, 2, -1, -2):
        got = student.softmax(logits, axis=axis)
        assert_allclose(got, torch_softmax(logits, axis),
                        call=f"softmax(logits of shape {shape} with values ~±1000, axis={axis})",
                        mistakes={AXIS_HINT: torch_softmax(logits, -1)},
                        hint="subtract the maximum along the axis (keepdims=True), then "
                             "normalise along the same axis.")


@pytest.mark.points(2)
def test_cross_entropy_random(student, rng):
    n, c = int(rng.integers(3, 10)), int(rng.integers(2, 7))
    logits = 2.0 * rng.standard_normal((n, c))
    labels = rng.integers(0, c, size=n)
    expected = torch_ce(logits, labels)
    got = student.cross_entropy(logits, labels)
    assert_allclose(got, expected, call=f"cross_entropy(logits ({n}, {c}), labels ({n},))",
                    mistakes={CE_SUM_HINT: expected * n},
                    hint="the loss of sample n is -log softmax(logits[n])[labels[n]]; "
                         "return the mean over the batch.")


@pytest.mark.points(3)
def test_cross_entropy_large_logits(student, rng):
    n, c = int(rng.integers(3, 8)), int(rng.integers(3, 6))
    logits = 1000.0 * rng.standard_normal((n, c))
    labels = rng.integers(0, c, size=n)
    expected = torch_ce(logits, labels)
    got = student.cross_entropy(logits, labels)
    assert_allclose(got, expected, call=f"cross_entropy(logits ({n}, {c}) ~±1000, labels)",
                    mistakes={CE_SUM_HINT: expected * n},
                    hint="log(softmax) is log(0) = -inf when a probability underflows: compute "
                         "log y_i = s_i - max(s) - log sum_j exp(s_j - max(s)) (log-sum-exp).")
