"""The reports a batch writes: student HTML and JSON, the class summary, the gradebook; and how
they render in headless Chromium (no network request, the score visible)."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest

from autograder.batch import ResultCache, write_reports
from autograder.reporting.gradebook import gradebook_frame, write_gradebook
from autograder.reporting.gradescope import to_gradescope
from autograder.reporting.html_report import array_view, render_student_html, write_student_html
from autograder.reporting.summary import (
    class_statistics,
    failure_key,
    histogram_svg,
    render_summary_html,
    write_summary_html,
)
from autograder.reporting.terminal import render
from autograder.results import (
    MAX_STDOUT_CHARS,
    SCHEMA_VERSION,
    CheckResult,
    LateScore,
    QuestionResult,
    SubmissionResult,
    Timing,
    clip_output,
)

SECRET = "SECRET-hidden-detail"
#: What else a hidden check of make_result() holds that a student must not see under "pass_fail".
SECRET_TRACE = "SECRET-hidden-traceback"
SECRET_PRINT = "SECRET-hidden-printed"
SECRET_EXPECTED = 91357.0
SECRET_GOT = 86421.0
SECRET_SECONDS = 0.0479


def make_result(
    student: str = "alice",
    *,
    conv_ok: bool = False,
    hidden_ok: bool = False,
    crash: bool = False,
    status: Literal["ok", "grader_error"] = "ok",
) -> SubmissionResult:
    """A result with public and hidden checks, arrays, a traceback and printed output."""
    checks = [
        CheckResult(
            name="test_add_numbers",
            question="add",
            max_score=1,
            score=1,
            outcome="passed",
            visibility="public",
            duration=0.002,
        ),
        CheckResult(
            name="test_conv_small",
            question="conv",
            max_score=2,
            score=2 if conv_ok else 0,
            outcome="passed" if conv_ok else "failed",
            visibility="public",
            message=""
            if conv_ok
            else (
                "conv(x, w) returned wrong values: 3 of 9 differ. First at index (0, 0, 0, 1): "
                "got 7.5, expected 6. Max abs error 2, max rel error 0.25 (tolerance rtol=1e-06,"
                " atol=1e-08). Hint: did you flip the kernel?"
            ),
            expected=None if conv_ok else [[[[10.0, 14.0, 18.0], [26.0, 30.0, 34.0], [42.0, 46.0, 50.0]]]],
            got=None if conv_ok else [[[[10.0, 16.0, 18.0], [26.0, 30.0, 36.0], [42.0, 46.0, 51.5]]]],
            stdout="" if conv_ok else "debug: " + "x" * 30000,
            duration=0.0123,
        ),
        CheckResult(
            name="test_conv_crash",
            question="conv",
            max_score=1,
            score=0 if crash else 1,
            outcome="error" if crash else "passed",
            visibility="public",
            message="conv(x, w): IndexError: index 9 is out of bounds" if crash else "",
            traceback=('  File "demo.py", line 12, in conv\n    out[9] = 1\nIndexError: index 9 is out of bounds\n')
            if crash
            else "",
            duration=0.004,
        ),
        CheckResult(
            name="test_conv_random",
            question="conv",
            max_score=2,
            score=2 if hidden_ok else 0,
            outcome="passed" if hidden_ok else "failed",
            visibility="hidden",
            message="" if hidden_ok else f"{SECRET}: wrong values",
            traceback="" if hidden_ok else f"{SECRET_TRACE} in conv",
            stdout=f"{SECRET_PRINT}\n",
            expected=None if hidden_ok else [1.0, SECRET_EXPECTED],
            got=None if hidden_ok else [1.0, SECRET_GOT],
            duration=SECRET_SECONDS,
        ),
    ]
    if status != "ok":
        checks = []
    questions = tuple(
        QuestionResult(
            name=q,
            title=t,
            score=sum(c.score for c in checks if c.question == q),
            max_score=sum(c.max_score for c in checks if c.question == q),
        )
        for q, t in (("add", "Adding arrays"), ("conv", "A convolution"))
        if any(c.question == q for c in checks)
    )
    return SubmissionResult(
        assignment="demo",
        student=student,
        seed=3,
        checks=tuple(checks),
        questions=questions,
        status=status,
        notes=("graded alice.py as demo.py",) if status == "ok" else ("grader error: the grading process died",),
        isolation="bwrap",
        hidden=True,
        duration=0.31,
        fingerprint="f" * 32,
    )


def class_results() -> list[SubmissionResult]:
    return [
        make_result("alice"),
        make_result("bob", conv_ok=True, hidden_ok=True),
        make_result("carol", crash=True),
        make_result("dan brown", conv_ok=True),
        make_result("eve", status="grader_error"),
    ]


# -- student HTML --------------------------------------------------------------


def test_student_html_shows_score_questions_and_checks() -> None:
    r = make_result()
    page = render_student_html(r.for_student("pass_fail"))
    assert 'id="score"' in page and "2 / 6" in page
    assert "Adding arrays" in page and "A convolution" in page
    for check in r.checks:
        assert f'data-check="{check.name}"' in page
    assert "Hint: did you flip the kernel?" in page
    assert "ms</div>" in page  # time per check
    assert "graded alice.py as demo.py" in page


def test_hidden_checks_show_only_name_and_verdict_unless_allowed() -> None:
    r = make_result()
    redacted = render_student_html(r.for_student("pass_fail"))
    assert "test_conv_random" in redacted and SECRET not in redacted and "details hidden" in redacted
    full = render_student_html(r)
    assert SECRET in full and "details hidden" not in full
    assert SECRET in render_student_html(r.for_student("full"))


def test_small_arrays_render_as_heat_map_with_wrong_cells_marked() -> None:
    r = make_result()
    view = array_view(r.checks[1].expected, r.checks[1].got)
    assert view is not None and view["compared"]
    assert view["wrong"] == 3 and view["total"] == 9
    assert "showing [0, 0, :, :]" in view["sides"][0]["caption"]
    page = render_student_html(r.for_student("pass_fail"))  # the hidden check's arrays are not shown
    assert page.count('class="bad"') == 3
    assert "rgba(207, 34, 46" in page


def test_array_view_handles_scalars_shape_mismatch_and_ragged_values() -> None:
    assert array_view(None, None) is None
    scalar = array_view(5, 6)
    assert scalar is not None and scalar["wrong"] == 1
    mismatch = array_view([[1.0, 2.0]], [1.0, 2.0, 3.0])
    assert mismatch is not None and not mismatch["compared"]
    ragged = array_view([[1, 2], [3]], None)
    assert ragged is not None and ragged["sides"][0]["rows"]


def test_traceback_and_capped_stdout_are_shown() -> None:
    r = make_result(crash=True)
    page = render_student_html(r)
    assert "traceback (your code)" in page and "line 12, in conv" in page
    stdout = r.checks[1].stdout  # 30007 characters printed: the one cap keeps the end
    assert len(stdout) == MAX_STDOUT_CHARS and stdout.startswith("[... 30007 characters printed, the last shown]")
    assert stdout in page and "debug: " not in page


def test_student_page_is_self_contained() -> None:
    page = render_student_html(make_result(crash=True))
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#)""", page), "external reference"
    assert "@import" not in page and "url(" not in page
    assert "<style>" in page and "@media print" in page


