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
    """``(value, value)`` for an int, ``(h, w)`` for a pair: kernel sizes, strides, paddings."""
    if isinstance(value, (tuple, list)):
        h, w = value
        return int(h), int(w)
    return int(value), int(value)


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
    effective = 1 + (f - 1) * dilation
    numerator = n + padding * 2 - effective
    out = numerator / stride + 1
    if numerator < 0 or out != int(out):
        raise ValueError("filter doesn't fit")
    return int(out)


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
        raise ValueError("f > n")
    out = 1
    pos = f
    for _ in range(n):
        if pos + stride > n:
            break
        pos = pos + stride
        out = out + 1
    return out


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
    raise NotImplementedError("transpose_conv_output_size")


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
    raise NotImplementedError("conv_param_count")


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
    raise NotImplementedError("vgg16_param_count")


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
    raise NotImplementedError("named_kernel")


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
    raise NotImplementedError("convolve2d")


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
    SH, SW = _pair(stride)
    PH, PW = _pair(padding)
    DH, DW = _pair(dilation)
    N, C, H, W = x.shape
    K, CG, FH, FW = w.shape
    if C != CG * groups or K % groups:
        raise ValueError("bad groups")
    Ho = (H + 2 * PH - DH * (FH - 1) - 1) // SH + 1
    Wo = (W + 2 * PW - DW * (FW - 1) - 1) // SW + 1
    if Ho < 1 or Wo < 1:
        raise ValueError("filter too big")
    xpad = np.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=x.dtype)
    xpad[:, :, PH:PH + H, PW:PW + W] = x
    # im2col: one column per output position
    cols = np.empty((N, C, FH, FW, Ho, Wo), dtype=x.dtype)
    u = 0
    while u < FH:
        v = 0
        while v < FW:
            r0, c0 = u * DH, v * DW
            cols[:, :, u, v] = xpad[:, :, r0:r0 + SH * Ho:SH, c0:c0 + SW * Wo:SW]
            v += 1
        u += 1
    KG = K // groups
    result = np.empty((N, K, Ho * Wo), dtype=np.result_type(x, w))
    for g in range(groups):
        col = cols[:, g * CG:(g + 1) * CG].reshape(N, CG * FH * FW, Ho * Wo)
        wmat = w[g * KG:(g + 1) * KG].reshape(KG, -1)
        result[:, g * KG:(g + 1) * KG] = wmat @ col
    if b is not None:
        result = result + b[None, :, None]
    return result.reshape(N, K, Ho, Wo)


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
    KH, KW = _pair(kernel_size)
    if stride is None:
        stride = kernel_size
    SH, SW = _pair(stride)
    PH, PW = _pair(padding)
    if PH > KH // 2 or PW > KW // 2:
        raise ValueError("padding too large")
    N, C, H, W = x.shape
    Ho = (H + 2 * PH - KH) // SH + 1
    Wo = (W + 2 * PW - KW) // SW + 1
    xpad = np.full((N, C, H + 2 * PH, W + 2 * PW), -np.inf)
    xpad[:, :, PH:PH + H, PW:PW + W] = x
    best = np.full((N, C, Ho, Wo), -np.inf)
    for u in range(KH):
        for v in range(KW):
            best = np.maximum(best, xpad[:, :, u:u + SH * Ho:SH, v:v + SW * Wo:SW])
    return best.astype(x.dtype)


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
    KH, KW = _pair(kernel_size)
    if stride is None:
        stride = kernel_size
    SH, SW = _pair(stride)
    PH, PW = _pair(padding)
    if PH > KH // 2 or PW > KW // 2:
        raise ValueError("padding too large")
    N, C, H, W = x.shape
    Ho = (H + 2 * PH - KH) // SH + 1
    Wo = (W + 2 * PW - KW) // SW + 1
    xpad = np.zeros((N, C, H + 2 * PH, W + 2 * PW))
    xpad[:, :, PH:PH + H, PW:PW + W] = x
    valid = np.zeros((H + 2 * PH, W + 2 * PW))
    valid[PH:PH + H, PW:PW + W] = 1
    total = np.zeros((N, C, Ho, Wo))
    count = np.zeros((Ho, Wo))
    for u in range(KH):
        v = 0
        while v < KW:
            total = total + xpad[:, :, u:u + SH * Ho:SH, v:v + SW * Wo:SW]
            count = count + valid[u:u + SH * Ho:SH, v:v + SW * Wo:SW]
            v += 1
    return (total / count).astype(x.dtype)


def unpool_nearest(x: np.ndarray, scale: IntOrPair = 2) -> np.ndarray:
    """Nearest-neighbour unpooling: each value is repeated in a scale×scale block.

        out[n, c, i, j] = x[n, c, i // SH, j // SW]

    Args:
        x: input, shape (N, C, H, W).
        scale: (SH, SW), an int or a pair.

    Returns:
        Array of shape (N, C, H·SH, W·SW).
    """
    SH, SW = _pair(scale)
    return np.kron(x, np.ones((1, 1, SH, SW), dtype=x.dtype))


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
    SH, SW = _pair(scale)
    kernel = np.zeros((SH, SW), dtype=x.dtype)
    kernel[0, 0] = 1
    return np.kron(x, kernel[None, None])


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
    raise NotImplementedError("conv_transpose2d")


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
    raise NotImplementedError("conv2d_backward")


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
    raise NotImplementedError("max_pool2d_backward")
