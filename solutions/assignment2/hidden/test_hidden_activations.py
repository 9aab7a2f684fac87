"""Hidden checks of relu, sigmoid and tanh: very large |x| and arrays of any shape."""

import numpy as np
import pytest
import torch

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("activations")

LARGE = np.array([-1000.0, -710.0, -50.0, -1e-3, 0.0, 1e-3, 50.0, 710.0, 1000.0])


@pytest.mark.points(2)
def test_sigmoid_large_inputs(student, rng):
    x = np.concatenate([LARGE, 800.0 * rng.standard_normal(7)])
    expected = torch.sigmoid(torch.from_numpy(x)).numpy()
    assert_allclose(student.sigmoid(x), expected, call="sigmoid(x with values up to ±1000)",
                    hint="exp(x) / (1 + exp(x)) is inf / inf = NaN for large x: use "
                         "1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) for x < 0.")


@pytest.mark.points(2)
def test_tanh_large_inputs(student, rng):
    x = np.concatenate([LARGE, 800.0 * rng.standard_normal(7)])
    expected = torch.tanh(torch.from_numpy(x)).numpy()
    assert_allclose(student.tanh(x), expected, call="tanh(x with values up to ±1000)",
                    hint="(exp(x) - exp(-x)) / (exp(x) + exp(-x)) is inf / inf = NaN for large "
                         "|x|: use np.tanh, or 2 * sigmoid(2x) - 1 with a stable sigmoid.")


@pytest.mark.points(2)
def test_activations_any_shape(student, rng):
    shape = tuple(int(v) for v in rng.integers(1, 5, size=3))
    x = 3.0 * rng.standard_normal(shape)
    x.flat[0] = 0.0
    t = torch.from_numpy(x)
    for name, reference in (("relu", torch.relu), ("sigmoid", torch.sigmoid),
                            ("tanh", torch.tanh)):
        got = getattr(student, name)(x)
        assert_allclose(got, reference(t).numpy(), call=f"{name}(x of shape {shape})",
                        hint="an activation works element-wise and keeps the input's shape.")
