"""Run a notebook top to bottom with a Jupyter kernel in another process, and keep its outputs.

The kernel never runs in the grading process: nbclient talks to it over ZeroMQ
sockets in a private folder (``ipc`` transport, so no TCP port is opened).  A
student's notebook runs under the sandbox's isolation (bubblewrap: no network,
read-only system, forbidden packages masked, another uid) and resource limits
(address space, CPU seconds), one timeout per cell.  Handout notebooks filled
with the instructor's solution run in a plain subprocess.

Kernel command: the current interpreter with ``-m ipykernel_launcher``; no
installed kernelspec is needed.

One piece, though long: starting the kernel in its sandbox, running cells under a
timeout, capping outputs and ending the kernel share one kernel manager's state.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nbformat import NotebookNode

from ..paths import CourseDir
from ..sandbox.base import SandboxConfig, cgroup_limits
from ..sandbox.cgroups import SandboxCgroup
from ..sandbox.isolation import caps_tmpfs, kernel_needs_own_uid
from ..sandbox.launch import (
    UidSlot,
    cap_tmpfs,
    end_sandbox,
    kernel_config,
    kernel_launch,
    kill_uid,
    read_init_pid,
    seccomp_filter,
    wait_init_pid,
)
from ..spec import AssignmentSpec
from .cells import CodeCell, drop_magics, read_notebook
from .handout import handout_problems, handout_title, read_handout, with_solution

if TYPE_CHECKING:
    from ..grading import GradingJob

#: Seconds one cell of a handout notebook may run (the solution filled in).
HANDOUT_CELL_TIMEOUT = 120.0
#: Seconds the kernel may take to start and answer.
STARTUP_TIMEOUT = 60
#: What is kept of a student's outputs for the report.
MAX_TEXT_PER_CELL = 20_000
MAX_SOURCE_CHARS = 5_000
MAX_IMAGE_BYTES = 1_000_000
MAX_IMAGES = 40
#: The file descriptors bubblewrap reads the seccomp filter from, writes its init's pid
#: to, and waits at until the kernel's tmpfs are capped, in the kernel's launch.
_SECCOMP_FD = 9
_INFO_FD = 8
_BLOCK_FD = 7
#: Output bytes received per cell beyond which further outputs are dropped on arrival.
MAX_RECEIVED_PER_CELL = 4_000_000

CellStatus = Literal["ok", "error", "timeout", "not_run", "skipped"]
RunStatus = Literal["ok", "error", "timeout", "died", "not_started"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CELL_IN = re.compile(r"Cell In\[(\d+)\], line (\d+)")
_IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


@dataclass(frozen=True)
class CellRun:
    """One code cell after the run."""

    #: Position from the top of the notebook, markdown cells included.
    number: int
    status: CellStatus
    source: str
    #: ``{"type": "text" | "error", "text": ...}`` or ``{"type": "image", "data_uri": ...}``.
    outputs: tuple[dict[str, str], ...] = ()
    #: For ``error``: ``"ZeroDivisionError: division by zero (line 3)"``; else why not run.
    message: str = ""


@dataclass(frozen=True)
class NotebookRun:
    """A notebook run by a kernel: how it ended and what every code cell showed."""

    status: RunStatus
    cells: tuple[CellRun, ...]
    #: What went wrong, for people; empty when ``ok``.
    message: str = ""
    duration: float = 0.0
    #: ``bwrap``, ``rlimits`` or ``none`` (trusted code in a plain subprocess).
    isolation: str = "none"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def problems(self) -> list[str]:
        """One line per failed cell (``cell 7: ...``), plus why the run stopped."""
        out = [f"cell {c.number}: {c.message}" for c in self.cells if c.status in ("error", "timeout")]
        if self.status in ("died", "not_started") or (self.status != "ok" and not out):
            out.append(self.message)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for ``SubmissionResult.notebook_run``."""
        return json.loads(json.dumps(asdict(self)))


