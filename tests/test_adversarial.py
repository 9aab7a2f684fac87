"""The adversarial corpus: every attack on the grader, graded for real, against the grade it must get.

``tests/corpus/adversarial/submissions/<attack>.py`` attacks the small ``target``
assignment of ``tests/corpus/adversarial/course/`` (``add`` and ``double``, two
points each, half of them in hidden checks with PyTorch references).  Every
attack computes ``add`` honestly and attacks in ``double`` or at import time, so
"only the points it computed honestly" is a number: 2 (or 0, or 4 for noise
that does not hurt).  ``<attack>.json`` beside it holds the isolation levels it
runs at, the score with hidden checks and :data:`BATCH_SEED`, and per check the
outcome, a pattern of the message and patterns that must appear in what the
attack printed: the proof that the attack really ran (the fork bomb's EAGAIN,
the memory bomb's megabytes, the network attempts' errors...).  Its optional
``forked`` entry says why and how the checks differ when the worker is forked
from a fork server (same score).  Its optional ``absent`` entry lists patterns that
must appear nowhere in the result (notes, messages, printed output, tracebacks): what
the attack tried to smuggle into its own report.  A pattern with a number may hold only
``where`` a condition of :data:`CONDITIONS` holds on this machine (the inode cap of a
tmpfs, which only a root harness sets): elsewhere it is not asked for.

An attack that needs host paths or ports has a ``TARGETS: dict = {}`` line, filled
in here with the real ones of the test.  After every attack the host is
inspected: canary files unchanged, files the attack tried to create absent, the
listeners (TCP and UDP on 127.0.0.1, an abstract unix socket) got nothing, and no
process of the sandbox's uid is left.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.grading import GradingJob, grade
from autograder.paths import CourseDir
from autograder.plugin import check_seed
from autograder.results import SubmissionResult
from autograder.sandbox import client, forkserver
from autograder.sandbox.client import WorkerSandbox
from autograder.sandbox.isolation import Isolation, bwrap_problem, caps_tmpfs
from autograder.sandbox.launch import UID_BASE, UID_SLOTS, UidSlot, processes_of
from autograder.spec import load_spec
from autograder.submission import load_submission

CORPUS = Path(__file__).resolve().parent / "corpus" / "adversarial"
SUBMISSIONS = CORPUS / "submissions"
ASSIGNMENT = "target"
#: The seed of the hidden (batch) grading; the public self-check uses 0.
BATCH_SEED = 1234
#: Attacks that take more than a few seconds (they wait for timeouts).
SLOW = {"import_loop", "infinite_loop", "read_secrets"}
TARGETS_LINE = "TARGETS: dict = {}"

#: What an expected pattern may depend on (its ``where``), and whether it holds here.
CONDITIONS = {"tmpfs capped": caps_tmpfs}

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"strict isolation unavailable: {bwrap_problem()}")


def expectations() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(SUBMISSIONS.glob("*.json"))}


def attacks_at(level: str) -> list[Any]:
    return [
        pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else [])
        for name, e in expectations().items()
        if level in e["levels"]
    ]


# -- the host side of an attack -----------------------------------------------------


@dataclass
class Host:
    """A copy of the target course plus the tripwires an attack must not trip."""

    course: CourseDir
    targets: dict[str, Any]
    #: Files that must keep their content.
    canaries: dict[Path, bytes]
    #: Files that must not come to exist.
    forbidden: list[Path]
    listeners: list[socket.socket] = field(default_factory=list)
    #: The uids of closed plain sandboxes, still claimed (see :func:`assert_no_process_left`).
    kept_uids: dict[int, UidSlot] = field(default_factory=dict)

    def submission(self, name: str, folder: Path | None = None, student: str | None = None) -> Path:
        """The attack's source with the real targets filled in, as ``<student>.py``."""
        source = (SUBMISSIONS / f"{name}.py").read_text()
        source = source.replace(TARGETS_LINE, f"TARGETS: dict = {self.targets!r}")
        folder = folder or self.course.root.parent / "submissions"
        folder.mkdir(exist_ok=True)
        path = folder / f"{student or name}.py"
        path.write_text(source)
        return path

    def assert_untouched(self) -> None:
        for path, content in self.canaries.items():
            assert path.read_bytes() == content, f"{path} was changed"
        for path in self.forbidden:
            assert not path.exists(), f"{path} was created"
        for listener in self.listeners:
            listener.setblocking(False)
            with pytest.raises(BlockingIOError):
                if listener.type == socket.SOCK_DGRAM:
                    listener.recvfrom(100)
                else:
                    listener.accept()


