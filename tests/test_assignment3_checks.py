"""Assignment 3's checks: the solution scores full marks, the stub and zeros score nothing, and every
wrong submission in the corpus loses the points of the checks that should catch its mistake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from corpus import mistakes, write_mistake

from autograder.results import SubmissionResult
from autograder.spec import load_spec

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus" / "assignment3"
SOLUTION = REPO / "solutions" / "assignment3"
STUB = REPO / "assignments" / "assignment3" / "cnn.py"

#: Points per question in assignment.toml, and how many are public.
POINTS = {
    "output_sizes": (10, 6),
    "param_counts": (10, 4),
    "kernels": (10, 4),
    "conv2d_forward": (25, 8),
    "pooling": (15, 7),
    "unpooling": (10, 4),
    "conv_transpose2d": (20, 6),
    "backward": (10, 4),
}

#: corpus mistake -> (questions that lose points, checks that must fail, function named in the
#: messages, words of the hint the failing checks give).
WRONG = {
    "wrong_kernel_flipped": (
        {"conv2d_forward"},
        {
            "test_conv2d_forward_basic",
            "test_conv2d_forward_stride_and_padding",
            "test_conv2d_forward_groups",
            "test_conv2d_forward_dilation",
        },
        "conv2d_forward",
        "kernel looks flipped",
    ),
    "wrong_padding_one_side": (
        {"conv2d_forward", "pooling", "backward"},
        {
            "test_conv2d_forward_stride_and_padding",
            "test_conv2d_forward_pair_stride_and_padding",
            "test_conv2d_forward_pair_arguments",
        },
        "conv2d_forward",
        "one side only",
    ),
    "wrong_stride_ignored": (
        {"conv2d_forward"},
        {
            "test_conv2d_forward_stride_and_padding",
            "test_conv2d_forward_pair_arguments",
            "test_conv2d_forward_rounds_down_when_filter_does_not_fit",
        },
        "conv2d_forward",
        "stride was ignored",
    ),
    "wrong_avgpool_counts_padding": (
        {"pooling"},
        {"test_avg_pool2d_padding_not_counted", "test_avg_pool2d_padding_not_counted_random"},
        "avg_pool2d",
        "padded zeros were counted",
    ),
    "wrong_transpose_crop": (
        {"conv_transpose2d"},
        {
            "test_conv_transpose2d_stride_two_padding_one",
            "test_conv_transpose2d_large_padding",
            "test_conv_transpose2d_random_stride_padding_bias",
        },
        "conv_transpose2d",
        "cropped at the end only",
    ),
    "wrong_convolve_not_flipped": (
        {"kernels"},
        {
            "test_convolve2d_asymmetric_kernel",
            "test_convolve2d_random_rectangular",
            "test_convolve2d_kernel_larger_than_image",
        },
        "convolve2d",
        "not flipped",
    ),
    "wrong_output_size_off_by_one": (
        {"output_sizes"},
        {
            "test_conv_output_size_slides_stride_one",
            "test_conv_output_size_slides_stride_two",
            "test_conv_output_size_random_hyperparameters",
        },
        "conv_output_size",
        "off by one",
    ),
    "wrong_vgg_no_bias": (
        {"param_counts"},
        {
            "test_vgg16_param_count_imagenet",
            "test_vgg16_param_count_matches_torch_model",
            "test_vgg16_param_count_other_num_classes",
        },
        "vgg16_param_count",
        "biases too",
    ),
    "wrong_unpool_bed_of_nails_position": (
        {"unpooling"},
        {
            "test_unpool_bed_of_nails_slides_example",
            "test_unpool_bed_of_nails_random_scale_three",
            "test_unpool_bed_of_nails_pair_scale",
        },
        "unpool_bed_of_nails",
        "bottom-right",
    ),
    "wrong_groups_ignored": (
        {"conv2d_forward"},
        {"test_conv2d_forward_groups", "test_conv2d_forward_depthwise"},
        "conv2d_forward",
        "",
    ),
    "wrong_maxpool_zero_padding": (
        {"pooling"},
        {"test_max_pool2d_padding_with_negative_inputs"},
        "max_pool2d",
        "pad with -inf",
    ),
    "wrong_maxpool_backward_overwrites": (
        {"backward"},
        {"test_max_pool2d_backward_overlapping_windows"},
        "max_pool2d_backward",
        "np.add.at",
    ),
}


@pytest.fixture(scope="module")
def graded(grade_path: Callable[..., SubmissionResult]) -> Callable[[Path], SubmissionResult]:
    """Grade a path with public and hidden checks, once per module."""
    cache: dict[Path, SubmissionResult] = {}

    def get(path: Path) -> SubmissionResult:
        if path not in cache:
            cache[path] = grade_path("assignment3", path, hidden=True)
        return cache[path]

    return get


def test_solution_gets_full_marks(graded: Callable[[Path], SubmissionResult]) -> None:
    result = graded(SOLUTION)
    failures = [(c.name, c.outcome, c.message) for c in result.checks if not c.passed]
    assert failures == []
    assert result.status == "ok" and result.notes == ()
    assert result.max_score == 100 and result.score == 110  # 10 points of extra credit
    assert {q.name: q.score for q in result.questions} == {q: p for q, (p, _) in POINTS.items()}


def test_points_split_between_public_and_hidden(graded: Callable[[Path], SubmissionResult]) -> None:
    checks = graded(SOLUTION).checks
    for question, (points, public) in POINTS.items():
        mine = [c for c in checks if c.question == question]
        assert sum(c.max_score for c in mine) == points, question
        assert sum(c.max_score for c in mine if c.visibility == "public") == public, question
    assert len({c.name for c in checks}) == len(checks), "check names must be unique"


def test_stub_scores_zero_with_every_check_not_implemented(graded: Callable[[Path], SubmissionResult]) -> None:
    result = graded(STUB)
    assert result.score == 0
    assert {c.outcome for c in result.checks} == {"not_implemented"}
    assert all("not implemented" in c.message for c in result.checks)


def test_zeros_fail_every_check(graded: Callable[[Path], SubmissionResult]) -> None:
    result = graded(CORPUS / "zeros.py")
    questions = load_spec(REPO / "assignments/assignment3/assignment.toml").questions
    assert {c.question for c in result.checks} == {q.name for q in questions}  # every question ran
    assert result.score == 0
    assert [c.name for c in result.checks if c.outcome != "failed"] == []


def test_corpus_is_complete() -> None:
    assert sorted(m.name for m in mistakes("assignment3")) == sorted(WRONG)
    assert [p.name for p in CORPUS.glob("*.py")] == ["zeros.py"]


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_submission_loses_points(graded: Callable[[Path], SubmissionResult], name: str, tmp_path: Path) -> None:
    questions, must_fail, function, hint = WRONG[name]
    result = graded(write_mistake("assignment3", name, tmp_path))
    assert result.status == "ok"
    assert result.score < 110
    lost = {q.name for q in result.questions if q.score < q.max_score}
    assert lost == questions
    checks = {c.name: c for c in result.checks}
    assert not must_fail - set(checks), "a named check does not exist"
    failed = {n for n, c in checks.items() if c.outcome in ("failed", "error")}
    assert must_fail <= failed
    assert not [c.name for c in result.checks if c.outcome == "grader_error"]
    for check_name in must_fail:
        message = checks[check_name].message
        assert f"{function}(" in message, (check_name, message)
        assert hint in message, (check_name, message)