def run_notebook(nb: NotebookNode, *, cell_timeout: float, sandbox: SandboxConfig | None = None) -> NotebookRun:
    """Execute every code cell of ``nb`` in a fresh kernel; never raises for the notebook's faults.

    With ``sandbox`` the kernel runs at ``sandbox.isolation``, started, limited,
    confined and killed like a worker (see :mod:`autograder.sandbox.launch`); without,
    in a plain subprocess (trusted notebooks only).  The kernel's working folder is a
    fresh, empty temporary one.  A cell that runs longer than ``cell_timeout`` seconds
    stops the run; the cells after it are reported as not run.
    """
    nb = copy.deepcopy(nb)
    start = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="autograder-nb-")).resolve()
    slot: UidSlot | None = None
    cgroup: SandboxCgroup | None = None
    try:
        # Only the kernel and this process may find the connection file: the folder
        # holding it has a random name inside a folder nobody else can list.
        os.chmod(root, 0o711)
        shared = root / secrets.token_hex(16)
        for folder, mode in ((shared, 0o777), (root / "work", 0o755), (root / "mask", 0o755)):
            folder.mkdir()
            os.chmod(folder, mode)
        if sandbox is not None and kernel_needs_own_uid(sandbox.isolation):
            slot = UidSlot.acquire()
        if sandbox is not None and sandbox.isolation.level == "bwrap":
            cgroup = SandboxCgroup.create(*cgroup_limits(kernel_config(sandbox)))
        uid = slot.uid if slot else None
        argv = _kernel_command(root, shared, sandbox, uid, cgroup)
        return _run(nb, argv, root, shared, cell_timeout, sandbox, start, uid)
    finally:
        if slot is not None:
            if kill_uid(slot.uid):
                slot.release()
            else:
                _STUCK_SLOTS.append(slot)  # never hand out a uid with a live process
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(root, ignore_errors=True)


#: Uids whose processes would not die: never handed out again by this process.
_STUCK_SLOTS: list[UidSlot] = []


