"""Attack: read what a submission graded before by the same fork server left behind (see
``covert_sender``): sockets and protocol state in /proc/net, unix sockets, files, folders,
free space and the inode counter of /tmp and the home folder, the pid counter, and the
processes still running.  ``double`` prints all it observes as one JSON line.

Expected: the same line after ``covert_sender`` as after an honest submission (the pair
test in tests/test_adversarial.py); alone, ``double`` fails (zeros), ``add`` passes.
"""

import errno
import hashlib
import json
import os
import socket

import numpy as np


def add(a, b):
    return np.add(a, b)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, "?")


def _processes():
    out = []
    for entry in sorted(os.listdir("/proc")):
        if entry.isdigit():
            status = _read(f"/proc/{entry}/status")
            uid = [line.split()[1] for line in status.splitlines() if line.startswith("Uid:")]
            name = [line.split()[1] for line in status.splitlines() if line.startswith("Name:")]
            out.append([int(entry), uid[:1], name[:1]])
    return out


def _new_inode(folder):
    path = os.path.join(folder, "probe")
    try:
        with open(path, "w"):
            pass
        number = os.stat(path).st_ino
        os.unlink(path)
        return number
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, "?")


def observe():
    seen = {
        "pid": os.getpid(),
        "ns_last_pid": _read("/proc/sys/kernel/ns_last_pid").strip(),
        "loadavg_last_pid": _read("/proc/loadavg").split()[-1],
        "processes": _processes(),
    }
    for name in ("tcp", "tcp6", "udp", "udp6", "raw", "unix", "sockstat", "sockstat6", "snmp", "netstat"):
        text = _read(f"/proc/net/{name}")  # long tables: their line count and digest
        seen[f"/proc/net/{name}"] = [text.count("\n"), hashlib.sha256(text.encode()).hexdigest()[:16]]
    for folder in ("/tmp", os.getcwd(), "/dev/shm"):
        try:
            st = os.statvfs(folder)
            seen[folder] = [sorted(os.listdir(folder)), st.f_bfree, st.f_ffree, _new_inode(folder)]
        except OSError as exc:
            seen[folder] = errno.errorcode.get(exc.errno or 0, "?")
    try:
        with socket.socket(socket.AF_UNIX) as unix:
            unix.connect("\0covert-hidden-inputs-0.4142")
        seen["abstract socket"] = "connected"
    except OSError as exc:
        seen["abstract socket"] = errno.errorcode.get(exc.errno or 0, "?")
    return seen


def double(x):
    print("observed: " + json.dumps(observe(), sort_keys=True))
    return np.zeros_like(x)
