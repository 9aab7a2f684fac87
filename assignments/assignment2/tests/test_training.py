"""Public checks of train_mlp: accuracy on three interleaved spirals, and the exact parameters of the recipe."""

import numpy as np
import pytest
from mlp_cases import accuracy, check_recipe, spirals

from autograder.checks import assert_true

pytestmark = pytest.mark.question("training")


@pytest.mark.points(3)
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


@pytest.mark.points(2)
def test_train_mlp_follows_the_recipe(student):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 2))
    y = rng.permutation(np.arange(12) % 3)
    # batch_size divides N: three mini-batches of 4 per epoch, none smaller
    options = dict(hidden_sizes=(5,), lr=0.1, epochs=3, batch_size=4, momentum=0.9, seed=0)
    check_recipe(student, X, y, options)
