"""The sandbox client (sandbox/client.py + worker.py): outcomes, limits, restarts, budgets, at both levels.

Every test starts real worker processes.  ``LEVELS`` runs a test at the
``rlimits`` level always and at the ``bwrap`` level when bubblewrap works here.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest

from autograder.sandbox import forkserver, isolation, launch
from autograder.sandbox.client import MAX_TIMEOUTS_PER_FUNCTION, SandboxConfig, WorkerSandbox
from autograder.sandbox.isolation import Isolation, bwrap_problem, interpreter_shared

NO_BWRAP = pytest.mark.skipif(bwrap_problem() is not None, reason=f"strict isolation unavailable: {bwrap_problem()}")
#: ``fork``: the bwrap level with the worker forked from a fork server (root only).
LEVELS = [
    "rlimits",
    pytest.param("bwrap", marks=NO_BWRAP),
    pytest.param("fork", marks=[NO_BWRAP, pytest.mark.skipif(os.getuid() != 0, reason="fork servers need root")]),
]

MODULE = """
import os, sys, time
import numpy as np


def scale(x, factor=2.0):
    print(f"scaling {np.shape(x)}")
    return np.asarray(x) * factor


def many():
    return {"t": (1, 2.5, "s", None, True), "a": np.eye(2), "l": [np.int64(3)]}


def fails(n):
    helper(n)


def helper(n):
    raise ValueError(f"bad n={n}")


def todo():
    raise NotImplementedError("todo")


def exits(code):
    print("exiting")
    sys.exit(code)


def hard_exit(code):
    os._exit(code)


def spin():
    while True:
        pass


def sleep(seconds):
    time.sleep(seconds)
    return seconds


def hog():
    return np.ones((1 << 30,))  # 8 GiB


def uses_torch():
    import torch  # line 51
    return torch.ones(1)


def child():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return "forked"


def unsendable():
    return object()


def prints_a_lot():
    for _ in range(1000):
        print("x" * 1000)
    return 1
"""


def box(level: str, source: str = MODULE, **config: Any) -> WorkerSandbox:
    isolation = Isolation("bwrap" if level == "fork" else level)  # type: ignore[arg-type]
    cfg = SandboxConfig(
        isolation=isolation,
        call_timeout=config.pop("call_timeout", 10),
        memory_mb=config.pop("memory_mb", 512),
        output_chars=2000,
        **config,
    )
    return WorkerSandbox({"m.py": source.encode()}, ("m.py",), cfg, fork=level == "fork")


@pytest.fixture(autouse=True)
def _forked_for_real(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the ``fork`` level every worker must come from a fork server, never the plain way."""
    if getattr(request.node, "callspec", None) and request.node.callspec.params.get("level") == "fork":
        monkeypatch.setattr(forkserver, "_failed", {})

        def refuse(self: WorkerSandbox) -> None:
            raise AssertionError("a worker was started the plain way at the fork level")

        if request.node.name.startswith("test_a_sandbox_that_cannot_start"):
            forkserver.close_all()  # a fork server started earlier would still work
            return
        monkeypatch.setattr(WorkerSandbox, "_prepare_folders", refuse)


@pytest.mark.parametrize("level", LEVELS)
def test_values_and_output_come_back_per_call(level: str) -> None:
    with box(level) as sandbox:
        assert sandbox.load_problems() == []
        first = sandbox.call("scale", (np.arange(3.0),), {"factor": 3.0})
        assert first.ok and np.array_equal(first.value, [0.0, 3.0, 6.0])
        assert first.stdout == "scaling (3,)\n" and first.elapsed > 0
        second = sandbox.call("many", (), {})
        assert second.ok and second.stdout == ""
        assert second.value["t"] == (1, 2.5, "s", None, True)
        assert np.array_equal(second.value["a"], np.eye(2))
        assert type(second.value["l"][0]) is np.ndarray and second.value["l"][0] == 3
        flood = sandbox.call("prints_a_lot", (), {})
        assert flood.ok and len(flood.stdout) < 2300
        assert "[... 999000 more characters of output not shown]" in flood.stdout


