"""Public check of train_mlp: accuracy on three interleaved spirals, measured with torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import assert_finite, assert_true

pytestmark = pytest.mark.question("training")


def spirals(n_per_class, n_classes, rng, noise=0.2):
    """Interleaved spirals in 2-D: class c turns through angles [4c, 4c + 4] (radians)."""
    xs, ys = [], []
    for c in range(n_classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = np.linspace(4.0 * c, 4.0 * (c + 1), n_per_class)
        t = t + noise * rng.standard_normal(n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs), np.concatenate(ys)


def accuracy(params, sizes, X, y, call):
    """Fraction of samples whose argmax logit is the label; checks params' keys and shapes."""
    assert_true(isinstance(params, dict), f"{call} returned {type(params).__name__}, expected a "
                "dict of parameters {'W1': ..., 'b1': ..., ...}.")
    out = torch.from_numpy(X)
    n_layers = len(sizes) - 1
    expected_keys = {f"{p}{k}" for k in range(1, n_layers + 1) for p in "Wb"}
    assert_true(set(params) == expected_keys, f"{call} returned params with keys "
                f"{sorted(params)}, expected {sorted(expected_keys)} (layer sizes {sizes}).")
    for k in range(1, n_layers + 1):
        for name, shape in ((f"W{k}", (sizes[k], sizes[k - 1])), (f"b{k}", (sizes[k],))):
            value = assert_finite(params[name], call=f"{call}['{name}']")
            assert_true(value.shape == shape, f"{call}['{name}'] has shape {value.shape}, "
                        f"expected {shape} (layer sizes {sizes}, W is (out, in)).")
        out = F.linear(out, torch.from_numpy(np.asarray(params[f"W{k}"], dtype=np.float64)),
                       torch.from_numpy(np.asarray(params[f"b{k}"], dtype=np.float64)))
        if k < n_layers:
            out = torch.relu(out)
    return float((out.argmax(dim=1).numpy() == y).mean())


@pytest.mark.points(5)
def test_train_mlp_three_spirals(student):
    X, y = spirals(100, 3, np.random.default_rng(0))
    options = dict(hidden_sizes=(64,), lr=0.1, epochs=100, batch_size=32, momentum=0.9, seed=0)
    call = "train_mlp(X (300, 2), y, " + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
    params = student.train_mlp(X, y, **options)
    acc = accuracy(params, [2, 64, 3], X, y, call)
    assert_true(acc >= 0.9, f"{call}: the trained network classifies {acc:.1%} of the training "
                "spirals correctly, expected at least 90% (1000 SGD steps of 32 samples). Check "
                "the recipe in the docstring: He initialisation, a fresh shuffle every epoch, "
                "mlp_loss_and_grads then sgd_step on each mini-batch.")
