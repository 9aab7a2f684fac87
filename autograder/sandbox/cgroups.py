"""A memory and pids cgroup per sandbox, where this machine lets the grader make one.

RLIMIT_AS bounds a worker's address space, not the kernel memory it makes the
kernel spend: a million empty folders in a tmpfs cost gigabytes of dentries and
inodes (and tmpfs pages are nobody's address space).  A memory cgroup counts
both: the sandbox's processes are put in a cgroup of their own whose limit
covers the address space, the tmpfs sizes and a margin, and the kernel's OOM
killer ends the sandbox when the limit is reached (a SIGKILL the harness reports
as a limit).  A pids cgroup caps the processes of the sandbox as a whole.

Two layouts: the unified hierarchy (cgroup v2: ``memory.max``, ``pids.max``,
when this process's cgroup may delegate those controllers) and the legacy one
(cgroup v1: ``memory.limit_in_bytes``, which counts kernel memory too, and
``pids.max``).  Where neither can be had (not root, no writable cgroup
filesystem), :func:`availability` says why and sandboxes run without.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: Memory a sandbox may use beyond its address-space limit and tmpfs sizes: page tables,
#: kernel stacks, bubblewrap, the zygote.
MARGIN_BYTES = 128 * 1024 * 1024
#: Processes (and threads) of a sandbox beyond those its code may start: bubblewrap, its
#: init, the worker or zygote, a killer.
PIDS_MARGIN = 8


@dataclass(frozen=True)
class _Layout:
    """Where sandbox cgroups are made: the hierarchy's version and the parent folders of the
    memory and pids cgroups (the same folder in v2; no pids folder when that controller is missing)."""

    version: int
    memory: Path
    pids: Path | None


@cache
def _layout() -> _Layout | str:
    """The folders new cgroups go in, or why there are none."""
    if os.getuid() != 0:
        return "not running as root"
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError as exc:
        return f"cannot read /proc/self/cgroup ({exc.strerror})"
    own = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            own[name] = path.lstrip("/")
    if "memory" in own and (CGROUP_ROOT / "memory").is_dir():
        memory = CGROUP_ROOT / "memory" / own["memory"]
        pids = CGROUP_ROOT / "pids" / own["pids"] if "pids" in own else None
        return _probe(_Layout(1, memory, pids if pids is not None and pids.is_dir() else None))
    if "" in own and (CGROUP_ROOT / "cgroup.controllers").is_file():
        parent = CGROUP_ROOT / own[""]
        try:
            available = (parent / "cgroup.subtree_control").read_text().split()
        except OSError as exc:
            return f"cannot read the cgroup's controllers ({exc.strerror})"
        if "memory" not in available:
            return "the memory controller is not delegated to this process's cgroup (cgroup v2)"
        return _probe(_Layout(2, parent, parent if "pids" in available else None))
    return "no memory cgroup controller mounted"


def _probe(layout: _Layout) -> _Layout | str:
    """``layout`` when a cgroup can be made and removed there, else why not."""
    probe = layout.memory / f"autograder-probe-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        return f"cannot make a memory cgroup in {layout.memory} ({exc.strerror})"
    return layout


def availability() -> str | None:
    """None when sandboxes get cgroups here, else why not (for the isolation description)."""
    layout = _layout()
    return layout if isinstance(layout, str) else None


def isolation_label(level: str) -> str:
    """What a result's isolation field says for a sandbox of ``level``: the level, and at the
    bwrap level whether sandboxes go without a memory cgroup here (kernel memory unbounded)."""
    if level == "bwrap" and availability() is not None:
        return f"{level}, no memory cgroup"
    return level


def description() -> str:
    """One phrase for the isolation description: what bounds a sandbox's kernel memory."""
    layout = _layout()
    if isinstance(layout, str):
        return f"no memory cgroup per sandbox ({layout}): kernel memory is not bounded"
    pids = " and pids" if layout.pids is not None else ""
    return f"a memory{pids} cgroup (v{layout.version}) per sandbox, counting kernel memory and tmpfs pages"


class SandboxCgroup:
    """The cgroup(s) of one sandbox: made with limits, joined by the launched command, removed."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders

    @classmethod
    def create(cls, memory_bytes: int, processes: int) -> SandboxCgroup | None:
        """A new cgroup limited to ``memory_bytes`` (kernel memory included) and ``processes``;
        None where cgroups cannot be had or the limits cannot be set."""
        layout = _layout()
        if isinstance(layout, str):
            return None
        name = f"autograder-{os.getpid()}-{secrets.token_hex(6)}"
        made: list[Path] = []
        try:
            memory = layout.memory / name
            memory.mkdir()
            made.append(memory)
            if layout.version == 1:
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                swap = memory / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    swap.write_text(str(memory_bytes))
            else:
                (memory / "memory.max").write_text(str(memory_bytes))
                if (memory / "memory.swap.max").exists():
                    (memory / "memory.swap.max").write_text("0")
            if layout.pids is not None:
                if layout.version == 1:
                    pids = layout.pids / name
                    pids.mkdir()
                    made.append(pids)
                else:
                    pids = memory
                (pids / "pids.max").write_text(str(processes))
        except OSError:
            cls(made).remove()
            return None
        return cls(made)

    def wrap(self, argv: list[str], oom_protected: bool = False) -> list[str]:
        """``argv`` run by a shell that first moves itself into the cgroup(s), then execs it:
        every process of the sandbox is in them from its first instruction on.  With
        ``oom_protected`` the OOM killer spares it and what it starts, unless they raise
        their own score again (a fork server's zygote does for each worker)."""
        steps = [f'echo $$ > "${i + 1}"' for i in range(len(self.folders))]
        if oom_protected:
            # Best effort: some machines refuse lowering the score even to root.
            steps.append("{ echo -1000 > /proc/self/oom_score_adj; } 2>/dev/null || true")
        script = " && ".join([*steps, f"shift {len(self.folders)}", 'exec "$@"'])
        return ["/bin/sh", "-c", script, "sh", *(str(f / "cgroup.procs") for f in self.folders), *argv]

    def remove(self) -> bool:
        """Remove the cgroup(s) once their processes are gone (retried for a second); True when done."""
        deadline = time.monotonic() + 1.0
        left = list(self.folders)
        while left:
            for folder in list(left):
                try:
                    folder.rmdir()
                    left.remove(folder)
                except FileNotFoundError:
                    left.remove(folder)
                except OSError:
                    pass
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.folders = left
        return not left


def sweep(alive: Callable[[int], bool]) -> None:
    """Remove the empty cgroups of sandboxes whose grading process (``alive(pid)`` False) died
    without removing them."""
    layout = _layout()
    if isinstance(layout, str):
        return
    for parent in {layout.memory, layout.pids} - {None}:
        assert parent is not None
        for folder in parent.glob("autograder-*"):
            owner = folder.name.split("-")[1]
            if owner.isdigit() and not alive(int(owner)):
                try:
                    folder.rmdir()
                except OSError:
                    pass
