"""Wrong assignment3 submission: max_pool2d pads with zeros instead of -inf, so a padded zero wins
over negative inputs.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

IntOrPair = int | tuple[int, int]


def _pair(value: IntOrPair) -> tuple[int, int]:
    """``(value, value)`` for an int, ``(h, w)`` for a pair: kernel sizes, strides, paddings."""
    if isinstance(value, (tuple, list)):
        h, w = value
        return int(h), int(w)
    return int(value), int(value)


def _windows(x: np.ndarray, size: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Every (dilated) window of ``x`` (N, C, H, W) as a view of shape (N, C, Ho, Wo, FH, FW)."""
    (fh, fw), (sh, sw), (dh, dw) = size, stride, dilation
    span_h, span_w = dh * (fh - 1) + 1, dw * (fw - 1) + 1
    if span_h > x.shape[2] or span_w > x.shape[3]:
        raise ValueError(f"a window of {span_h}×{span_w} does not fit in a (padded) input of "
                         f"{x.shape[2]}×{x.shape[3]}")
    return sliding_window_view(x, (span_h, span_w), axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]


def _pad(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) with ``padding`` rows/columns of ``value`` added on both sides."""
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _scatter_windows(contrib: np.ndarray, out_hw: tuple[int, int],
                     stride: tuple[int, int]) -> np.ndarray:
    """Add window contributions back to an image (the reverse of ``_windows``).

    ``contrib`` (N, C, FH, FW, H, W) holds what input position (i, j) sends to
    output position (i·S + u, j·S + v); the result has shape (N, C, *out_hw).
    """
    n, c, fh, fw, h, w = contrib.shape
    sh, sw = stride
    out = np.zeros((n, c, *out_hw))
    for u in range(fh):
        for v in range(fw):
            out[:, :, u:u + sh * (h - 1) + 1:sh, v:v + sw * (w - 1) + 1:sw] += contrib[:, :, u, v]
    return out


# -- sizes and parameter counts ----------------------------------------------


def conv_output_size(n: int, f: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output size of a convolution along one axis: ``(n - F_eff + 2P) / S + 1``.

    Args:
        n: input size along the axis (e.g. the height H), an int >= 1.
        f: filter size along the axis, an int >= 1.
        stride: step S between neighbouring windows, an int >= 1.
        padding: zeros P added on EACH side of the input, an int >= 0.
        dilation: spacing D between filter taps, an int >= 1; the filter then
            covers ``F_eff = D·(f - 1) + 1`` input positions.

    Returns:
        The output size, an int.  Examples from the slides: ``conv_output_size(7, 3) == 5``,
        ``conv_output_size(7, 3, stride=2) == 3``.

    Raises:
        ValueError: if the filter doesn't fit, i.e. ``(n - F_eff + 2P)`` is negative or
            not a multiple of S (``conv_output_size(7, 3, stride=3)``: 2.33 is not a size).
    """
    f_eff = dilation * (f - 1) + 1
    span = n - f_eff + 2 * padding
    if span < 0:
        raise ValueError("the filter doesn't fit: it is larger than the padded input")
    if span % stride:
        raise ValueError("the filter doesn't fit: (n - F_eff + 2P) / S + 1 is not an integer")
    return span // stride + 1


def pool_output_size(n: int, f: int, stride: int) -> int:
    """Output size of a pooling layer (no padding) along one axis: ``floor((n - f) / S) + 1``.

    Args:
        n: input size along the axis, an int >= 1.
        f: pooling window size along the axis, an int >= 1.
        stride: step S between neighbouring windows, an int >= 1.

    Returns:
        The output size, an int.  Like PyTorch (``ceil_mode=False``), positions that don't
        fill a whole window at the end are dropped: ``pool_output_size(4, 2, 2) == 2``,
        ``pool_output_size(7, 2, 2) == 3``.

    Raises:
        ValueError: if the window is larger than the input (``f > n``).
    """
    if f > n:
        raise ValueError(f"a pooling window of {f} does not fit in an input of size {n}")
    return (n - f) // stride + 1