def _kernel_command(
    root: Path, shared: Path, sandbox: SandboxConfig | None, uid: int | None, cgroup: SandboxCgroup | None = None
) -> list[str]:
    """The kernel's argv (``{connection_file}`` to fill in); its uid, if any, is entered inside
    (see :mod:`autograder.sandbox.confine`).

    At the bwrap level a shell hands bubblewrap the workers' seccomp filter, the file
    its init's pid goes to (``root / "init.json"``) and, where the kernel's tmpfs get
    their inode cap (:func:`_let_go`), the FIFO ``root / "block"`` it waits at, on known
    fds (the Popen is jupyter_client's); with ``cgroup`` the kernel runs in that memory
    and pids cgroup (see :mod:`autograder.sandbox.cgroups`)."""
    if sandbox is None:
        return [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    work = root / "work"
    if uid is not None and sandbox.isolation.level == "rlimits":
        os.chown(work, uid, uid)
    program_filter = seccomp_filter() if sandbox.isolation.level == "bwrap" else None
    bwrap = sandbox.isolation.level == "bwrap"
    block = bwrap and caps_tmpfs()
    how = kernel_launch(
        sandbox.isolation,
        work,
        shared,
        root / "mask",
        sandbox,
        uid,
        info_fd=_INFO_FD if bwrap else None,
        seccomp_fd=_SECCOMP_FD if program_filter is not None else None,
        block_fd=_BLOCK_FD if block else None,
    )
    argv = how.argv
    if bwrap:
        path = root / "seccomp.bpf"
        path.write_bytes(program_filter or b"")
        os.chmod(path, 0o600)
        redirects = f'{_SECCOMP_FD}<"$0" {_INFO_FD}>"$info"'
        fifo = root / "block"
        if block:
            os.mkfifo(fifo, 0o600)
            redirects += f' {_BLOCK_FD}<>"$block"'  # read-write: opening it does not wait for a writer
        script = f'info=$1; block=$2; shift 2; exec "$@" {redirects}'
        argv = ["/bin/sh", "-c", script, str(path), str(root / "init.json"), str(fifo), *argv]
    if cgroup is not None:
        argv = cgroup.wrap(argv)
    return argv


def _run(
    nb: NotebookNode,
    argv: list[str],
    root: Path,
    shared: Path,
    cell_timeout: float,
    sandbox: SandboxConfig | None,
    start: float,
    uid: int | None,
) -> NotebookRun:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    work = root / "work"
    init = root / "init.json"
    let_go = None
    if sandbox is not None and (root / "block").exists():
        let_go = partial(_let_go, init=init, fifo=root / "block", sandbox=sandbox)
    km = _kernel_manager(argv, shared, lambda: _init_pid(init), uid, let_go)
    client = _client(nb, km, cell_timeout)
    current: dict[str, int] = {}

    def cell_starts(cell: Any, cell_index: int) -> None:
        if not current:
            # The kernel made its sockets: from now on its uid may not add a byte to the
            # connection folder, a folder of the host's disk.
            os.chmod(shared, 0o755)
        current.update(index=cell_index)

    client.on_cell_execute = cell_starts
    stderr_path = root / "kernel.stderr"
    status: RunStatus = "ok"
    message = ""
    try:
        with open(stderr_path, "wb") as stderr:
            _run_coroutine(
                client.async_execute(
                    cleanup_kc=True,
                    env=_kernel_env(work, sandbox),
                    cwd=str(work),
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            )
    except CellTimeoutError:
        status = "timeout"
    except DeadKernelError:
        status = "died"
    except RuntimeError as exc:  # nbclient: "Kernel died before replying to kernel_info"
        if "kernel" not in str(exc).lower():
            raise
        status = "not_started" if "index" not in current else "died"
        message = str(exc)
    finally:
        km.end_sandbox()  # already done when nbclient shut the kernel down
    tail = _tail(stderr_path)
    cells = _cell_runs(nb, status, current.get("index"), cell_timeout)
    if status == "timeout":
        message = (
            f"cell {current['index'] + 1} did not finish within {cell_timeout:g} s "
            "(an endless loop?); it was stopped and the cells after it were not run"
        )
    elif status == "died":
        where = f"cell {current['index'] + 1}" if "index" in current else "startup"
        limits = (
            (f" (it may have run out of memory, {sandbox.memory_mb} MB, or of CPU time, {sandbox.cpu_seconds} s)")
            if sandbox
            else ""
        )
        message = f"the kernel died while running {where}{limits}; the cells after it were not run"
    elif status == "not_started":
        message = f"the Jupyter kernel could not start: {message} {tail}".strip()
    elif any(c.status == "error" for c in cells):
        status = "error"
        message = "some cells raised an exception"
    return NotebookRun(
        status=status,
        cells=cells,
        message=message,
        duration=round(time.perf_counter() - start, 3),
        isolation=sandbox.isolation.level if sandbox else "none",
    )


def _kernel_manager(
    argv: list[str],
    shared: Path,
    init: Callable[[], int | None],
    uid: int | None,
    let_go: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> Any:
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec

    class SandboxedKernelManager(AsyncKernelManager):
        """Starts ``argv`` (no kernelspec lookup), the connection file readable by the kernel's
        uid, then lets its sandbox go on with ``let_go`` (when given), and kills the kernel as
        every sandbox is killed (:func:`end_sandbox`: the pid namespace's init ``init()``,
        then every process of ``uid``)."""

        sandbox_process: subprocess.Popen[bytes] | None = None

        @property
        def kernel_spec(self) -> KernelSpec:
            return KernelSpec(argv=argv, display_name="Python 3 (graded)", language="python", interrupt_mode="message")

        def write_connection_file(self, **kwargs: Any) -> None:
            super().write_connection_file(**kwargs)
            os.chmod(self.connection_file, 0o644)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            if self.provisioner is not None:
                self.sandbox_process = getattr(self.provisioner, "process", None)
            if let_go is not None:
                if self.sandbox_process is None:
                    raise RuntimeError("the kernel's sandbox could not be found to cap its folders")
                try:
                    let_go(self.sandbox_process)
                except OSError as exc:
                    self.end_sandbox()
                    raise RuntimeError(f"the kernel's sandbox could not start: {exc}") from exc
                except BaseException:  # a KeyboardInterrupt too: no sandbox is left waiting
                    self.end_sandbox()
                    raise

        async def _async_kill_kernel(self, restart: bool = False) -> None:
            self.end_sandbox()
            if self.provisioner is not None:
                # The sandbox is reaped: its process group id may be another's by now, so
                # jupyter_client must not killpg it (signalling the reaped Popen is a no-op).
                setattr(self.provisioner, "pgid", None)  # noqa: B010 - LocalProvisioner's, not in the base type
            await super()._async_kill_kernel(restart=restart)

        def end_sandbox(self) -> None:
            """Kill the kernel's sandbox and every process of its uid, and reap it (once)."""
            if self.sandbox_process is not None:
                end_sandbox(self.sandbox_process, init, uid)

    km = SandboxedKernelManager(kernel_name="python3")
    km.connection_file = str(shared / "kernel.json")
    if os.name == "posix":
        km.transport = "ipc"
        km.ip = str(shared / "kernel")
    return km


def _let_go(process: subprocess.Popen[bytes], init: Path, fifo: Path, sandbox: SandboxConfig) -> None:
    """Cap the inodes of the kernel's tmpfs (:func:`autograder.sandbox.launch.cap_tmpfs`),
    then let its sandbox, waiting at ``fifo``, go on; raises OSError when the caps could
    not be set (the caller then ends the sandbox: it never ran a line)."""
    offset = 0

    def read() -> bytes | None:
        nonlocal offset
        if process.poll() is not None:
            return None
        try:
            fd = os.open(init, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return b""
        try:
            piece = os.pread(fd, 4096, offset)
        finally:
            os.close(fd)
        offset += len(piece)
        return piece

    pid = wait_init_pid(read)
    if pid is None:
        raise OSError("bubblewrap did not build it")
    if not cap_tmpfs(process.pid, pid, _BLOCK_FD, sandbox):
        raise OSError("the inodes of its temporary folders could not be capped")
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"1")
    finally:
        os.close(fd)


def _init_pid(path: Path) -> int | None:
    """The host pid of a kernel sandbox's init, from the file bubblewrap wrote it to."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        return read_init_pid(fd)
    finally:
        os.close(fd)


def _client(nb: NotebookNode, km: Any, cell_timeout: float) -> Any:
    from nbclient import NotebookClient
    from nbformat.v4 import new_output

    class CappedClient(NotebookClient):
        """Keeps at most MAX_RECEIVED_PER_CELL bytes of outputs per cell and no widget state."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.received: dict[int, int] = {}

        def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
            before = self.received.get(cell_index, 0)
            size = output_size(msg.get("content", {}), MAX_RECEIVED_PER_CELL - before + 1)
            self.received[cell_index] = before + size
            if before + size <= MAX_RECEIVED_PER_CELL:
                return super().output(outs, msg, display_id, cell_index)
            if before <= MAX_RECEIVED_PER_CELL:
                outs.append(
                    new_output(
                        "stream",
                        name="stderr",
                        text=(
                            f"\n[more than {MAX_RECEIVED_PER_CELL // 1_000_000} MB of output: the rest is not shown]\n"
                        ),
                    )
                )
            return None

        def handle_comm_msg(self, outs: list[Any], msg: dict[str, Any], cell_index: int) -> None:
            return None

    return CappedClient(
        nb,
        km=km,
        timeout=int(max(1, round(cell_timeout))),
        allow_errors=True,
        startup_timeout=STARTUP_TIMEOUT,
        shutdown_kernel="immediate",
        record_timing=False,
        kernel_name="python3",
    )


def output_size(content: Any, limit: int) -> int:
    """Characters of an output message's content as it would be kept: every string, key and
    number of its ``text``, ``data`` and ``metadata`` however nested (a dict displayed raw is
    as big as its JSON); counting stops once past ``limit``."""
    total = 0
    stack = [content]
    while stack and total <= limit:
        value = stack.pop()
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict):
            total += 2 * len(value)
            for key, item in value.items():
                total += len(key) if isinstance(key, str) else 8
                stack.append(item)
        elif isinstance(value, (list, tuple)):
            total += len(value) + 2
            stack.extend(value)
        else:
            total += 8
    return total


def _kernel_env(work: Path, sandbox: SandboxConfig | None) -> dict[str, str]:
    threads = {
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if sandbox is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "PYTHON"))}
        return {**env, **threads}
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "LC_ALL": "C.UTF-8",
        "IPYTHONDIR": str(work / ".ipython"),
        **threads,
    }


