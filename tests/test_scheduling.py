"""The suite's own schedule (conftest.py): under ``--dist loadfile`` the longest files start first."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from conftest import (
    LONGEST_FILES,
    MAX_WORKERS,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_xdist_auto_num_workers,
)

TESTS = Path(__file__).resolve().parent


def items(*files: tuple[str, int]) -> list[Any]:
    """Stand-ins for collected tests: ``count`` of them in each file, in the order given."""
    return [SimpleNamespace(path=TESTS / name, name=f"{name}::{i}") for name, count in files for i in range(count)]


def test_every_file_named_longest_exists_once() -> None:
    assert len(set(LONGEST_FILES)) == len(LONGEST_FILES)
    assert [name for name in LONGEST_FILES if not (TESTS / name).is_file()] == []


def test_longest_files_come_first_in_their_order_then_most_tests_first() -> None:
    first, second = LONGEST_FILES[0], LONGEST_FILES[1]
    collected = items(("test_a.py", 2), (second, 1), ("test_b.py", 3), (first, 2), ("test_c.py", 3))
    pytest_collection_modifyitems(cast(pytest.Config, None), cast(list[pytest.Item], collected))
    assert [item.name for item in collected] == [
        f"{first}::0",
        f"{first}::1",
        f"{second}::0",
        "test_b.py::0",
        "test_b.py::1",
        "test_b.py::2",
        "test_c.py::0",
        "test_c.py::1",
        "test_c.py::2",
        "test_a.py::0",
        "test_a.py::1",
    ]


def test_xdist_is_told_to_keep_the_collection_order() -> None:
    config = SimpleNamespace(option=SimpleNamespace(loadscopereorder=True))
    pytest_configure(cast(pytest.Config, config))
    assert config.option.loadscopereorder is False
    without_xdist = SimpleNamespace(option=SimpleNamespace())
    pytest_configure(cast(pytest.Config, without_xdist))
    assert not hasattr(without_xdist.option, "loadscopereorder")


@pytest.mark.parametrize(("cores", "workers"), [(None, 2), (1, 2), (2, 3), (3, MAX_WORKERS), (64, MAX_WORKERS)])
def test_auto_starts_one_worker_more_than_the_cores_up_to_the_most(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, workers: int
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert pytest_xdist_auto_num_workers(cast(pytest.Config, None)) == workers
