"""The checks of assignment4 (data preprocessing) grade the solution, stub and wrong submissions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from corpus import mistakes, write_mistake

from autograder.results import SubmissionResult
from autograder.spec import load_spec

NAME = "assignment4"
REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus" / NAME
SPEC = load_spec(REPO / "assignments" / NAME / "assignment.toml")

#: wrong submission -> ({check that must fail: text its message must hold}, questions it may lose)
WRONG: dict[str, tuple[dict[str, str], set[str]]] = {
    "wrong_sample_std": (
        {"test_z_score_fit_population_std": "sample std (ddof=1", "test_z_score_fit_random": "sample std (ddof=1"},
        {"z_score"},
    ),
    "wrong_zscore_leak": (
        {
            "test_z_score_apply_uses_given_statistics": "recomputed the mean and std",
            "test_z_score_apply_random_test_data": "recomputed the statistics",
        },
        {"z_score"},
    ),
    "wrong_minmax_no_range": (
        {
            "test_min_max_custom_range": "feature_range was ignored",
            "test_min_max_random_range": "feature_range was ignored",
            "test_min_max_single_sample": "maps to lo",
        },
        {"min_max_normalize"},
    ),
    "wrong_minmax_constant_nan": (
        {
            "test_min_max_constant_feature_gives_zero": "returned nan",
            "test_min_max_constant_feature_custom_range": "returned nan",
        },
        {"min_max_normalize"},
    ),
    "wrong_pca_ascending": (
        {
            "test_pca_matches_torch_eigh": "ascending order",
            "test_pca_k_truncation": "eigenvalues",
            "test_pca_properties_random": "not sorted descending",
            "test_pca_fewer_samples_than_features": "ascending order",
        },
        {"pca", "whiten"},
    ),
    "wrong_pca_k_samples": (
        {"test_pca_fewer_samples_than_features": "also when X has fewer samples than features"},
        {"pca"},
    ),
    "wrong_whiten_no_eps": (
        {
            "test_whiten_matches_reference_with_eps": "eps was left out",
            "test_whiten_default_eps_small_variance": "eps was left out",
        },
        {"whiten"},
    ),
    "wrong_whiten_feature_std": (
        {
            "test_whiten_covariance_is_identity": "covariance",
            "test_whiten_matches_reference_with_eps": "returned wrong values",
        },
        {"whiten"},
    ),
    "wrong_whiten_not_centred": (
        {
            "test_whiten_covariance_is_identity": "Centre the data",
            "test_whiten_matches_reference_with_eps": "returned wrong values",
        },
        {"whiten"},
    ),
    "wrong_minibatches_drop_last": (
        {
            "test_minibatches_cover_every_sample_once": "is missing",
            "test_minibatches_edge_batch_sizes": "returned no batches",
        },
        {"minibatches"},
    ),
    "wrong_normalize_images_channels_last": (
        {"test_normalize_images_per_channel": "ValueError", "test_normalize_images_width_equals_channels": "LAST axis"},
        {"normalize_images"},
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
    result = graded(REPO / "assignments" / NAME / "preprocessing.py")
    assert result.score == 0
    assert {c.outcome for c in result.checks} == {"not_implemented"}


def test_zeros_fail_every_check(graded):
    result = graded(CORPUS / "zeros.py")
    questions = load_spec(REPO / "assignments/assignment4/assignment.toml").questions
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
