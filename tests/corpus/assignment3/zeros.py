"""Zeros assignment3 submission: every function returns 0 or zeros of the right shape."""

from __future__ import annotations

import numpy as np


def _pair(value):
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _size(n, f, stride, padding, dilation=1):
    return (n + 2 * padding - dilation * (f - 1) - 1) // stride + 1


def conv_output_size(n, f, stride=1, padding=0, dilation=1):
    return 0


def pool_output_size(n, f, stride):
    return 0


def transpose_conv_output_size(n, f, stride=1, padding=0, output_padding=0, dilation=1):
    return 0


def conv_param_count(f, d_in, k, bias=True, groups=1):
    return 0


def vgg16_param_count(num_classes=1000):
    return 0


def named_kernel(name):
    return np.zeros((3, 3))


def convolve2d(image, kernel):
    return np.zeros(np.shape(image))


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, _, h, wd = x.shape
    k, _, fh, fw = w.shape
    return np.zeros((n, k, _size(h, fh, sh, ph, dh), _size(wd, fw, sw, pw, dw)))


def _pool(x, kernel_size, stride, padding):
    (kh, kw), (ph, pw) = _pair(kernel_size), _pair(padding)
    sh, sw = _pair(kernel_size if stride is None else stride)
    n, c, h, w = x.shape
    return np.zeros((n, c, _size(h, kh, sh, ph), _size(w, kw, sw, pw)))


def max_pool2d(x, kernel_size, stride=None, padding=0):
    return _pool(x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    return _pool(x, kernel_size, stride, padding)


def unpool_nearest(x, scale=2):
    sh, sw = _pair(scale)
    n, c, h, w = x.shape
    return np.zeros((n, c, h * sh, w * sw))


def unpool_bed_of_nails(x, scale=2):
    return unpool_nearest(x, scale)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0):
    (sh, sw), (ph, pw), (oh, ow) = _pair(stride), _pair(padding), _pair(output_padding)
    n, _, h, wd = x.shape
    _, c_out, fh, fw = w.shape
    return np.zeros((n, c_out, (h - 1) * sh - 2 * ph + fh + oh, (wd - 1) * sw - 2 * pw + fw + ow))


def conv2d_backward(dout, x, w, stride=1, padding=0):
    return np.zeros(x.shape), np.zeros(w.shape), np.zeros(w.shape[0])


def max_pool2d_backward(dout, x, kernel_size, stride=None):
    return np.zeros(x.shape)
