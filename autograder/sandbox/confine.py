"""Inside the sandbox: become the sandbox's uid, then lower the rlimits, before any untrusted code.

One function, :func:`enter`, for every sandboxed process: the plain worker
(``worker.py``), a worker forked by the zygote (``zygote.py``) and the notebook
kernel (run as ``python -c <this file> LIMITS UID -c <kernel start> ...``,
which enters and then becomes the kernel).  The limits come from
:func:`autograder.sandbox.launch.rlimits`, computed by the harness from the
sandbox's configuration; the seccomp filter is already in force (bubblewrap
installs it on the sandbox's first process, and every process inherits it).

Copied beside ``worker.py`` into the sandbox: it may import only the standard library.  (Its
source is also a kernel's command line, where Jupyter replaces a word in braces: it has none.)
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any


class ConfineError(Exception):
    """The process could not become the sandbox's uid: it must not run untrusted code."""


def enter(limits: dict[str, Any], uid: int | None) -> None:
    """Become ``uid`` for good (when given and not already), then lower each rlimit of ``limits``
    (``{"AS": [soft, hard], ...}``) to at most its value, soft and hard alike where they are
    equal, so that the process cannot raise them again.  A limit this system lacks is skipped.

    Raises ConfineError when the process is not ``uid`` afterwards.
    """
    if uid is not None:
        if os.geteuid() == 0:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid):
            raise ConfineError("not running as the sandbox uid " + str(uid) + ": " + repr(os.getresuid()))
    for name, (soft, hard) in limits.items():
        which = getattr(resource, "RLIMIT_" + name, None)
        if which is None:
            continue
        old_hard = resource.getrlimit(which)[1]
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(int(soft), old_hard), min(int(hard), old_hard)
        try:
            resource.setrlimit(which, (int(soft), int(hard)))
        except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS
            pass


def main() -> None:
    """``LIMITS_JSON UID ARGS...``: enter, then exec this interpreter with ``ARGS``."""
    limits, uid, args = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    enter(limits, uid if uid >= 0 else None)
    os.environ.pop("JPY_PARENT_PID", None)
    os.execv(sys.executable, [sys.executable, "-B", *args])


if __name__ == "__main__":
    main()