def test_write_student_html_keeps_its_signature(tmp_path: Path) -> None:
    path = write_student_html(make_result(), tmp_path / "sub" / "alice.html")
    assert path.is_file() and SECRET in path.read_text()


def test_grader_error_result_says_it_is_not_the_students_fault() -> None:
    page = render_student_html(make_result(status="grader_error"))
    assert "not your fault" in page and "No checks ran" in page


# -- Gradescope JSON -----------------------------------------------------------


def test_gradescope_json_follows_the_schema_and_redacts_hidden_checks(tmp_path: Path) -> None:
    r = make_result()
    write_reports(r, tmp_path, "pass_fail")
    data = json.loads((tmp_path / "alice.json").read_text())
    assert data["score"] == r.score
    assert {"score", "tests", "output", "visibility"} <= set(data)
    assert "execution_time" not in data and "seed" not in data["extra_data"]  # the student's view (pass_fail)
    assert {"execution_time", "extra_data"} <= set(to_gradescope(r)) and "seed" in to_gradescope(r)["extra_data"]
    for test in data["tests"]:
        assert {"name", "score", "max_score", "visibility", "output"} <= set(test)
    hidden = next(t for t in data["tests"] if t["name"] == "test_conv_random")
    assert hidden["visibility"] == "after_published" and SECRET not in hidden["output"]
    assert (tmp_path / "alice.html").is_file()
    assert _hidden_details((tmp_path / "alice.html").read_text()) == []
    assert _hidden_details((tmp_path / "alice.json").read_text()) == []
    assert len(_hidden_details((tmp_path / "instructor" / "alice.html").read_text())) == 6
    assert to_gradescope(r)["tests"][3]["output"].startswith(SECRET)
    assert to_gradescope(r.for_student("full"))["tests"][3]["output"].startswith(SECRET)


