"""assignment.toml is validated on load with errors that name the file, the key and the expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.errors import SpecError
from autograder.paths import CourseDir
from autograder.spec import DEFAULT_FORBIDDEN, load_spec

GOOD = """
title = "Demo"
modules = ["demo.py"]
[limits]
call_timeout = 2.5
[[questions]]
name = "add"
functions = ["add", "sub"]
points = 3
[[questions]]
name = "bonus"
functions = ["mul"]
points = 1
extra_credit = true
"""


def write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir(exist_ok=True)
    path = folder / "assignment.toml"
    path.write_text(text)
    return path


def test_valid_spec_loads_with_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.name == "demo"
    assert spec.modules == ("demo.py",)
    assert spec.limits.call_timeout == 2.5
    assert spec.limits.memory_mb == 2048
    assert spec.forbidden_imports == DEFAULT_FORBIDDEN
    assert spec.functions == ("add", "sub", "mul")
    assert spec.max_score == 3  # extra credit does not raise the maximum
    bonus = spec.question_of_function("mul")
    assert bonus is not None and bonus.name == "bonus"
    assert spec.hidden_feedback == "pass_fail"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        (GOOD.replace('title = "Demo"\n', ""), "'title'", "missing"),
        (GOOD.replace('modules = ["demo.py"]', 'modules = ["demo.txt"]'), "'modules'", ".py"),
        (GOOD.replace("points = 3", 'points = "3"'), "'questions[0].points'", "positive number"),
        (GOOD.replace("points = 3", "points = -1"), "'questions[0].points'", "positive"),
        (GOOD.replace('name = "bonus"', 'name = "add"'), "'questions[1].name'", "unique"),
        (GOOD.replace("call_timeout = 2.5", "call_timout = 2.5"), "'limits.call_timout'", "unknown"),
        ('colour = "red"\n' + GOOD, "'colour'", "unknown key"),
        (GOOD + 'colour = "red"\n', "'questions[1].colour'", "unknown key"),
        (GOOD.replace('functions = ["mul"]', "functions = []"), "'questions[1].functions'", "non-empty"),
    ],
)
def test_invalid_spec_names_file_key_and_expectation(tmp_path: Path, text: str, key: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert expected in message


def test_toml_syntax_error_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(write(tmp_path, "title = \n"))


def test_repository_assignments_load(course: CourseDir) -> None:
    names = course.assignment_names()
    assert "assignment3" in names
    for name in names:
        spec = load_spec(course.spec_file(name))
        assert spec.questions and spec.modules


def test_output_chars_is_read_under_its_old_name_output_bytes_too(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, GOOD)).limits.output_chars == 65536
    new = load_spec(write(tmp_path, GOOD.replace("[limits]", "[limits]\noutput_chars = 4096")))
    old = load_spec(write(tmp_path, GOOD.replace("[limits]", "[limits]\noutput_bytes = 4096")))
    assert new.limits.output_chars == old.limits.output_chars == 4096
    both = GOOD.replace("[limits]", "[limits]\noutput_chars = 10\noutput_bytes = 10")
    with pytest.raises(SpecError, match="only one of output_chars and output_bytes"):
        load_spec(write(tmp_path, both))
    with pytest.raises(SpecError, match=r"'limits.output_bytes'.*positive"):
        load_spec(write(tmp_path, GOOD.replace("[limits]", "[limits]\noutput_bytes = 0")))