def _listeners(abstract: str) -> tuple[int, list[socket.socket]]:
    """TCP and UDP listeners on one free 127.0.0.1 port, and an abstract unix socket."""
    for _ in range(20):
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            tcp.close()
            udp.close()
            continue
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind("\0" + abstract)
        unix.listen()
        return port, [tcp, udp, unix]
    raise RuntimeError("no free port pair")


def _memorised_answers() -> dict[str, list[Any]]:
    """What a student can precompute from the shipped public checks and seed 0."""
    x = np.random.default_rng(check_seed(0, "test_double_public")).standard_normal((2, 5))
    return {hashlib.sha256(x.tobytes()).hexdigest(): (2 * x).tolist()}


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    shutil.copytree(CORPUS / "course", tmp_path / "course")
    course = CourseDir(tmp_path / "course")
    token = f"SECRET-{secrets.token_hex(8)}"
    course_canary = course.solution_dir(ASSIGNMENT) / "canary.txt"
    course_canary.write_text(f"{token}\n")
    tmp_canary = tmp_path / "canary.txt"
    tmp_canary.write_text(f"{token}\n")
    reports = course.reports_dir(ASSIGNMENT)
    reports.mkdir(parents=True)
    result_file = reports / "victim.json"
    result_file.write_text('{"score": 0}\n')
    hidden_check = course.hidden_tests_dir(ASSIGNMENT) / "check_hidden.py"
    solution = course.solution_dir(ASSIGNMENT) / "target.py"
    forbidden = [tmp_path / "PWNED-1", course.root / "PWNED-2", reports / "PWNED-3"]
    abstract = f"autograder-test-{secrets.token_hex(6)}"
    port, listeners = _listeners(abstract)
    torch_spec = importlib.util.find_spec("torch")
    targets = {
        "hidden_check": str(hidden_check),
        "solution": str(solution),
        "course_canary": str(course_canary),
        "tmp_canary": str(tmp_canary),
        "result_file": str(result_file),
        "token": token,
        "pwn_paths": [str(p) for p in forbidden],
        "port": port,
        "abstract": abstract,
        "site_packages": str(Path(torch_spec.origin).parent.parent) if torch_spec and torch_spec.origin else "",
        "torch_init": torch_spec.origin if torch_spec else "",
        "answers": _memorised_answers(),
    }
    canaries = {p: p.read_bytes() for p in (course_canary, tmp_canary, result_file, hidden_check, solution)}
    host = Host(course, targets, canaries, forbidden, listeners)
    try:
        yield host
    finally:
        for listener in listeners:
            listener.close()
        for uid in list(host.kept_uids):  # of tests that failed or did not look
            give_back(host, uid)


#: Claims on uids whose processes outlived their sandbox, kept for the rest of the run.
_SURVIVED: list[UidSlot] = []


def give_back(host: Host, uid: int) -> list[int]:
    """Release the claim :func:`grade_attack` kept on ``uid``, unless a process of it is still
    alive: that claim is kept until the run ends, so that no other sandbox gets the uid.
    Returns the pids of those processes."""
    slot = host.kept_uids.pop(uid)
    survivors = processes_of(uid)
    if survivors:
        _SURVIVED.append(slot)
    else:
        slot.release()
    return survivors


def assert_no_process_left(host: Host, uid: int | None) -> None:
    """No process of ``uid`` runs, checked while the uid is still claimed (see
    :func:`grade_attack`): no other sandbox, another test worker's, can have taken it up."""
    if uid is not None:
        assert give_back(host, uid) == [], f"processes of sandbox uid {uid} survived close()"


def grade_attack(
    host: Host, name: str, level: str, *, seed: int = BATCH_SEED, hidden: bool = True, fork: bool = False
) -> tuple[SubmissionResult, int | None]:
    """Grade attack ``name`` with its own sandbox (forked from a fork server with ``fork``);
    (result, the sandbox's uid).  A plain sandbox's uid stays claimed after its close(), in
    ``host.kept_uids``, until :func:`assert_no_process_left` or the end of the test; a fork
    server keeps its own."""
    spec = load_spec(host.course.spec_file(ASSIGNMENT))
    job = GradingJob.for_assignment(host.course, spec, hidden=hidden, seed=seed, isolation=Isolation(level))  # type: ignore[arg-type]
    submission = load_submission(host.submission(name), spec)
    sandbox = WorkerSandbox(submission.files, spec.modules, job.sandbox_config(), fork=fork)
    try:
        result = grade(submission, job, sandbox)
        uid = sandbox.uid
        assert not fork or sandbox._server is not None, "not forked from a fork server"
    finally:
        # close() kills everything of the uid and would give it back: the test takes the claim.
        slot, sandbox._slot = sandbox._slot, None
        if slot is not None:
            host.kept_uids[slot.uid] = slot
        sandbox.close()
    return result, uid


