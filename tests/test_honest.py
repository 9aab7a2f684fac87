"""Every honest style of every assignment (tests/corpus/<assignment>/honest.toml) scores full
marks with hidden checks over 20 grading seeds, and every corpus mistake still loses points when
it is written in float32."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import COURSE, Mistake, as_float32, code_dump, honest_styles, mistakes, solution_file

from autograder.grading import GradingJob, grade
from autograder.sandbox.client import WorkerSandbox
from autograder.spec import load_spec
from autograder.submission import load_submission

ASSIGNMENTS = ("assignment1", "assignment2", "assignment3", "assignment4")
SEEDS = range(20)
STYLES = [s for a in ASSIGNMENTS for s in honest_styles(a)]


def write(style: Mistake, folder: Path) -> Path:
    [module] = load_spec(COURSE.spec_file(style.assignment)).modules
    folder.mkdir(parents=True, exist_ok=True)
    (folder / module).write_text(style.source(), encoding="utf-8")
    return folder


def test_every_assignment_has_vectorised_loops_or_formula_and_float32_styles() -> None:
    for assignment in ASSIGNMENTS:
        styles = {s.name: s for s in honest_styles(assignment)}
        assert styles["vectorised"].changes == () and not styles["vectorised"].float32
        assert styles["float32"].float32
        assert any(s.changes and not s.float32 for s in styles.values()), assignment


@pytest.mark.parametrize("style", [s for s in STYLES if s.changes], ids=lambda s: f"{s.assignment}-{s.name}")
def test_every_style_applies_and_changes_the_code(style: Mistake) -> None:
    source = style.source()
    compile(source, f"{style.name}.py", "exec")
    solution = solution_file(style.assignment).read_text(encoding="utf-8")
    assert code_dump(source) != code_dump(as_float32(solution) if style.float32 else solution)


@pytest.mark.parametrize("style", STYLES, ids=lambda s: f"{s.assignment}-{s.name}")
def test_honest_style_scores_full_marks_over_20_seeds(style: Mistake, tmp_path: Path) -> None:
    """One worker (forked when the machine allows) serves the 20 gradings of a style."""
    spec = load_spec(COURSE.spec_file(style.assignment))
    submission = load_submission(write(style, tmp_path / style.name), spec)
    config = GradingJob.for_assignment(COURSE, spec, hidden=True).sandbox_config()
    with WorkerSandbox(submission.files, spec.modules, config, fork=True) as sandbox:
        for seed in SEEDS:
            job = GradingJob.for_assignment(COURSE, spec, hidden=True, seed=seed)
            result = grade(submission, job, sandbox)
            lost = [(c.name, c.outcome, c.message) for c in result.checks if not c.passed]
            assert lost == [] and result.notes == (), (seed, lost, result.notes)
            assert result.score == sum(q.points for q in spec.questions), seed


#: The float32 version hands a function float32 copies of its arguments, so a change made in
#: place reaches the copies only: those mistakes are about the arguments, not the precision.
IN_PLACE = {"wrong_gd_step_in_place", "wrong_sgd_step_in_place"}


@pytest.mark.parametrize(
    "mistake",
    [m for a in ASSIGNMENTS for m in mistakes(a) if m.name not in IN_PLACE],
    ids=lambda m: f"{m.assignment}-{m.name}",
)
def test_every_mistake_still_loses_points_in_float32(mistake: Mistake, tmp_path: Path) -> None:
    spec = load_spec(COURSE.spec_file(mistake.assignment))
    wrong = Mistake(mistake.assignment, mistake.name, mistake.why, mistake.changes, float32=True)
    submission = load_submission(write(wrong, tmp_path / mistake.name), spec)
    result = grade(submission, GradingJob.for_assignment(COURSE, spec, hidden=True), fork=True)
    assert result.status == "ok", result.notes
    assert result.score < sum(q.points for q in spec.questions)
    assert [c.name for c in result.checks if c.outcome == "grader_error"] == []


def test_the_in_place_mistakes_are_the_only_ones_left_out() -> None:
    names = {m.name for a in ASSIGNMENTS for m in mistakes(a)}
    assert IN_PLACE <= names
    assert all("in_place" in name for name in IN_PLACE)
