"""Hidden checks of train_mlp: held-out accuracy, a two-hidden-layer net, the recipe with a smaller last batch."""

import numpy as np
import pytest
from mlp_cases import accuracy, check_recipe, spirals

from autograder.checks import assert_true

pytestmark = pytest.mark.question("training")


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