@pytest.mark.parametrize("level", LEVELS)
def test_student_errors_are_classified_with_their_own_frames(level: str) -> None:
    with box(level) as sandbox:
        err = sandbox.call("fails", (3,), {})
        assert err.kind == "error" and err.exc_type == "ValueError"
        assert err.message == "ValueError: bad n=3"
        assert 'm.py", line 16, in fails' in err.traceback
        assert 'm.py", line 20, in helper' in err.traceback
        assert "worker.py" not in err.traceback and "protocol" not in err.traceback
        todo = sandbox.call("todo", (), {})
        assert todo.kind == "not_implemented" and "todo is not implemented yet" in todo.message
        missing = sandbox.call("nothing_here", (), {})
        assert missing.kind == "missing" and "no function named nothing_here in m.py" in missing.message
        bad = sandbox.call("unsendable", (), {})
        assert bad.kind == "bad_return" and "object of type object" in bad.message
        arg = sandbox.call("scale", (object(),), {})
        assert arg.kind == "grader_error"


@pytest.mark.parametrize("level", LEVELS)
def test_exits_crashes_and_restarts(level: str) -> None:
    with box(level) as sandbox:
        soft = sandbox.call("exits", (0,), {})
        assert soft.kind == "error" and "called sys.exit(0)" in soft.message
        assert soft.stdout == "exiting\n"
        hard = sandbox.call("hard_exit", (3,), {})
        assert hard.kind == "crash" and "exited (status 3) during hard_exit" in hard.message
        assert "os._exit()" in hard.message
        again = sandbox.call("scale", (1.0,), {})  # a fresh worker
        assert again.ok and again.value == 2.0


@pytest.mark.parametrize("level", LEVELS)
def test_endless_loops_time_out_and_are_not_called_forever(level: str) -> None:
    with box(level, call_timeout=1.5) as sandbox:
        for _ in range(MAX_TIMEOUTS_PER_FUNCTION):
            outcome = sandbox.call("spin", (), {})
            assert outcome.kind == "timeout" and "timed out after 1.5 s in spin" in outcome.message
        refused = sandbox.call("spin", (), {})
        assert refused.kind == "timeout" and "not called again" in refused.message
        assert sandbox.call("scale", (2.0,), {}).value == 4.0


@pytest.mark.parametrize("level", LEVELS)
def test_cpu_limit_ends_a_worker_with_a_timeout(level: str) -> None:
    with box(level, call_timeout=30, cpu_seconds=1, total_timeout=60) as sandbox:
        outcome = sandbox.call("spin", (), {})
        assert outcome.kind == "timeout"
        assert "used more than 1 s of CPU time in spin" in outcome.message


@pytest.mark.parametrize("level", LEVELS)
def test_memory_bombs_meet_the_address_space_limit(level: str) -> None:
    with box(level, memory_mb=300) as sandbox:
        outcome = sandbox.call("hog", (), {})
        assert outcome.kind == "memory" and "ran out of memory" in outcome.message
        assert sandbox.call("scale", (1.0,), {}).ok


@pytest.mark.parametrize("level", LEVELS)
def test_forbidden_imports_name_file_and_line(level: str) -> None:
    with box(level) as sandbox:
        outcome = sandbox.call("uses_torch", (), {})
        assert outcome.kind == "forbidden"
        assert outcome.message == "import of 'torch' is not allowed in this assignment (m.py, line 51)"


@pytest.mark.parametrize("level", LEVELS)
def test_import_problems_are_reported_for_every_call(level: str) -> None:
    with box(level, "def f(:\n    pass\n") as sandbox:
        problems = sandbox.load_problems()
        assert len(problems) == 1
        assert problems[0].startswith("m.py could not be imported: SyntaxError (m.py, line 1)")
        outcome = sandbox.call("f", (), {})
        assert outcome.kind == "error" and "SyntaxError (m.py, line 1)" in outcome.message
    with box(level, "import torch\n") as sandbox:
        outcome = sandbox.call("f", (), {})
        assert outcome.kind == "forbidden" and "(m.py, line 1)" in outcome.message


@pytest.mark.parametrize("level", LEVELS)
def test_total_time_budget_ends_a_slow_submission(level: str) -> None:
    with box(level, call_timeout=5, total_timeout=6) as sandbox:
        outcomes = [sandbox.call("sleep", (2.0,), {}) for _ in range(6)]
    finished = [o for o in outcomes if o.ok]
    assert len(finished) <= 3  # 6 s of budget hold at most three 2 s calls
    assert not outcomes[-1].ok and outcomes[-1].kind == "timeout"
    assert "used up the 6 s of running time" in outcomes[-1].message


@pytest.mark.parametrize("level", LEVELS)
def test_a_worker_that_stops_reading_cannot_block_the_harness(level: str) -> None:
    stall = (
        MODULE
        + """
import protocol
protocol.read_frame = lambda *args, **kwargs: time.sleep(3600)
"""
    )
    with box(level, stall, call_timeout=2) as sandbox:
        big = np.zeros(4 << 20)  # 32 MiB: far more than a pipe holds
        outcome = sandbox.call("scale", (big,), {})
        assert outcome.kind == "timeout", outcome.message


