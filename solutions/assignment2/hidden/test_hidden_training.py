"""Hidden checks of train_mlp: held-out accuracy, a two-hidden-layer net, the recipe with a smaller last batch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.optim.sgd import sgd

from autograder.checks import assert_allclose, assert_equal, assert_finite, assert_true

pytestmark = pytest.mark.question("training")

NOT_RESHUFFLED = ("the samples are not reshuffled: draw order = rng.permutation(N) at the start of "
                  "EVERY epoch, after the initialisation, from the same rng.")
STATE_RESET = "the momentum state was reset: keep one state from the first step to the last, across epochs."
LAST_BATCH_DROPPED = ("the last, smaller mini-batch was dropped: when batch_size does not divide N it "
                      "still makes an SGD step.")
RECIPE_HINT = ("follow the docstring's recipe step by step: He initialisation of W1, W2, ... in "
               "order from rng = np.random.default_rng(seed), then every epoch a new "
               "rng.permutation(N) walked through in slices order[i:i + batch_size], "
               "mlp_loss_and_grads then sgd_step on each. train_mlp uses your mlp_loss_and_grads "
               "and sgd_step: make their checks pass first.")


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


def recipe_params(X, y, hidden_sizes, lr, epochs, batch_size, momentum, seed, *, shuffle=True,
                  reset_state=False, drop_last=False):
    """The docstring's recipe with torch autograd and torch's SGD update; the flags make mistakes."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    sizes = [X.shape[1], *hidden_sizes, int(y.max()) + 1]
    params = {}
    for k in range(1, len(sizes)):
        weights = rng.standard_normal((sizes[k], sizes[k - 1])) * np.sqrt(2.0 / sizes[k - 1])
        params[f"W{k}"] = torch.tensor(weights, requires_grad=True)
        params[f"b{k}"] = torch.zeros(sizes[k], dtype=torch.float64, requires_grad=True)
    tensors = list(params.values())
    buffers = [None] * len(tensors)
    x_all, y_all = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        if reset_state:
            buffers = [None] * len(tensors)
        for start in range(0, n - batch_size + 1 if drop_last else n, batch_size):
            batch = torch.from_numpy(order[start:start + batch_size])
            out = x_all[batch]
            for k in range(1, len(sizes)):
                out = F.linear(out, params[f"W{k}"], params[f"b{k}"])
                if k < len(sizes) - 1:
                    out = torch.relu(out)
            grads = torch.autograd.grad(F.cross_entropy(out, y_all[batch]), tensors)
            with torch.no_grad():
                sgd(tensors, list(grads), buffers, weight_decay=0.0, momentum=momentum, lr=lr,
                    dampening=0.0, nesterov=False, maximize=False, foreach=False)
    return {k: t.detach().numpy() for k, t in params.items()}


def check_recipe(student, X, y, options):
    """train_mlp's parameters equal the recipe's, key by key; a recognised mistake gets its hint."""
    call = (f"train_mlp(X {X.shape}, y, " + ", ".join(f"{k}={v}" for k, v in options.items())
            + ")")
    expected = recipe_params(X, y, **options)
    mistakes = {NOT_RESHUFFLED: recipe_params(X, y, **options, shuffle=False),
                STATE_RESET: recipe_params(X, y, **options, reset_state=True)}
    if X.shape[0] % options["batch_size"]:
        mistakes[LAST_BATCH_DROPPED] = recipe_params(X, y, **options, drop_last=True)
    params = student.train_mlp(X, y, **options)
    assert_true(isinstance(params, dict), f"{call} returned {type(params).__name__}, expected a "
                "dict of parameters {'W1': ..., 'b1': ..., ...}.")
    assert_equal(tuple(sorted(str(k) for k in params)), tuple(sorted(expected)),
                 call=f"{call}: sorted(params)",
                 hint="one 'Wk' and one 'bk' per layer, k = 1..L with L = len(hidden_sizes) + 1.")
    for key in expected:
        assert_allclose(params[key], expected[key], call=f"{call}['{key}']",
                        mistakes={hint: value[key] for hint, value in mistakes.items()},
                        hint=RECIPE_HINT)


@pytest.mark.points(2)
def test_train_mlp_held_out_accuracy(student, rng):
    n_classes = int(rng.choice([2, 3]))
    X, y = spirals(100, n_classes, rng)
    X_test, y_test = spirals(100, n_classes, rng)
    seed = int(rng.integers(0, 2**31))
    options = dict(hidden_sizes=(32,), lr=0.1, epochs=60, batch_size=32, momentum=0.9, seed=seed)
    call = (f"train_mlp(X ({len(y)}, 2), y, "
            + ", ".join(f"{k}={v}" for k, v in options.items()) + ")")
    params = student.train_mlp(X, y, **options)
    acc = accuracy(params, [2, 32, n_classes], X_test, y_test, call)
    assert_true(acc >= 0.9, f"{call}: the trained network classifies {acc:.1%} of new points "
                f"from the same {n_classes} spirals correctly, expected at least 90%. Check the "
                "recipe in the docstring: He initialisation, a fresh shuffle every epoch, "
                "mlp_loss_and_grads then sgd_step on each mini-batch.")


@pytest.mark.points(1)
def test_train_mlp_two_hidden_layers(student, rng):
    X, y = spirals(100, 3, rng)
    seed = int(rng.integers(0, 2**31))
    options = dict(hidden_sizes=(16, 16), lr=0.1, epochs=30, batch_size=32, momentum=0.9,
                   seed=seed)
    call = "train_mlp(X (300, 2), y, " + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
    params = student.train_mlp(X, y, **options)
    acc = accuracy(params, [2, 16, 16, 3], X, y, call)
    assert_true(acc >= 0.85, f"{call}: the trained network classifies {acc:.1%} of the training "
                "spirals correctly, expected at least 85%. Every hidden layer needs its own "
                "W and b, initialised as the docstring says, and a ReLU after it.")


@pytest.mark.points(2)
def test_train_mlp_recipe_with_a_smaller_last_batch(student, rng):
    batch_size = int(rng.integers(2, 5))
    n = batch_size * int(rng.integers(2, 4)) + 1  # the last mini-batch holds one sample
    n_classes = int(rng.integers(2, 4))
    X = rng.standard_normal((n, int(rng.integers(2, 4))))
    y = rng.permutation(np.arange(n) % n_classes)
    hidden_sizes = tuple(int(h) for h in rng.integers(3, 7, size=int(rng.integers(1, 3))))
    options = dict(hidden_sizes=hidden_sizes, lr=float(rng.choice([0.05, 0.1, 0.2])),
                   epochs=int(rng.integers(2, 4)), batch_size=batch_size,
                   momentum=round(float(rng.uniform(0.5, 0.95)), 2), seed=int(rng.integers(0, 2**31)))
    check_recipe(student, X, y, options)
