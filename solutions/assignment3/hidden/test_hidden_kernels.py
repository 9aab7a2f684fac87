"""Hidden checks: named kernels (exact values, unknown names) and convolve2d against torch."""

from __future__ import annotations

import numpy as np
import pytest
from cnn_cases import KERNELS, correlate

from autograder.checks import assert_allclose, describe_call, expect_raises

pytestmark = pytest.mark.question("kernels")

CONVOLVE = ("G[i, j] = Σ w[u, v] · x[i - u, j - v] with u, v counted from the kernel's centre: "
            "flip the kernel in both directions, then slide it over the image padded with "
            "kh // 2 rows and kw // 2 columns of zeros on each side.")


def check_convolve(student, image: np.ndarray, kernel: np.ndarray) -> None:
    got = student.convolve2d(image, kernel)
    assert_allclose(got, correlate(image, kernel[::-1, ::-1]), hint=CONVOLVE,
                    call=describe_call("convolve2d", (image, kernel), {}),
                    mistakes={"The kernel was not flipped: that is a cross-correlation (what CNN "
                              "layers compute), not the true convolution. Flip it with "
                              "kernel[::-1, ::-1].": correlate(image, kernel),
                              "The kernel was flipped along one axis only: flip rows AND "
                              "columns.": correlate(image, kernel[::-1])})


@pytest.mark.points(1)
def test_named_kernels_exact_and_unknown_name_raises(student):
    for name in ("gaussian_blur", "box_blur", "sharpen", "edge", "identity"):
        got = student.named_kernel(name)
        assert_allclose(got, KERNELS[name], call=f"named_kernel({name!r})", rtol=0, atol=1e-12,
                        hint="Use the exact values from the docstring (1/9 and x/16, not rounded "
                             "decimals).")
    expect_raises("ValueError", student.named_kernel, "laplacian_of_gaussian",
                  reason="an unknown kernel name must raise ValueError")


@pytest.mark.points(1)
def test_convolve2d_even_kernel_raises(student, rng):
    image = rng.standard_normal((5, 6))
    for shape in ((2, 3), (3, 4)):
        expect_raises("ValueError", student.convolve2d, image, rng.standard_normal(shape),
                      reason=f"a {shape[0]}×{shape[1]} kernel has no centre entry: both sides "
                             "must be odd")


@pytest.mark.points(2)
def test_convolve2d_random_rectangular(student, rng):
    h, w = rng.integers(4, 12, size=2)
    kh, kw = 2 * rng.integers(0, 3, size=2) + 1
    if kh == kw == 1:
        kw = 3
    check_convolve(student, rng.standard_normal((int(h), int(w))),
                   rng.standard_normal((int(kh), int(kw))))


@pytest.mark.points(1)
def test_convolve2d_named_kernels_on_image(student, rng):
    image = rng.standard_normal((int(rng.integers(5, 9)), int(rng.integers(5, 9))))
    got = student.convolve2d(image, KERNELS["identity"])
    assert_allclose(got, image, call=describe_call("convolve2d", (image, KERNELS["identity"]), {}),
                    hint="The identity kernel must return the image unchanged (same size, "
                         "same values).")
    check_convolve(student, image, KERNELS["gaussian_blur"])


@pytest.mark.points(1)
def test_convolve2d_kernel_larger_than_image(student, rng):
    check_convolve(student, rng.standard_normal((3, 4)), rng.standard_normal((5, 7)))
