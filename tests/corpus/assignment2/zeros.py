"""Assignment 2 submission that returns zeros of the right shapes (and 0 for numbers) everywhere."""

from __future__ import annotations

import numpy as np


def affine_forward(x, W, b):
    return np.zeros((x.shape[0], W.shape[0]))


def relu(x):
    return np.zeros_like(x, dtype=float)


def sigmoid(x):
    return np.zeros_like(x, dtype=float)


def tanh(x):
    return np.zeros_like(x, dtype=float)


def softmax(logits, axis=-1):
    return np.zeros_like(logits, dtype=float)


def cross_entropy(logits, labels):
    return 0.0


def mlp_forward(x, params, activation="relu"):
    n_layers = sum(1 for key in params if key.startswith("W"))
    return np.zeros((x.shape[0], params[f"W{n_layers}"].shape[0]))


def mlp_loss_and_grads(x, labels, params):
    return 0.0, {key: np.zeros_like(value) for key, value in params.items()}


def sgd_step(params, grads, state, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    return {key: np.zeros_like(value) for key, value in params.items()}, {}


def train_mlp(X, y, hidden_sizes=(64,), lr=0.1, epochs=100, batch_size=32, momentum=0.9, seed=0):
    sizes = [X.shape[1], *hidden_sizes, int(np.max(y)) + 1]
    params = {}
    for k in range(1, len(sizes)):
        params[f"W{k}"] = np.zeros((sizes[k], sizes[k - 1]))
        params[f"b{k}"] = np.zeros(sizes[k])
    return params


def dense_param_count(input_shape, n_neurons):
    return 0
