"""Hidden checks of mlp_loss_and_grads: 1, 3 and 4 layers, square shapes, ReLU at exactly 0."""

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
BIAS_HINT = "dL/dbk sums dL/dzk over the batch, i.e. over axis 0."
RELU_HINT = ("a hidden unit whose pre-activation is exactly 0 must get zero gradient: relu'(0) "
             "is 0 (as in PyTorch), so the mask is z > 0, not z >= 0.")


def make_params(rng, sizes):
    params = {}
    for k in range(1, len(sizes)):
        params[f"W{k}"] = rng.standard_normal((sizes[k], sizes[k - 1])) / np.sqrt(sizes[k - 1])
        params[f"b{k}"] = 0.5 * rng.standard_normal(sizes[k])
    return params


def torch_loss_and_grads(x, labels, params):
    """Loss, gradients of every parameter, and dL/dz of every layer's pre-activation."""
    n_layers = len(params) // 2
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    out = torch.from_numpy(x)
    pre = {}
    for k in range(1, n_layers + 1):
        out = F.linear(out, tensors[f"W{k}"], tensors[f"b{k}"])
        out.retain_grad()
        pre[k] = out
        if k < n_layers:
            out = torch.relu(out)
    loss = F.cross_entropy(out, torch.from_numpy(labels))
    loss.backward()
    return (loss.item(), {k: t.grad.numpy() for k, t in tensors.items()},
            {k: z.grad.numpy() for k, z in pre.items()})


def check_loss_and_grads(result, x, labels, params, call, hint=""):
    assert_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call} returned {type(result).__name__}, expected a pair (loss, grads).")
    loss, grads = result
    ref_loss, ref_grads, dz = torch_loss_and_grads(x, labels, params)
    n = x.shape[0]
    assert_allclose(loss, ref_loss, call=f"{call}: the loss", mistakes={SUM_HINT: ref_loss * n},
                    hint="the loss is cross_entropy(mlp_forward(x, params, 'relu'), labels).")
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
        else:
            mistakes[BIAS_HINT] = dz[int(key[1:])].sum(axis=1)
        assert_allclose(grads[key], ref, call=f"{call}: grads[{key!r}]", mistakes=mistakes,
                        hint=hint or "backpropagate dL/dz from the logits down, layer by layer.")


@pytest.mark.points(2)
@pytest.mark.parametrize("n_layers", [1, 3, 4])
def test_mlp_grads_depth(student, rng, n_layers):
    sizes = [int(v) for v in rng.integers(2, 8, size=n_layers + 1)]
    n = int(rng.integers(2, 9))
    x = rng.standard_normal((n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    params = make_params(rng, sizes)
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params,
                         call=f"mlp_loss_and_grads(x ({n}, {sizes[0]}), labels ({n},), "
                              f"params of {n_layers} layers {'-'.join(map(str, sizes))})")


@pytest.mark.points(3)
def test_mlp_grads_square_shapes(student, rng):
    n = int(rng.integers(3, 6))
    x = rng.standard_normal((n, n))
    labels = rng.permutation(n)
    params = make_params(rng, [n, n, n])
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params,
                         call=f"mlp_loss_and_grads(x ({n}, {n}), labels ({n},), "
                              f"params {n}-{n}-{n})")


@pytest.mark.points(3)
def test_mlp_grads_relu_at_zero(student, rng):
    sizes = [3, 5, 3]
    n = 6
    x = rng.standard_normal((n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    params = make_params(rng, sizes)
    dead = int(rng.integers(0, sizes[1]))
    params["W1"][dead] = 0.0
    params["b1"][dead] = 0.0
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params, hint=RELU_HINT,
                         call=f"mlp_loss_and_grads(x ({n}, 3), labels ({n},), params 3-5-3 "
                              f"where hidden unit {dead} has W1[{dead}] = 0 and b1[{dead}] = 0)")


@pytest.mark.points(2)
def test_mlp_grads_single_sample(student, rng):
    sizes = [4, 6, 3]
    x = rng.standard_normal((1, sizes[0]))
    labels = np.array([int(rng.integers(0, sizes[-1]))])
    params = make_params(rng, sizes)
    result = student.mlp_loss_and_grads(x, labels, params)
    check_loss_and_grads(result, x, labels, params,
                         call="mlp_loss_and_grads(x (1, 4), labels (1,), params 4-6-3)")
