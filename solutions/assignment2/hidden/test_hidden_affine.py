"""Hidden checks of affine_forward: random shapes and all-square shapes, compared with F.linear."""

import pytest
from mlp_cases import TRANSPOSED_HINT, linear

from autograder.checks import assert_allclose

pytestmark = pytest.mark.question("affine")


@pytest.mark.points(3)
def test_affine_forward_random_shapes(student, rng):
    n, n_in, n_out = (int(v) for v in rng.integers(2, 9, size=3))
    x = rng.standard_normal((n, n_in))
    W = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal(n_out)
    got = student.affine_forward(x, W, b)
    assert_allclose(got, linear(x, W, b),
                    call=f"affine_forward(x ({n}, {n_in}), W ({n_out}, {n_in}), b ({n_out},))",
                    hint="the result has one row per sample and one column per neuron: "
                         "x @ W.T + b.")


@pytest.mark.points(2)
def test_affine_forward_all_square(student, rng):
    n = int(rng.integers(3, 7))
    x = rng.standard_normal((n, n))
    W = rng.standard_normal((n, n))
    b = rng.standard_normal(n)
    got = student.affine_forward(x, W, b)
    assert_allclose(got, linear(x, W, b),
                    call=f"affine_forward(x ({n}, {n}), W ({n}, {n}), b ({n},))",
                    mistakes={TRANSPOSED_HINT: x @ W + b,
                              "the bias is added per neuron (per column), not per sample.":
                                  x @ W.T + b[:, None]},
                    hint="out[n, j] = sum_i W[j, i] * x[n, i] + b[j].")
