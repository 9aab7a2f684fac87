"""Attack: run shell commands (os.system, subprocess, os.popen, posix_spawn, pty, fork,
threads) to touch a file on the host.

Expected at the bwrap level: no child process can start (EAGAIN); the file never appears;
``double`` fails (zeros), ``add`` passes.
"""

import os
import pty
import subprocess
import threading

import numpy as np

TARGETS: dict = {}  # host paths, filled in by tests/test_adversarial.py
IN_SANDBOX = os.getcwd() == "/home/student"


def add(a, b):
    return np.add(a, b)


def _fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return pid


def double(x):
    if not IN_SANDBOX:  # never run commands on a real machine
        return np.zeros_like(x)
    marker = TARGETS.get("pwn_paths", ["/tmp/PWNED"])[0]
    command = f"touch {marker}"
    attempts = {
        "os.system": lambda: os.system(command),
        "subprocess.run": lambda: subprocess.run(["/bin/sh", "-c", command], check=True),
        "os.popen": lambda: os.popen(command).close(),
        "os.posix_spawn": lambda: os.posix_spawn("/bin/sh", ["sh", "-c", command], {}),
        "pty.fork": lambda: pty.fork()[0] or os._exit(0),
        "os.fork": _fork,
        "thread": lambda: threading.Thread(target=os.system, args=(command,)).start(),
    }
    ran = []
    for name, attempt in attempts.items():
        try:
            result = attempt()
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            print(f"{name}: {type(exc).__name__}: {exc}")
            continue
        if name == "os.system" and result != 0:
            print(f"{name}: status {result}")
            continue
        ran.append(name)
    print(f"commands that ran: {len(ran)} {ran}")
    return np.zeros_like(x)
