"""Workers forked from a fork server (sandbox/forkserver.py + zygote.py): as confined as plain ones,
nothing carried from one submission to the next, and a broken zygote never breaks grading.

The generic sandbox behaviour at this level (errors, exits, timeouts, limits, replies) runs in
tests/test_sandbox.py at its ``fork`` level; the corpus of attacks in tests/test_adversarial.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from corpus import write_mistake
from test_isolation import tmp_listing

from autograder.grading import GradingJob, grade
from autograder.paths import CourseDir
from autograder.sandbox import forkserver
from autograder.sandbox.client import SandboxConfig, WorkerSandbox
from autograder.sandbox.isolation import Isolation, bwrap_problem
from autograder.sandbox.launch import processes_of, seccomp_filter
from autograder.spec import load_spec
from autograder.submission import load_submission

pytestmark = [
    pytest.mark.skipif(bwrap_problem() is not None, reason=f"strict isolation unavailable: {bwrap_problem()}"),
    pytest.mark.skipif(os.getuid() != 0, reason="fork servers need root (they hand out uids)"),
]

REPO = Path(__file__).resolve().parent.parent

PROBE = '''
import os


def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return {k: fields[k].split() for k in ("Uid", "Gid", "Groups", "CapEff", "CapPrm", "CapAmb",
                                           "NoNewPrivs", "Seccomp")}


def plant():
    """Leave everything a later submission could find."""
    for folder in (".", "/tmp", "/dev/shm"):
        try:
            with open(os.path.join(folder, "planted.txt"), "w") as f:
                f.write("secret answers")
        except PermissionError:  # /dev/shm is not writable in the sandbox: all the better
            pass
    os.makedirs("/tmp/locked/deeper")
    open("/tmp/locked/deeper/f", "w").close()
    os.chmod("/tmp/locked/deeper", 0)
    os.chmod("/tmp/locked", 0)
    if os.fork() == 0:  # a daemon in a session of its own, waiting for the next student
        os.setsid()
        if os.fork() == 0:
            import time
            while True:
                time.sleep(1)
        os._exit(0)
    return sorted(os.listdir("/tmp"))


def look():
    """What this submission finds that it did not make."""
    mine = os.getuid()
    others = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                uid = int(open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[0])
            except (OSError, IndexError):
                continue
            if uid == mine:
                others.append(pid)
    return {"cwd": sorted(os.listdir(".")), "tmp": sorted(os.listdir("/tmp")),
            "shm": sorted(os.listdir("/dev/shm")), "processes": others}
'''


def config(**kwargs: object) -> SandboxConfig:
    return SandboxConfig(isolation=Isolation("bwrap"), call_timeout=10, memory_mb=512, **kwargs)  # type: ignore[arg-type]


def forked(source: str = PROBE, **kwargs: object) -> WorkerSandbox:
    return WorkerSandbox({"probe.py": source.encode()}, ("probe.py",), config(**kwargs), fork=True)


def test_a_forked_worker_has_its_own_uid_and_no_capability() -> None:
    with forked() as sandbox:
        outcome = sandbox.call("status", (), {})
        assert sandbox._server is not None, "the worker did not come from a fork server"
        uid = sandbox.uid
    assert outcome.ok, outcome.message
    s = outcome.value
    assert uid is not None and uid > 0
    assert s["Uid"] == [str(uid)] * 4 and s["Gid"] == [str(uid)] * 4 and s["Groups"] == []
    assert int(s["CapEff"][0], 16) == int(s["CapPrm"][0], 16) == int(s["CapAmb"][0], 16) == 0
    assert s["NoNewPrivs"] == ["1"]
    if seccomp_filter() is not None:
        assert s["Seccomp"] == ["2"]  # filtered


def test_nothing_carries_over_to_the_next_submission() -> None:
    with forked(max_processes=4) as first:
        planted = first.call("plant", (), {})
        server, uid = first._server, first.uid
    assert planted.ok, planted.message
    assert server is not None and server.renews and server.same_pids  # fresh tmpfs, same pid
    assert "planted.txt" in planted.value and "locked" in planted.value
    forkserver.settle_all()  # the clean-up release() began
    assert uid is not None and processes_of(uid) == []

    with forked(max_processes=4) as second:  # the same limits, so the same fork server
        seen = second.call("look", (), {})
        assert second._server is server and second.uid == uid  # the same zygote and uid
    assert seen.ok, seen.message
    assert seen.value == {"cwd": ["probe.py"], "tmp": tmp_listing(), "shm": [], "processes": []}


def test_a_dead_zygote_is_replaced_and_grading_goes_on() -> None:
    with forked() as first:
        assert first.call("look", (), {}).ok
        server = first._server
    assert server is not None and server._proc is not None
    os.kill(server._proc.pid, signal.SIGKILL)  # bubblewrap: its sandbox dies with it
    server._proc.wait(timeout=10)
    with forked() as second:
        outcome = second.call("look", (), {})
        assert second._server is not None and second._server is not server
    assert outcome.ok, outcome.message


def test_a_zygote_dying_mid_call_fails_that_call_only() -> None:
    source = PROBE + "\n\ndef nap():\n    import time\n    time.sleep(30)\n"
    with forked(source) as sandbox:
        assert sandbox.call("look", (), {}).ok
        server = sandbox._server
        assert server is not None and server._proc is not None
        pid = server._proc.pid
        started = time.monotonic()
        import threading

        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
        outcome = sandbox.call("nap", (), {})
        assert time.monotonic() - started < 10
        assert outcome.kind == "grader_error" and "fork server stopped" in outcome.message
        again = sandbox.call("look", (), {})
    assert again.ok, again.message


def test_forked_and_plain_workers_grade_alike(tmp_path: Path) -> None:
    course = CourseDir(REPO)
    spec = load_spec(course.spec_file("assignment3"))
    job = GradingJob.for_assignment(course, spec, hidden=True, seed=7, isolation=Isolation("bwrap"))
    for path in (course.solution_dir("assignment3"), write_mistake("assignment3", "wrong_stride_ignored", tmp_path)):
        submission = load_submission(path, spec)
        plain = grade(submission, job)
        fast = grade(submission, job, fork=True)
        assert [(c.name, c.outcome, c.score, c.message) for c in fast.checks] == [
            (c.name, c.outcome, c.score, c.message) for c in plain.checks
        ]
        assert fast.score == plain.score
    assert forkserver._servers, "no fork server was used"


def test_a_worker_killed_before_it_dropped_root_dies_too() -> None:
    """A worker caught before its first frame is still root, beyond the reach of the helper
    that kills the uid's processes: the zygote must kill it, or it would run the student's
    code later, during the next submission graded by the same fork server."""
    server = forkserver.acquire(config())
    assert server is not None
    with open(os.devnull, "wb") as err:
        worker = server.fork(err.fileno())  # no first frame sent: it waits for it, as root
    try:
        server.kill_all()
        assert worker.wait(timeout=5) == -signal.SIGKILL
        assert not server.broken
    finally:
        for stream in (worker.stdin, worker.stdout):
            if stream is not None:
                stream.close()
        forkserver.release(server)
        forkserver.settle_all()


def _grade_one_in_a_pool_process() -> tuple[int, list[str]]:
    """In a batch's pool process: one forked worker; (this pid, the fork server's folders and cgroups)."""
    with forked() as sandbox:
        assert sandbox.call("look", (), {}).ok
        server = sandbox._server
        assert server is not None
        owned = [str(server._tmp), *(str(f) for f in (server._cgroup.folders if server._cgroup else []))]
    return os.getpid(), owned


def test_a_pool_process_leaves_no_fork_server_folder_or_cgroup(tmp_path: Path) -> None:
    import multiprocessing
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    # What a process killed outright left: swept by the next fork server's process.
    stale = Path(tempfile.gettempdir()) / f"{forkserver.FOLDER_PREFIX}999999999-stale"
    (stale / "worker").mkdir(parents=True)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pid, owned = pool.submit(_grade_one_in_a_pool_process).result()
    assert pid != os.getpid() and owned
    assert f"{forkserver.FOLDER_PREFIX}{pid}-" in owned[0]
    assert [path for path in owned if os.path.exists(path)] == []  # pool processes end with os._exit
    assert not stale.exists()


DEEP = '''
import os


def deep(levels):
    """A chain of ``levels`` folders in /tmp and in the home folder, the deepest closed with chmod."""
    for top in ("/tmp", os.getcwd()):
        os.chdir(top)
        os.mkdir("chain")
        os.chdir("chain")
        for _ in range(levels):
            os.mkdir("d" * 200)
            os.chdir("d" * 200)
        open("f", "w").close()
        os.chmod(".", 0)
    os.chdir("/")
    return True


def crash():
    os._exit(3)


def listing():
    return sorted(os.listdir("/tmp")), sorted(os.listdir(os.path.expanduser("~")))
'''


@pytest.mark.parametrize("renew", [True, False], ids=["fresh-tmpfs", "emptied-by-the-zygote"])
def test_a_deep_folder_chain_is_removed_and_never_blames_the_next_student(renew: bool) -> None:
    """1,200 levels (deeper than Python's recursion limit) left in /tmp and the home folder:
    removed when the worker restarts within the submission and before the next one."""
    with forked(DEEP) as first:
        first.start()
        assert first._server is not None
        server = first._server
        server.renews = server.renews and renew
        assert first.call("deep", (1200,), {}).ok
        assert first.call("crash", (), {}).kind == "crash"
        again = first.call("listing", (), {})  # a new worker of the same submission
        assert again.ok, again.message
        assert "chain" not in again.value[0] + again.value[1]
        assert first.call("deep", (1200,), {}).ok
    with forked(DEEP) as second:
        seen = second.call("listing", (), {})
        assert second._server is server and not server.broken
    assert seen.ok and seen.kind == "ok", seen.message
    assert seen.value == (tmp_listing(), ["probe.py"])


def test_a_process_full_of_idle_fork_servers_makes_room_for_another_configuration() -> None:
    configs = [
        SandboxConfig(isolation=Isolation("bwrap"), memory_mb=1024 + i) for i in range(forkserver.MAX_SERVERS + 1)
    ]
    servers = []
    for config in configs:
        server = forkserver.acquire(config)
        assert server is not None, "no fork server for a new configuration"
        servers.append(server)
        forkserver.release(server)
    assert servers[0] not in forkserver._servers  # the oldest idle one made room


LAZY = """
import os


def lazy_imports():
    import numpy.polynomial
    import numpy.random
    return numpy.random.__file__, numpy.polynomial.__file__


def where_the_python_is(prefix, keep):
    try:
        open(os.path.join(prefix, "planted.txt"), "w").close()
        wrote = True
    except OSError:
        wrote = False
    return wrote, os.path.isdir(keep) and os.listdir(keep)
"""

GRADER = """
import json, site, sys
site.addsitedir(sys.argv[1])
from autograder.sandbox.client import SandboxConfig, WorkerSandbox
from autograder.sandbox.isolation import Isolation

config = SandboxConfig(isolation=Isolation("bwrap"), call_timeout=20, memory_mb=768)
seen = []
for _ in range(2):  # the second submission gets a fresh /tmp
    with WorkerSandbox({"probe.py": sys.argv[2].encode()}, ("probe.py",), config, fork=True) as box:
        imported = box.call("lazy_imports", (), {})
        written = box.call("where_the_python_is", (sys.prefix, "/.renew-keep"), {})
        assert box._server is not None and box._server.renews, "no fork server, or one that renews nothing"
        seen.append([imported.ok, imported.message, imported.value, written.value])
print(json.dumps(seen))
"""


def test_an_interpreter_installed_under_tmp_stays_whole_when_tmp_is_renewed(tmp_path: Path) -> None:
    """A virtual environment made under /tmp (as CI does): the fresh tmpfs each submission gets
    must still show its interpreter and NumPy, read-only, so that a lazy ``import numpy.random``
    works, and nothing else of the renewal is visible."""
    import json
    import subprocess
    import sys
    import sysconfig

    import numpy

    assert str(tmp_path).startswith("/tmp/"), "pytest's temporary folders are not under /tmp here"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    installed = Path(numpy.__file__).parent
    for folder in (installed, installed.with_name("numpy.libs")):
        if folder.is_dir():
            shutil.copytree(folder, Path(site_packages) / folder.name, symlinks=True)
    ours = sysconfig.get_paths()["purelib"]  # the grader itself and its other dependencies
    run = subprocess.run([str(python), "-c", GRADER, ours, LAZY], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    for ok, message, value, written in json.loads(run.stdout):
        assert ok, message
        assert all(path.startswith(site_packages) for path in value), value  # the copy under /tmp
        assert written == [False, []], "the interpreter is writable, or the renewal's stash is visible"


def test_a_fork_server_that_failed_to_start_is_tried_again_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """One failed start (a full disk, a busy uid) must not cost the rest of a long batch its
    fork servers: the configuration waits, twice as long after each failure in a row, then
    gets a new try."""
    monkeypatch.setattr(forkserver, "_failed", {})
    cfg = SandboxConfig(isolation=Isolation("bwrap"), memory_mb=1000)
    real_init = forkserver.ForkServer.__init__
    now = [time.monotonic()]
    monkeypatch.setattr(forkserver.time, "monotonic", lambda: now[0])

    def broken(self: forkserver.ForkServer, config: object) -> None:
        raise forkserver.ForkServerError("the zygote did not start")

    monkeypatch.setattr(forkserver.ForkServer, "__init__", broken)
    for in_a_row, wait in ((1, forkserver.RETRY_FIRST), (2, 2 * forkserver.RETRY_FIRST)):
        assert forkserver.acquire(cfg) is None
        failure = forkserver._failed[forkserver.server_key(cfg)]
        assert (failure.in_a_row, failure.reason) == (in_a_row, "the zygote did not start")
        assert not forkserver.available(cfg) and forkserver.acquire(cfg) is None  # waiting
        now[0] += wait - 0.5
        assert not forkserver.available(cfg)
        now[0] += 0.5
        assert forkserver.available(cfg)
    monkeypatch.setattr(forkserver.ForkServer, "__init__", real_init)
    server = forkserver.acquire(cfg)
    assert server is not None, "the configuration was given up for good"
    forkserver.release(server)
    assert forkserver.server_key(cfg) not in forkserver._failed  # a start that works forgets
