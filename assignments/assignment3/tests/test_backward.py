"""Public checks (extra credit): backward passes against PyTorch's autograd."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from cnn_cases import conv_grads

from autograder.checks import assert_allclose, assert_true, describe_call

pytestmark = pytest.mark.question("backward")


def unpack_three(got: object, call: str) -> tuple[object, object, object]:
    assert_true(isinstance(got, (tuple, list)) and len(got) == 3,
                f"{call} must return a tuple (dx, dw, db), got "
                f"{type(got).__name__ if not isinstance(got, (tuple, list)) else len(got)}"
                f"{'' if not isinstance(got, (tuple, list)) else ' values'}.")
    return got[0], got[1], got[2]  # type: ignore[index]


@pytest.mark.points(2)
def test_conv2d_backward_small(student, rng):
    x = rng.standard_normal((2, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    dout = rng.standard_normal((2, 3, 5, 5))
    kwargs = {"padding": 1}
    call = describe_call("conv2d_backward", (dout, x, w), kwargs)
    dx, dw, db = unpack_three(student.conv2d_backward(dout, x, w, **kwargs), call)
    ex, ew, eb = conv_grads(dout, x, w, **kwargs)
    assert_allclose(db, eb, call=f"{call}[2] (db)",
                    hint="db[k] sums dout over the batch and every output position of channel k.")
    assert_allclose(dw, ew, call=f"{call}[1] (dw)",
                    hint="dw[k, c, u, v] = Σ_n Σ_i Σ_j dout[n, k, i, j] · x_pad[n, c, i + u, j + v].")
    assert_allclose(dx, ex, call=f"{call}[0] (dx)",
                    hint="Each output sends dout[n, k, i, j] · w[k, c, u, v] back to x_pad[n, c, "
                         "i + u, j + v]; sum those, then cut the padding off.")


@pytest.mark.points(2)
def test_max_pool2d_backward_small(student, rng):
    x = rng.standard_normal((1, 2, 4, 4))
    dout = rng.standard_normal((1, 2, 2, 2))
    got = student.max_pool2d_backward(dout, x, 2)
    xt = torch.from_numpy(x).requires_grad_()
    (F.max_pool2d(xt, 2) * torch.from_numpy(dout)).sum().backward()
    assert_allclose(got, xt.grad.numpy(), call=describe_call("max_pool2d_backward", (dout, x, 2), {}),
                    hint="Only the position of each window's maximum gets that window's "
                         "gradient; every other position gets 0.")