# -- class summary -------------------------------------------------------------


def test_failure_key_groups_messages_that_differ_only_in_numbers() -> None:
    a = failure_key(
        "f(x) returned wrong values: 3 of 9 differ. First at index (0, 1): got 1.5, expected 2. Hint: flip the kernel."
    )
    b = failure_key(
        "f(x) returned wrong values: 7 of 9 differ. First at index (2, 2): got -3.25,"
        " expected 1. Hint: flip the kernel."
    )
    assert a == b and "Hint: flip the kernel" in a
    shape = failure_key("f(x) returned shape (2, 8, 6, 6), expected (2, 8, 5, 5).")
    assert "(2, 8, 6, 6)" in shape


def test_class_statistics() -> None:
    stats = class_statistics(class_results())
    assert stats["n"] == 5 and stats["graded"] == 4
    assert stats["scores"] == [2.0, 6.0, 1.0, 4.0]
    assert stats["median"] == 3 and stats["max_score"] == 6
    checks = {c.name: c for c in stats["checks"]}
    assert checks["test_add_numbers"].pass_rate == 1.0
    assert checks["test_conv_small"].pass_rate == 0.5
    assert checks["test_conv_small"].messages.most_common(1)[0][1] == 2
    assert stats["problems"]["error"] == ["carol"]
    assert stats["problems"]["grader_error"] == ["eve"]
    assert stats["hardest"][0].name in ("test_conv_random",)


def test_histogram_is_inline_svg_with_every_score_counted() -> None:
    svg = histogram_svg([0, 1, 5, 9.5, 10, 12], 10, bins=5)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    counts = [int(n) for n in re.findall(r": (\d+) submission", svg)]
    assert sum(counts) == 6 and counts[-1] == 3  # 9.5, 10 and the 12 of extra credit


def test_summary_page_lists_everything_and_links_reports(tmp_path: Path) -> None:
    results = class_results()
    page = render_summary_html(results, assignment="demo", title="Demo")
    assert 'class="chart histogram"' in page
    assert 'href="alice.html"' in page and 'href="dan%20brown.html"' in page
    assert "Hint: did you flip the kernel?" in page and "2×" in page
    assert 'data-problem="grader_error"' in page and 'data-problem="error"' in page
    assert 'data-problem="timeout"' not in page
    assert 'id="median">3<' in page
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:|//)""", page)
    path = write_summary_html(results, tmp_path / "summary.html", assignment="demo")
    assert path.read_text(encoding="utf-8") == render_summary_html(results, assignment="demo")


# -- gradebook -----------------------------------------------------------------


def test_gradebook_has_one_row_per_student_and_a_column_per_question(tmp_path: Path) -> None:
    results = class_results()
    frame = gradebook_frame(results, questions=["add", "conv", "extra"])
    assert list(frame["student"]) == sorted(r.student for r in results)
    assert list(frame.columns[:4]) == ["student", "add", "conv", "extra"]
    for column in ("total", "status", "seed", "grading_seconds"):
        assert column in frame.columns
    path = write_gradebook(results, tmp_path / "gradebook.csv", questions=["add", "conv"])
    back = pd.read_csv(path)
    assert len(back) == len(results)
    bob = back.set_index("student").loc["bob"]
    assert bob["total"] == 6 and bob["conv"] == 5 and bob["status"] == "ok" and bob["seed"] == 3
    assert back.set_index("student").loc["eve"]["status"] == "grader_error"


# -- headless Chromium -----------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The browser's own background requests never leave the machine: every request goes
    # to a closed port on loopback, and no name resolves.
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``)."""

    def __init__(self, exe: str, user_data_dir: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def fds_3_and_4() -> None:  # the protocol's fixed descriptors
            a, b = os.dup(cmd_r), os.dup(res_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds_3_and_4,
            close_fds=False,
        )
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._receive(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from Chromium")
            ready, _, _ = select.select([self._res_r], [], [], left)
            if ready:
                chunk = os.read(self._res_r, 1 << 20)
                if not chunk:
                    raise EOFError("Chromium closed the DevTools pipe")
                self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def load(self, path: Path) -> tuple[str, list[str]]:
        """Open ``path`` in a new tab; (the tab's session, every URL the page requested)."""
        self.events.clear()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Network.enable", session=session)
        self.send("Page.enable", session=session)
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        self.wait_for("Page.loadEventFired")
        self.send("Runtime.evaluate", {"expression": "1", "awaitPromise": True}, session=session)
        urls = [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]
        return session, urls

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._res_r)


