"""Assignment 3: convolutional networks in NumPy.

Image batches are 4-D arrays of shape (N, C, H, W): N images of C channels,
H pixels high and W pixels wide.  Weights follow PyTorch's layouts.  Wherever
a kernel size, stride, padding, dilation or scale is asked for, an int k means
(k, k) and a pair (kh, kw) gives the values along the height and the width
(the helper ``_pair`` below does this conversion for you).

Output size along one axis of a convolution (the slides' formula), for an
input of size N, a filter of size F, stride S, zero padding P on BOTH sides
and dilation D:

    output = (N - F_eff + 2P) / S + 1,      F_eff = D·(F - 1) + 1

A 7×7 input and a 3×3 filter give 5×5 with stride 1 and 3×3 with stride 2;
with stride 3 the filter "doesn't fit" ((7 - 3) / 3 + 1 = 2.33).
``conv_output_size`` raises ValueError then.  The layers themselves
(``conv2d_forward``, the pooling functions), like PyTorch, round down: the last
rows/columns that don't fill a whole step are left out.

The "convolution" of deep learning (``conv2d_forward``, like
``torch.nn.functional.conv2d``) is a cross-correlation, the kernel is NOT
flipped:

    out[n, k, i, j] = b[k] + Σ_c Σ_u Σ_v w[k, c, u, v] · x_pad[n, c, i·S + u·D, j·S + v·D]

The true convolution of signal processing (``convolve2d``) flips it:
G[i, j] = Σ_u Σ_v w[u, v] · x[i - u, j - v].

Use NumPy only: imports of torch, scipy and similar libraries are refused by
the grader.  Vectorise where you can (``np.lib.stride_tricks.sliding_window_view``,
``np.einsum``); every call must finish within the time limit.
"""

from __future__ import annotations

import numpy as np

IntOrPair = int | tuple[int, int]


def _pair(value: IntOrPair) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        h, w = value
        return int(h), int(w)
    return int(value), int(value)


def unpool_bed_of_nails(x: np.ndarray, scale: IntOrPair = 2) -> np.ndarray:
    s = _pair(scale)
    N, C, H, W = x.shape
    res = np.zeros((N, C, H * s[0], W * s[1]), dtype=x.dtype)
    for i in range(H):
        res[:, :, i * s[0], ::s[1]] = x[:, :, i, :]
    return res


def unpool_nearest(x: np.ndarray, scale: IntOrPair = 2) -> np.ndarray:
    s = _pair(scale)
    return np.repeat(np.repeat(x, s[0], axis=2), s[1], axis=3)


def avg_pool2d(x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0) -> np.ndarray:
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise ValueError("too much padding")
    N, C, H, W = x.shape
    h_o = (H + 2 * p[0] - k[0]) // s[0] + 1
    w_o = (W + 2 * p[1] - k[1]) // s[1] + 1
    res = np.empty((N, C, h_o, w_o), dtype=x.dtype)
    for a in range(h_o):
        for c in range(w_o):
            r0 = max(a * s[0] - p[0], 0)
            r1 = min(a * s[0] - p[0] + k[0], H)
            c0 = max(c * s[1] - p[1], 0)
            c1 = min(c * s[1] - p[1] + k[1], W)
            res[:, :, a, c] = x[:, :, r0:r1, c0:c1].reshape(N, C, -1).mean(-1)
    return res


def max_pool2d(x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0) -> np.ndarray:
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise ValueError("too much padding")
    N, C, H, W = x.shape
    h_o = (H + 2 * p[0] - k[0]) // s[0] + 1
    w_o = (W + 2 * p[1] - k[1]) // s[1] + 1
    res = np.empty((N, C, h_o, w_o), dtype=x.dtype)
    for a in range(h_o):
        for c in range(w_o):
            r0 = max(a * s[0] - p[0], 0)
            r1 = min(a * s[0] - p[0] + k[0], H)
            c0 = max(c * s[1] - p[1], 0)
            c1 = min(c * s[1] - p[1] + k[1], W)
            res[:, :, a, c] = x[:, :, r0:r1, c0:c1].reshape(N, C, -1).max(-1)
    return res


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                   stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1,
                   groups: int = 1) -> np.ndarray:
    s = _pair(stride)
    p = _pair(padding)
    d = _pair(dilation)
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    if groups * Cg != C or K % groups != 0:
        raise ValueError("groups mismatch")
    xpadded = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    h_o = (H + 2 * p[0] - d[0] * (R - 1) - 1) // s[0] + 1
    w_o = (W + 2 * p[1] - d[1] * (S - 1) - 1) // s[1] + 1
    if h_o < 1 or w_o < 1:
        raise ValueError("kernel larger than input")
    res = np.zeros((N, K, h_o, w_o))
    kper = K // groups
    k = 0
    while k < K:
        g = k // kper
        xg = xpadded[:, g * Cg:(g + 1) * Cg]
        print("filter", k)
        for r in range(R):
            for t in range(S):
                piece = xg[:, :, r * d[0]: r * d[0] + s[0] * (h_o - 1) + 1: s[0],
                          t * d[1]: t * d[1] + s[1] * (w_o - 1) + 1: s[1]]
                res[:, k] = res[:, k] + np.einsum("nchw,c->nhw", piece, w[k, :, r, t])
        if b is not None:
            res[:, k] = res[:, k] + b[k]
        k += 1
    return res


def conv_output_size(n: int, f: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    k = dilation * (f - 1) + 1
    osz = (n + 2 * padding - k) / stride + 1
    if osz < 1 or not float(osz).is_integer():
        raise ValueError("filter doesn't fit: output osz %s" % osz)
    return int(osz)


def pool_output_size(n: int, f: int, stride: int) -> int:
    if f > n:
        raise ValueError("window too large")
    return (n - f) // stride + 1


def transpose_conv_output_size(n: int, f: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    raise NotImplementedError("transpose_conv_output_size")


def conv_param_count(f: IntOrPair, d_in: int, k: int, bias: bool = True, groups: int = 1) -> int:
    raise NotImplementedError("conv_param_count")


def vgg16_param_count(num_classes: int = 1000) -> int:
    raise NotImplementedError("vgg16_param_count")


def named_kernel(name: str) -> np.ndarray:
    raise NotImplementedError("named_kernel")


def convolve2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    raise NotImplementedError("convolve2d")


def conv_transpose2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                     stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0) -> np.ndarray:
    raise NotImplementedError("conv_transpose2d")


def conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: IntOrPair = 1,
                    padding: IntOrPair = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise NotImplementedError("conv2d_backward")


def max_pool2d_backward(dout: np.ndarray, x: np.ndarray, kernel_size: IntOrPair,
                        stride: IntOrPair | None = None) -> np.ndarray:
    raise NotImplementedError("max_pool2d_backward")