def assert_as_expected(result: SubmissionResult, expected: dict[str, Any]) -> None:
    """Score, outcome, message and printed evidence of every check, as ``expected`` says."""
    checks = {c.name: c for c in result.checks}
    assert sorted(checks) == sorted(expected["checks"]), result.notes
    for name, want in expected["checks"].items():
        check = checks[name]
        where = f"{name}: {check.outcome} {check.message[:300]!r} stdout={check.stdout[-500:]!r}"
        assert check.outcome == want["outcome"], where
        if "message" in want:
            assert re.search(want["message"], check.message), where
        for evidence in want.get("stdout", []):
            if isinstance(evidence, str):
                assert re.search(evidence, check.stdout, re.MULTILINE), f"{evidence!r} not in {where}"
            elif "where" not in evidence or CONDITIONS[evidence["where"]]():
                found = re.search(evidence["regex"], check.stdout)
                assert found, f"{evidence['regex']!r} not in {where}"
                assert evidence["min"] <= int(found.group(1)) <= evidence["max"], where
    assert result.score == expected["score"], [(c.name, c.outcome) for c in result.checks]
    assert result.status == "ok", result.notes
    visible = json.dumps(result.to_dict())
    for pattern in expected.get("absent", []):
        found = re.search(pattern, visible)
        assert found is None, (
            f"{pattern!r} reached the result: {visible[max(0, found.start() - 200) : found.end() + 200]!r}"
        )
    if "note" in expected:
        assert [n for n in result.notes if re.search(expected["note"], n)], result.notes


# -- the corpus ----------------------------------------------------------------------


def test_every_attack_states_what_it_must_get() -> None:
    sources = sorted(p.stem for p in SUBMISSIONS.glob("*.py"))
    assert sources == sorted(expectations())
    for name, e in expectations().items():
        assert set(e["levels"]) <= {"bwrap", "rlimits"} and e["levels"], name
        assert set(e) <= {"levels", "score", "checks", "forked", "absent", "note"}, name
        if "forked" in e:
            assert e["forked"]["why"] and set(e["forked"]["checks"]) <= set(e["checks"]), name
            outcomes = {
                **{n: c["outcome"] for n, c in e["checks"].items()},
                **{n: c["outcome"] for n, c in e["forked"]["checks"].items()},
            }
            assert sum(2 for n in ("test_add_public", "test_double_public") if outcomes[n] == "passed") == e["score"], (
                name
            )
        honest_add = e["checks"]["test_add_public"]["outcome"] == "passed"
        assert e["score"] == (2 if honest_add else 0) + (
            2 if e["checks"]["test_double_public"]["outcome"] == "passed" else 0
        ), name
        for check in [*e["checks"].values(), *e.get("forked", {}).get("checks", {}).values()]:
            for evidence in check.get("stdout", []):
                assert isinstance(evidence, str) or set(evidence) <= {"regex", "min", "max", "where"}, name
                assert isinstance(evidence, str) or evidence.get("where", *CONDITIONS) in CONDITIONS, name
        if name not in ("honest", "honest_loops"):
            assert (SUBMISSIONS / f"{name}.py").read_text().startswith('"""Attack: '), name


@needs_bwrap
@pytest.mark.parametrize("name", attacks_at("bwrap"))
def test_attack_at_bwrap_earns_only_honest_points(host: Host, name: str) -> None:
    result, uid = grade_attack(host, name, "bwrap")
    assert result.isolation == "bwrap"
    assert_as_expected(result, expectations()[name])
    host.assert_untouched()
    assert_no_process_left(host, uid)


@needs_bwrap
@pytest.mark.skipif(os.getuid() != 0, reason="fork servers need root (they hand out uids)")
@pytest.mark.parametrize("name", attacks_at("bwrap"))
def test_attack_through_a_fork_server_earns_only_honest_points(host: Host, name: str) -> None:
    result, uid = grade_attack(host, name, "bwrap", fork=True)
    assert result.isolation == "bwrap"
    expected = expectations()[name]
    forked = expected.get("forked", {})
    assert_as_expected(result, {**expected, "checks": {**expected["checks"], **forked.get("checks", {})}})
    host.assert_untouched()
    # The uid stays the fork server's, for the next submission: none of this one's processes
    # once the clean-up close() began is done.
    forkserver.settle_all()
    assert uid is not None and processes_of(uid) == []


