"""What both sides of the sandbox share: its configuration, the outcome of a call, and the
:class:`Sandbox` protocol the checks program against.

The harness side (:mod:`.client`, :mod:`.forkserver`), the isolation layer
(:mod:`.isolation`) and the notebook kernel (:mod:`autograder.notebooks.execute`)
import these from here, so none of them imports another for its types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..spec import DEFAULT_FORBIDDEN, Limits
from .cgroups import MARGIN_BYTES, PIDS_MARGIN
from .isolation import Isolation

MiB = 1024 * 1024
#: The limits an assignment gets when its assignment.toml sets none: a sandbox's defaults.
_DEFAULT_LIMITS = Limits()

#: How a call into student code ended.  ``ok`` carries a value.
CallKind = Literal[
    "ok",
    "error",
    "timeout",
    "memory",
    "not_implemented",
    "forbidden",
    "missing",
    "bad_return",
    "crash",
    "grader_error",
]


@dataclass(frozen=True)
class CallOutcome:
    """The value of one call into student code, or its classified failure."""

    kind: CallKind
    function: str
    value: Any = None
    #: What went wrong, for the student; empty when ``ok``.
    message: str = ""
    #: Student frames only.
    traceback: str = ""
    #: Exception class name raised by the student's code, if any.
    exc_type: str = ""
    #: What the student's code printed during the call (capped).
    stdout: str = ""
    #: Wall time of the call as the harness measured it, seconds.
    elapsed: float = 0.0
    #: Arguments the call changed in place, by name (``argument N`` when unnamed), as the
    #: worker noticed from a digest of each array, list, tuple and dict argument.
    changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


@dataclass(frozen=True)
class SandboxConfig:
    """Limits and policy for one submission's worker.

    The first five default to an assignment's defaults (:class:`autograder.spec.Limits`,
    ``DEFAULT_FORBIDDEN``): a sandbox made without a spec is limited like one made from
    an assignment.toml that sets no limit.
    """

    #: Wall seconds for one call.
    call_timeout: float = _DEFAULT_LIMITS.call_timeout
    #: Address space of the worker, MiB.
    memory_mb: int = _DEFAULT_LIMITS.memory_mb
    #: CPU seconds of one worker process (a restarted worker starts again).
    cpu_seconds: int = _DEFAULT_LIMITS.cpu_seconds
    #: Characters of printed output kept per call.
    output_chars: int = _DEFAULT_LIMITS.output_chars
    forbidden: tuple[str, ...] = DEFAULT_FORBIDDEN
    isolation: Isolation = field(default_factory=lambda: Isolation.detect("auto"))
    #: Wall seconds of student code for the whole sandbox, all calls and start-ups
    #: together; None means twice ``cpu_seconds``.  Once spent, calls fail at once.
    total_timeout: float | None = None
    #: Child processes (and threads) student code may start.  Enforced exactly when the
    #: worker has a uid of its own (root started it); otherwise 0 forbids them and any
    #: other value leaves them unlimited.
    max_processes: int = 0
    #: Largest file the worker may write, bytes.
    file_bytes: int = 8 * MiB
    #: Size of each tmpfs (working folder, /tmp) at the bwrap level, bytes.
    tmp_bytes: int = 32 * MiB
    #: Files and folders each of those tmpfs may hold (each costs kernel memory that the size
    #: does not count), where the sandbox can set it: at the bwrap level with a root harness.
    tmp_inodes: int = 4096
    #: Open file descriptors of the worker.  Memory held in files is not counted by
    #: ``memory_mb``; these three bound it: 2 x tmp_bytes at the bwrap level, where the
    #: seccomp filter refuses memfd_create (so does the rlimits level's, on Linux), and
    #: open_files x file_bytes in memfds at the rlimits level elsewhere.
    open_files: int = 32
    #: Largest reply the harness reads from the worker, bytes.
    reply_bytes: int = 64 * MiB
    #: More host paths to hide from the worker (bwrap level), e.g. a course folder that
    #: lies inside a folder the sandbox shows.
    hide: tuple[str, ...] = ()

    @property
    def budget(self) -> float:
        """Wall seconds of student code for the whole sandbox."""
        return float(self.total_timeout if self.total_timeout is not None else 2 * self.cpu_seconds)


class Sandbox(Protocol):
    """What the checks need from a sandbox: call a student function by name."""

    isolation_level: str

    def start(self) -> None:
        """Begin loading the submission (may return before it is loaded)."""
        ...

    def call(self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallOutcome: ...

    def load_problems(self) -> list[str]:
        """Messages about module files that failed to import (empty when all loaded)."""
        ...

    def close(self) -> None: ...


def cgroup_limits(config: SandboxConfig) -> tuple[int, int]:
    """(memory bytes, processes) of a sandbox's cgroup: its address space, its two tmpfs
    and a margin; the processes its code may start and those of the sandbox itself."""
    memory = config.memory_mb * MiB + 2 * config.tmp_bytes + MARGIN_BYTES
    return memory, 1 + max(config.max_processes, 0) + PIDS_MARGIN
