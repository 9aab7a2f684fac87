"""Inside a long-lived sandbox: fork one worker per submission from a process with NumPy loaded.

Started by :mod:`.forkserver` as root inside a bubblewrap sandbox (the same
view of the system as a worker's, see :mod:`.isolation`) with only
CAP_SETUID, CAP_SETGID and CAP_CHECKPOINT_RESTORE, an empty capability bounding set
and ``no_new_privs``.  It never runs student code
and never reads a submission: it only obeys its control socket (fd 0, a
``SOCK_SEQPACKET`` socket whose other end the harness holds).

Requests, one JSON object per packet:

``{"op": "fork", "job": ID, "uid": N}`` with three file descriptors
    Fork a worker that runs as uid ``N`` (groups cleared; its effective,
    permitted and ambient capabilities drop with root, and no_new_privs keeps
    exec from granting any), in a session of its own, with the descriptors as
    its stdin, stdout and stderr and nothing else open, then serves the
    harness exactly as a freshly started ``worker.py`` does (the submission's
    files arrive in its first frame, with the limits it enters with the uid through
    :mod:`.confine`, as every sandboxed process does).  Reply ``{"op": "forked", "job": ID}``.
``{"op": "kill", "job": ID, "uid": N}``
    Fork a killer as ``N`` that sends SIGKILL to every process it may signal
    (``kill(-1)``: every process of ``N`` in this pid namespace, which is all
    that student code can have started) until none is left.  Reply
    ``{"op": "killed", "job": ID, "ok": bool}``.
``{"op": "clean", "job": ID, "uid": N}``
    The same, then empty the folders a worker can write to, so the next
    submission finds nothing of this one.  Reply ``{"op": "cleaned", "job":
    ID, "ok": bool}``, ``ok`` only when nothing is left.  (Where it can, the
    harness instead asks for a kill and mounts fresh tmpfs over those folders
    from outside: nothing of them survives, not even their inode numbers.)

Every fork starts from the same pid: before each one the zygote sets the pid
namespace's last pid back to :data:`PID_BASE` (it keeps CAP_CHECKPOINT_RESTORE
for that), so the pid a worker gets, and those its children get, say nothing
of how many processes the submissions before it started.

Each reaped worker is reported as ``{"op": "exit", "job": ID, "status": S,
"cpu": SECONDS}`` with ``S`` as :attr:`subprocess.Popen.returncode` gives it
and the CPU time it and the children it waited for used.  The zygote exits
when the harness closes its end.  Like ``worker.py`` it may import only the
standard library, NumPy and the files beside it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import stat
import sys
import time
import traceback

import numpy  # noqa: F401 - the point of the zygote: every worker starts with it loaded

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import confine
import protocol
import worker

WORKDIR = worker.WORKDIR
#: Folders a worker may write to; all of them are emptied between submissions.
WRITABLE = (WORKDIR, "/tmp", "/dev/shm")
#: Exit status of a killer or cleaner that could not remove everything.
DIRTY = 3
#: The reply to each request that forks a helper, once the helper exited.
REPLIES = {"kill": "killed", "clean": "cleaned"}
#: The pid namespace's last pid before every fork: each worker gets the pid after it.
PID_BASE = 999


def _empty(folder: str) -> bool:
    """Remove every entry of ``folder`` this uid owns; True when none is left.  Never raises.

    Entries of other uids stay: the submission's files, which a worker's
    uid can neither change nor remove (root wrote them in a sticky folder).
    Folders are removed without recursion (a chain thousands of levels deep is
    no harder than a flat one), after opening any the student closed with chmod.
    """
    me = os.getuid()
    try:
        entries = os.listdir(folder)
    except OSError:
        return not os.path.lexists(folder)
    for name in entries:
        path = os.path.join(folder, name)
        try:
            if os.lstat(path).st_uid == me:
                remove_tree(path)
        except OSError:
            pass
    try:
        return not any(os.lstat(os.path.join(folder, n)).st_uid == me for n in os.listdir(folder))
    except OSError:
        return False


def remove_tree(path: str) -> None:
    """Remove ``path`` and, if it is a folder, everything below it; never raises.

    Neither recursion nor one open file per level nor long paths: the walk moves
    this process's working folder down and up (``..`` of a folder is its real
    parent), so a chain 100,000 levels deep of 255-character names is removed
    like a flat folder.  Links are removed, never followed; a folder the
    student closed with chmod is opened first; what cannot be removed stays (the
    caller's check finds it).  Only for a process of its own: nothing else may
    change the tree meanwhile, and the working folder is restored at the end.
    """
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            _unlink(path)
            return
        back = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.chdir(os.path.dirname(path) or ".")
        names: list[str] = []  # the folders entered, from ``path`` down
        stuck: list[set[str]] = [set()]  # per level: entries that could not be removed
        child: str | None = os.path.basename(path)
        while True:
            if child is not None:
                if _enter(child):
                    names.append(child)
                    stuck.append(set())
                elif not names:
                    return
                else:
                    stuck[-1].add(child)
            child = _empty_here(stuck[-1])
            if child is not None:
                continue
            os.chdir("..")
            done = names.pop()
            stuck.pop()
            try:
                os.rmdir(done)
            except OSError:
                stuck[-1].add(done)
            if not names:
                return
    except OSError:
        return
    finally:
        try:
            os.fchdir(back)
        except OSError:
            pass
        os.close(back)


def _enter(name: str) -> bool:
    """Make folder ``name`` (of the working folder) the working folder, never through a link."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        fd = os.open(name, flags)
    except PermissionError:
        try:
            if not stat.S_ISDIR(os.lstat(name).st_mode):
                return False
            os.chmod(name, 0o700)
            fd = os.open(name, flags)
        except OSError:
            return False
    except OSError:
        return False
    try:
        os.fchdir(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _empty_here(stuck: set[str]) -> str | None:
    """Remove the files and empty folders of the working folder; the name of a folder
    that is not empty (to walk into), or None when nothing more can be removed here."""
    while True:
        progress = False
        with os.scandir(".") as entries:
            for entry in entries:
                if entry.name in stuck:
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        try:
                            os.rmdir(entry.name)
                        except OSError:
                            return entry.name
                    else:
                        os.unlink(entry.name)
                    progress = True
                except OSError:
                    stuck.add(entry.name)
        if not progress:  # entries removed during a scan may hide others: scan again
            return None


def _unlink(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _prepare_workdir(names: list[str], contents: list[bytes]) -> None:
    """As root: clear the working folder of the last submission's files and write this one's,
    owned by root and read-only, in a sticky folder (so its worker can neither change nor
    remove them).  A folder the last worker made is moved aside for the next one to remove
    as its owner; nothing here follows a link."""
    for name in os.listdir(WORKDIR):
        path = os.path.join(WORKDIR, name)
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path)
        elif info.st_uid == os.getuid():
            remove_tree(path)
        else:
            os.rename(path, os.path.join(WORKDIR, f".stale-{os.urandom(8).hex()}"))
    for folder in WRITABLE[1:]:
        # Files here that the uid does not own (e.g. hard links to the last submission's
        # files) would escape its own clean-up; their folder is root's, so root removes them.
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            path = os.path.join(folder, name)
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                os.unlink(path)
    for name, data in zip(names, contents, strict=True):
        parts = name.split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            continue  # the harness never sends such a name
        folder = WORKDIR
        for part in parts[:-1]:
            folder = os.path.join(folder, part)
            if not os.path.isdir(folder) or os.path.islink(folder):
                os.mkdir(folder, 0o755)
        fd = os.open(os.path.join(folder, parts[-1]), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


def _others_alive() -> bool:
    """True while a process of this uid other than this one is alive (zombies are dead)."""
    me, uid = os.getpid(), str(os.getuid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if uid in fields.get("Uid", "").split()[:3] and not fields.get("State", "").strip().startswith(("Z", "X")):
            return True
    return False


def _kill_all() -> bool:
    """SIGKILL every process this one may signal (``kill(-1)``: those of its uid in this pid
    namespace) until none is left alive; False if some survive a second of it."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return True
        if not _others_alive():
            return True
        time.sleep(0.0001)
    return False


def _child(op: str, uid: int, fds: list[int], ctl: socket.socket, wakeup: tuple[int, int]) -> None:
    """In the forked child: become the worker, the killer or the cleaner; never returns."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        ctl.close()
        for fd in wakeup:
            os.close(fd)
        os.setsid()
        if op == "fork":
            _oom_killable()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            first = protocol.read_frame(worker.read_exact_from(os.fdopen(0, "rb", 0, closefd=False)), 1 << 30)
            _prepare_workdir([str(n) for n in first[0].get("files", [])], first[1])
            confine.enter(dict(first[0]["limits"]), uid)  # worker.main enters again: a no-op
            for folder in WRITABLE:  # what a killed worker of this submission left
                _empty(folder)
            os.chdir(WORKDIR)
            worker.main(first)
            os._exit(0)
        confine.enter({}, uid)
        ok = _kill_all()
        if op == "clean":
            ok = all([_empty(folder) for folder in WRITABLE]) and ok
        os._exit(0 if ok else DIRTY)
    except BaseException:
        try:
            os.write(2, f"autograder-zygote: {op} failed: {traceback.format_exc()}".encode())
        finally:
            os._exit(70)


def _oom_killable() -> None:
    """Give up the zygote's protection from the OOM killer: in the sandbox's memory cgroup,
    the worker is the one to go when it uses too much."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def _reset_pids() -> bool:
    """Set the pid namespace's last pid to :data:`PID_BASE`; False where that is not allowed."""
    try:
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(PID_BASE))
        return True
    except OSError:
        return False


def main() -> None:
    ctl = socket.socket(fileno=0)
    # Out of the writable folders: the harness may mount fresh ones over them, and a working
    # folder here would keep the old one (and all a submission left in it) alive.
    os.chdir("/")
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(write_end)
    jobs: dict[int, tuple[str, str]] = {}  # pid -> (job id, what the child does)
    #: Helpers that exited, waiting for every worker to be reaped: pid -> (job, op, ok).
    done: dict[int, tuple[str, str, bool]] = {}

    def send(message: dict[str, object]) -> None:
        ctl.sendall(json.dumps(message).encode())

    send({"op": "ready", "pid": os.getpid(), "pids": _reset_pids()})
    while True:
        try:
            readable, _, _ = select.select([ctl.fileno(), read_end], [], [])
        except InterruptedError:
            continue
        if read_end in readable:
            try:
                while os.read(read_end, 512):
                    pass
            except BlockingIOError:
                pass
        while jobs:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job, role = jobs.pop(pid, ("", ""))
            code = os.waitstatus_to_exitcode(status)
            if role in REPLIES:
                done[pid] = (job, role, code == 0)
            elif job:
                send({"op": "exit", "job": job, "status": code, "cpu": round(usage.ru_utime + usage.ru_stime, 6)})
        # A killer's or cleaner's reply waits until no worker is left, reaped: one killed
        # before it dropped to the uid (still root, out of the helper's reach) is killed below.
        if done and not any(role == "fork" for _, role in jobs.values()):
            for job, role, ok in done.values():
                send({"op": REPLIES[role], "job": job, "ok": ok})
            done.clear()
        if ctl.fileno() not in readable:
            continue
        data, fds, _, _ = socket.recv_fds(ctl, 65536, 3)
        if not data:
            return  # the harness is gone
        try:
            request = json.loads(data)
            op, job, uid = request["op"], str(request["job"]), int(request["uid"])
            if uid <= 0 or op not in ("fork", *REPLIES) or (op == "fork") != (len(fds) == 3):
                raise ValueError(f"bad request {request!r}")
        except (ValueError, KeyError, TypeError) as exc:
            for fd in fds:
                os.close(fd)
            send({"op": "error", "message": str(exc)[:500]})
            continue
        if op in REPLIES:
            # Workers that have not dropped to the uid yet are root, like this process: only
            # this process can kill them (the helper below kills those that have).
            for worker_pid, (_, role) in jobs.items():
                if role == "fork":
                    try:
                        os.kill(worker_pid, signal.SIGKILL)
                    except (PermissionError, ProcessLookupError):
                        pass
        _reset_pids()
        pid = os.fork()
        if pid == 0:
            _child(op, uid, fds, ctl, (read_end, write_end))
        for fd in fds:
            os.close(fd)
        jobs[pid] = (job, op)
        if op == "fork":
            send({"op": "forked", "job": job})


if __name__ == "__main__":
    main()
