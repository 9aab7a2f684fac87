"""The package's public names are exactly __all__, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import autograder


def test_all_names_exist_and_are_exported() -> None:
    public = {name for name in dir(autograder) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(autograder, name)).__name__ == "module"}
    assert set(autograder.__all__) - {"__version__"} == public - modules
    for name in autograder.__all__:
        assert hasattr(autograder, name)


def test_import_does_not_load_torch_or_pytest() -> None:
    code = "import sys, autograder; print('torch' in sys.modules, 'pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_grading_exports_its_entry_points() -> None:
    import autograder.grading as grading

    assert {"grade", "grade_path", "GradingJob", "DEFAULT_SEED"} <= set(grading.__all__)
    assert [name for name in grading.__all__ if not hasattr(grading, name)] == []
