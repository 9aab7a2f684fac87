"""OS isolation (sandbox/isolation.py, launch.py, confine.py): what a sandbox can see, reach and start.

Every test here starts real workers.  Those that need bubblewrap skip with the
reason when it cannot run; the ``rlimits`` level is covered in test_sandbox.py
and by the adversarial corpus.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import autograder
from autograder.errors import IsolationUnavailable
from autograder.sandbox import client, isolation, launch
from autograder.sandbox.client import SandboxConfig, WorkerSandbox
from autograder.sandbox.isolation import Isolation, bwrap_problem
from autograder.sandbox.launch import UidSlot, processes_of

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"strict isolation unavailable: {bwrap_problem()}")
needs_root = pytest.mark.skipif(os.getuid() != 0, reason="per-sandbox uids need root (non-root runs as itself)")
ADVERSARIAL = Path(__file__).resolve().parent / "corpus" / "adversarial" / "submissions"

PROBE = '''
import errno, os, resource, socket, sys


def look():
    """What the worker can see of the machine."""
    limits = {name: resource.getrlimit(getattr(resource, name))
              for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE",
                           "RLIMIT_NPROC", "RLIMIT_CORE", "RLIMIT_MEMLOCK")}
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    return {
        "uid": os.getuid(), "gid": os.getgid(), "groups": list(os.getgroups()),
        "cwd": os.getcwd(), "hostname": socket.gethostname(),
        "root": sorted(os.listdir("/")), "tmp": sorted(os.listdir("/tmp")),
        "home": sorted(os.listdir(os.getcwd())),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "limits": {k: list(v) for k, v in limits.items()},
        "no_new_privs": status["NoNewPrivs"].strip(), "cap_eff": status["CapEff"].strip(),
        "cap_bnd": status["CapBnd"].strip(),
        "interfaces": [line.split(":")[0].strip() for line in open("/proc/net/dev").read().splitlines()[2:]],
        "sys_path": [p for p in sys.path if os.path.isdir(p)],
    }


def exists(paths):
    return [os.path.exists(p) for p in paths]


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__


def write(path, text="x"):
    try:
        with open(path, "w") as f:
            f.write(text)
        return "ok"
    except OSError as exc:
        return type(exc).__name__


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        return type(exc).__name__


def import_without_blocker(name):
    sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
    try:
        __import__(name)
        return "imported"
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"


def connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__


def kernel_interfaces():
    """What the seccomp filter refuses, and what it must still allow."""
    import subprocess
    import threading

    out = {}
    try:
        os.memfd_create("bomb")
        out["memfd"] = "created"
    except OSError as exc:
        out["memfd"] = type(exc).__name__
    for flag in ("-U", "-n", "-m", "-p"):
        run = subprocess.run(["unshare", flag, "true"], capture_output=True, text=True)
        out[f"unshare {flag}"] = run.stderr.strip()
    for args in (["-M", "4096"], ["-Q"], ["-S", "1"]):  # System V memory, queue, semaphores
        kind = args[0]
        run = subprocess.run(["ipcmk", *args], capture_output=True, text=True)
        out[f"ipcmk {kind}"] = (run.stdout + run.stderr).strip()
    for family, kind in (("AF_INET", "SOCK_STREAM"), ("AF_INET", "SOCK_DGRAM"), ("AF_INET6", "SOCK_STREAM"),
                         ("AF_NETLINK", "SOCK_RAW"), ("AF_PACKET", "SOCK_RAW"), ("AF_UNIX", "SOCK_STREAM")):
        try:
            socket.socket(getattr(socket, family), getattr(socket, kind)).close()
            out[f"socket {family} {kind}"] = "created"
        except OSError as exc:
            out[f"socket {family} {kind}"] = errno.errorcode.get(exc.errno or 0, "?")
    try:
        for end in socket.socketpair():
            end.close()
        out["socketpair"] = "created"
    except OSError as exc:
        out["socketpair"] = errno.errorcode.get(exc.errno or 0, "?")
    out["true"] = subprocess.run(["true"]).returncode
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    out["thread"] = "ran"
    out["seccomp"] = [line.split()[-1] for line in open("/proc/self/status")
                      if line.startswith("Seccomp:")]
    return out


def kill_all():
    try:
        os.kill(-1, 9)
        return "sent"
    except OSError as exc:
        return type(exc).__name__
'''


def tmp_listing() -> list[str]:
    """What the sandbox's fresh /tmp holds: nothing, unless the interpreter (or the venv it
    runs in) lives under /tmp: then the way down to it."""
    parts = [Path(f).parts for f in isolation._python_folders()]
    return sorted({p[2] for p in parts if p[1:2] == ("tmp",) and len(p) > 2})


def sandbox(source: str = PROBE, **config: Any) -> WorkerSandbox:
    cfg = SandboxConfig(isolation=Isolation("bwrap"), call_timeout=20, **config)
    return WorkerSandbox({"probe.py": source.encode()}, ("probe.py",), cfg)


def call(box: WorkerSandbox, function: str, *args: Any) -> Any:
    outcome = box.call(function, args, {})
    assert outcome.ok, (outcome.kind, outcome.message, outcome.traceback)
    return outcome.value


def pid_namespace_of(box: WorkerSandbox) -> str:
    """The pid namespace of the worker (the bwrap child's), as /proc shows it on the host."""
    assert isinstance(box._proc, subprocess.Popen)
    children = Path(f"/proc/{box._proc.pid}/task/{box._proc.pid}/children").read_text().split()
    return os.readlink(f"/proc/{children[0]}/ns/pid")


def processes_in_namespace(namespace: str, zombies: bool = True) -> list[int]:
    """Host pids of the processes in pid namespace ``namespace`` (with zombies: not reaped)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "pid") != namespace:
                    continue
                state = re.search(r"^State:\s+(\S)", (entry / "status").read_text(), re.M)
            except OSError:
                continue
            if zombies or (state and state.group(1) != "Z"):
                out.append(int(entry.name))
    return out


# -- choosing the level ------------------------------------------------------------


def test_detect_prefers_bwrap_and_says_why_when_it_cannot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Isolation.detect("rlimits").level == "rlimits"
    assert "requested" in Isolation.detect("rlimits").reason
    if bwrap_problem() is None:
        assert Isolation.detect("auto") == Isolation.detect("bwrap")
        assert Isolation.detect("auto").strict
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on the PATH
    isolation.bwrap_problem.cache_clear()
    try:
        weak = Isolation.detect("auto")
        assert weak.level == "rlimits" and not weak.strict
        assert "bwrap not installed" in weak.reason and "not isolated" in weak.reason
        with pytest.raises(IsolationUnavailable, match=r"strict isolation .* not available"):
            Isolation.detect("bwrap")
    finally:
        isolation.bwrap_problem.cache_clear()


# -- what the worker sees ------------------------------------------------------------


@needs_bwrap
def test_worker_sees_a_read_only_system_and_only_numpy(tmp_path: Path) -> None:
    repo = Path(autograder.__file__).resolve().parent.parent
    site = Path(np.__file__).resolve().parent.parent
    prefix = Path(sys.prefix).resolve()
    with sandbox() as box:
        seen = call(box, "look")
        assert seen["cwd"] == "/home/student" and seen["home"] == ["probe.py"]
        assert seen["tmp"] == tmp_listing()
        expected_root = {"dev", "etc", "home", "opt", "proc", "tmp"}
        expected_root |= {Path(f).parts[1] for f in isolation._python_folders()}
        expected_root |= {d[1:] for d in isolation.SYSTEM_DIRS if os.path.lexists(d)}
        assert set(seen["root"]) == expected_root
        # Above the interpreter's folder, only the path down to it exists.
        for parent, child in zip(list(prefix.parents)[-2::-1], prefix.parts[2:], strict=False):
            if not str(parent).startswith(isolation.SYSTEM_DIRS):
                assert listdir(box, str(parent)) == [child]
        assert listdir(box, "/etc") == sorted(
            p for p in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime") if os.path.exists(f"/etc/{p}")
        )
        assert listdir(box, str(site)) == sorted(p for p in ("numpy", "numpy.libs") if (site / p).exists())
        hidden = [
            repo / "solutions",
            repo / "autograder",
            Path(autograder.__file__),
            tmp_path,
            Path("/run"),
            Path("/var"),
            Path("/srv"),
        ]
        assert call(box, "exists", [str(p) for p in hidden]) == [False] * len(hidden)
        assert call(box, "write", "/usr/x") in ("OSError", "PermissionError")
        assert call(box, "write", "/x") == "PermissionError"
        assert call(box, "write", "/home/student/probe.py") in ("OSError", "PermissionError")
        assert call(box, "write", "/home/student/scratch.txt") == "ok"
        assert call(box, "write", "/tmp/scratch.txt") == "ok"
        assert call(box, "read", "/tmp/scratch.txt") == "x"


def listdir(box: WorkerSandbox, path: str) -> Any:
    return call(box, "listdir", path)


@needs_bwrap
def test_forbidden_packages_are_absent_not_just_blocked() -> None:
    with sandbox() as box:
        torch = call(box, "import_without_blocker", "torch")
        assert torch.startswith("ModuleNotFoundError"), torch
        assert call(box, "import_without_blocker", "pytest").startswith("ModuleNotFoundError")
        assert call(box, "import_without_blocker", "autograder").startswith("ModuleNotFoundError")
        ctypes = call(box, "import_without_blocker", "ctypes")
        assert ctypes == "ImportError: this package is not available to graded code", ctypes
        assert call(box, "import_without_blocker", "_ctypes").startswith("ModuleNotFoundError")


@needs_bwrap
def test_pid_uts_and_privileges_are_its_own() -> None:
    with sandbox() as box:
        seen = call(box, "look")
        assert seen["pids"] == [1, 2]  # bwrap's init and the worker: no host process
        assert seen["hostname"] == "sandbox"
        assert seen["no_new_privs"] == "1"
        assert int(seen["cap_eff"], 16) == 0
        if os.getuid() == 0:
            assert box.uid is not None and seen["uid"] == seen["gid"] == box.uid >= launch.UID_BASE
            assert seen["groups"] in ([], [box.uid])
            assert int(seen["cap_bnd"], 16) == 0


@needs_bwrap
def test_seccomp_refuses_namespaces_and_memfd_but_not_processes_or_threads() -> None:
    if launch.seccomp_filter() is None:
        pytest.skip(f"no seccomp table for this machine ({os.uname().machine})")
    with sandbox(max_processes=2) as box:
        seen = call(box, "kernel_interfaces")
    assert seen["seccomp"] == ["2"]  # filter mode
    assert seen["memfd"] == "PermissionError"
    for flag in ("-U", "-n", "-m", "-p"):
        assert "Operation not permitted" in seen[f"unshare {flag}"], seen
    for kind in ("-M", "-Q", "-S"):  # they would outlive the submission in a fork server
        assert "Operation not permitted" in seen[f"ipcmk {kind}"], seen
    assert seen["true"] == 0 and seen["thread"] == "ran"
    # No socket that leaves state in the network namespace (a fork server's next worker shares it).
    for key in (
        "AF_INET SOCK_STREAM",
        "AF_INET SOCK_DGRAM",
        "AF_INET6 SOCK_STREAM",
        "AF_NETLINK SOCK_RAW",
        "AF_PACKET SOCK_RAW",
    ):
        assert seen[f"socket {key}"] == "EAFNOSUPPORT", seen
    assert seen["socket AF_UNIX SOCK_STREAM"] == "created" and seen["socketpair"] == "created", seen


@needs_bwrap
def test_limits_are_the_configured_ones() -> None:
    cfg: dict[str, Any] = {
        "memory_mb": 300,
        "cpu_seconds": 7,
        "file_bytes": 1 << 20,
        "open_files": 20,
        "max_processes": 0,
    }
    with sandbox(**cfg) as box:
        limits = call(box, "look")["limits"]
    assert limits["RLIMIT_AS"] == [300 << 20, 300 << 20]
    assert limits["RLIMIT_CPU"] == [7, 8]
    assert limits["RLIMIT_FSIZE"] == [1 << 20, 1 << 20]
    assert limits["RLIMIT_NOFILE"] == [20, 20]
    assert limits["RLIMIT_CORE"] == [0, 0]
    assert limits["RLIMIT_MEMLOCK"] == [0, 0]
    assert limits["RLIMIT_NPROC"] == ([1, 1] if os.getuid() == 0 else [0, 0])


@needs_bwrap
def test_tmp_folders_are_fresh_per_sandbox_and_vanish() -> None:
    with sandbox() as first:
        assert call(first, "write", "/tmp/left-behind") == "ok"
        assert call(first, "write", "/home/student/left-behind") == "ok"
    assert not Path("/tmp/left-behind").exists()
    with sandbox() as second:
        seen = call(second, "look")
        assert seen["tmp"] == tmp_listing() and seen["home"] == ["probe.py"]


# -- what the worker can reach ----------------------------------------------------------


@needs_bwrap
def test_network_namespace_hides_the_hosts_loopback() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    # The host itself can connect: the port is really open.
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    host_conn, _ = listener.accept()
    host_conn.close()
    try:
        with sandbox() as box:
            assert call(box, "look")["interfaces"] == ["lo"]
            # No TCP socket at all under the seccomp filter; refused by the empty loopback without it.
            refused = "OSError" if launch.seccomp_filter() is not None else "ConnectionRefusedError"
            assert call(box, "connect", port) == refused
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


@needs_bwrap
@needs_root
def test_kill_minus_one_cannot_reach_a_process_of_the_same_uid_outside() -> None:
    with sandbox() as box:
        call(box, "look")
        uid = box.uid
        assert uid is not None
        outside = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "60"])
        try:
            deadline = time.monotonic() + 5
            while outside.pid not in processes_of(uid) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert outside.pid in processes_of(uid)
            assert call(box, "kill_all") == "ProcessLookupError"  # nothing visible to kill
            time.sleep(0.1)
            assert outside.poll() is None, "a process outside the sandbox was killed"
        finally:
            outside.kill()
            outside.wait()


# -- what the worker can start, and what close() leaves --------------------------------


@needs_bwrap
@needs_root
def test_fork_bomb_stops_exactly_at_the_process_limit_and_close_reaps_it() -> None:
    source = (ADVERSARIAL / "fork_bomb.py").read_text()
    box = WorkerSandbox(
        {"target.py": source.encode()},
        ("target.py",),
        SandboxConfig(isolation=Isolation("bwrap"), call_timeout=20, max_processes=6),
    )
    try:
        outcome = box.call("double", (np.ones(3),), {})
        assert outcome.ok, outcome.message
        found = re.search(
            r"forks that succeeded: (\d+); errors: \['EAGAIN'\]; "
            r"processes in the sandbox: (\d+)",
            outcome.stdout,
        )
        assert found, outcome.stdout
        assert 1 <= int(found.group(1)) <= 6
        assert int(found.group(2)) == 2 + 6  # init + worker + exactly the six allowed
        uid = box.uid
        assert uid is not None
        namespace = pid_namespace_of(box)
        assert len(processes_of(uid)) == 1 + 6
        assert len(processes_in_namespace(namespace)) == 2 + 6
    finally:
        # The uid stays claimed until checked: no other sandbox can have taken it up since.
        slot, box._slot = box._slot, None
        box.close()
    assert processes_in_namespace(namespace) == []
    assert slot is not None and processes_of(uid) == []
    slot.release()


DAEMON = '''
import os, time


def start_daemon():
    """Double fork and setsid: a daemon that outlives the call, as far as it can tell."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open("/tmp/daemon.pid", "w") as f:
                f.write(str(os.getpid()))
            while True:
                time.sleep(1)
        os._exit(0)
    time.sleep(0.3)
    pid = int(open("/tmp/daemon.pid").read())
    os.kill(pid, 0)  # alive
    return pid
'''


@needs_bwrap
def test_a_setsid_daemon_dies_with_the_sandbox() -> None:
    box = sandbox(DAEMON, max_processes=2)
    try:
        outcome = box.call("start_daemon", (), {})
        assert outcome.ok, (outcome.message, outcome.traceback)
        namespace = pid_namespace_of(box)
        assert len(processes_in_namespace(namespace, zombies=False)) == 3  # init, worker, daemon
    finally:
        box.close()
    assert processes_in_namespace(namespace) == []


@needs_bwrap
@needs_root
def test_concurrent_sandboxes_get_different_uids_and_give_them_back() -> None:
    with sandbox() as a, sandbox() as b:
        call(a, "look")
        call(b, "look")
        assert a.uid is not None and b.uid is not None and a.uid != b.uid
        assert UidSlot.try_claim(a.uid) is None and claims(a.uid)  # held
        held = a.uid
    # Another test worker's sandbox may claim the uid as soon as it is free: this process
    # letting go of it is what is checked.
    assert not claims(held), f"uid {held} was not given back when its sandbox closed"


def claims(uid: int) -> bool:
    """Whether this process holds the lock file of ``uid`` open (a claim is an flock on it)."""
    lock = str(launch._lock_folder() / f"uid-{uid}.lock")
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == lock:
                return True
        except OSError:  # the listing's own fd, closed by now
            continue
    return False


@needs_root
def test_uid_lock_files_are_never_followed_through_symlinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "locks"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    uid = launch.UID_BASE + launch.UID_SLOTS - 1
    (folder / f"uid-{uid}.lock").symlink_to(victim)
    monkeypatch.setattr(launch, "_lock_folder", lambda: folder)
    assert UidSlot.try_claim(uid) is None
    assert victim.read_text() == "precious"
    slot = UidSlot.try_claim(uid - 1)
    assert slot is not None and slot.uid == uid - 1
    assert UidSlot.try_claim(uid - 1) is None
    slot.release()


def test_bwrap_command_line_hides_everything_it_does_not_bind(tmp_path: Path) -> None:
    cfg = SandboxConfig(isolation=Isolation("bwrap"), hide=(str(tmp_path),))
    work = tmp_path / "work"
    work.mkdir()
    (work / "m.py").write_text("")
    how = launch.launch(cfg.isolation, tmp_path, work, tmp_path, cfg, 61234)
    argv = how.argv
    for flag in (
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
    ):
        assert flag in argv
    assert "--unshare-user" not in argv and "--unshare-all" not in argv
    binds = {argv[i + 2] for i, a in enumerate(argv) if a == "--ro-bind"}
    # The interpreter and NumPy are shown wherever they are installed (a venv may live anywhere).
    interpreter = (*isolation._python_folders(), *isolation._numpy_folders())
    shown = {b for b in binds if b != "/home/student/m.py" and not isolation._inside(b, interpreter)}
    assert shown and not any(
        b.startswith(("/home", "/work", "/srv", "/var", "/run", str(tmp_path / "x"))) for b in shown
    )
    sizes = [argv[i + 1] for i, a in enumerate(argv) if a == "--size"]
    assert sizes == [str(cfg.tmp_bytes)] * 2
    i = argv.index("setpriv")
    assert argv[i + 1 : i + 3] == ["--reuid=61234", "--regid=61234"]
    assert "--no-new-privs" in argv and "--bounding-set=-all" in argv
    assert argv[-4:] == [sys.executable, "-I", "-B", "/opt/grader-worker/worker.py"]
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"].count(str(tmp_path.resolve())) == 0 or str(
        tmp_path.resolve()
    ).startswith("/tmp")


def test_signals_of_exit_codes() -> None:
    from autograder.sandbox.client import _signal_of

    assert _signal_of(-9, "rlimits") == signal.SIGKILL
    assert _signal_of(137, "bwrap") == signal.SIGKILL
    assert _signal_of(152, "bwrap") == signal.SIGXCPU
    assert _signal_of(137, "rlimits") is None
    assert _signal_of(0, "bwrap") is None


# -- the notebook kernel's sandbox -----------------------------------------------------------

KERNEL_PROBE = """
import json, os, resource, subprocess
from ipykernel import get_connection_file
seen = {"seccomp": [l.split()[-1] for l in open("/proc/self/status") if l.startswith("Seccomp:")]}
try:
    os.memfd_create("bomb")
    seen["memfd"] = "created"
except OSError as exc:
    seen["memfd"] = type(exc).__name__
run = subprocess.run(["unshare", "-U", "-r", "id", "-u"], capture_output=True, text=True)
seen["unshare -U -r"] = run.stderr.strip()
seen["nofile"] = list(resource.getrlimit(resource.RLIMIT_NOFILE))
try:
    with open(os.path.join(os.path.dirname(get_connection_file()), "disk-bomb"), "wb") as f:
        f.write(b"x" * 1000)
    seen["connection folder"] = "written"
except OSError as exc:
    seen["connection folder"] = type(exc).__name__
print("SEEN " + json.dumps(seen))
"""


@needs_bwrap
@needs_root
def test_notebook_kernel_has_the_workers_filter_and_limits_and_cannot_write_its_folder() -> None:
    import json

    import nbformat

    from autograder.notebooks.execute import run_notebook
    from autograder.sandbox.launch import KERNEL_OPEN_FILES

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(KERNEL_PROBE)])
    run = run_notebook(nb, cell_timeout=30, sandbox=SandboxConfig(isolation=Isolation("bwrap")))
    assert run.status == "ok", run.message
    text = "".join(o.get("text", "") for o in run.cells[0].outputs)
    seen = json.loads(text.split("SEEN ", 1)[1])
    if launch.seccomp_filter() is not None:
        assert seen["seccomp"] == ["2"] and seen["memfd"] == "PermissionError"
        assert "Operation not permitted" in seen["unshare -U -r"], seen
    assert seen["nofile"] == [KERNEL_OPEN_FILES, KERNEL_OPEN_FILES]
    assert seen["connection folder"] == "PermissionError"


def test_output_size_counts_dicts_by_their_content() -> None:
    from autograder.notebooks.execute import output_size

    big = {"data": {"application/json": {"k": ["x" * 1000] * 50}}, "metadata": {"m": {"n": "y" * 500}}}
    assert 50_500 <= output_size(big, 10**9) <= 52_000
    assert output_size({"data": {"text/plain": "abc"}}, 100) < 100
    assert output_size(big, 2000) <= 2000 + 1000  # stops soon after the limit


@needs_bwrap
def test_raw_displayed_dicts_count_toward_the_output_cap() -> None:
    import nbformat

    from autograder.notebooks.execute import MAX_RECEIVED_PER_CELL, run_notebook

    mb = MAX_RECEIVED_PER_CELL // 1_000_000
    source = (
        "from IPython.display import display\n"
        f"for i in range({mb + 3}):\n"
        "    display({'application/json': {'k': 'x' * 1_000_000}}, raw=True)\n"
        "print('done')\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    run = run_notebook(nb, cell_timeout=60, sandbox=SandboxConfig(isolation=Isolation("bwrap")))
    assert run.status == "ok", run.message
    text = "".join(o.get("text", "") for o in run.cells[0].outputs)
    assert f"more than {mb} MB of output" in text and "done" not in text


@needs_bwrap
@needs_root
@pytest.mark.parametrize("fork", [False, True], ids=["plain", "forked"])
def test_each_sandbox_runs_in_a_memory_cgroup_of_its_own(fork: bool) -> None:
    from autograder.sandbox import cgroups
    from autograder.sandbox.base import cgroup_limits

    if cgroups.availability() is not None:
        assert "no memory cgroup" in Isolation.detect("bwrap").reason
        pytest.skip(f"no cgroups here: {cgroups.availability()}")
    config = SandboxConfig(isolation=Isolation("bwrap"), memory_mb=512)
    source = b"import os\ndef pid():\n    return os.getpid()\n"
    with WorkerSandbox({"m.py": source}, ("m.py",), config, fork=fork) as box:
        assert box.call("pid", (), {}).ok
        owner = box._server if fork else box
        assert owner is not None and owner._cgroup is not None
        folders = list(owner._cgroup.folders)
        memory = folders[0]
        limit = (
            (memory / "memory.limit_in_bytes").read_text()
            if (memory / "memory.limit_in_bytes").exists()
            else (memory / "memory.max").read_text()
        )
        assert int(limit) == cgroup_limits(config)[0]
        members = {int(p) for p in (memory / "cgroup.procs").read_text().split()}
        assert box.uid is not None and set(processes_of(box.uid)) <= members  # the worker is inside
    assert "cgroup" in Isolation.detect("bwrap").reason
    if not fork:
        assert not any(f.exists() for f in folders)  # removed with the sandbox


# -- one launcher: the same confinement on every path ------------------------------------------

ATTEMPTS = '''
import errno, os, resource, socket, subprocess, time


def _code(exc):
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def attempts(token, names):
    """Everything a hostile submission tries, and what it found out."""
    seen = {"uid": os.getuid(),
            "limits": {n: list(resource.getrlimit(getattr(resource, "RLIMIT_" + n))) for n in names}}
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        seen["inet"] = "created"
    except OSError as exc:
        seen["inet"] = _code(exc)
    try:
        os.setuid(0)
        seen["setuid"] = "root"
    except OSError as exc:
        seen["setuid"] = _code(exc)
    run = subprocess.run(["unshare", "-U", "-r", "id", "-u"], capture_output=True, text=True)
    seen["unshare"] = [run.returncode, run.stdout.strip()]
    # Forks until refused: each child waits for the pipe to close.
    r, w = os.pipe()
    children, errors = [], []
    for _ in range(64):
        try:
            pid = os.fork()
        except OSError as exc:
            errors.append(_code(exc))
            break
        if pid == 0:
            os.close(w)
            os.read(r, 1)
            os._exit(0)
        children.append(pid)
    os.close(w)
    for pid in children:
        os.waitpid(pid, 0)
    os.close(r)
    seen["forks"], seen["fork errors"] = len(children), errors
    # A daemon: double fork, a session of its own, then a program that outlives the call.
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", token])
        os._exit(0)
    os.wait()
    time.sleep(0.3)
    seen["daemon alive"] = any(_cmdline(p) == ["sleep", token] for p in os.listdir("/proc") if p.isdigit())
    seen["folders"] = {folder: _flood(folder) for folder in ("/tmp", os.getcwd())}
    with open("/proc/self/status") as f:
        seen["capbnd"] = next(line.split()[1] for line in f if line.startswith("CapBnd:"))
    return seen


def _flood(folder):
    """Empty folders made in ``folder`` until refused (at most 12,288), and the refusal;
    then an honest file written and read back there, once the folders are gone."""
    made, error = [], None
    try:
        while len(made) < 12288:
            path = os.path.join(folder, "flood-%d" % len(made))
            os.mkdir(path)
            made.append(path)
    except OSError as exc:
        error = _code(exc)
    for path in made:
        os.rmdir(path)
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("honest")
    with open(os.path.join(folder, "notes.txt")) as f:
        honest = f.read() == "honest"
    os.unlink(os.path.join(folder, "notes.txt"))
    return [len(made), error, honest]


def _cmdline(pid):
    try:
        with open("/proc/" + pid + "/cmdline", "rb") as f:
            return f.read().decode(errors="replace").split("\\0")[:-1]
    except OSError:
        return None


def hog():
    return bytearray(4 << 30)
'''

PATHS = ["plain", "forked", "kernel"]


def running_with(token: str) -> list[int]:
    """Host pids of live processes whose command line is ``sleep TOKEN``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes() == f"sleep\0{token}\0".encode():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def attack(path: str, config: SandboxConfig, token: str) -> tuple[dict[str, Any], str, SandboxConfig]:
    """Run ATTEMPTS and then ``hog`` on ``path`` and end its sandbox; (what ATTEMPTS saw, how
    ``hog`` ended, the configuration its limits come from)."""
    import json

    import nbformat

    from autograder.notebooks.execute import run_notebook
    from autograder.sandbox import forkserver

    names = sorted(launch.rlimits(config, 1))
    if path == "kernel":
        cells = [f"{ATTEMPTS}\nimport json\nprint('SEEN ' + json.dumps(attempts({token!r}, {names!r})))", "hog()"]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        run = run_notebook(nb, cell_timeout=60, sandbox=config)
        assert run.cells[0].status == "ok", run.cells[0]
        text = "".join(o.get("text", "") for o in run.cells[0].outputs)
        return json.loads(text.split("SEEN ", 1)[1]), run.cells[1].message, launch.kernel_config(config)
    box = WorkerSandbox({"probe.py": ATTEMPTS.encode()}, ("probe.py",), config, fork=path == "forked")
    try:
        seen = call(box, "attempts", token, names)
        assert (box._server is not None) == (path == "forked")
        assert running_with(token), "the daemon is not running on the host"
        memory = box.call("hog", (), {})
    finally:
        box.close()
        forkserver.settle_all()
    return seen, f"{memory.kind}: {memory.message}", config


@needs_bwrap
@needs_root
@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS)
def test_every_path_refuses_the_same_attacks_with_the_same_limits(path: str) -> None:
    """A plain worker, a worker forked by the zygote and a notebook kernel: no IP socket, no
    way back to root or into a user namespace, forks bounded by the process limit, a memory
    limit, a daemon that does not outlive the sandbox, the rlimits of one table, an inode
    cap on every folder it can write to, and an empty capability bounding set."""
    config = SandboxConfig(isolation=Isolation("bwrap"), call_timeout=30, memory_mb=1024, max_processes=4)
    token = f"{3000 + os.getpid() % 1000}.{time.time_ns() % 10**9}"
    seen, memory, limited_by = attack(path, config, token)
    if launch.seccomp_filter() is not None:
        assert seen["inet"] == "EAFNOSUPPORT", seen
        assert seen["unshare"][0] != 0 and seen["unshare"][1] != "0", seen
    assert seen["uid"] >= launch.UID_BASE and seen["setuid"] == "EPERM", seen
    assert seen["limits"] == {k: list(v) for k, v in launch.rlimits(limited_by, seen["uid"]).items()}
    allowed = launch.rlimits(limited_by, seen["uid"])["NPROC"][0] - 1  # the process itself counts
    assert 1 <= seen["forks"] <= allowed and seen["fork errors"] == ["EAGAIN"], seen
    assert "memory" in memory.lower(), memory
    assert seen["daemon alive"], seen
    assert running_with(token) == [], f"the daemon of the {path} sandbox outlived it"
    # Empty folders cost kernel memory that no size cap sees: each tmpfs it can write to
    # refuses them at its inode cap (what is already there counts), and honest files work.
    for folder, (made, error, honest) in seen["folders"].items():
        assert config.tmp_inodes - 64 <= made < config.tmp_inodes and error == "ENOSPC", (folder, made, error)
        assert honest, folder
    # No capability left to regain, not even in the bounding set (the uid drop cleared the rest).
    assert seen["capbnd"] == "0000000000000000", seen["capbnd"]


@needs_bwrap
@needs_root
@pytest.mark.parametrize("path", ["plain", "kernel"])
def test_a_sandbox_whose_tmpfs_cannot_be_capped_never_runs(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The remount fails for real (a cap below what bubblewrap's tmpfs already hold): the
    sandbox is ended before it ran a line (the student's code, which would print and
    return a marker, left none), and that is the grader's failure."""
    import nbformat

    from autograder.notebooks import execute

    module = client if path == "plain" else execute
    real = launch.cap_tmpfs
    tried: list[bool] = []

    def too_few(parent: int, init: int, block_fd: int, config: SandboxConfig) -> bool:
        tried.append(real(parent, init, block_fd, replace(config, tmp_inodes=1)))
        return tried[-1]

    monkeypatch.setattr(module, "cap_tmpfs", too_few)
    config = SandboxConfig(isolation=Isolation("bwrap"))
    marker = "ran-" + secrets.token_hex(8)
    if path == "kernel":
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"print({marker!r})")])
        run = execute.run_notebook(nb, cell_timeout=30, sandbox=config)
        assert run.status == "not_started" and "capped" in run.message, run
        assert marker not in json.dumps(run.to_dict()).replace(f"print({marker!r})", "")
    else:
        source = f"print({marker!r})\ndef f():\n    print({marker!r})\n    return {marker!r}\n"
        box = WorkerSandbox({"m.py": source.encode()}, ("m.py",), config)
        try:
            outcome = box.call("f", (), {})
        finally:
            box.close()
        assert marker not in repr(outcome) and outcome.value is None, outcome
        assert outcome.kind == "grader_error" and "capped" in outcome.message, outcome
    assert tried == [False]


@needs_bwrap
@needs_root
def test_one_helper_caps_every_new_sandbox_and_is_replaced_when_it_dies() -> None:
    config = SandboxConfig(isolation=Isolation("bwrap"), tmp_inodes=3000)

    def inodes() -> Any:
        source = b"import os\ndef f():\n    return [os.statvfs(d).f_files for d in ('/tmp', os.getcwd())]\n"
        with WorkerSandbox({"m.py": source}, ("m.py",), config) as box:
            return box.call("f", (), {}).value

    assert inodes() == [3000, 3000]
    helper = launch._CAPPER._proc
    assert helper is not None and inodes() == [3000, 3000] and launch._CAPPER._proc is helper
    helper.kill()
    helper.wait()
    assert inodes() == [3000, 3000] and launch._CAPPER._proc is not helper


def interrupted_select(answered: bool) -> Any:
    """A stand-in for launch's ``select`` module whose ``select`` raises KeyboardInterrupt
    (as Ctrl-C would) once the request is written: after the helper answered, or before."""
    real = launch.select.select

    def select(*args: Any) -> Any:
        if answered:
            assert real(*args)[0], "the helper did not answer"
        raise KeyboardInterrupt

    return SimpleNamespace(select=select)


@needs_bwrap
@needs_root
def test_a_sandbox_whose_capping_is_interrupted_is_ended_before_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the helper caps a new sandbox: the sandbox is killed before its
    ``--block-fd`` closes (an end of file lets bubblewrap go on, uncapped)."""
    monkeypatch.setattr(launch, "select", interrupted_select(answered=False))
    box = WorkerSandbox({"m.py": b"def f():\n    return 1\n"}, ("m.py",), SandboxConfig(isolation=Isolation("bwrap")))
    try:
        with pytest.raises(KeyboardInterrupt):
            box.call("f", (), {})
        assert box.uid is not None
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert processes_of(box.uid) == [], "the sandbox went on after its capping was interrupted"
            time.sleep(0.05)
    finally:
        box.close()


@needs_bwrap
@needs_root
def test_an_answer_to_an_interrupted_request_is_never_read_as_the_next_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper answered ``1`` but Ctrl-C came first: that byte must not release the next
    sandbox, whose tmpfs cannot be capped (a cap below what it holds already)."""
    config = SandboxConfig(isolation=Isolation("bwrap"))
    source = b"def f():\n    return 'ran'\n"
    monkeypatch.setattr(launch, "select", interrupted_select(answered=True))
    with WorkerSandbox({"m.py": source}, ("m.py",), config) as box, pytest.raises(KeyboardInterrupt):
        box.call("f", (), {})
    monkeypatch.undo()
    real = launch.cap_tmpfs
    monkeypatch.setattr(client, "cap_tmpfs", lambda p, i, b, c: real(p, i, b, replace(c, tmp_inodes=1)))
    with WorkerSandbox({"m.py": source}, ("m.py",), config) as box:
        outcome = box.call("f", (), {})
    assert outcome.value != "ran" and outcome.kind == "grader_error" and "capped" in outcome.message, outcome
    monkeypatch.undo()
    with WorkerSandbox({"m.py": source}, ("m.py",), config) as box:
        assert box.call("f", (), {}).value == "ran"


@needs_bwrap
@needs_root
def test_a_sandbox_bubblewrap_gives_up_building_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """bubblewrap writes ``--info-fd`` and then fails to build the sandbox (a bind source
    missing): the grader's error quotes bubblewrap, not a failure to cap the tmpfs."""
    missing = "/nonexistent-" + secrets.token_hex(8)
    real = client.launch

    def with_a_missing_bind(*args: Any) -> Any:
        how = real(*args)
        return replace(how, argv=[how.argv[0], "--ro-bind", missing, "/nowhere", *how.argv[1:]])

    monkeypatch.setattr(client, "launch", with_a_missing_bind)
    with WorkerSandbox(
        {"m.py": b"def f():\n    return 1\n"}, ("m.py",), SandboxConfig(isolation=Isolation("bwrap"))
    ) as box:
        outcome = box.call("f", (), {})
    assert outcome.kind == "grader_error" and missing in outcome.message, outcome


def test_the_isolation_reason_says_when_tmpfs_have_no_inode_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    if bwrap_problem() is not None:
        pytest.skip(f"strict isolation unavailable: {bwrap_problem()}")
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 1000)
    assert not isolation.caps_tmpfs()
    assert "without an inode cap" in Isolation.detect("bwrap").reason
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 0)
    assert "inode" not in Isolation.detect("bwrap").reason


def test_the_init_pid_is_read_whole_from_pieces() -> None:
    """bubblewrap may write its --info-fd JSON in pieces; a pid cut short is never used."""
    pieces = [b"", b'{\n    "child-pid": 12', b"", b'34,\n    "mnt-namespace": 1\n}\n']
    assert launch.wait_init_pid(lambda: pieces.pop(0) if pieces else None, timeout=5) == 1234
    cut = [b'{\n    "child-pid": 12']
    assert launch.wait_init_pid(lambda: cut.pop(0) if cut else None, timeout=5) is None


def test_one_rlimit_table_for_workers_and_kernels() -> None:
    config = SandboxConfig(
        isolation=Isolation("bwrap"), memory_mb=300, cpu_seconds=7, file_bytes=1 << 20, open_files=20, max_processes=2
    )
    assert launch.rlimits(config, 61000) == {
        "AS": (300 << 20, 300 << 20),
        "CPU": (7, 8),
        "FSIZE": (1 << 20, 1 << 20),
        "NOFILE": (20, 20),
        "CORE": (0, 0),
        "MEMLOCK": (0, 0),
        "MSGQUEUE": (0, 0),
        "NPROC": (3, 3),
    }
    # Without a uid of its own, RLIMIT_NPROC would count the harness's processes too.
    assert "NPROC" not in launch.rlimits(config, None)
    assert launch.rlimits(replace(config, max_processes=0), None)["NPROC"] == (0, 0)
    kernel = launch.rlimits(launch.kernel_config(config), 61000)
    assert (
        kernel["NPROC"] == (1 + launch.KERNEL_THREADS + 2,) * 2 and kernel["NOFILE"] == (launch.KERNEL_OPEN_FILES,) * 2
    )
    assert {k: v for k, v in kernel.items() if k not in ("NPROC", "NOFILE")} == {
        k: v for k, v in launch.rlimits(config, 61000).items() if k not in ("NPROC", "NOFILE")
    }


def test_end_sandbox_never_kills_a_pid_that_is_no_longer_its_init() -> None:
    """bubblewrap's init pid is killed only while it is bubblewrap's child: once that init is
    gone the pid may be another process's, which must survive."""
    bystander = subprocess.Popen(["sleep", "60"])
    sandbox = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        assert launch.end_sandbox(sandbox, lambda: bystander.pid, timeout=1)
        assert sandbox.returncode == -signal.SIGKILL  # by the process group kill instead
        assert bystander.poll() is None, "a process that was not the sandbox's init was killed"
    finally:
        bystander.kill()
        bystander.wait()


def test_end_sandbox_kills_its_init_first() -> None:
    sandbox = subprocess.Popen(
        ["sh", "-c", "sleep 60 & echo $!; wait $!"], stdout=subprocess.PIPE, start_new_session=True
    )
    assert sandbox.stdout is not None
    init = int(sandbox.stdout.readline())
    assert launch.end_sandbox(sandbox, lambda: init)
    sandbox.stdout.close()
    assert sandbox.returncode == 128 + signal.SIGKILL  # the shell saw its child killed, then exited


# -- confine.enter: fail closed as root, go on as a student's own account --------------------

#: A one-instruction filter the kernel accepts (return ALLOW) and one it refuses (EINVAL:
#: no such opcode).
ALLOW_ALL = (0x06).to_bytes(2, "little") + bytes(2) + (0x7FFF0000).to_bytes(4, "little")
REFUSED = bytes([0xFF, 0xFF]) + bytes(6)


def entered(seccomp: bytes, user: int | None = None, threads: int = 0) -> subprocess.CompletedProcess[str]:
    """Run confine.py's source with ``threads`` extra threads started, as ``user``: enter with
    ``seccomp`` and no uid of its own (a harness that is not root, or a root process before
    it switches), then print ``ran``."""
    source = (Path(launch.__file__).parent / "confine.py").read_text(encoding="utf-8")
    start = (
        f"import threading, time\nfor _ in range({threads}):\n"
        "    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    )
    run = start + "enter({}, None, bytes.fromhex(sys.argv[1]))\nprint('ran')\n"
    program = source.replace('if __name__ == "__main__":\n    main()\n', run)
    assert program != source
    argv = [sys.executable, "-I", "-B", "-c", program, seccomp.hex()]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/")


@needs_root
def test_a_filter_that_cannot_be_installed_stops_root_but_not_a_students_own_account() -> None:
    """At the rlimits level a student checking their own code (not root) keeps the rlimits
    where the seccomp filter cannot be installed; a root harness never runs code unfiltered."""
    nobody = 65534
    assert entered(ALLOW_ALL).stdout == "ran\n"
    assert entered(ALLOW_ALL, user=nobody).stdout == "ran\n"
    refused = entered(REFUSED)
    assert refused.stdout == "" and "ConfineError" in refused.stderr and "seccomp" in refused.stderr, refused
    assert entered(REFUSED, user=nobody).stdout == "ran\n"


@needs_root
def test_a_process_with_a_second_thread_installs_nothing() -> None:
    """seccomp and the bounding set bind only the calling thread: as root, enter refuses to
    go on beside another thread, which would run unfiltered; a student's own account (a
    NumPy that starts threads of its own) goes on with the rlimits, as without a filter."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("no /proc to count threads")
    assert entered(ALLOW_ALL, threads=0).stdout == "ran\n"
    crowded = entered(ALLOW_ALL, threads=1)
    assert crowded.stdout == "" and "2 threads running" in crowded.stderr, crowded
    assert entered(ALLOW_ALL, user=65534, threads=1).stdout == "ran\n"