REPLY_TRICKS = '''
import json, os, struct, sys


def _channel():
    frame = sys._getframe()
    while "replies" not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals


def _write(header):
    found = _channel()
    header = {"op": "result", "ok": True, "stdout": "", "nonce": found["nonce"], **header}
    head = json.dumps(header).encode()
    found["replies"].write(struct.pack("<II", len(head), 0) + head)
    found["replies"].flush()


def presend():
    """A reply for a later call, written ahead: its id cannot be known."""
    _write({"value": 99.0, "id": "0" * 16})
    return 1.0


def reply_then_die():
    """A well-formed reply to this call, then death before the real one."""
    _write({"value": 7.0, "id": _channel()["call_id"]})
    os._exit(0)


def ok():
    return 42
'''


@pytest.mark.parametrize("level", LEVELS)
def test_replies_are_tied_to_their_call(level: str) -> None:
    with box(level, REPLY_TRICKS) as sandbox:
        early = sandbox.call("presend", (), {})
        assert early.kind == "error" and "reply it did not expect" in early.message
        assert sandbox.call("ok", (), {}).value == 42
        # A forged reply to the current call is just a returned value: the checks judge it.
        forged = sandbox.call("reply_then_die", (), {})
        assert forged.ok and forged.value == 7.0
        # The worker died after replying; the next call is not blamed for it.
        after = sandbox.call("ok", (), {})
        assert after.ok and after.value == 42


@pytest.mark.parametrize("level", LEVELS)
def test_close_kills_the_worker_and_removes_its_folder(level: str) -> None:
    sandbox = box(level)
    assert sandbox.call("scale", (1.0,), {}).ok
    proc, folder = sandbox._proc, sandbox._tmp
    assert proc is not None and proc.poll() is None and folder.is_dir()
    sandbox.close()
    assert proc.poll() is not None and not folder.exists()
    sandbox.close()  # twice is fine


def test_rlimits_level_forbids_child_processes() -> None:
    with box("rlimits") as sandbox:
        outcome = sandbox.call("child", (), {})
        assert outcome.kind == "error" and "BlockingIOError" in outcome.message


NETWORK = """
import errno, os, socket


def families():
    seen = {}
    for name, family in (("inet", socket.AF_INET), ("inet6", socket.AF_INET6)):
        try:
            socket.socket(family, socket.SOCK_STREAM).close()
            seen[name] = "created"
        except OSError as exc:
            seen[name] = errno.errorcode[exc.errno]
    a, b = socket.socketpair()
    a.sendall(b"x")
    seen["unix"] = b.recv(1).decode()
    a.close()
    b.close()
    return seen
"""
WHO = """
import os


def who():
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f)
    return [os.getuid(), status["CapBnd"].strip(), status["NoNewPrivs"].strip(), status["Seccomp"].strip()]
"""
needs_filter = pytest.mark.skipif(
    launch.confine_filter(Isolation("rlimits")) is None, reason="no seccomp filter for this machine"
)


@needs_filter
def test_rlimits_level_refuses_ip_sockets_like_bwrap() -> None:
    """The seccomp filter of every bwrap sandbox, installed by the worker itself: unix
    sockets only (no network namespace here, so a TCP socket would reach the host)."""
    with box("rlimits", NETWORK + WHO) as sandbox:
        outcome = sandbox.call("families", (), {})
        status = sandbox.call("who", (), {})
    assert outcome.ok, outcome.message
    assert outcome.value == {"inet": "EAFNOSUPPORT", "inet6": "EAFNOSUPPORT", "unix": "x"}
    assert status.ok and status.value[2:] == ["1", "2"], status  # no_new_privs, a filter


LAZY_IMPORTS = """
import os


def later():
    import decimal, sqlite3, statistics  # not loaded by the worker: imported as the sandbox uid
    import importlib.metadata, json.tool  # submodules of packages it loaded (as root)

    return [statistics.mean([1, 2, 3]), str(decimal.Decimal("0.5")), sqlite3.sqlite_version_info[0]]


def root_home():
    try:
        os.listdir("/root")
        return "listed"
    except OSError as exc:
        return type(exc).__name__
"""