def _run_coroutine(coroutine: Any) -> None:
    """Run ``coroutine`` to completion here, or in a thread when this thread has a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the calling thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="notebook-kernel")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _cell_runs(nb: NotebookNode, status: RunStatus, stopped_at: int | None, cell_timeout: float) -> tuple[CellRun, ...]:
    counts = {
        c.get("execution_count"): i + 1
        for i, c in enumerate(nb.cells)
        if c.get("cell_type") == "code" and c.get("execution_count")
    }
    runs = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        number = index + 1
        source = str(cell.get("source", ""))[:MAX_SOURCE_CHARS]
        if not source.strip():
            continue
        if stopped_at is not None and status != "ok" and index >= stopped_at:
            if index == stopped_at and status == "timeout":
                runs.append(
                    CellRun(
                        number, "timeout", source, _outputs(cell, counts), f"did not finish within {cell_timeout:g} s"
                    )
                )
            elif index == stopped_at:
                runs.append(
                    CellRun(number, "error", source, _outputs(cell, counts), "the kernel died while running this cell")
                )
            else:
                runs.append(CellRun(number, "not_run", source))
            continue
        outputs = _outputs(cell, counts)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            runs.append(
                CellRun(number, "error", source, outputs, _error_message(errors[-1], cell.get("execution_count")))
            )
        else:
            runs.append(CellRun(number, "ok", source, outputs))
    return tuple(runs)


def _error_message(error: Mapping[str, Any], count: int | None) -> str:
    text = f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": ")
    traceback = _ANSI.sub("", "\n".join(error.get("traceback", [])))
    lines = [int(m.group(2)) for m in _CELL_IN.finditer(traceback) if int(m.group(1)) == count]
    return f"{text} (line {lines[0]})" if lines else text


def _outputs(cell: Mapping[str, Any], counts: Mapping[Any, int]) -> tuple[dict[str, str], ...]:
    """The cell's outputs as plain text and validated images, capped."""
    out: list[dict[str, str]] = []
    text_left = MAX_TEXT_PER_CELL
    images = 0

    def add_text(kind: str, text: str) -> None:
        nonlocal text_left
        if text_left <= 0:
            return
        if len(text) > text_left:
            text = text[:text_left] + f"\n[... {len(text) - text_left} more characters not shown]"
        text_left -= len(text)
        if out and out[-1]["type"] == kind == "text":
            out[-1]["text"] += text
        else:
            out.append({"type": kind, "text": text})

    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            add_text("text", str(output.get("text", "")))
        elif kind == "error":
            traceback = _ANSI.sub("", "\n".join(output.get("traceback", [])))
            traceback = _CELL_IN.sub(lambda m: f"cell {counts.get(int(m.group(1)), '?')}, line {m.group(2)}", traceback)
            add_text("error", traceback or f"{output.get('ename')}: {output.get('evalue')}")
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            image = next(((mime, data[mime]) for mime in _IMAGE_MAGIC if mime in data), None)
            uri = _data_uri(*image) if image and images < MAX_IMAGES else None
            if uri:
                images += 1
                out.append({"type": "image", "data_uri": uri})
            elif "text/plain" in data:
                plain = data["text/plain"]
                add_text("text", ("".join(plain) if isinstance(plain, list) else str(plain)) + "\n")
    return tuple(out)