def transpose_conv_output_size(n: int, f: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Output size of a transpose convolution along one axis.

    ``(n - 1)·S - 2P + D·(f - 1) + output_padding + 1``, the size
    ``torch.nn.ConvTranspose2d`` produces.  It is the input size of a convolution with
    the same f, S, P and D whose output size is n (``output_padding`` picks among the
    input sizes that a stride S > 1 maps to the same n).

    Args:
        n: input size along the axis, an int >= 1.
        f: filter size along the axis, an int >= 1.
        stride: S, an int >= 1 (the input is spread out S positions apart).
        padding: P, an int >= 0: P rows/columns are removed from EACH side of the full output.
        output_padding: extra size added to ONE side (the end), an int >= 0,
            smaller than the stride or the dilation.
        dilation: D, an int >= 1.

    Returns:
        The output size, an int, e.g. ``transpose_conv_output_size(3, 3, stride=2) == 7``.
    """
    return (n - 1) * stride - 2 * padding + dilation * (f - 1) + output_padding + 1


def conv_param_count(f: IntOrPair, d_in: int, k: int, bias: bool = True, groups: int = 1) -> int:
    """Number of learnable parameters of a convolution layer: ``(F·F·D_in + 1)·K``.

    Each of the K filters has F·F·D_in weights (it spans the whole input depth)
    and one bias.  With ``groups = g`` each filter only sees D_in / g input
    channels: ``(F·F·D_in/g + 1)·K``.  Example from the slides: a 32×32×3 input
    and 10 filters of 5×5 give ``conv_param_count(5, 3, 10) == 760``.

    Args:
        f: filter size F, an int or a pair (FH, FW) for an FH×FW filter.
        d_in: depth D_in (number of channels) of the input, an int.
        k: number of filters K (= output channels), an int.
        bias: whether each filter has a bias.
        groups: number of groups g; must divide both d_in and k.

    Returns:
        The number of parameters, an int.

    Raises:
        ValueError: if groups does not divide d_in and k.
    """
    fh, fw = _pair(f)
    if d_in % groups or k % groups:
        raise ValueError(f"groups={groups} must divide d_in={d_in} and k={k}")
    return (fh * fw * (d_in // groups) + int(bias)) * k


#: VGG16 (configuration D): 3×3 convolutions with padding 1, "M" is a 2×2 max pool.
_VGG16_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16_param_count(num_classes: int = 1000) -> int:
    """Number of learnable parameters of VGG16 for 224×224×3 images.

    VGG16 (configuration D of Simonyan & Zisserman): thirteen 3×3 convolutions
    with stride 1 and padding 1, each with a bias, in five blocks of
    64, 64 | 128, 128 | 256, 256, 256 | 512, 512, 512 | 512, 512, 512 channels,
    each block followed by a 2×2 max pool with stride 2 (no parameters); then
    three fully connected layers with biases: 7·7·512 -> 4096 -> 4096 -> num_classes.

    Args:
        num_classes: number of outputs of the last layer.

    Returns:
        The number of weights and biases, an int: 138,357,544 for 1000 classes.
    """
    total, d_in = 0, 3
    for layer in _VGG16_LAYERS:
        if layer == "M":
            continue
        total += conv_param_count(3, d_in, int(layer))
        d_in = int(layer)
    for fan_in, fan_out in ((7 * 7 * 512, 4096), (4096, 4096), (4096, num_classes)):
        total += (fan_in + 1) * fan_out
    return total


# -- kernels and true convolution --------------------------------------------

_NAMED_KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "box_blur": [[1 / 9] * 3] * 3,
    "gaussian_blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16],
                      [1 / 16, 2 / 16, 1 / 16]],
}


def named_kernel(name: str) -> np.ndarray:
    """One of the 3×3 image kernels from the slides, as a float array.

    - ``"identity"``:      [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    - ``"edge"``:          [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    - ``"sharpen"``:       [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    - ``"box_blur"``:      every entry 1/9
    - ``"gaussian_blur"``: [[1, 2, 1], [2, 4, 2], [1, 2, 1]] / 16

    Args:
        name: one of the names above.

    Returns:
        Array of shape (3, 3), dtype float64.

    Raises:
        ValueError: for any other name (say which names exist).
    """
    if name not in _NAMED_KERNELS:
        raise ValueError(f"unknown kernel {name!r}; known: {', '.join(_NAMED_KERNELS)}")
    return np.array(_NAMED_KERNELS[name], dtype=np.float64)


def convolve2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """True 2-D convolution of one image with one kernel, zero padded, same size output.

    ``G[i, j] = Σ_u Σ_v w[u, v] · x[i - u, j - v]``, with the kernel's offsets u, v
    counted from its centre entry ``w[kh // 2, kw // 2]`` (so u runs from -(kh // 2)
    to kh // 2) and x = 0 outside the image.  Equivalently: flip the kernel in both
    directions, then slide it over the zero-padded image (a cross-correlation).
    An identity kernel returns the image unchanged.

    Args:
        image: array of shape (H, W).
        kernel: array of shape (kh, kw), kh and kw odd.

    Returns:
        Array of shape (H, W).

    Raises:
        ValueError: if a kernel side is even (it then has no centre).
    """
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"kernel sides must be odd, got {kh}×{kw}")
    padded = np.pad(np.asarray(image, dtype=np.float64), ((kh // 2, kh // 2), (kw // 2, kw // 2)))
    windows = sliding_window_view(padded, (kh, kw))  # (H, W, kh, kw)
    return np.einsum("ijuv,uv->ij", windows, kernel[::-1, ::-1])


# -- layers ----------------------------------------------------------------


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                   stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1,
                   groups: int = 1) -> np.ndarray:
    """Forward pass of a convolution layer, the same as ``torch.nn.functional.conv2d``.

    A cross-correlation (the kernel is NOT flipped):

        out[n, k, i, j] = b[k] + Σ_c Σ_u Σ_v w[k, c, u, v] · x_pad[n, c, i·SH + u·DH, j·SW + v·DW]

    where x_pad is x with PH rows of zeros added at the top AND at the bottom and
    PW columns at the left AND at the right.  With ``groups = g`` the C input and K
    output channels are split into g equal groups, in order; output channels of
    group j see only the input channels of group j (c runs over C/g channels).

    Args:
        x: input, shape (N, C, H, W).
        w: filters, shape (K, C/groups, FH, FW).
        b: biases, shape (K,), or None for no bias.
        stride: (SH, SW), an int or a pair.
        padding: (PH, PW), an int or a pair: zeros on both sides.
        dilation: (DH, DW), an int or a pair: spacing between filter taps.
        groups: g, an int dividing C and K.

    Returns:
        Array of shape (N, K, H_out, W_out) with
        ``H_out = (H + 2·PH - DH·(FH - 1) - 1) // SH + 1`` and likewise W_out.  Like PyTorch,
        this rounds down: rows/columns at the end that don't fill a whole stride are unused.

    Raises:
        ValueError: if the (dilated) filter is larger than the padded input, or the
            channel counts don't match ``groups``.
    """
    x = np.asarray(x, dtype=np.float64)
    n, c, _, _ = x.shape
    k, c_group, fh, fw = w.shape
    if c % groups or k % groups or c_group * groups != c:
        raise ValueError(f"with x of shape {x.shape} and groups={groups}, w must have shape "
                         f"(K, C/groups, FH, FW) with K divisible by groups, not {w.shape}")
    windows = _windows(_pad(x, _pair(padding)), (fh, fw), _pair(stride), _pair(dilation))
    h_out, w_out = windows.shape[2:4]
    windows = windows.reshape(n, groups, c_group, h_out, w_out, fh, fw)
    w_groups = w.reshape(groups, k // groups, c_group, fh, fw)
    out = np.einsum("ngchwuv,gkcuv->ngkhw", windows, w_groups, optimize=True)
    out = out.reshape(n, k, h_out, w_out)
    if b is not None:
        out = out + np.asarray(b)[None, :, None, None]
    return out


def _pool_geometry(kernel_size: IntOrPair, stride: IntOrPair | None,
                   padding: IntOrPair) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    size = _pair(kernel_size)
    step = size if stride is None else _pair(stride)
    pad = _pair(padding)
    if 2 * pad[0] > size[0] or 2 * pad[1] > size[1]:
        raise ValueError(f"padding {pad} must be at most half the kernel size {size}")
    return size, step, pad


def max_pool2d(x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0) -> np.ndarray:
    """Max pooling of every channel, the same as ``torch.nn.functional.max_pool2d``.

        out[n, c, i, j] = max over u < KH, v < KW of x_pad[n, c, i·SH + u, j·SW + v]

    Args:
        x: input, shape (N, C, H, W).
        kernel_size: window (KH, KW), an int or a pair.
        stride: (SH, SW), an int or a pair; None (the default) means the kernel size,
            i.e. windows that don't overlap.
        padding: (PH, PW), an int or a pair, at most half the kernel size.  The padding
            is -inf on both sides, so a padded position is never the maximum.

    Returns:
        Array of shape (N, C, H_out, W_out), ``H_out = (H + 2·PH - KH) // SH + 1``
        (rounded down, like PyTorch) and likewise W_out.

    Raises:
        ValueError: if the padding is more than half the kernel size.
    """
    size, step, pad = _pool_geometry(kernel_size, stride, padding)
    xp = _pad(np.asarray(x, dtype=np.float64), pad)
    return _windows(xp, size, step).max(axis=(-2, -1))


def avg_pool2d(x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0) -> np.ndarray:
    """Average pooling of every channel, like ``torch.nn.functional.avg_pool2d`` with
    ``count_include_pad=False``.

    Each output is the mean of the input values in its window.  Padded positions
    are NOT counted: a window that overlaps the padding is averaged over its real
    input values only (a 3×3 window at a corner with padding 1 averages 4 values,
    not 9).

    Args:
        x: input, shape (N, C, H, W).
        kernel_size: window (KH, KW), an int or a pair.
        stride: (SH, SW), an int or a pair; None (the default) means the kernel size.
        padding: (PH, PW), an int or a pair, at most half the kernel size.

    Returns:
        Array of shape (N, C, H_out, W_out), ``H_out = (H + 2·PH - KH) // SH + 1``
        (rounded down, like PyTorch) and likewise W_out.

    Raises:
        ValueError: if the padding is more than half the kernel size.
    """
    size, step, pad = _pool_geometry(kernel_size, stride, padding)
    x = np.asarray(x, dtype=np.float64)
    sums = _windows(_pad(x, pad), size, step).sum(axis=(-2, -1))
    ones = np.ones((1, 1, *x.shape[2:]))
    counts = _windows(_pad(ones, pad), size, step).sum(axis=(-2, -1))
    return sums / counts


def unpool_nearest(x: np.ndarray, scale: IntOrPair = 2) -> np.ndarray:
    """Nearest-neighbour unpooling: each value is repeated in a scale×scale block.

        out[n, c, i, j] = x[n, c, i // SH, j // SW]

    Args:
        x: input, shape (N, C, H, W).
        scale: (SH, SW), an int or a pair.

    Returns:
        Array of shape (N, C, H·SH, W·SW).
    """
    sh, sw = _pair(scale)
    return np.repeat(np.repeat(x, sh, axis=2), sw, axis=3)


def unpool_bed_of_nails(x: np.ndarray, scale: IntOrPair = 2) -> np.ndarray:
    """Bed-of-nails unpooling: each value goes to the TOP-LEFT corner of its
    scale×scale block, every other entry is 0.

        out[n, c, i·SH, j·SW] = x[n, c, i, j],   out = 0 elsewhere

    Args:
        x: input, shape (N, C, H, W).
        scale: (SH, SW), an int or a pair.

    Returns:
        Array of shape (N, C, H·SH, W·SW).
    """
    sh, sw = _pair(scale)
    n, c, h, w = x.shape
    out = np.zeros((n, c, h * sh, w * sw), dtype=np.result_type(x, np.float64))
    out[:, :, ::sh, ::sw] = x
    return out


def conv_transpose2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                     stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0) -> np.ndarray:
    """Transpose convolution, the same as ``torch.nn.functional.conv_transpose2d``.

    Every input value scales a copy of the filter that is ADDED to the output,
    copies of neighbouring inputs SH (SW) positions apart, overlaps summed:

        full[n, o, i·SH + u, j·SW + v] += x[n, c, i, j] · w[c, o, u, v]   (for all c, i, j, u, v)

    The full output has (H - 1)·SH + FH + OPH rows (the last OPH all zero);
    ``padding`` then removes PH rows at the top AND PH at the bottom (PW columns at
    the left and at the right): ``out = full[:, :, PH:PH + H_out, PW:PW + W_out]``.
    Finally ``b[o]`` is added to every output of channel o.

    Args:
        x: input, shape (N, C_in, H, W).
        w: filters, shape (C_in, C_out, FH, FW) (PyTorch's layout for transpose convolution).
        b: biases, shape (C_out,), or None for no bias.
        stride: (SH, SW), an int or a pair.
        padding: (PH, PW), an int or a pair.
        output_padding: (OPH, OPW), an int or a pair, smaller than the stride: extra
            rows/columns at the bottom/right only.

    Returns:
        Array of shape (N, C_out, H_out, W_out) with
        ``H_out = (H - 1)·SH - 2·PH + FH + OPH`` and likewise W_out.
    """
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    oph, opw = _pair(output_padding)
    _, _, h, wd = x.shape
    _, _, fh, fw = w.shape
    full_hw = ((h - 1) * sh + fh + oph, (wd - 1) * sw + fw + opw)
    h_out, w_out = full_hw[0] - 2 * ph, full_hw[1] - 2 * pw
    contrib = np.einsum("nchw,couv->nouvhw", np.asarray(x, dtype=np.float64), w)
    out = _scatter_windows(contrib, full_hw, (sh, sw))[:, :, ph:ph + h_out, pw:pw + w_out]
    if b is not None:
        out = out + np.asarray(b)[None, :, None, None]
    return out


# -- extra credit: backward passes ---------------------------------------------


def conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: IntOrPair = 1,
                    padding: IntOrPair = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``conv2d_forward(x, w, b, stride, padding)`` (no dilation, groups 1).

    Given the upstream gradient ``dout = ∂L/∂out``, return the gradients of the
    loss with respect to the input, the filters and the biases:

        dx[n, c, h, w]  = Σ_k Σ_i Σ_j dout[n, k, i, j] · ∂out[n, k, i, j]/∂x[n, c, h, w]
        dw[k, c, u, v]  = Σ_n Σ_i Σ_j dout[n, k, i, j] · x_pad[n, c, i·SH + u, j·SW + v]
        db[k]           = Σ_n Σ_i Σ_j dout[n, k, i, j]

    Input positions that no window reaches (rounding down) get a zero gradient.

    Args:
        dout: upstream gradient, shape (N, K, H_out, W_out).
        x: the forward pass's input, shape (N, C, H, W).
        w: the forward pass's filters, shape (K, C, FH, FW).
        stride: (SH, SW), an int or a pair.
        padding: (PH, PW), an int or a pair.

    Returns:
        A tuple ``(dx, dw, db)`` of shapes (N, C, H, W), (K, C, FH, FW) and (K,).
    """
    sh, sw = _pair(stride)
    pad = _pair(padding)
    x = np.asarray(x, dtype=np.float64)
    _, _, h, wd = x.shape
    _, _, fh, fw = w.shape
    xp = _pad(x, pad)
    windows = _windows(xp, (fh, fw), (sh, sw))  # (N, C, H_out, W_out, FH, FW)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nkhw,nchwuv->kcuv", dout, windows, optimize=True)
    contrib = np.einsum("nkhw,kcuv->ncuvhw", dout, w, optimize=True)
    dxp = _scatter_windows(contrib, xp.shape[2:], (sh, sw))
    dx = dxp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + wd]
    return dx, dw, db


def max_pool2d_backward(dout: np.ndarray, x: np.ndarray, kernel_size: IntOrPair,
                        stride: IntOrPair | None = None) -> np.ndarray:
    """Backward pass of ``max_pool2d(x, kernel_size, stride)`` (no padding).

    Each window passes its upstream gradient to the input position that held its
    maximum; every other position of the window gets nothing.  When windows overlap
    (stride < kernel size) one input can be the maximum of several windows: add up
    the gradients it receives.  If several entries of a window tie for the maximum,
    the first one in row-major order gets the gradient (as in PyTorch).

    Args:
        dout: upstream gradient, shape (N, C, H_out, W_out).
        x: the forward pass's input, shape (N, C, H, W).
        kernel_size: window (KH, KW), an int or a pair.
        stride: (SH, SW), an int or a pair; None means the kernel size.

    Returns:
        dx, array of shape (N, C, H, W).
    """
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    x = np.asarray(x, dtype=np.float64)
    windows = _windows(x, (kh, kw), (sh, sw))
    n, c, h_out, w_out = windows.shape[:4]
    first_max = windows.reshape(n, c, h_out, w_out, kh * kw).argmax(axis=-1)
    rows = np.arange(h_out)[:, None] * sh + first_max // kw
    cols = np.arange(w_out)[None, :] * sw + first_max % kw
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(c)[None, :, None, None]
    dx = np.zeros_like(x)
    np.add.at(dx, (batch, channel, rows, cols), dout)
    return dx
