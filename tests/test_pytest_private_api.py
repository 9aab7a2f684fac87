"""The private pytest APIs the grader leans on are still there.

``checkrun.CheckSession`` drives pytest's collection as ``pytest.main`` does, and
``plugin.GradingPlugin.runs_directly`` reads each check's fixture closure to skip
pytest's per-check protocol.  None of that is public API: pyproject.toml pins
pytest to the versions tested, and this file names every private piece used, so a
pytest release that moves one fails here, by name, rather than as slow or odd
grading elsewhere.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import _pytest.config
import _pytest.python
import pytest

from autograder import plugin
from autograder.checkrun import CheckSession

CHECK = """
import pytest

@pytest.mark.parametrize("n", [1, 2])
def test_plain(n):
    assert n
"""


def test_collection_is_driven_through_prepareconfig_and_do_configure() -> None:
    assert callable(_pytest.config._prepareconfig)
    assert list(inspect.signature(_pytest.config._prepareconfig).parameters)[:2] == ["args", "plugins"]
    for name in ("_do_configure", "_ensure_unconfigure"):
        assert callable(getattr(pytest.Config, name, None)), f"pytest.Config.{name} is gone"
    assert callable(getattr(pytest.Session, "from_config", None))


def test_direct_parameters_resolve_through_the_function_plugin_py_expects() -> None:
    assert plugin._DIRECT_PARAM is not None, "_pytest.python.get_direct_param_fixture_func is gone"
    assert plugin._DIRECT_PARAM is _pytest.python.get_direct_param_fixture_func


def test_a_parametrised_check_exposes_its_fixture_closure_and_runs_directly(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(CHECK)
    session = CheckSession([tmp_path], None)
    try:
        items = session.session.items
        assert [item.name for item in items] == ["test_plain[1]", "test_plain[2]"]
        for item in items:
            info = item._fixtureinfo  # type: ignore[attr-defined]
            assert "n" in info.argnames
            assert info.name2fixturedefs["n"][-1].func is plugin._DIRECT_PARAM
        assert session.direct == [True, True]
    finally:
        session.close()


def test_a_session_tears_down_what_a_run_ended_early_left_set_up(tmp_path: Path) -> None:
    """``CheckSession._run_items`` ends a ``stop_at_first_failure`` run with
    ``session._setupstate.teardown_exact(None)``, what pytest's runner calls after its last check."""
    (tmp_path / "test_plain.py").write_text(CHECK)
    session = CheckSession([tmp_path], None)
    try:
        setupstate = session.session._setupstate
        assert list(inspect.signature(setupstate.teardown_exact).parameters) == ["nextitem"]
        setupstate.teardown_exact(None)  # nothing set up: nothing to do
    finally:
        session.close()
