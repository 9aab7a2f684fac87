"""The checks of assignment1 (linear regression) grade the solution, stub and wrong submissions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from corpus import mistakes, write_mistake

from autograder.results import SubmissionResult
from autograder.spec import load_spec

NAME = "assignment1"
REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus" / NAME
SPEC = load_spec(REPO / "assignments" / NAME / "assignment.toml")

#: wrong submission -> ({check that must fail: text its message must hold}, questions it may lose)
WRONG: dict[str, tuple[dict[str, str], set[str]]] = {
    "wrong_gd_step_in_place": (
        {"test_gd_step_leaves_params_and_grads_unchanged": "changed its argument `params` in place"},
        {"gd_step"},
    ),
    "wrong_mse_loss_sum_default": (
        {
            "test_mse_loss_mean_is_default": "default reduction is 'mean'",
            "test_fit_loss_history_starts_at_zero_weights_and_never_increases": "record the mean",
            "test_fit_matches_torch_gradient_descent": "losses",
        },
        {"mse_loss", "fit"},
    ),
    "wrong_grad_no_factor_two": (
        {
            "test_mse_grad_small": "keep the factor 2",
            "test_mse_grad_single_sample": "keep the factor 2",
            "test_fit_matches_torch_gradient_descent": "losses",
        },
        {"mse_grad", "fit"},
    ),
    "wrong_grad_sign": (
        {"test_mse_grad_small": "wrong sign", "test_fit_converges_to_least_squares": "diverged"},
        {"mse_grad", "fit"},
    ),
    "wrong_grad_sum": (
        {
            "test_mse_grad_small": "n times too large",
            "test_fit_converges_to_least_squares": "diverged: NaN values",
            "test_fit_default_hyperparameters_converge": "learning rate too large?",
        },
        {"mse_grad", "fit"},
    ),
    "wrong_gd_step_ascent": (
        {
            "test_gd_step_small": "subtracts lr · grad",
            "test_gd_step_matches_torch_sgd": "subtracts lr · grad",
            "test_fit_converges_to_least_squares": "diverged",
        },
        {"gd_step", "fit"},
    ),
    "wrong_fit_no_bias_update": (
        {
            "test_fit_converges_to_least_squares": "returned wrong values",
            "test_fit_matches_torch_gradient_descent": "returned wrong values",
        },
        {"fit"},
    ),
    "wrong_predict_column": (
        {
            "test_predict_small": "column (n, 1)",
            "test_mse_grad_small": "returned shape",
            "test_fit_converges_to_least_squares": "ValueError",
        },
        {"predict", "mse_grad", "fit"},
    ),
    "wrong_grad_squeeze": (
        {"test_mse_grad_single_sample": "do not squeeze", "test_mse_grad_single_feature_random": "do not squeeze"},
        {"mse_grad"},
    ),
}

_cache: dict[str, SubmissionResult] = {}


@pytest.fixture
def graded(grade_path: Callable[..., SubmissionResult]) -> Callable[[Path], SubmissionResult]:
    """Grade a path with public and hidden checks (seed 0), once per test session."""

    def run(path: Path) -> SubmissionResult:
        key = str(path)
        if key not in _cache:
            _cache[key] = grade_path(NAME, path, hidden=True)
        return _cache[key]

    return run


def test_question_points_split_exactly_into_checks(graded):
    result = graded(REPO / "solutions" / NAME)
    for question in SPEC.questions:
        checks = [c for c in result.checks if c.question == question.name]
        assert {c.visibility for c in checks} == {"public", "hidden"}, question.name
        assert sum(c.max_score for c in checks) == question.points, question.name
    assert {c.question for c in result.checks} == {q.name for q in SPEC.questions}


def test_solution_scores_full_marks(graded):
    result = graded(REPO / "solutions" / NAME)
    assert [(c.name, c.message) for c in result.checks if c.outcome != "passed"] == []
    assert result.score == result.max_score == 100


def test_untouched_stub_scores_zero_not_implemented(graded):
    result = graded(REPO / "assignments" / NAME / "linear_regression.py")
    assert result.score == 0
    assert {c.outcome for c in result.checks} == {"not_implemented"}


def test_zeros_fail_every_check(graded):
    result = graded(CORPUS / "zeros.py")
    questions = load_spec(REPO / "assignments/assignment1/assignment.toml").questions
    assert {c.question for c in result.checks} == {q.name for q in questions}  # every question ran
    assert result.score == 0
    assert [(c.name, c.outcome) for c in result.checks if c.outcome != "failed"] == []


def test_corpus_is_complete():
    assert sorted(m.name for m in mistakes(NAME)) == sorted(WRONG)
    assert [p.name for p in CORPUS.glob("*.py")] == ["zeros.py"]


@pytest.mark.parametrize("wrong", sorted(WRONG))
def test_wrong_submission_loses_points_with_a_message_naming_the_function(graded, wrong, tmp_path):
    must_fail, questions = WRONG[wrong]
    result = graded(write_mistake(NAME, wrong, tmp_path))
    assert result.status == "ok"
    assert 0 < result.score < result.max_score
    by_name = {c.name: c for c in result.checks}
    for name, text in must_fail.items():
        check = by_name[name]
        assert check.outcome in ("failed", "error"), (name, check.outcome, check.message)
        assert text in check.message, (name, check.message)
    for check in result.checks:
        if check.outcome == "passed":
            continue
        assert check.outcome in ("failed", "error"), (check.name, check.outcome, check.message)
        assert check.question in questions, (check.name, check.message)
        functions = SPEC.question(check.question).functions
        assert any(f"{f}(" in check.message for f in functions), (check.name, check.message)


def test_gd_step_in_place_loses_exactly_the_arguments_unchanged_points(graded, tmp_path):
    result = graded(write_mistake(NAME, "wrong_gd_step_in_place", tmp_path))
    assert [c.name for c in result.checks if not c.passed] == ["test_gd_step_leaves_params_and_grads_unchanged"]
    assert result.score == result.max_score - 1
