"""Attack: leave a message for the next submission of the same fork server, in everything
that might outlive this one: TCP/UDP state in the network namespace (TIME_WAIT entries in
/proc/net/tcp), a unix socket, files and folders in /tmp and the home folder (hundreds of
them, to move the tmpfs inode counter and free-inode count), a 1,200-level folder chain and
a folder closed with chmod (which once broke the clean-up with a RecursionError), child
processes and threads (to move the pid counter, or to keep running and slow the next one
down).  ``covert_receiver`` looks for all of it.

Expected at the bwrap level: the sockets are refused (EAFNOSUPPORT) but the unix one,
no process or thread can be started; the folder flood stops at the tmpfs inode cap
(ENOSPC), for a worker of its own as for one forked from a fork server, where the harness
is root (no other user can set the cap); ``double`` fails
(zeros), ``add`` passes.  The pair test in
tests/test_adversarial.py shows the receiver sees exactly what it sees after an honest
submission.
"""

import errno
import os
import socket
import threading

import numpy as np

MESSAGE = "covert-hidden-inputs-0.4142"
_KEEP = []


def add(a, b):
    return np.add(a, b)


def _err(exc):
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def _sockets():
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            server = socket.socket(family)
            server.bind((host, 0))
            server.listen()
            client = socket.create_connection(server.getsockname()[:2], timeout=1)
            client.close()  # the closing side keeps a TIME_WAIT entry for 60 s
            print(f"tcp {family.name}: connected")
        except OSError as exc:
            print(f"tcp {family.name}: {_err(exc)}")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            print("udp: bound")
    except OSError as exc:
        print(f"udp: {_err(exc)}")
    for name in ("\0" + MESSAGE, "/tmp/" + MESSAGE + ".sock"):
        try:
            unix = socket.socket(socket.AF_UNIX)
            unix.bind(name)
            unix.listen()
            _KEEP.append(unix)
            print("unix: bound")
        except OSError as exc:
            print(f"unix: {_err(exc)}")


def _files():
    for folder in ("/tmp", os.getcwd(), "/dev/shm"):
        try:
            with open(os.path.join(folder, MESSAGE), "w") as f:
                f.write(MESSAGE)
            print(f"file in {folder}: written")
        except OSError as exc:
            print(f"file in {folder}: {_err(exc)}")
    here = os.getcwd()
    try:
        os.chdir("/tmp")
        for _ in range(1200):
            os.mkdir("d")
            os.chdir("d")
        print("chain of 1200 folders: made")
    except OSError as exc:
        print(f"chain: {_err(exc)}")
    finally:
        os.chdir(here)
    try:
        os.mkdir("/tmp/closed")
        open("/tmp/closed/inside", "w").close()
        os.chmod("/tmp/closed", 0)
    except OSError:
        pass
    made = 0
    try:
        while made < 20_000:
            os.mkdir(f"/tmp/flood-{made}")
            made += 1
        print("folder flood: 20000 made")
    except OSError as exc:
        print(f"folder flood: {_err(exc)} after {made} folders")


def _processes():
    try:
        pid = os.fork()
        if pid == 0:
            while True:  # spin for as long as it lives
                pass
        print("fork: started a spinner")
    except OSError as exc:
        print(f"fork: {_err(exc)}")
    try:
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        print("thread: ran")
    except RuntimeError as exc:
        print(f"thread: {exc}")


def double(x):
    if not _KEEP:  # once per worker; later calls print the same report again
        _KEEP.append(None)
        real_print, lines = print, []
        globals()["print"] = lines.append
        try:
            _sockets()
            _files()
            _processes()
        finally:
            globals()["print"] = real_print
        _KEEP.append("\n".join(lines))
    print(_KEEP[-1])
    return np.zeros_like(x)
