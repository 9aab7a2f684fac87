"""Public checks: the slides' named kernels and true 2-D convolution."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cnn_cases import KERNELS, correlate

from autograder.checks import assert_allclose, describe_call, reference

pytestmark = pytest.mark.question("kernels")

@reference
def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """True convolution: cross-correlation with the kernel flipped in both directions."""
    return correlate(image, kernel[::-1, ::-1])


@pytest.mark.points(2)
def test_named_kernels_from_slides(student):
    for name, expected in KERNELS.items():
        got = student.named_kernel(name)
        hint = ("Box blur averages 9 pixels: every entry is 1/9." if name == "box_blur" else
                "The Gaussian blur kernel is [[1, 2, 1], [2, 4, 2], [1, 2, 1]] divided by 16."
                if name == "gaussian_blur" else "Copy the kernel from the docstring.")
        assert_allclose(got, expected, call=f"named_kernel({name!r})", hint=hint)


@pytest.mark.points(2)
def test_convolve2d_asymmetric_kernel(student):
    image = np.arange(30, dtype=float).reshape(5, 6) % 7
    kernel = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    got = student.convolve2d(image, kernel)
    valid = F.conv2d(torch.from_numpy(image)[None, None],
                     torch.from_numpy(kernel[::-1, ::-1].copy())[None, None])[0, 0].numpy()
    assert_allclose(got, convolve(image, kernel), call=describe_call("convolve2d", (image, kernel), {}),
                    hint="G[i, j] = Σ w[u, v] · x[i - u, j - v]: flip the kernel in both "
                         "directions, then slide it over the zero-padded image.",
                    mistakes={
                        "The kernel was not flipped: that is a cross-correlation (what CNN layers "
                        "compute), not the true convolution G[i, j] = Σ w[u, v] · x[i - u, j - v]. "
                        "Flip it with kernel[::-1, ::-1].": correlate(image, kernel),
                        "The output must have the image's size: pad the image with kh // 2 rows "
                        "and kw // 2 columns of zeros on each side first.": valid,
                    })
