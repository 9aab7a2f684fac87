"""Assignment 2's checks: the solution scores full marks, the stub zero, and each corpus mistake loses points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from corpus import mistakes, write_mistake

from autograder.spec import load_spec

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus" / "assignment2"
SOLUTION = REPO / "solutions" / "assignment2" / "mlp.py"
STUB = REPO / "assignments" / "assignment2" / "mlp.py"

#: corpus mistake -> (function it breaks, checks of that function that must fail, words of the hint)
WRONG = {
    "wrong_softmax_unstable": (
        "softmax",
        {"test_softmax_large_logits", "test_softmax_3d_every_axis"},
        "subtract the maximum",
    ),
    "wrong_cross_entropy_sum": (
        "cross_entropy",
        {"test_cross_entropy_small", "test_cross_entropy_random", "test_cross_entropy_large_logits"},
        "MEAN over the batch",
    ),
    "wrong_affine_x_at_w": (
        "affine_forward",
        {
            "test_affine_forward_small",
            "test_affine_forward_square_weights",
            "test_affine_forward_random_shapes",
            "test_affine_forward_all_square",
        },
        "not x @ W + b",
    ),
    "wrong_relu_grad_at_zero": ("mlp_loss_and_grads", {"test_mlp_grads_relu_at_zero"}, "relu'(0)"),
    "wrong_momentum_ema": (
        "sgd_step",
        {
            "test_sgd_momentum_five_steps",
            "test_sgd_momentum_weight_decay",
            "test_sgd_nesterov",
            "test_sgd_nesterov_weight_decay",
        },
        "buf = g on the first step",
    ),
    "wrong_nesterov_missing": (
        "sgd_step",
        {"test_sgd_nesterov", "test_sgd_nesterov_weight_decay"},
        "g + momentum * buf",
    ),
    "wrong_weight_decay_ignored": (
        "sgd_step",
        {
            "test_sgd_weight_decay",
            "test_sgd_momentum_weight_decay",
            "test_sgd_nesterov_weight_decay",
            "test_sgd_factor_of_exactly_one[weight_decay]",
        },
        "weight_decay is ignored",
    ),
    "wrong_weight_decay_after_momentum": (
        "sgd_step",
        {"test_sgd_momentum_weight_decay", "test_sgd_nesterov_weight_decay"},
        "after the momentum update",
    ),
    "wrong_bias_grad_axis": (
        "mlp_loss_and_grads",
        {"test_mlp_grads_two_layers", "test_mlp_grads_square_shapes"},
        "over axis 0",
    ),
    "wrong_backprop_extra_grads": (
        "mlp_loss_and_grads",
        {
            "test_mlp_grads_two_layers",
            "test_mlp_grads_depth[1]",
            "test_mlp_grads_depth[3]",
            "test_mlp_grads_square_shapes",
        },
        "there is no 'W0'",
    ),
    "wrong_train_mlp_state_reset": (
        "train_mlp",
        {"test_train_mlp_follows_the_recipe", "test_train_mlp_recipe_with_a_smaller_last_batch"},
        "momentum state was reset",
    ),
    "wrong_param_count_no_bias": (
        "dense_param_count",
        {
            "test_dense_param_count_course_example",
            "test_dense_param_count_vector_input",
            "test_dense_param_count_images",
            "test_dense_param_count_random",
        },
        "also has a bias",
    ),
    "wrong_sigmoid_overflow": ("sigmoid", {"test_sigmoid_large_inputs"}, "inf / inf"),
    "wrong_sgd_step_in_place": ("sgd_step", {"test_sgd_step_leaves_its_arguments_unchanged"}, "`params`"),
    "wrong_activation_on_logits": (
        "mlp_forward",
        {
            "test_mlp_forward_two_layers_relu",
            "test_mlp_forward_one_layer",
            "test_mlp_forward_depths[relu]",
            "test_mlp_forward_depths[sigmoid]",
            "test_mlp_forward_depths[tanh]",
        },
        "no activation",
    ),
}


@pytest.fixture(scope="module")
def graded(grade_path):
    """Grade each path once per module run (hidden checks included, seed 0)."""
    cache = {}

    def get(path: Path):
        if path not in cache:
            cache[path] = grade_path("assignment2", path, hidden=True)
        return cache[path]

    return get


def test_corpus_has_every_mistake():
    assert {m.name for m in mistakes("assignment2")} == set(WRONG)
    assert [p.name for p in CORPUS.glob("*.py")] == ["zeros.py"]


@pytest.mark.parametrize("seed", [0, 1])
def test_solution_scores_full_marks(grade_path, seed):
    result = grade_path("assignment2", SOLUTION, hidden=True, seed=seed)
    failed = [(c.name, c.message) for c in result.checks if not c.passed]
    assert not failed
    assert result.score == result.max_score == 100


def test_public_and_hidden_points_add_up_to_each_question(graded):
    spec = load_spec(REPO / "assignments" / "assignment2" / "assignment.toml")
    result = graded(SOLUTION)
    for question in spec.questions:
        checks = [c for c in result.checks if c.question == question.name]
        assert {c.visibility for c in checks} == {"public", "hidden"}, question.name
        assert sum(c.max_score for c in checks) == question.points, question.name


def test_stub_scores_zero_not_implemented(graded):
    result = graded(STUB)
    assert result.score == 0
    assert result.checks
    assert {c.outcome for c in result.checks} == {"not_implemented"}


def test_zeros_fail_every_check(graded):
    result = graded(CORPUS / "zeros.py")
    questions = load_spec(REPO / "assignments/assignment2/assignment.toml").questions
    assert {c.question for c in result.checks} == {q.name for q in questions}  # every question ran
    assert result.score == 0
    assert {c.outcome for c in result.checks} == {"failed"}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_submission_loses_points(graded, name, tmp_path):
    function, must_fail, hint = WRONG[name]
    result = graded(write_mistake("assignment2", name, tmp_path))
    assert result.status == "ok"
    assert 0 < result.score < result.max_score
    failed = {c.name: c for c in result.checks if not c.passed}
    assert must_fail <= set(failed), sorted(must_fail - set(failed))
    for check_name in must_fail:
        assert function in failed[check_name].message, failed[check_name].message
    assert any(hint in failed[c].message for c in must_fail), [failed[c].message for c in must_fail]
    functions = load_spec(REPO / "assignments" / "assignment2" / "assignment.toml").functions
    for check in failed.values():
        assert check.outcome in ("failed", "error"), (check.name, check.outcome)
        assert any(f in check.message for f in functions), check.message


@pytest.mark.parametrize(
    ("momentum", "weight_decay", "nesterov"),
    [(0.0, 0.0, False), (0.9, 0.0, False), (0.0, 0.1, False), (0.8, 0.1, False), (0.7, 0.0, True), (0.9, 0.2, True)],
)
def test_sgd_reference_matches_torch_optim_sgd(momentum, weight_decay, nesterov):
    """The checks call torch.optim.sgd.sgd (fast to import); it must follow torch.optim.SGD."""
    from torch.optim.sgd import sgd

    rng = np.random.default_rng(0)
    start = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(4)]
    param = torch.tensor(start, requires_grad=True)
    opt = torch.optim.SGD([param], lr=0.1, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    functional = torch.tensor(start)
    buffers = [None]
    for g in grads:
        param.grad = torch.from_numpy(g)
        opt.step()
        sgd(
            [functional],
            [torch.from_numpy(g)],
            buffers,
            weight_decay=weight_decay,
            momentum=momentum,
            lr=0.1,
            dampening=0.0,
            nesterov=nesterov,
            maximize=False,
            foreach=False,
        )
        np.testing.assert_allclose(functional.numpy(), param.detach().numpy(), rtol=1e-12)


def test_sgd_step_in_place_loses_exactly_the_arguments_unchanged_points(graded, tmp_path):
    result = graded(write_mistake("assignment2", "wrong_sgd_step_in_place", tmp_path))
    assert [c.name for c in result.checks if not c.passed] == ["test_sgd_step_leaves_its_arguments_unchanged"]
    [check] = [c for c in result.checks if not c.passed]
    assert check.message.startswith("sgd_step(")
    assert "changed its arguments `params`, `state` in place" in check.message
