"""Attack: write, overwrite or delete files outside the sandbox's own folders: the results
file, the course, a file in the host's /tmp, system folders, the grader's worker code and
the student's own (read-only) module.

Expected at the bwrap level: every such write fails (writes to its own tmpfs folders work and
vanish); ``double`` fails (zeros), ``add`` passes.
"""

import os

import numpy as np

TARGETS: dict = {}  # host paths, filled in by tests/test_adversarial.py


def add(a, b):
    return np.add(a, b)


def double(x):
    here = os.getcwd()
    outside = [
        *TARGETS.get("pwn_paths", []),
        TARGETS.get("result_file", ""),
        TARGETS.get("course_canary", ""),
        TARGETS.get("tmp_canary", ""),
        "/PWNED",
        "/usr/PWNED",
        "/etc/PWNED",
        "/opt/grader-worker/worker.py",
        "/opt/grader-worker/PWNED",
        os.path.join(here, "target.py"),
    ]
    outside = [p for p in outside if p]
    done = []
    for path in outside:
        try:
            with open(path, "a") as f:
                f.write("PWNED\n")
            done.append(path)
        except OSError:
            pass
        try:
            os.remove(path)
            done.append(f"rm {path}")
        except OSError:
            pass
    inside = 0
    for path in ("/tmp/mine.txt", os.path.join(here, "mine.txt")):
        with open(path, "w") as f:
            inside += f.write("scratch")
    print(f"tried {len(outside)} paths outside; succeeded: {len(done)} {done}; wrote {inside} bytes in its own folders")
    return np.zeros_like(x)
