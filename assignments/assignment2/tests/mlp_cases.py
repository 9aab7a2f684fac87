"""What the checks of assignment 2 share: case builders, torch references, hints and check helpers.

Imported by the public checks beside it and by the hidden ones; it holds no check itself.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.sgd import sgd

from autograder.checks import assert_allclose, assert_equal, assert_finite, assert_true, reference

# -- affine_forward ----------------------------------------------------------------------

TRANSPOSED_HINT = ("W has shape (out, in), as in PyTorch's nn.Linear: the layer is x @ W.T + b, "
                   "not x @ W + b.")


@reference
def linear(x, W, b):
    return F.linear(torch.from_numpy(x), torch.from_numpy(W), torch.from_numpy(b)).numpy()


# -- softmax and cross_entropy -------------------------------------------------------------

CE_SUM_HINT = "cross_entropy is the MEAN over the batch, not the sum: divide by N."


@reference
def torch_softmax(x, axis):
    return torch.softmax(torch.from_numpy(x), dim=axis).numpy()


@reference
def torch_ce(logits, labels):
    return F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)).numpy()


# -- mlp_forward ---------------------------------------------------------------------------

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def make_params(rng, sizes):
    params = {}
    for k in range(1, len(sizes)):
        params[f"W{k}"] = rng.standard_normal((sizes[k], sizes[k - 1])) / np.sqrt(sizes[k - 1])
        params[f"b{k}"] = 0.5 * rng.standard_normal(sizes[k])
    return params


@reference
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


@reference
def torch_forward(x, params, activation, last_activation=False):
    n_layers = len(params) // 2
    layers = []
    for k in range(1, n_layers + 1):
        W = torch.from_numpy(params[f"W{k}"])
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(W)
            linear.bias.copy_(torch.from_numpy(params[f"b{k}"]))
        layers.append(linear)
        if k < n_layers or last_activation:
            layers.append(ACTIVATIONS[activation]())
    with torch.no_grad():
        return nn.Sequential(*layers)(torch.from_numpy(x)).numpy()


# -- backprop ------------------------------------------------------------------------------

BACKPROP_SUM_HINT = "the loss is the MEAN over the batch: divide dL/dlogits (and the loss) by N."
EXTRA_KEYS_HINT = ("return one gradient per parameter ('W1', 'b1', ..., 'WL', 'bL') and no other "
                   "entries: the layers are numbered 1..L, so the backward loop stops at layer 1 "
                   "(there is no 'W0').")
BIAS_HINT = "dL/dbk sums dL/dzk over the batch, i.e. over axis 0."


def check_loss_and_grads(result, x, labels, params, call, hint="", loss_only=False):
    assert_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call} returned {type(result).__name__}, expected a pair (loss, grads).")
    loss, grads = result
    ref_loss, ref_grads, dz = torch_loss_and_grads(x, labels, params)
    n = x.shape[0]
    assert_allclose(loss, ref_loss, call=f"{call}: the loss", mistakes={BACKPROP_SUM_HINT: ref_loss * n},
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
        mistakes = {BACKPROP_SUM_HINT: ref * n}
        if key.startswith("W"):
            mistakes["grads[Wk] has W's shape (out, in): dL/dWk = dz.T @ x_prev."] = ref.T
        else:
            mistakes[BIAS_HINT] = dz[int(key[1:])].sum(axis=1)
        assert_allclose(grads[key], ref, call=f"{call}: grads[{key!r}]", mistakes=mistakes,
                        hint=hint or "backpropagate dL/dz from the logits down, layer by layer.")


# -- sgd_step ---------------------------------------------------------------------------------

WD_IGNORED = "weight_decay is ignored: add weight_decay * p to the gradient first."
WD_AFTER = ("weight decay was added after the momentum update: torch adds weight_decay * p to "
            "the gradient first, so the decay also goes into the momentum buffer.")
NESTEROV_IGNORED = ("nesterov=True behaves like plain momentum: with Nesterov the step uses "
                    "g + momentum * buf, not buf.")
MOMENTUM_IGNORED = ("momentum is ignored: any momentum other than 0 (1.0 included) keeps one buffer "
                    "per parameter in state.")
BUFFER_HINT = ("torch sets buf = g on the first step and buf = momentum * buf + g afterwards "
               "(no (1 - momentum) factor).")


def quadratic(rng, shapes):
    """Parameters, curvatures A and centres C of f(p) = sum 0.5 * A * (p - C)**2."""
    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    curv = {k: rng.uniform(0.5, 2.0, s) for k, s in shapes.items()}
    centre = {k: rng.standard_normal(s) for k, s in shapes.items()}
    return params, curv, centre


@reference
def torch_trajectory(params, curv, centre, steps, lr, momentum=0.0, weight_decay=0.0,
                     nesterov=False):
    """Parameters after each step of torch.optim.SGD (dampening 0) on the quadratic.

    Calls ``torch.optim.sgd.sgd``, the update ``torch.optim.SGD.step`` runs: building an
    optimizer object would import ``torch._dynamo``, which takes over a second.
    """
    tensors = {k: torch.tensor(v) for k, v in params.items()}
    buffers = [None] * len(tensors)
    out = []
    for _ in range(steps):
        grads = [torch.from_numpy(curv[k] * (t.numpy() - centre[k])) for k, t in tensors.items()]
        sgd(list(tensors.values()), grads, buffers, weight_decay=weight_decay,
            momentum=momentum, lr=lr, dampening=0.0, nesterov=nesterov, maximize=False,
            foreach=False)
        out.append({k: t.numpy().copy() for k, t in tensors.items()})
    return out


@reference
def numpy_trajectory(params, curv, centre, steps, lr, momentum=0.0, weight_decay=0.0, nesterov=False,
                     decay_after=False, ema=False):
    """A classic mistake's trajectory: weight decay after momentum, or an averaging buffer."""
    p = {k: v.copy() for k, v in params.items()}
    buf = {}
    out = []
    for _ in range(steps):
        for k in p:
            g = curv[k] * (p[k] - centre[k])
            if not decay_after:
                g = g + weight_decay * p[k]
            if momentum:
                if ema:
                    buf[k] = momentum * buf.get(k, 0.0) + (1 - momentum) * g
                else:
                    buf[k] = g.copy() if k not in buf else momentum * buf[k] + g
                g = g + momentum * buf[k] if nesterov else buf[k]
            if decay_after:
                g = g + weight_decay * p[k]
            p[k] = p[k] - lr * g
        out.append({k: v.copy() for k, v in p.items()})
    return out


