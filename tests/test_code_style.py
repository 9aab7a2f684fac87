"""The code holds its own rules: ruff's format and lint, and mypy on the package and its tests (configured in
pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHECKED = ("autograder", "tests", "benchmarks")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def test_ruff_format_leaves_every_file_as_it_is() -> None:
    proc = run(tool("ruff"), "format", "--check", *CHECKED)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check_finds_nothing() -> None:
    proc = run(tool("ruff"), "check", *CHECKED)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_mypy_finds_nothing_in_the_package_or_its_tests() -> None:
    proc = run(sys.executable, "-m", "mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr
