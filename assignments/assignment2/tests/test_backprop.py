"""Public checks of mlp_loss_and_grads: the loss and every gradient, compared with torch autograd."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import assert_allclose, assert_equal, assert_true

pytestmark = pytest.mark.question("backprop")

SUM_HINT = "the loss is the MEAN over the batch: divide dL/dlogits (and the loss) by N."
EXTRA_KEYS_HINT = ("return one gradient per parameter ('W1', 'b1', ..., 'WL', 'bL') and no other "
                   "entries: the layers are numbered 1..L, so the backward loop stops at layer 1 "
                   "(there is no 'W0').")


def make_params(rng, sizes):
    params = {}
    for k in range(1, len(sizes)):
        params[f"W{k}"] = rng.standard_normal((sizes[k], sizes[k - 1])) / np.sqrt(sizes[k - 1])
        params[f"b{k}"] = 0.5 * rng.standard_normal(sizes[k])
    return params


def torch_loss_and_grads(x, labels, params):
    n_layers = len(params) // 2
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    out = torch.from_numpy(x)
    for k in range(1, n_layers + 1):
        out = F.linear(out, tensors[f"W{k}"], tensors[f"b{k}"])
        if k < n_layers:
            out = torch.relu(out)
    loss = F.cross_entropy(out, torch.from_numpy(labels))
    loss.backward()
    return loss.item(), {k: t.grad.numpy() for k, t in tensors.items()}


def check_loss_and_grads(result, x, labels, params, call, loss_only=False):
    assert_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call} returned {type(result).__name__}, expected a pair (loss, grads).")
    loss, grads = result
    ref_loss, ref_grads = torch_loss_and_grads(x, labels, params)
    n = x.shape[0]
    assert_allclose(loss, ref_loss, call=f"{call}: the loss", mistakes={SUM_HINT: ref_loss * n},
                    hint="the loss is cross_entropy(mlp_forward(x, params, 'relu'), labels).")
    if loss_only:
        return
    assert_true(isinstance(grads, dict),
                f"{call} returned grads of type {type(grads).__name__}, expected a dict with the "
                "keys of params ('W1', 'b1', ...).")
    missing = [k for k in params if k not in grads]
    assert_true(not missing, f"{call}: grads lacks the keys {missing} (it has {sorted(grads)}); "
                "return one gradient per parameter, under the parameter's key.")
    assert_equal(tuple(sorted(str(k) for k in grads)), tuple(sorted(params)),
                 call=f"{call}: sorted(grads)", hint=EXTRA_KEYS_HINT)
    for key in sorted(params, key=lambda k: (int(k[1:]), k)):
        ref = ref_grads[key]
        mistakes = {SUM_HINT: ref * n}
        if key.startswith("W"):
            mistakes["grads[Wk] has W's shape (out, in): dL/dWk = dz.T @ x_prev."] = ref.T
        assert_allclose(grads[key], ref, call=f"{call}: grads[{key!r}]", mistakes=mistakes,
                        hint="backpropagate dL/dz from the logits down, layer by layer.")


@pytest.mark.points(2)
def test_mlp_loss_two_layers(student):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3))
    labels = np.array([0, 1, 3, 2, 1])
    params = make_params(rng, [3, 6, 4])
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params, loss_only=True,
                         call="mlp_loss_and_grads(x (5, 3), labels (5,), params 3-6-4)")


@pytest.mark.points(4)
def test_mlp_grads_two_layers(student):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3))
    labels = np.array([0, 1, 3, 2, 1, 0])
    params = make_params(rng, [3, 5, 4])
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params,
                         call="mlp_loss_and_grads(x (6, 3), labels (6,), params 3-5-4)")