def run_student(student, params, curv, centre, steps, lr, expected, mistakes, **options):
    shown = ", ".join([f"lr={lr}", *(f"{k}={v}" for k, v in options.items())])
    state = {}
    for step in range(steps):
        grads = {k: curv[k] * (params[k] - centre[k]) for k in params}
        call = f"sgd_step(params, grads, state, {shown}) at step {step + 1} of {steps}"
        result = student.sgd_step(params, grads, state, lr, **options)
        assert_true(isinstance(result, (tuple, list)) and len(result) == 2,
                    f"{call} returned {type(result).__name__}, expected a pair "
                    "(new_params, new_state).")
        new_params, state = result
        assert_true(isinstance(new_params, dict) and all(k in new_params for k in params),
                    f"{call} returned new_params without the keys {sorted(params)}; return a "
                    "dict with the same keys as params.")
        for k in params:
            assert_allclose(new_params[k], expected[step][k], call=f"{call}: params[{k!r}]",
                            mistakes={hint: traj[step][k] for hint, traj in mistakes.items()},
                            hint="follow the update of torch.optim.SGD given in the docstring.")
        params = {k: np.asarray(new_params[k], dtype=np.float64) for k in params}


# -- dense_param_count -----------------------------------------------------------------------


def count_hint(got, input_shape, n_neurons):
    """A hint when ``got`` matches a classic mistake."""
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got.item()
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return "return a single int."
    n_in = int(np.prod(input_shape))
    if got == n_in * n_neurons:
        return "each neuron also has a bias: add n_neurons."
    if got == sum(input_shape) * n_neurons + n_neurons:
        return "the input is flattened: multiply its dimensions, don't add them."
    return "each of the n_neurons neurons has one weight per input value and one bias."


# -- train_mlp -----------------------------------------------------------------------------

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


@reference
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
