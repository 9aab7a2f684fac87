"""Assignment 2: a multilayer perceptron in NumPy, trained with stochastic gradient descent.

A network with L layers computes, for k = 1, ..., L,

    x⁽ᵏ⁾ = f(W⁽ᵏ⁾ x⁽ᵏ⁻¹⁾ + b⁽ᵏ⁾),      x⁽⁰⁾ = the input,

where f is the activation for the hidden layers 1, ..., L-1 and the last layer
has no activation: its outputs are the logits.  The softmax of the logits gives
the class probabilities y, and the loss of one sample is the cross-entropy
-Σᵢ zᵢ log yᵢ with the one-hot label z, averaged over the batch.

Parameters live in a dict (the grader can only pass arrays, numbers, tuples,
lists and dicts with string keys to your code):

    params = {"W1": (n1, n0), "b1": (n1,), "W2": (n2, n1), "b2": (n2,), ..., "WL", "bL"}

Layers are numbered 1..L.  W⁽ᵏ⁾ has shape (out, in), as in PyTorch's nn.Linear;
n0 = D is the number of input features and nL = C the number of classes.
A batch is a 2-D array with one sample per row, so a layer computes
x @ W.T + b.  Gradients use the same keys as the parameters.

Use NumPy only: imports of torch, scipy and similar libraries are refused by the grader.
"""

from __future__ import annotations

import numpy as np


