from __future__ import annotations

import numpy as np

IntOrPair = int | tuple[int, int]


def conv_param_count(
    f: IntOrPair, d_in: int, k: int, bias: bool = True, groups: int = 1
) -> int:
    raise NotImplementedError('conv_param_count')


def unpool_nearest(x: np.ndarray, scale: IntOrPair = 2) -> np.ndarray:
    sh, sw = _pair(scale)
    return x.repeat(sh, axis=-2).repeat(sw, axis=-1)


def avg_pool2d(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    p = _pair(padding)
    if p[0] * 2 > k[0] or p[1] * 2 > k[1]:
        raise ValueError('padding is more than half the kernel')
    pads = [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])]
    sums = sliding_window_view(np.pad(x, pads), k, axis=(2, 3))[
        :, :, :: s[0], :: s[1]
    ].sum(axis=(-2, -1))
    mask = np.pad(np.ones_like(x[:1, :1]), pads)
    counts = sliding_window_view(mask, k, axis=(2, 3))[
        :, :, :: s[0], :: s[1]
    ].sum(axis=(-2, -1))
    return (sums / counts).astype(x.dtype)


def conv_transpose2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
) -> np.ndarray:
    raise NotImplementedError('conv_transpose2d')


def unpool_bed_of_nails(x: np.ndarray, scale: IntOrPair = 2) -> np.ndarray:
    sh, sw = _pair(scale)
    n, c, h, w_ = x.shape
    result = np.zeros((n, c, h * sh, w_ * sw), dtype=x.dtype)
    result[..., ::sh, ::sw] = x
    return result


def transpose_conv_output_size(
    n: int,
    f: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    raise NotImplementedError('transpose_conv_output_size')


def named_kernel(name: str) -> np.ndarray:
    raise NotImplementedError('named_kernel')


def _pair(value: IntOrPair) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        h, w = value
        return int(h), int(w)
    return int(value), int(value)


def conv_output_size(
    n: int, f: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    eff = (f - 1) * dilation + 1
    num = n - eff + 2 * padding
    if num < 0:
        raise ValueError('the filter is bigger than the (padded) input')
    q, r = divmod(num, stride)
    if r:
        raise ValueError(
            f'({n} - {eff} + 2*{padding}) / {stride} + 1 is not an integer'
        )
    return q + 1


def max_pool2d_backward(
    dout: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
) -> np.ndarray:
    raise NotImplementedError('max_pool2d_backward')


def conv2d_backward(
    dout: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise NotImplementedError('conv2d_backward')


def vgg16_param_count(num_classes: int = 1000) -> int:
    raise NotImplementedError('vgg16_param_count')


def pool_output_size(n: int, f: int, stride: int) -> int:
    if n < f:
        raise ValueError(f'pooling window {f} > input {n}')
    return int(np.floor((n - f) / stride)) + 1


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    stride_h, stride_w = _pair(stride)
    pad_h, pad_w = _pair(padding)
    dil_h, dil_w = _pair(dilation)
    batch, c_in, _, _ = x.shape
    c_out, c_per_group, kh, kw = w.shape
    if c_in % groups or c_out % groups or c_per_group * groups != c_in:
        raise ValueError('groups must divide in and out channels')
    padded = np.pad(
        x, [(0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)], mode='constant'
    )
    span_h = dil_h * (kh - 1) + 1
    span_w = dil_w * (kw - 1) + 1
    if span_h > padded.shape[2] or span_w > padded.shape[3]:
        raise ValueError('kernel does not fit')
    patches = sliding_window_view(padded, (span_h, span_w), axis=(2, 3))
    patches = patches[:, :, ::stride_h, ::stride_w, ::dil_h, ::dil_w]
    outs = []
    per_group = c_out // groups
    for grp in range(groups):
        xs = patches[:, grp * c_per_group : (grp + 1) * c_per_group]
        ws = w[grp * per_group : (grp + 1) * per_group]
        outs.append(np.einsum('nchwuv,kcuv->nkhw', xs, ws))
    result = np.concatenate(outs, axis=1)
    if b is not None:
        result = result + b.reshape(1, -1, 1, 1)
    return result


def max_pool2d(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    p = _pair(padding)
    if p[0] * 2 > k[0] or p[1] * 2 > k[1]:
        raise ValueError('padding is more than half the kernel')
    fill = (
        -np.inf
        if np.issubdtype(x.dtype, np.floating)
        else np.iinfo(x.dtype).min
    )
    padded = np.pad(
        x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])], constant_values=fill
    )
    views = sliding_window_view(padded, k, axis=(2, 3))[:, :, :: s[0], :: s[1]]
    return views.max(axis=(-2, -1))


def convolve2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    raise NotImplementedError('convolve2d')