@needs_bwrap
def test_an_attack_meets_its_expectations_where_tmpfs_get_no_inode_cap(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A harness that is not root cannot cap a tmpfs's inodes: the folder flood then does
    not stop at the cap, and the attack's expectation asks only for what still holds."""
    monkeypatch.setattr(client, "caps_tmpfs", lambda: False)
    monkeypatch.setitem(CONDITIONS, "tmpfs capped", lambda: False)
    result, uid = grade_attack(host, "covert_sender", "bwrap")
    assert "folder flood: ENOSPC" not in json.dumps(result.to_dict())  # no cap set indeed
    assert_as_expected(result, expectations()["covert_sender"])
    host.assert_untouched()
    assert_no_process_left(host, uid)


def _observed(result: SubmissionResult) -> list[str]:
    """What ``covert_receiver`` printed, per check that called ``double``."""
    return [line for c in result.checks for line in c.stdout.splitlines() if line.startswith("observed: ")]


@needs_bwrap
@pytest.mark.skipif(os.getuid() != 0, reason="fork servers need root (they hand out uids)")
def test_nothing_crosses_from_one_forked_submission_to_the_next(host: Host) -> None:
    """A receiver forked right after the sender, by the same fork server, sees exactly what it
    sees after an honest submission: sockets and /proc/net, files, free space and inode
    numbers of its folders, pids, running processes."""
    baseline, uid_before = grade_attack(host, "covert_receiver", "bwrap", fork=True)
    sent, uid_sender = grade_attack(host, "covert_sender", "bwrap", fork=True)
    received, uid_after = grade_attack(host, "covert_receiver", "bwrap", fork=True)
    assert uid_before == uid_sender == uid_after, "not the same fork server"
    assert "chain of 1200 folders: made" in sent.checks[1].stdout + sent.checks[3].stdout
    assert "unix: bound" in sent.checks[1].stdout + sent.checks[3].stdout
    seen_before, seen_after = _observed(baseline), _observed(received)
    assert len(seen_before) == len(seen_after) == 2
    for before, after in zip(seen_before, seen_after, strict=True):
        a, b = json.loads(before.removeprefix("observed: ")), json.loads(after.removeprefix("observed: "))
        assert a == b, {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)}
    view = json.loads(seen_after[0].removeprefix("observed: "))
    assert view["pid"] == 1000 and "covert-hidden-inputs" not in seen_after[0]
    assert all(c.outcome != "error" for c in received.checks), [c.message for c in received.checks]
    honest, _ = grade_attack(host, "honest", "bwrap", fork=True)
    assert honest.score == honest.max_score == 4


@pytest.mark.parametrize("name", attacks_at("rlimits"))
def test_attack_at_rlimits_gets_a_clear_message(host: Host, name: str) -> None:
    result, uid = grade_attack(host, name, "rlimits")
    assert result.isolation == "rlimits"
    assert_as_expected(result, expectations()[name])
    assert_no_process_left(host, uid)


def test_syntax_error_is_reported_with_its_line_at_both_levels(host: Host) -> None:
    levels = ["rlimits"] + (["bwrap"] if bwrap_problem() is None else [])
    spec = load_spec(host.course.spec_file(ASSIGNMENT))
    path = host.course.root / "syntax" / "target.py"
    path.parent.mkdir()
    path.write_text("import numpy as np\n\n\ndef add(a, b)\n    return a + b\n")
    for level in levels:
        job = GradingJob.for_assignment(host.course, spec, hidden=True, seed=BATCH_SEED, isolation=Isolation(level))  # type: ignore[arg-type]
        result = grade(load_submission(path, spec), job)
        assert result.score == 0 and {c.outcome for c in result.checks} == {"error"}, level
        for check in result.checks:
            assert check.message == "not run: target.py did not import (see the note at the top)", level
        assert [n for n in result.notes if "SyntaxError (target.py, line 4)" in n], (level, result.notes)


