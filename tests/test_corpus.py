"""The wrong-submission corpora (tests/corpus/<assignment>/mistakes.toml) still apply to the solutions."""

from __future__ import annotations

import pytest
from corpus import Mistake, code_dump, mistakes, solution_file

ASSIGNMENTS = ("assignment1", "assignment2", "assignment3", "assignment4")


@pytest.mark.parametrize(
    "mistake", [m for a in ASSIGNMENTS for m in mistakes(a)], ids=lambda m: f"{m.assignment}-{m.name}"
)
def test_every_mistake_applies_compiles_and_changes_the_code(mistake: Mistake) -> None:
    source = mistake.source()
    compile(source, f"{mistake.name}.py", "exec")
    solution = solution_file(mistake.assignment).read_text(encoding="utf-8")
    assert code_dump(source) != code_dump(solution), f"{mistake.name} changes nothing"
