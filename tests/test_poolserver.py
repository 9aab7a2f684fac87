"""The process a local batch forks its executors from: started early, preloaded, and harmless."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import poolserver
from autograder.batch import open_executor
from autograder.errors import AssignmentNotFound
from autograder.paths import CourseDir


def test_executors_are_forked_from_the_preloaded_server_with_the_batchs_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if "forkserver" not in poolserver.executor_context().get_start_method():
        pytest.skip("no fork server on this platform: executors are spawned")
    assert "torch" in poolserver.PRELOAD
    assert poolserver.start_early(None)
    # Set after the server started: the server's environment does not have it, executors must.
    monkeypatch.setenv("AUTOGRADER_POOLSERVER_TEST", "set late")
    with open_executor(1) as executor:
        assert executor.submit(os.getenv, "AUTOGRADER_POOLSERVER_TEST").result(timeout=120) == "set late"
        assert executor.submit(os.getppid).result(timeout=60) != os.getpid(), "forked by the server, not by us"
        assert executor.submit(torch_loaded).result(timeout=60)


def torch_loaded() -> bool:
    return "torch" in sys.modules


def test_a_batch_whose_cache_holds_results_does_not_start_it_early(tmp_path: Path) -> None:
    cache = tmp_path / ".cache"
    cache.mkdir()
    (cache / "alice.json").write_text("{}")
    assert poolserver.start_early(cache) is False
    assert poolserver.start_for_batch("nosuch", tmp_path, tmp_path, regrade=False) is False
    assert poolserver.start_for_batch("nosuch", tmp_path / "missing", None, regrade=True) is False


def test_a_wrong_guess_at_the_output_folder_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_course(cls: type, start: Path | None = None) -> None:
        raise AssignmentNotFound("no course here")

    monkeypatch.setattr(CourseDir, "discover", classmethod(no_course))
    assert poolserver.start_for_batch("nosuch", tmp_path, None, regrade=False) is False


def test_a_server_that_cannot_start_early_neither_stops_the_batch_nor_keeps_ctrl_c_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from multiprocessing import forkserver

    seen: list[object] = []

    def cannot_start() -> None:
        seen.append(signal.getsignal(signal.SIGINT))
        raise OSError("no room for another process")

    monkeypatch.setattr(forkserver, "ensure_running", cannot_start)
    before = signal.getsignal(signal.SIGINT)
    assert poolserver.start_early(None) is False
    assert seen == [signal.SIG_IGN], "started with Ctrl-C ignored"
    assert signal.getsignal(signal.SIGINT) is before


def test_the_server_ends_with_the_process_that_started_it() -> None:
    """A batch's output piped elsewhere (``grade batch ... | tee log``) ends when the batch
    does, not when the server has unloaded torch: it holds the same stdout and stderr."""
    if "forkserver" not in poolserver.executor_context().get_start_method():
        pytest.skip("no fork server on this platform: executors are spawned")
    script = (
        "import os\n"
        "from autograder import poolserver\n"
        "from autograder.batch import open_executor\n"
        "assert poolserver.start_early(None)\n"
        "with open_executor(1) as executor:\n"
        "    print(executor.submit(os.getppid).result(timeout=120), flush=True)\n"
    )
    package = Path(poolserver.__file__).parent.parent  # the code under test, wherever it is installed
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=package)
    assert proc.stdout is not None
    server = int(proc.stdout.readline())
    assert proc.wait(timeout=120) == 0
    # The server is our child's child: once our child has ended, it must be gone too.
    try:
        cmdline = Path(f"/proc/{server}/cmdline").read_text(errors="replace")
    except OSError:  # gone
        cmdline = ""
    assert "forkserver" not in cmdline, "the fork server outlived the process that started it"
    assert proc.stdout.read() == ""
