"""What the checks of assignment 3 share: torch references and hints.

Imported by the public checks beside it and by the hidden ones; it holds no check itself.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from autograder.checks import reference


def pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


@reference
def conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    t = torch.from_numpy
    return F.conv2d(t(np.array(x)), t(np.array(w)),
                    None if b is None else t(b), stride, padding, dilation, groups).numpy()


@reference
def conv_t(x, w, b=None, stride=1, padding=0, output_padding=0) -> np.ndarray:
    t = torch.from_numpy
    return F.conv_transpose2d(t(np.array(x)), t(np.array(w)),
                              None if b is None else t(b), stride, padding,
                              output_padding).numpy()


@reference
def conv_grads(dout, x, w, stride=1, padding=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    # (out * dout).sum().backward() gives the same gradients as out.backward(dout), without the
    # latter's slow first-call import of sympy.
    (F.conv2d(xt, wt, bt, stride, padding) * torch.from_numpy(dout)).sum().backward()
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@reference
def max_pool(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    return F.max_pool2d(torch.from_numpy(np.array(x)), kernel_size, stride, padding).numpy()


@reference
def avg_pool(x, kernel_size, stride=None, padding=0, count_include_pad=False) -> np.ndarray:
    return F.avg_pool2d(torch.from_numpy(np.array(x)), kernel_size, stride, padding,
                        count_include_pad=count_include_pad).numpy()


KERNELS = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=float),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "box_blur": np.full((3, 3), 1 / 9),
    "gaussian_blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16,
}


@reference
def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Zero-padded, same-size cross-correlation of one image (the kernel is not flipped)."""
    kh, kw = kernel.shape
    out = F.conv2d(torch.from_numpy(image)[None, None],
                   torch.from_numpy(np.array(kernel))[None, None],
                   padding=(kh // 2, kw // 2))
    return out[0, 0].numpy()


def size_hint(got: object, mistakes: dict[str, int], default: str) -> str:
    """The hint of the first classic mistake whose value ``got`` equals, else ``default``."""
    if isinstance(got, (int, np.integer)) and not isinstance(got, bool):
        for hint, value in mistakes.items():
            if int(got) == value:
                return hint
    return default