def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fully connected (affine) layer: the pre-activation W x + b of every sample.

    Args:
        x: inputs, shape (N, in), one sample per row.
        W: weights, shape (out, in) (PyTorch's layout: row j holds the weights of neuron j).
        b: biases, shape (out,).

    Returns:
        Array of shape (N, out) with ``out[n, j] = Σᵢ W[j, i] x[n, i] + b[j]``, i.e.
        ``x @ W.T + b`` (the same as ``torch.nn.functional.linear(x, W, b)``).
    """
    return x @ W.T + b


def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit, element-wise: ``max(0, x)``.

    Args:
        x: array of any shape.

    Returns:
        Array of the same shape as ``x``.
    """
    return np.maximum(x, 0.0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, element-wise: ``1 / (1 + exp(-x))``.

    Args:
        x: array of any shape.

    Returns:
        Array of the same shape as ``x``, values in [0, 1].  The values must be
        right for large |x| too (e.g. x = ±1000 gives 1 and 0, never NaN).
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, element-wise: ``(exp(x) - exp(-x)) / (exp(x) + exp(-x))``.

    Args:
        x: array of any shape.

    Returns:
        Array of the same shape as ``x``, values in [-1, 1].  The values must be
        right for large |x| too (e.g. x = ±1000 gives ±1, never NaN).
    """
    return np.tanh(x)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: ``yᵢ = exp(sᵢ) / Σⱼ exp(sⱼ)``.

    Numerically stable: subtract the maximum along ``axis`` first (softmax does
    not change when a constant is added to every logit), so logits around ±1000
    give the right probabilities instead of inf/NaN.

    Args:
        logits: array of any shape (e.g. (N, C), one row of class scores per sample).
        axis: the axis whose entries sum to 1 (any valid axis, negative counts from the end).

    Returns:
        Array of the same shape as ``logits``; entries are in [0, 1] and sum to 1 along ``axis``.
    """
    shifted = logits - np.max(logits, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy loss of softmax(logits) against integer labels.

    For sample n with probabilities y = softmax(logits[n]) and one-hot label z,
    the loss is ``-Σᵢ zᵢ log yᵢ = -log y[labels[n]]``; the result is the mean over
    the batch (``torch.nn.functional.cross_entropy(logits, labels)``).  Compute
    ``log y`` as ``s - max(s) - log Σⱼ exp(sⱼ - max(s))`` so large logits stay finite.

    Args:
        logits: class scores, shape (N, C).
        labels: integer class of each sample, shape (N,), values in 0..C-1.

    Returns:
        The mean loss, a float.
    """
    labels = np.asarray(labels).astype(np.intp)
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    n = logits.shape[0]
    return float(-np.mean(log_probs[np.arange(n), labels]))


def mlp_forward(x: np.ndarray, params: dict, activation: str = "relu") -> np.ndarray:
    """Forward pass of an L-layer perceptron; returns the logits.

    ``x⁽⁰⁾ = x``, ``x⁽ᵏ⁾ = f(x⁽ᵏ⁻¹⁾ @ W⁽ᵏ⁾.T + b⁽ᵏ⁾)`` for the hidden layers
    k = 1..L-1, and the logits ``x⁽ᴸ⁾ = x⁽ᴸ⁻¹⁾ @ W⁽ᴸ⁾.T + b⁽ᴸ⁾`` (no activation on
    the last layer).  L is the number of "W" keys in ``params``; L = 1 is a
    single affine layer.

    Args:
        x: inputs, shape (N, D).
        params: {"W1": (n1, D), "b1": (n1,), ..., "WL": (C, n_{L-1}), "bL": (C,)}.
        activation: "relu", "sigmoid" or "tanh", applied after every hidden layer.

    Returns:
        Logits, shape (N, C).

    Raises:
        ValueError: if ``activation`` is not one of the three names.
    """
    functions = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh}
    if activation not in functions:
        raise ValueError(f"unknown activation {activation!r}; use 'relu', 'sigmoid' or 'tanh'")
    f = functions[activation]
    n_layers = sum(1 for key in params if key.startswith("W"))
    out = x
    for k in range(1, n_layers + 1):
        out = affine_forward(out, params[f"W{k}"], params[f"b{k}"])
        if k < n_layers:
            out = f(out)
    return out


def mlp_loss_and_grads(x: np.ndarray, labels: np.ndarray, params: dict) -> tuple[float, dict]:
    """Mean cross-entropy loss of a ReLU perceptron and its gradient for every parameter.

    The network is ``mlp_forward(x, params, "relu")`` (ReLU after every hidden
    layer, none after the last) and the loss is ``cross_entropy(logits, labels)``.
    Backpropagation, with zᵏ the pre-activation of layer k and x⁽ᵏ⁾ its output:

        dL/dlogits = (softmax(logits) - onehot(labels)) / N
        dL/dW⁽ᵏ⁾ = (dL/dzᵏ).T @ x⁽ᵏ⁻¹⁾,     dL/db⁽ᵏ⁾ = Σ over the batch of dL/dzᵏ
        dL/dx⁽ᵏ⁻¹⁾ = dL/dzᵏ @ W⁽ᵏ⁾,          dL/dzᵏ⁻¹ = dL/dx⁽ᵏ⁻¹⁾ · relu'(zᵏ⁻¹)

    relu'(z) is 1 where z > 0 and 0 where z <= 0 (at exactly 0 too, as PyTorch does).

    Args:
        x: inputs, shape (N, D).
        labels: integer class of each sample, shape (N,), values in 0..C-1.
        params: {"W1": (n1, D), "b1": (n1,), ..., "WL": (C, n_{L-1}), "bL": (C,)}.

    Returns:
        ``(loss, grads)``: the mean loss (a float) and a dict with the same keys as
        ``params``, each gradient of the same shape as its parameter.
    """
    labels = np.asarray(labels).astype(np.intp)
    n_layers = sum(1 for key in params if key.startswith("W"))
    inputs = [x]  # inputs[k - 1] is the input x⁽ᵏ⁻¹⁾ of layer k
    pre = []  # pre[k - 1] is the pre-activation zᵏ of layer k
    out = x
    for k in range(1, n_layers + 1):
        z = affine_forward(out, params[f"W{k}"], params[f"b{k}"])
        pre.append(z)
        out = relu(z) if k < n_layers else z
        inputs.append(out)
    logits = out
    loss = cross_entropy(logits, labels)

    n = x.shape[0]
    dz = softmax(logits, axis=1)
    dz[np.arange(n), labels] -= 1.0
    dz /= n
    grads = {}
    for k in range(n_layers, 0, -1):
        grads[f"W{k}"] = dz.T @ inputs[k - 1]
        grads[f"b{k}"] = dz.sum(axis=0)
        if k > 1:
            dz = (dz @ params[f"W{k}"]) * (pre[k - 2] > 0)
    return loss, grads


def sgd_step(params: dict, grads: dict, state: dict, lr: float, momentum: float = 0.0,
             weight_decay: float = 0.0, nesterov: bool = False) -> tuple[dict, dict]:
    """One step of stochastic gradient descent, the same update as ``torch.optim.SGD``.

    For every key (each parameter p with gradient g), with dampening 0:

        g ← g + weight_decay · p                         (weight decay first)
        if momentum != 0:
            buf ← g                      on the first step (no buffer in ``state`` yet)
            buf ← momentum · buf + g     on later steps
            g ← g + momentum · buf       if nesterov
            g ← buf                      otherwise
        p ← p - lr · g

    Args:
        params: dict of parameter arrays (e.g. {"W1": ..., "b1": ...}).
        grads: dict with the same keys, each gradient of the same shape as its parameter.
        state: the optimizer's memory from the previous step, ``{}`` before the first
            step.  ``state[key]`` is the momentum buffer of ``params[key]``.
        lr: learning rate (> 0).
        momentum: momentum factor (0 means plain SGD, no buffers).
        weight_decay: L2 penalty factor.
        nesterov: use Nesterov momentum (needs momentum > 0).

    Returns:
        ``(new_params, new_state)``: dicts with the updated parameters and the state to
        pass to the next call.  Do not modify the dicts or arrays you were given.

    Raises:
        ValueError: if ``nesterov`` is true and ``momentum`` is not positive (as torch does).
    """
    if nesterov and momentum <= 0:
        raise ValueError("Nesterov momentum needs momentum > 0")
    new_params = {}
    new_state = dict(state)
    for key, p in params.items():
        g = grads[key]
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = state.get(key)
            buf = np.array(g, dtype=float) if buf is None else momentum * buf + g
            new_state[key] = buf
            g = g + momentum * buf if nesterov else buf
        new_params[key] = p - lr * g
    return new_params, new_state


def train_mlp(X: np.ndarray, y: np.ndarray, hidden_sizes: tuple = (64,), lr: float = 0.1,
              epochs: int = 100, batch_size: int = 32, momentum: float = 0.9,
              seed: int = 0) -> dict:
    """Train a ReLU perceptron for classification with mini-batch SGD; return its parameters.

    Recipe (use your own functions); every random number comes from one ``rng``, so
    the returned parameters depend only on the arguments:

    1. ``rng = np.random.default_rng(seed)``; the number of classes is ``C = max(y) + 1``.
    2. Layer sizes ``[D, *hidden_sizes, C]``.  Initialise ``W⁽¹⁾, W⁽²⁾, ..., W⁽ᴸ⁾`` in
       this order, each of shape (out, in), with
       ``rng.standard_normal((out, in)) * sqrt(2 / in)`` (He initialisation), and
       each ``b⁽ᵏ⁾`` with zeros.
    3. Start from ``state = {}`` (one state for the whole training).  For every epoch,
       draw a new sample order ``order = rng.permutation(N)`` and walk through it in
       consecutive mini-batches ``order[i:i + batch_size]`` for i = 0, batch_size,
       2·batch_size, ... < N (the last one is smaller when batch_size does not divide
       N); for each, ``mlp_loss_and_grads`` on those samples, then ``sgd_step`` with
       ``lr`` and ``momentum``.

    With the defaults a network reaches at least 90 % training accuracy on two or
    three interleaved spirals of a few hundred points in well under a second.

    Args:
        X: inputs, shape (N, D).
        y: integer labels, shape (N,), values in 0..C-1.
        hidden_sizes: number of neurons of each hidden layer (tuple or list of ints).
        lr: learning rate.
        epochs: passes over the data.
        batch_size: samples per SGD step.
        momentum: momentum factor of ``sgd_step``.
        seed: seed of the initialisation and of the shuffling.

    Returns:
        ``params``: {"W1": (n1, D), "b1": (n1,), ..., "WL": (C, n_{L-1}), "bL": (C,)} with
        L = len(hidden_sizes) + 1; the predicted class of a sample is the argmax of
        ``mlp_forward(x, params, "relu")``.
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).astype(np.intp)
    n = X.shape[0]
    sizes = [X.shape[1], *[int(h) for h in hidden_sizes], int(y.max()) + 1]
    params = {}
    for k in range(1, len(sizes)):
        fan_in, fan_out = sizes[k - 1], sizes[k]
        params[f"W{k}"] = rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)
        params[f"b{k}"] = np.zeros(fan_out)
    state: dict = {}
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            _, grads = mlp_loss_and_grads(X[batch], y[batch], params)
            params, state = sgd_step(params, grads, state, lr, momentum=momentum)
    return params


def dense_param_count(input_shape: tuple, n_neurons: int) -> int:
    """Number of trainable parameters of a fully connected layer on a (flattened) input.

    Each of the ``n_neurons`` neurons has one weight per input value and one bias:
    ``prod(input_shape) · n_neurons + n_neurons``.  A 500×500 image into one neuron
    has 250,000 weights and 1 bias: 250,001 parameters.

    Args:
        input_shape: the dimensions of one input, e.g. (500, 500) or (3, 32, 32);
            the input is flattened, so only the product matters.
        n_neurons: number of neurons of the layer.

    Returns:
        The parameter count, an int.
    """
    n_inputs = int(np.prod(input_shape))
    return n_inputs * int(n_neurons) + int(n_neurons)
