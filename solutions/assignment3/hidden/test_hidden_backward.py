"""Hidden checks (extra credit): backward passes against PyTorch's autograd with random shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cnn_cases import conv_grads

from autograder.checks import assert_allclose, assert_true, describe_call, reference

pytestmark = pytest.mark.question("backward")


@reference
def pool_grad(dout, x, kernel_size, stride=None) -> np.ndarray:
    xt = torch.from_numpy(x).requires_grad_()
    (F.max_pool2d(xt, kernel_size, stride) * torch.from_numpy(dout)).sum().backward()
    return xt.grad.numpy()


@pytest.mark.points(3)
def test_conv2d_backward_random_stride_padding(student, rng):
    n, c, k = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    x = rng.standard_normal((n, c, int(rng.integers(5, 9)), int(rng.integers(5, 9))))
    w = rng.standard_normal((k, c, int(rng.integers(2, 4)), int(rng.integers(2, 4))))
    stride, padding = (int(rng.integers(1, 4)), int(rng.integers(2, 4))), (1, int(rng.integers(0, 2)))
    out_shape = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, stride, padding).shape
    dout = rng.standard_normal(tuple(out_shape))
    kwargs = {"stride": stride, "padding": padding}
    call = describe_call("conv2d_backward", (dout, x, w), kwargs)
    got = student.conv2d_backward(dout, x, w, **kwargs)
    assert_true(isinstance(got, (tuple, list)) and len(got) == 3,
                f"{call} must return a tuple (dx, dw, db).")
    ex, ew, eb = conv_grads(dout, x, w, stride, padding)
    assert_allclose(got[0], ex, call=f"{call}[0] (dx)",
                    hint="Send dout[n, k, i, j] · w[k, c, u, v] back to x_pad[n, c, i·SH + u, "
                         "j·SW + v], sum, then cut the padding off; rows no window reached get 0.")
    assert_allclose(got[1], ew, call=f"{call}[1] (dw)",
                    hint="dw[k, c, u, v] = Σ_n Σ_i Σ_j dout[n, k, i, j] · x_pad[n, c, i·SH + u, "
                         "j·SW + v].")
    assert_allclose(got[2], eb, call=f"{call}[2] (db)",
                    hint="db[k] sums dout over the batch and all output positions of channel k.")


@pytest.mark.points(2)
def test_max_pool2d_backward_overlapping_windows(student, rng):
    x = rng.standard_normal((2, 2, int(rng.integers(5, 9)), int(rng.integers(5, 9))))
    out_shape = F.max_pool2d(torch.from_numpy(x), 3, 1).shape
    dout = rng.standard_normal(tuple(out_shape))
    got = student.max_pool2d_backward(dout, x, 3, 1)
    expected = pool_grad(dout, x, 3, 1)
    _, idx = F.max_pool2d(torch.from_numpy(x), 3, 1, return_indices=True)
    offsets = np.arange(x.shape[0] * x.shape[1]).reshape(x.shape[0], x.shape[1], 1, 1)
    overwritten = np.zeros(x.size)  # what dx[idx] = dout gives: repeated indices keep one value
    overwritten[(idx.numpy() + offsets * x.shape[2] * x.shape[3]).ravel()] = dout.ravel()
    assert_allclose(got, expected, call=describe_call("max_pool2d_backward", (dout, x, 3, 1), {}),
                    hint="When windows overlap, one input can be the maximum of several windows: "
                         "add up all the gradients it receives.",
                    mistakes={"Overlapping windows overwrote each other's gradient instead of "
                              "adding up: use np.add.at (dx[idx] += dout does not accumulate "
                              "repeated indices).": overwritten.reshape(x.shape)})


@pytest.mark.points(1)
def test_max_pool2d_backward_pair_kernel_rounds_down(student, rng):
    x = rng.standard_normal((1, 3, 7, 8))
    kernel = (2, 3)
    dout = rng.standard_normal((1, 3, 3, 2))
    got = student.max_pool2d_backward(dout, x, kernel)
    assert_allclose(got, pool_grad(dout, x, kernel),
                    call=describe_call("max_pool2d_backward", (dout, x, kernel), {}),
                    hint="With stride None the stride is the kernel size; rows/columns no window "
                         "covers get a zero gradient.")