def _data_uri(mime: str, payload: Any) -> str | None:
    """``data:<mime>;base64,...`` re-encoded from the decoded bytes, if they are that image type."""
    if isinstance(payload, list):
        payload = "".join(payload)
    try:
        raw = base64.b64decode(str(payload), validate=False)
    except (binascii.Error, ValueError):
        return None
    if len(raw) > MAX_IMAGE_BYTES or not raw.startswith(_IMAGE_MAGIC[mime]):
        return None
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def student_cell_timeout(spec: AssignmentSpec) -> float:
    """Seconds one cell of a student's notebook may run: three calls' worth, at least 30."""
    return max(30.0, 3 * spec.limits.call_timeout)


def execute_submission(path: Path, job: GradingJob, cell_timeout: float | None = None) -> dict[str, Any]:
    """Run the student's notebook at ``path`` in ``job``'s sandbox; the run as a JSON-ready dict.

    Magics and shell escapes are dropped as when grading (never executed).
    Raises SubmissionError when the file is not a notebook.
    """
    nb = read_notebook(Path(path).read_bytes(), Path(path).name)
    notes: list[str] = []
    skipped: list[CellRun] = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source, dropped = drop_magics(CodeCell(number, str(cell.get("source", "")), (), {}))
        notes += dropped
        cell.outputs = []
        if source is None:
            skipped.append(CellRun(number, "skipped", str(cell.source)[:MAX_SOURCE_CHARS], message=dropped[0]))
        cell.source = source or ""
    timeout = cell_timeout or student_cell_timeout(job.spec)
    run = run_notebook(nb, cell_timeout=timeout, sandbox=job.sandbox_config())
    cells = sorted([*run.cells, *skipped], key=lambda c: c.number)
    run = replace(run, cells=tuple(cells), notes=tuple(notes))
    return {**run.to_dict(), "cell_timeout": timeout}