@needs_filter
@pytest.mark.skipif(os.getuid() != 0, reason="only root switches to a sandbox uid")
def test_rlimits_level_drops_to_its_uid_with_an_empty_bounding_set() -> None:
    """Root switches to the sandbox's uid inside the worker, after the interpreter and NumPy
    are loaded and the bounding set is emptied, even where other users cannot read the
    interpreter (a Python under root's home): modules imported later still load."""
    with box("rlimits", WHO + LAZY_IMPORTS) as sandbox:
        outcome = sandbox.call("who", (), {})
        later = sandbox.call("later", (), {})
        home = sandbox.call("root_home", (), {})
        uid = sandbox.uid
    assert outcome.ok, outcome.message
    assert uid is not None and outcome.value == [uid, "0000000000000000", "1", "2"]
    assert later.ok and later.value == [2, "0.5", 3], later.message
    assert home.value == "PermissionError" or os.stat("/root").st_mode & 0o005


@pytest.mark.parametrize("level", LEVELS)
def test_a_sandbox_that_cannot_start_is_the_graders_fault(level: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if level in ("bwrap", "fork"):  # the interpreter is not mounted: bwrap cannot exec it
        monkeypatch.setattr(isolation, "_python_folders", lambda: ())
        monkeypatch.setattr(isolation, "_numpy_folders", lambda: ())
    else:
        monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    with box(level) as sandbox:
        problems = sandbox.load_problems()
        outcome = sandbox.call("scale", (1.0,), {})
    assert outcome.kind == "grader_error", outcome.message
    assert "this is not your fault" in outcome.message and problems == [outcome.message]


def test_rlimits_level_says_what_it_does_not_protect() -> None:
    reason = Isolation.detect("rlimits").reason
    assert "files are not isolated" in reason
    if launch.confine_filter(Isolation("rlimits")) is not None:
        assert "refuses network sockets" in reason
    if os.getuid() == 0:
        assert "runs as an unprivileged uid" in reason
    if os.getuid() == 0 and not interpreter_shared():
        assert "a notebook's kernel runs as root" in reason


CHANGES_ARGUMENTS = """
import numpy as np


def step(params, grads, lr, state=None):
    params["w"] -= lr * grads["w"]
    if state is not None:
        state.append(1)
    return params


def pure(params, grads, lr, state=None):
    return {k: v - lr * grads[k] for k, v in params.items()}


def nested(items):
    items[0][1][0] = 5.0
    return 0


def loops(items):
    items.append(items)
    return 0
"""


@pytest.mark.parametrize("level", LEVELS)
def test_the_worker_names_the_arguments_a_call_changed(level: str) -> None:
    params, grads = {"w": np.ones(3)}, {"w": np.arange(3.0)}
    with box(level, CHANGES_ARGUMENTS) as sandbox:
        changed = sandbox.call("step", (params, grads, 0.1), {"state": []})
        assert changed.ok and changed.changed == ("params", "state")
        assert params["w"].tolist() == [1.0, 1.0, 1.0]  # the harness's copy is untouched
        assert sandbox.call("step", (params, grads), {"lr": 0.1}).changed == ("params",)
        assert sandbox.call("pure", (params, grads, 0.1), {"state": []}).changed == ()
        assert sandbox.call("nested", ([(1, np.zeros(2))],), {}).changed == ("items",)
        assert sandbox.call("loops", ([1, 2],), {}).changed == ("items",)


def test_a_forged_changed_field_is_dropped() -> None:
    from autograder.sandbox.client import _changed_arguments

    assert _changed_arguments(["params", "argument 2"], 3) == ("params", "argument 2")
    assert _changed_arguments(["params", "params"], 3) == ("params",)
    assert _changed_arguments(["a", "b", "c", "d"], 3) == ()
    assert _changed_arguments(["x" * 65], 3) == ()
    assert _changed_arguments(["not a name"], 3) == ()
    assert _changed_arguments([1], 3) == ()
    assert _changed_arguments("params", 3) == ()
    assert _changed_arguments(None, 3) == ()


def test_a_sandboxs_default_limits_are_an_assignments_defaults() -> None:
    """SandboxConfig's defaults are spec.Limits' (and the default forbidden imports), not a
    second copy that could drift."""
    from dataclasses import fields

    from autograder.spec import DEFAULT_FORBIDDEN, Limits

    config = SandboxConfig(isolation=Isolation("rlimits"))
    shared = [f.name for f in fields(Limits)]
    assert shared and set(shared) <= {f.name for f in fields(SandboxConfig)}
    assert {name: getattr(config, name) for name in shared} == {name: getattr(Limits(), name) for name in shared}
    assert config.forbidden == DEFAULT_FORBIDDEN