@pytest.mark.parametrize("level", [pytest.param("bwrap", marks=needs_bwrap), "rlimits"])
def test_memorised_public_case_passes_only_with_the_public_seed(host: Host, level: str) -> None:
    public, _ = grade_attack(host, "hardcode", level, seed=0, hidden=False)
    checks = {c.name: c for c in public.checks}
    assert checks["test_double_public"].outcome == "passed"
    assert "memorised answer: yes" in checks["test_double_public"].stdout
    batch, _ = grade_attack(host, "hardcode", level)
    assert {c.name: c.outcome for c in batch.checks}["test_double_public"] == "failed"
    assert batch.score == 2


def test_escape_sequences_reach_the_terminal_only_made_visible(host: Host) -> None:
    from autograder.reporting.terminal import render

    result, _ = grade_attack(host, "terminal_escapes", "rlimits")
    assert "\x1b[1A" in {c.name: c for c in result.checks}["test_double_public"].message  # the attack ran
    table = render(result, color=True, width=100)
    # The only escape sequences are the table's own colours.
    assert re.sub(r"\x1b\[(?:3[1-5]|0)m", "", table).count("\x1b") == 0
    assert "\x07" not in table and "\\x1b[1A\\x1b[2K  PASS" in table


# -- a batch of attackers and honest students ------------------------------------------


def _leftover_sandbox_processes() -> list[int]:
    """Processes running as a sandbox uid that no sandbox holds any more."""
    running: set[int] = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        uids = re.search(r"^Uid:\s+(\d+)", text, re.MULTILINE)
        if uids and UID_BASE <= int(uids.group(1)) < UID_BASE + UID_SLOTS:
            running.add(int(uids.group(1)))
    left: list[int] = []
    for uid in sorted(running):
        slot = UidSlot.try_claim(uid)
        if slot is not None:
            try:
                left += processes_of(uid)
            finally:
                slot.release()
    return left


def _children() -> dict[int, list[int]]:
    """Each running process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return children


@contextmanager
def _descendants_seen(every: float = 0.02) -> Iterator[set[int]]:
    """The processes seen below this one while the block runs (polled every ``every`` seconds)."""
    seen: set[int] = set()
    done = threading.Event()

    def poll() -> None:
        while True:
            children, todo = _children(), [os.getpid()]
            while todo:
                for child in children.get(todo.pop(), []):
                    seen.add(child)
                    todo.append(child)
            if done.wait(every):
                return

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()


@needs_bwrap
@pytest.mark.slow
def test_batch_of_attackers_and_honest_students(host: Host, tmp_path: Path) -> None:
    from autograder.batch import run_batch

    folder = tmp_path / "batch-submissions"
    folder.mkdir()
    attackers = [p.values[0] for p in attacks_at("bwrap")]
    for name in attackers:
        host.submission(name, folder)
    for i in range(3):
        host.submission("honest", folder, student=f"honest_student_{i}")
    out = tmp_path / "batch-out"
    out.mkdir()
    victim = out / "victim.json"
    victim.write_text('{"score": 0}\n')
    host.canaries[victim] = victim.read_bytes()
    stream = io.StringIO()

    with _descendants_seen() as ours:
        outcome = run_batch(
            host.course, ASSIGNMENT, folder, out=out, jobs=2, seed=BATCH_SEED, progress=False, stream=stream
        )

    assert not outcome.interrupted and not outcome.failed, stream.getvalue()
    expected = expectations()
    assert sorted(outcome.results) == sorted([*attackers, *(f"honest_student_{i}" for i in range(3))])
    for student, result in outcome.results.items():
        assert result.isolation == "bwrap" and result.seed == BATCH_SEED and result.hidden
        want = expected["honest" if student.startswith("honest_student") else student]
        assert result.score == want["score"], (student, [(c.name, c.outcome) for c in result.checks])
        if student.startswith("honest"):
            assert result.score == result.max_score == 4
    assert (out / "gradebook.csv").is_file() and (out / "summary.html").is_file()
    for text in (stream.getvalue(), (out / "batch.log").read_text()):  # no raw escape sequence
        assert "\x1b" not in text and "\x07" not in text
    host.assert_untouched()
    assert _leftover_sandbox_processes() == []
    # The pool's processes are gone, and with them their fork servers' folders.  Only this batch's:
    # tests on other workers share the temporary folder, and some of them kill fork servers.
    owners = [
        f.name[len(forkserver.FOLDER_PREFIX) :].split("-")[0]
        for f in Path(tempfile.gettempdir()).glob(f"{forkserver.FOLDER_PREFIX}*")
    ]
    assert ours, "the batch ran in processes of its own"
    left = [o for o in owners if o.isdigit() and int(o) in ours and not Path(f"/proc/{o}").exists()]
    assert left == []