def execute_handout(spec: AssignmentSpec, course: CourseDir, cell_timeout: float = HANDOUT_CELL_TIMEOUT) -> list[str]:
    """Problems with the handout notebook of ``spec``; [] when it is fine.

    The notebook must be what ``build`` makes of the stub module (stub cells up
    to date, no outputs), and must run top to bottom without an error with the
    solution's code in its student cells.  An assignment without a notebook
    (none named in assignment.toml and no ``<name>.ipynb``) has no problems.
    """
    path = course.handout_notebook(spec.name, spec.notebook)
    if not path.exists():
        return [f"{path.name}: not found in {path.parent}"] if spec.notebook else []
    try:
        nb = read_handout(path)
    except Exception as exc:  # a broken notebook file is a problem to report, not a crash
        return [f"{path.name}: cannot be read: {exc}"]
    problems: list[str] = []
    stub = course.assignment_dir(spec.name) / spec.modules[0]
    if stub.exists():
        problems += handout_problems(nb, stub.read_text(encoding="utf-8"), handout_title(spec))
    solution = course.solution_dir(spec.name) / spec.modules[0]
    if not solution.exists():
        return [f"{path.name}: {p}" for p in [*problems, f"no solution module {solution}"]]
    filled, fill_problems = with_solution(nb, solution.read_text(encoding="utf-8"))
    problems += fill_problems
    run = run_notebook(filled, cell_timeout=cell_timeout)
    problems += run.problems()
    return [f"{path.name}: {p}" for p in problems]
