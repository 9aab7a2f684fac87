"""Every assignment's checks: the solution scores full marks, the stub and zeros score nothing, and every
wrong submission in its corpus loses the points of the checks that should catch its mistake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus import COURSE, mistakes, write_mistake

from autograder.results import SubmissionResult
from autograder.spec import AssignmentSpec, load_spec

ASSIGNMENTS = ("assignment1", "assignment2", "assignment3", "assignment4")


@dataclass(frozen=True)
class Wrong:
    """What grading a corpus mistake must show."""

    #: check -> words its message must hold; each of these checks must fail (or error).
    fail: dict[str, tuple[str, ...]]
    #: The questions that may lose points (all of them if None).
    questions: set[str] | None = None
    #: Whether exactly ``questions`` lose points.
    exact: bool = False
    #: Words (the hint) that at least one of the ``fail`` checks' messages holds.
    any_hint: str = ""


#: Per assignment, per question: (points, public points) where a test pins the split.
PUBLIC_POINTS: dict[str, dict[str, tuple[int, int]]] = {
    "assignment3": {
        "output_sizes": (10, 6),
        "param_counts": (10, 4),
        "kernels": (10, 4),
        "conv2d_forward": (25, 8),
        "pooling": (15, 7),
        "unpooling": (10, 4),
        "conv_transpose2d": (20, 6),
        "backward": (10, 4),
    },
}
#: The solution's score: 100, and 110 where extra credit counts on top.
FULL_MARKS = {"assignment1": 100, "assignment2": 100, "assignment3": 110, "assignment4": 100}

#: assignment -> corpus mistake -> what grading it must show.
WRONG: dict[str, dict[str, Wrong]] = {
    "assignment1": {
        "wrong_fit_no_bias_update": Wrong(
            {
                "test_fit_converges_to_least_squares": ("returned wrong values",),
                "test_fit_matches_torch_gradient_descent": ("returned wrong values",),
            },
            questions={"fit"},
        ),
        "wrong_gd_step_ascent": Wrong(
            {
                "test_gd_step_small": ("subtracts lr · grad",),
                "test_gd_step_matches_torch_sgd": ("subtracts lr · grad",),
                "test_fit_converges_to_least_squares": ("diverged",),
            },
            questions={"fit", "gd_step"},
        ),
        "wrong_gd_step_in_place": Wrong(
            {"test_gd_step_leaves_params_and_grads_unchanged": ("changed its argument `params` in place",)},
            questions={"gd_step"},
        ),
        "wrong_grad_no_factor_two": Wrong(
            {
                "test_mse_grad_small": ("keep the factor 2",),
                "test_mse_grad_single_sample": ("keep the factor 2",),
                "test_fit_matches_torch_gradient_descent": ("losses",),
            },
            questions={"fit", "mse_grad"},
        ),
        "wrong_grad_sign": Wrong(
            {"test_mse_grad_small": ("wrong sign",), "test_fit_converges_to_least_squares": ("diverged",)},
            questions={"fit", "mse_grad"},
        ),
        "wrong_grad_squeeze": Wrong(
            {
                "test_mse_grad_single_sample": ("do not squeeze",),
                "test_mse_grad_single_feature_random": ("do not squeeze",),
            },
            questions={"mse_grad"},
        ),
        "wrong_grad_sum": Wrong(
            {
                "test_mse_grad_small": ("n times too large",),
                "test_fit_converges_to_least_squares": ("diverged: NaN values",),
                "test_fit_default_hyperparameters_converge": ("learning rate too large?",),
            },
            questions={"fit", "mse_grad"},
        ),
        "wrong_mse_loss_sum_default": Wrong(
            {
                "test_mse_loss_mean_is_default": ("default reduction is 'mean'",),
                "test_fit_loss_history_starts_at_zero_weights_and_never_increases": ("record the mean",),
                "test_fit_matches_torch_gradient_descent": ("losses",),
            },
            questions={"fit", "mse_loss"},
        ),
        "wrong_predict_column": Wrong(
            {
                "test_predict_small": ("column (n, 1)",),
                "test_mse_grad_small": ("returned shape",),
                "test_fit_converges_to_least_squares": ("ValueError",),
            },
            questions={"fit", "mse_grad", "predict"},
        ),
    },
    "assignment2": {
        "wrong_activation_on_logits": Wrong(
            {
                "test_mlp_forward_depths[relu]": ("mlp_forward",),
                "test_mlp_forward_depths[sigmoid]": ("mlp_forward",),
                "test_mlp_forward_depths[tanh]": ("mlp_forward",),
                "test_mlp_forward_one_layer": ("mlp_forward",),
                "test_mlp_forward_two_layers_relu": ("mlp_forward",),
            },
            any_hint="no activation",
        ),
        "wrong_affine_x_at_w": Wrong(
            {
                "test_affine_forward_all_square": ("affine_forward",),
                "test_affine_forward_random_shapes": ("affine_forward",),
                "test_affine_forward_small": ("affine_forward",),
                "test_affine_forward_square_weights": ("affine_forward",),
            },
            any_hint="not x @ W + b",
        ),
        "wrong_backprop_extra_grads": Wrong(
            {
                "test_mlp_grads_depth[1]": ("mlp_loss_and_grads",),
                "test_mlp_grads_depth[3]": ("mlp_loss_and_grads",),
                "test_mlp_grads_square_shapes": ("mlp_loss_and_grads",),
                "test_mlp_grads_two_layers": ("mlp_loss_and_grads",),
            },
            any_hint="there is no 'W0'",
        ),
        "wrong_bias_grad_axis": Wrong(
            {
                "test_mlp_grads_square_shapes": ("mlp_loss_and_grads",),
                "test_mlp_grads_two_layers": ("mlp_loss_and_grads",),
            },
            any_hint="over axis 0",
        ),
        "wrong_cross_entropy_sum": Wrong(
            {
                "test_cross_entropy_large_logits": ("cross_entropy",),
                "test_cross_entropy_random": ("cross_entropy",),
                "test_cross_entropy_small": ("cross_entropy",),
            },
            any_hint="MEAN over the batch",
        ),
        "wrong_momentum_ema": Wrong(
            {
                "test_sgd_momentum_five_steps": ("sgd_step",),
                "test_sgd_momentum_weight_decay": ("sgd_step",),
                "test_sgd_nesterov": ("sgd_step",),
                "test_sgd_nesterov_weight_decay": ("sgd_step",),
            },
            any_hint="buf = g on the first step",
        ),
        "wrong_nesterov_missing": Wrong(
            {"test_sgd_nesterov": ("sgd_step",), "test_sgd_nesterov_weight_decay": ("sgd_step",)},
            any_hint="g + momentum * buf",
        ),
        "wrong_param_count_no_bias": Wrong(
            {
                "test_dense_param_count_course_example": ("dense_param_count",),
                "test_dense_param_count_images": ("dense_param_count",),
                "test_dense_param_count_random": ("dense_param_count",),
                "test_dense_param_count_vector_input": ("dense_param_count",),
            },
            any_hint="also has a bias",
        ),
        "wrong_relu_grad_at_zero": Wrong({"test_mlp_grads_relu_at_zero": ("mlp_loss_and_grads",)}, any_hint="relu'(0)"),
        "wrong_sgd_step_in_place": Wrong(
            {"test_sgd_step_leaves_its_arguments_unchanged": ("sgd_step",)}, any_hint="`params`"
        ),
        "wrong_sigmoid_overflow": Wrong({"test_sigmoid_large_inputs": ("sigmoid",)}, any_hint="inf / inf"),
        "wrong_softmax_unstable": Wrong(
            {"test_softmax_3d_every_axis": ("softmax",), "test_softmax_large_logits": ("softmax",)},
            any_hint="subtract the maximum",
        ),
        "wrong_train_mlp_state_reset": Wrong(
            {
                "test_train_mlp_follows_the_recipe": ("train_mlp",),
                "test_train_mlp_recipe_with_a_smaller_last_batch": ("train_mlp",),
            },
            any_hint="momentum state was reset",
        ),
        "wrong_weight_decay_after_momentum": Wrong(
            {"test_sgd_momentum_weight_decay": ("sgd_step",), "test_sgd_nesterov_weight_decay": ("sgd_step",)},
            any_hint="after the momentum update",
        ),
        "wrong_weight_decay_ignored": Wrong(
            {
                "test_sgd_factor_of_exactly_one[weight_decay]": ("sgd_step",),
                "test_sgd_momentum_weight_decay": ("sgd_step",),
                "test_sgd_nesterov_weight_decay": ("sgd_step",),
                "test_sgd_weight_decay": ("sgd_step",),
            },
            any_hint="weight_decay is ignored",
        ),
    },
    "assignment3": {
        "wrong_avgpool_counts_padding": Wrong(
            {
                "test_avg_pool2d_padding_not_counted": ("avg_pool2d(", "padded zeros were counted"),
                "test_avg_pool2d_padding_not_counted_random": ("avg_pool2d(", "padded zeros were counted"),
            },
            questions={"pooling"},
            exact=True,
        ),
        "wrong_convolve_not_flipped": Wrong(
            {
                "test_convolve2d_asymmetric_kernel": ("convolve2d(", "not flipped"),
                "test_convolve2d_kernel_larger_than_image": ("convolve2d(", "not flipped"),
                "test_convolve2d_random_rectangular": ("convolve2d(", "not flipped"),
            },
            questions={"kernels"},
            exact=True,
        ),
        "wrong_groups_ignored": Wrong(
            {"test_conv2d_forward_depthwise": ("conv2d_forward(",), "test_conv2d_forward_groups": ("conv2d_forward(",)},
            questions={"conv2d_forward"},
            exact=True,
        ),
        "wrong_kernel_flipped": Wrong(
            {
                "test_conv2d_forward_basic": ("conv2d_forward(", "kernel looks flipped"),
                "test_conv2d_forward_dilation": ("conv2d_forward(", "kernel looks flipped"),
                "test_conv2d_forward_groups": ("conv2d_forward(", "kernel looks flipped"),
                "test_conv2d_forward_stride_and_padding": ("conv2d_forward(", "kernel looks flipped"),
            },
            questions={"conv2d_forward"},
            exact=True,
        ),
        "wrong_maxpool_backward_overwrites": Wrong(
            {"test_max_pool2d_backward_overlapping_windows": ("max_pool2d_backward(", "np.add.at")},
            questions={"backward"},
            exact=True,
        ),
        "wrong_maxpool_zero_padding": Wrong(
            {"test_max_pool2d_padding_with_negative_inputs": ("max_pool2d(", "pad with -inf")},
            questions={"pooling"},
            exact=True,
        ),
        "wrong_output_size_off_by_one": Wrong(
            {
                "test_conv_output_size_random_hyperparameters": ("conv_output_size(", "off by one"),
                "test_conv_output_size_slides_stride_one": ("conv_output_size(", "off by one"),
                "test_conv_output_size_slides_stride_two": ("conv_output_size(", "off by one"),
            },
            questions={"output_sizes"},
            exact=True,
        ),
        "wrong_padding_one_side": Wrong(
            {
                "test_conv2d_forward_pair_arguments": ("conv2d_forward(", "one side only"),
                "test_conv2d_forward_pair_stride_and_padding": ("conv2d_forward(", "one side only"),
                "test_conv2d_forward_stride_and_padding": ("conv2d_forward(", "one side only"),
            },
            questions={"backward", "conv2d_forward", "pooling"},
            exact=True,
        ),
        "wrong_stride_ignored": Wrong(
            {
                "test_conv2d_forward_pair_arguments": ("conv2d_forward(", "stride was ignored"),
                "test_conv2d_forward_rounds_down_when_filter_does_not_fit": ("conv2d_forward(", "stride was ignored"),
                "test_conv2d_forward_stride_and_padding": ("conv2d_forward(", "stride was ignored"),
            },
            questions={"conv2d_forward"},
            exact=True,
        ),
        "wrong_transpose_crop": Wrong(
            {
                "test_conv_transpose2d_large_padding": ("conv_transpose2d(", "cropped at the end only"),
                "test_conv_transpose2d_random_stride_padding_bias": ("conv_transpose2d(", "cropped at the end only"),
                "test_conv_transpose2d_stride_two_padding_one": ("conv_transpose2d(", "cropped at the end only"),
            },
            questions={"conv_transpose2d"},
            exact=True,
        ),
        "wrong_unpool_bed_of_nails_position": Wrong(
            {
                "test_unpool_bed_of_nails_pair_scale": ("unpool_bed_of_nails(", "bottom-right"),
                "test_unpool_bed_of_nails_random_scale_three": ("unpool_bed_of_nails(", "bottom-right"),
                "test_unpool_bed_of_nails_slides_example": ("unpool_bed_of_nails(", "bottom-right"),
            },
            questions={"unpooling"},
            exact=True,
        ),
        "wrong_vgg_no_bias": Wrong(
            {
                "test_vgg16_param_count_imagenet": ("vgg16_param_count(", "biases too"),
                "test_vgg16_param_count_matches_torch_model": ("vgg16_param_count(", "biases too"),
                "test_vgg16_param_count_other_num_classes": ("vgg16_param_count(", "biases too"),
            },
            questions={"param_counts"},
            exact=True,
        ),
    },
    "assignment4": {
        "wrong_minibatches_drop_last": Wrong(
            {
                "test_minibatches_cover_every_sample_once": ("is missing",),
                "test_minibatches_edge_batch_sizes": ("returned no batches",),
            },
            questions={"minibatches"},
        ),
        "wrong_minmax_constant_nan": Wrong(
            {
                "test_min_max_constant_feature_gives_zero": ("returned nan",),
                "test_min_max_constant_feature_custom_range": ("returned nan",),
            },
            questions={"min_max_normalize"},
        ),
        "wrong_minmax_no_range": Wrong(
            {
                "test_min_max_custom_range": ("feature_range was ignored",),
                "test_min_max_random_range": ("feature_range was ignored",),
                "test_min_max_single_sample": ("maps to lo",),
            },
            questions={"min_max_normalize"},
        ),
        "wrong_normalize_images_channels_last": Wrong(
            {
                "test_normalize_images_per_channel": ("ValueError",),
                "test_normalize_images_width_equals_channels": ("LAST axis",),
            },
            questions={"normalize_images"},
        ),
        "wrong_pca_ascending": Wrong(
            {
                "test_pca_matches_torch_eigh": ("ascending order",),
                "test_pca_k_truncation": ("eigenvalues",),
                "test_pca_properties_random": ("not sorted descending",),
                "test_pca_fewer_samples_than_features": ("ascending order",),
            },
            questions={"pca", "whiten"},
        ),
        "wrong_pca_k_samples": Wrong(
            {"test_pca_fewer_samples_than_features": ("also when X has fewer samples than features",)},
            questions={"pca"},
        ),
        "wrong_sample_std": Wrong(
            {
                "test_z_score_fit_population_std": ("sample std (ddof=1",),
                "test_z_score_fit_random": ("sample std (ddof=1",),
            },
            questions={"z_score"},
        ),
        "wrong_whiten_feature_std": Wrong(
            {
                "test_whiten_covariance_is_identity": ("covariance",),
                "test_whiten_matches_reference_with_eps": ("returned wrong values",),
            },
            questions={"whiten"},
        ),
        "wrong_whiten_no_eps": Wrong(
            {
                "test_whiten_matches_reference_with_eps": ("eps was left out",),
                "test_whiten_default_eps_small_variance": ("eps was left out",),
            },
            questions={"whiten"},
        ),
        "wrong_whiten_not_centred": Wrong(
            {
                "test_whiten_covariance_is_identity": ("Centre the data",),
                "test_whiten_matches_reference_with_eps": ("returned wrong values",),
            },
            questions={"whiten"},
        ),
        "wrong_zscore_leak": Wrong(
            {
                "test_z_score_apply_uses_given_statistics": ("recomputed the mean and std",),
                "test_z_score_apply_random_test_data": ("recomputed the statistics",),
            },
            questions={"z_score"},
        ),
    },
}

#: assignment -> (a mistake that changes arguments in place, the only check it fails, words of its message).
IN_PLACE = {
    "assignment1": (
        "wrong_gd_step_in_place",
        "test_gd_step_leaves_params_and_grads_unchanged",
        ("gd_step(", "changed its argument `params` in place"),
    ),
    "assignment2": (
        "wrong_sgd_step_in_place",
        "test_sgd_step_leaves_its_arguments_unchanged",
        ("sgd_step(", "changed its arguments `params`, `state` in place"),
    ),
}


def spec_of(name: str) -> AssignmentSpec:
    return load_spec(COURSE.spec_file(name))


def stub_of(name: str) -> Path:
    [module] = spec_of(name).modules
    return COURSE.assignment_dir(name) / module


def corpus_dir(name: str) -> Path:
    return Path(__file__).resolve().parent / "corpus" / name


@dataclass
class Graded:
    """Grades a path with public and hidden checks, each (assignment, path, seed) once per module."""

    grade_path: Callable[..., SubmissionResult]
    cache: dict[tuple[str, str, int], SubmissionResult] = field(default_factory=dict)

    def __call__(self, name: str, path: Path, seed: int = 0) -> SubmissionResult:
        key = (name, str(path), seed)
        if key not in self.cache:
            self.cache[key] = self.grade_path(name, path, hidden=True, seed=seed)
        return self.cache[key]


@pytest.fixture(scope="module")
def graded(grade_path: Callable[..., SubmissionResult]) -> Graded:
    return Graded(grade_path)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_corpus_is_complete(name: str) -> None:
    assert sorted(m.name for m in mistakes(name)) == sorted(WRONG[name])
    assert [p.name for p in corpus_dir(name).glob("*.py")] == ["zeros.py"]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_scores_full_marks(graded: Graded, name: str, seed: int) -> None:
    result = graded(name, COURSE.solution_dir(name), seed)
    assert [(c.name, c.outcome, c.message) for c in result.checks if not c.passed] == []
    assert result.status == "ok" and result.notes == ()
    assert result.max_score == 100 and result.score == FULL_MARKS[name]
    assert {q.name: q.score for q in result.questions} == {q.name: q.points for q in spec_of(name).questions}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_question_points_split_exactly_into_public_and_hidden_checks(graded: Graded, name: str) -> None:
    questions = spec_of(name).questions
    checks = graded(name, COURSE.solution_dir(name)).checks
    assert {c.question for c in checks} == {q.name for q in questions}
    for question in questions:
        mine = [c for c in checks if c.question == question.name]
        assert {c.visibility for c in mine} == {"public", "hidden"}, question.name
        assert sum(c.max_score for c in mine) == question.points, question.name
    for question_name, (points, public) in PUBLIC_POINTS.get(name, {}).items():
        mine = [c for c in checks if c.question == question_name]
        assert sum(c.max_score for c in mine) == points, question_name
        assert sum(c.max_score for c in mine if c.visibility == "public") == public, question_name
    assert len({c.name for c in checks}) == len(checks), "check names must be unique"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_untouched_stub_scores_zero_not_implemented(graded: Graded, name: str) -> None:
    result = graded(name, stub_of(name))
    assert result.score == 0
    assert result.checks
    assert {c.outcome for c in result.checks} == {"not_implemented"}
    assert all("not implemented" in c.message for c in result.checks)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_zeros_fail_every_check(graded: Graded, name: str) -> None:
    result = graded(name, corpus_dir(name) / "zeros.py")
    assert {c.question for c in result.checks} == {q.name for q in spec_of(name).questions}  # every question ran
    assert result.score == 0
    assert [(c.name, c.outcome) for c in result.checks if c.outcome != "failed"] == []


@pytest.mark.parametrize(("name", "wrong"), [(name, wrong) for name in ASSIGNMENTS for wrong in sorted(WRONG[name])])
def test_wrong_submission_loses_points_with_a_message_naming_the_function(
    graded: Graded, name: str, wrong: str, tmp_path: Path
) -> None:
    expect = WRONG[name][wrong]
    spec = spec_of(name)
    result = graded(name, write_mistake(name, wrong, tmp_path))
    assert result.status == "ok"
    assert 0 < result.score < FULL_MARKS[name]
    checks = {c.name: c for c in result.checks}
    assert not set(expect.fail) - set(checks), "a named check does not exist"
    for check_name, words in expect.fail.items():
        check = checks[check_name]
        assert check.outcome in ("failed", "error"), (check_name, check.outcome, check.message)
        for text in words:
            assert text in check.message, (check_name, text, check.message)
    if expect.any_hint:
        messages = [checks[c].message for c in expect.fail]
        assert any(expect.any_hint in m for m in messages), messages
    lost = {q.name for q in result.questions if q.score < q.max_score}
    if expect.questions is not None:
        assert lost == expect.questions if expect.exact else lost <= expect.questions, lost
    for check in result.checks:
        if check.passed:
            continue
        assert check.outcome in ("failed", "error"), (check.name, check.outcome, check.message)
        functions = spec.question(check.question).functions
        assert any(f"{f}(" in check.message for f in functions), (check.name, check.message)


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_mistake_loses_exactly_the_arguments_unchanged_points(
    graded: Graded, name: str, tmp_path: Path
) -> None:
    wrong, check_name, words = IN_PLACE[name]
    result = graded(name, write_mistake(name, wrong, tmp_path))
    failed = [c for c in result.checks if not c.passed]
    assert [c.name for c in failed] == [check_name]
    assert result.score == FULL_MARKS[name] - failed[0].max_score
    assert failed[0].message.startswith(words[0])
    assert all(text in failed[0].message for text in words), failed[0].message


@pytest.mark.parametrize(
    ("momentum", "weight_decay", "nesterov"),
    [(0.0, 0.0, False), (0.9, 0.0, False), (0.0, 0.1, False), (0.8, 0.1, False), (0.7, 0.0, True), (0.9, 0.2, True)],
)
def test_assignment2_sgd_reference_matches_torch_optim_sgd(
    momentum: float, weight_decay: float, nesterov: bool
) -> None:
    """assignment2's checks call torch.optim.sgd.sgd (fast to import); it must follow torch.optim.SGD."""
    from torch.optim.sgd import sgd

    rng = np.random.default_rng(0)
    start = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(4)]
    param = torch.tensor(start, requires_grad=True)
    opt = torch.optim.SGD([param], lr=0.1, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    functional = torch.tensor(start)
    buffers: list[torch.Tensor | None] = [None]
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