@pytest.fixture
def browser(tmp_path: Path) -> Any:
    exe = _chromium()
    if exe is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path))
    b = Browser(exe, profile)
    try:
        yield b
    finally:
        b.close()


def _remote(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file:", "data:", "about:"))]


VISIBLE = (
    "(function (el) { if (!el) return null; const r = el.getBoundingClientRect();"
    " const s = getComputedStyle(el); return {text: el.innerText, visible: r.width > 0 &&"
    " r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'}; })"
)


@pytest.mark.browser
def test_reports_render_in_chromium_without_network(tmp_path: Path, browser: Browser) -> None:
    results = class_results()
    for r in results:
        write_reports(r, tmp_path, "pass_fail")
    write_summary_html(results, tmp_path / "summary.html", assignment="demo", title="Demo")

    session, urls = browser.load(tmp_path / "alice.html")
    assert _remote(urls) == [], f"the student report requested {_remote(urls)}"
    score = browser.evaluate(session, VISIBLE + "(document.getElementById('score'))")
    assert score == {"text": "2 / 6", "visible": True}
    assert browser.evaluate(session, "document.querySelectorAll('tr.check').length") == 4
    assert SECRET not in browser.evaluate(session, "document.body.innerText")

    session, urls = browser.load(tmp_path / "summary.html")
    assert _remote(urls) == [], f"the summary requested {_remote(urls)}"
    median = browser.evaluate(session, VISIBLE + "(document.getElementById('median'))")
    assert median == {"text": "3", "visible": True}
    assert browser.evaluate(session, "document.querySelectorAll('svg.histogram rect').length") == 10
    links = browser.evaluate(session, "[...document.querySelectorAll('tr[data-student] a')].map(a => a.href)")
    assert len(links) == len(results)
    for link in links:
        assert link.startswith("file:") and Path(unquote(urlparse(link).path)).is_file()


@pytest.mark.browser
def test_the_network_check_itself_sees_a_remote_request(tmp_path: Path, browser: Browser) -> None:
    page = tmp_path / "control.html"
    page.write_text('<!DOCTYPE html><div id="score">1 / 2</div><img src="http://127.0.0.1:9/pixel.png">')
    session, urls = browser.load(page)
    assert _remote(urls) == ["http://127.0.0.1:9/pixel.png"]
    assert browser.evaluate(session, VISIBLE + "(document.getElementById('score'))")["text"] == "1 / 2"


def test_printed_output_is_cut_at_a_line_and_says_how_much_was_cut() -> None:
    text = "".join(f"line {i}\n" for i in range(1000))
    clipped = clip_output(text, 100)
    head, note = clipped.rsplit("\n", 1)
    assert head.splitlines()[0] == "line 0" and all(line.startswith("line ") for line in head.splitlines())
    kept = len(head) + 1
    lines = 1000 - len(head.splitlines())
    assert note == f"[... {len(text) - kept} more characters ({lines} more lines) of printed output not shown]"
    assert clip_output("short\n", 100) == "short\n"


def _extra_credit_result(student: str, failed: int, extra: float) -> SubmissionResult:
    """100 points in 10 checks of 10, and a 10-point extra-credit question."""
    checks = (
        *tuple(
            CheckResult(
                f"test_{i}", "main", 10.0, 0.0 if i < failed else 10.0, "failed" if i < failed else "passed", "public"
            )
            for i in range(10)
        ),
        CheckResult("test_extra", "extra", 10.0, extra, "passed" if extra else "failed", "hidden"),
    )
    questions = (
        QuestionResult("main", "Main", 100.0 - 10 * failed, 100.0),
        QuestionResult("extra", "Extra", extra, 10.0, extra_credit=True),
    )
    return SubmissionResult("demo", student, 0, checks, questions)


def test_summary_counts_passed_every_check_apart_from_score_at_the_maximum() -> None:
    results = [
        _extra_credit_result("perfect", 0, 10.0),  # 110: every check passed
        _extra_credit_result("no_extra", 0, 0.0),  # 100 with the extra-credit check failed
        _extra_credit_result("made_up", 1, 10.0),  # 100 thanks to extra credit, one check failed
        _extra_credit_result("low", 3, 0.0),  # 70
    ]
    stats = class_statistics(results)
    assert stats["at_max"] == 3 and stats["all_passed"] == 1
    assert stats["max_score"] == 100 and stats["top_score"] == 110
    page = render_summary_html(results)
    assert re.search(r'id="all-passed">1<', page) and re.search(r'id="at-max">3<', page)
    assert "passed every check" in page and "score ≥ 100" in page


def test_summary_histogram_spans_zero_to_the_maximum_with_extra_credit() -> None:
    results = [_extra_credit_result("perfect", 0, 10.0), _extra_credit_result("low", 3, 0.0)]
    page = render_summary_html(results)
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart histogram"') :]
    svg = svg[: svg.index("</svg>")]
    assert ">110</text>" in svg and ">0</text>" in svg
    bins = re.findall(r"<title>([\d.]+)–([\d.]+): (\d+) submission", svg)
    assert bins[-1] == ("99", "110", "1")  # the 110 sits in the last bin, not past the axis
    assert next(b for b in bins if b[2] == "1")[:2] == ("66", "77")  # the 70


def test_the_student_view_drops_hidden_details_under_pass_fail_only() -> None:
    r = make_result()
    view = r.for_student("pass_fail")
    hidden = [c for c in view.checks if c.visibility == "hidden"]
    assert hidden and all(
        (c.message, c.traceback, c.stdout, c.expected, c.got, c.duration) == ("", "", "", None, None, 0.0)
        for c in hidden
    )
    assert [(c.name, c.score, c.outcome) for c in view.checks] == [(c.name, c.score, c.outcome) for c in r.checks]
    assert [c for c in view.checks if c.visibility == "public"] == [c for c in r.checks if c.visibility == "public"]
    assert all(c.redacted for c in hidden) and not any(c.redacted for c in r.checks)
    assert SECRET not in render_student_html(view)
    assert SECRET not in json.dumps(view.to_dict())
    assert r.for_student("full").checks == r.checks


def _hidden_details(text: str) -> list[str]:
    """Which details of make_result()'s failed hidden check appear in ``text``."""
    marks = {
        "message": (SECRET,),
        "traceback": (SECRET_TRACE,),
        "printed output": (SECRET_PRINT,),
        "expected": (f"{SECRET_EXPECTED:g}",),
        "got": (f"{SECRET_GOT:g}",),
        "duration": (f"{SECRET_SECONDS:g}", f"{SECRET_SECONDS * 1000:g} ms"),  # seconds in JSON, ms on the page
    }
    return [name for name, found in marks.items() if any(mark in text for mark in found)]


def _every_output(result: SubmissionResult) -> dict[str, str]:
    """The terminal table, the HTML page, the result JSON and the Gradescope JSON of ``result``."""
    return {
        "terminal": render(result, width=200),
        "html": render_student_html(result),
        "json": json.dumps(result.to_dict()),
        "gradescope": json.dumps(to_gradescope(result)),
    }


def test_a_student_under_pass_fail_never_sees_a_hidden_checks_details() -> None:
    student = _every_output(make_result().for_student("pass_fail"))
    assert {kind: _hidden_details(text) for kind, text in student.items()} == {kind: [] for kind in student}
    # The check itself is still there, with its verdict, and says that its details are hidden.
    assert all("test_conv_random" in text for text in student.values())
    assert "details of hidden checks are not shown" in student["terminal"]
    assert "details hidden" in student["html"]


def test_a_student_under_pass_fail_sees_neither_the_seed_nor_the_total_time() -> None:
    """With the seed and the public plugin a student could draw the hidden cases again; the total
    time less the public checks' times is the hidden checks' time."""
    seed_and_time = {"terminal": ("seed 3", "0.31"), "html": ("seed 3", "0.31"), "gradescope": ('"seed": 3', "0.31")}
    for result, shown in ((make_result().for_student("pass_fail"), False), (make_result(), True)):
        outputs = _every_output(result)
        for kind, marks in seed_and_time.items():
            assert any(mark in outputs[kind] for mark in marks) is shown, (kind, shown)
    assert make_result().for_student("pass_fail").redacted and not make_result().for_student("full").redacted


def test_an_instructor_and_a_full_policy_see_a_hidden_checks_details() -> None:
    for result in (make_result(), make_result().for_student("full")):
        shown = {kind: _hidden_details(text) for kind, text in _every_output(result).items()}
        assert "message" in shown["terminal"] and "message" in shown["gradescope"]
        assert set(shown["html"]) == {"message", "traceback", "printed output", "expected", "got", "duration"}
        assert set(shown["json"]) == set(shown["html"])


# -- the result schema ---------------------------------------------------------

V1_LATENESS: dict[str, Any] = {
    "raw_score": 4.0,
    "late_penalty": 1.0,
    "adjustment": 0.0,
    "final_score": 3.0,
    "days_late": 1,
    "accepted": True,
    "note": "1 day late, -1 points",
    "submitted": "2026-03-02T09:00+00:00",
    "time_source": "Canvas",
    "extension_days": 0.0,
    "reason": "",
    "due": "2026-03-01T23:59+00:00",
}
V1_TIMING: dict[str, Any] = {
    "task": 1.5,
    "student": 0.25,
    "sandbox": 0.5,
    "cpu_harness": 0.75,
    "cpu_sandbox": None,
    "calls": 12,
    "pid": 4321,
}


def _version_1(result: SubmissionResult, extra: dict[str, Any]) -> dict[str, Any]:
    """``result`` as schema version 1 wrote it: no ``redacted``, the typed fields in ``extra``."""
    data = result.to_dict()
    for name in ("timing", "notebook_run", "lateness", "lms"):
        del data[name]
    for check in data["checks"]:
        del check["redacted"]
    return {**data, "schema_version": 1, "extra": extra}


def test_a_result_round_trips_through_its_dict_with_typed_fields() -> None:
    r = replace(
        make_result(),
        timing=Timing(**V1_TIMING),
        lateness=LateScore(**V1_LATENESS),
        lms={"system": "canvas", "canvas_user_id": "77"},
        notebook_run={"status": "ok", "cells": [], "message": "", "duration": 0.5},
    ).for_student("pass_fail")
    data = json.loads(json.dumps(r.to_dict()))
    assert data["schema_version"] == SCHEMA_VERSION == 2 and "extra" not in data
    assert data["lateness"]["final_score"] == 3.0 and data["checks"][3]["redacted"] is True
    assert SubmissionResult.from_dict(data) == r
    with pytest.raises(ValueError, match="unsupported result schema 3"):
        SubmissionResult.from_dict({**data, "schema_version": 3})


def test_a_version_1_result_still_loads_with_its_extra_as_typed_fields() -> None:
    r = make_result()
    extra = {
        "timing": V1_TIMING,
        "lateness": V1_LATENESS,
        "lms": {"system": "canvas", "canvas_user_id": "77"},
        "notebook_outputs": {"status": "ok", "cells": [], "message": "", "duration": 0.5},
    }
    old = SubmissionResult.from_dict(json.loads(json.dumps(_version_1(r, extra))))
    assert old.timing == Timing(**V1_TIMING) and old.lateness == LateScore(**V1_LATENESS)
    assert old.lms == {"system": "canvas", "canvas_user_id": "77"} and old.notebook_run == extra["notebook_outputs"]
    assert old.final_score == 3.0 and old.schema_version == SCHEMA_VERSION
    assert old.checks == r.checks and not any(c.redacted for c in old.checks)
    bare = SubmissionResult.from_dict(_version_1(r, {}))
    assert (bare.timing, bare.lateness, bare.lms, bare.notebook_run) == (None, None, {}, None)
    assert bare == r


def test_a_cache_file_nested_too_deeply_to_parse_is_a_miss_not_a_crash(tmp_path: Path) -> None:
    r = make_result()
    cache = ResultCache(tmp_path / "cache")
    cache.store(r)
    cache.path(r.student).write_text("[" * 200_000 + "]" * 200_000)
    assert cache.load(r.student, r.fingerprint, r.isolation) is None
    assert cache.every_result("demo") == {}


def test_a_batch_cache_of_version_1_results_loads(tmp_path: Path) -> None:
    r = make_result()
    cache = ResultCache(tmp_path / "cache")
    cache.store(r)
    entry = json.loads(cache.path(r.student).read_text())
    entry["result"] = _version_1(r, {"timing": V1_TIMING})
    cache.path(r.student).write_text(json.dumps(entry))
    loaded = cache.load(r.student, r.fingerprint, r.isolation)
    assert loaded is not None and loaded.timing == Timing(**V1_TIMING)
    assert cache.every_result("demo") == {"alice": loaded}
