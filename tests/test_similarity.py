"""Similarity of a class: disguised copies rank above independent work, hostile files are read safely."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import grade_command

from autograder.paths import CourseDir
from autograder.reporting.gradebook import gradebook_frame
from autograder.reporting.summary import render_summary_html
from autograder.results import SubmissionResult
from autograder.similarity import analyse, compare, fingerprint_files, read_class
from autograder.similarity.compare import Comparison
from autograder.similarity.fingerprints import MAX_SOURCE_CHARS, Fingerprinted, K, Segment, normalise
from autograder.similarity.report import render_html, stub_files, to_json
from autograder.spec import AssignmentSpec, load_spec
from autograder.submission import Submission

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus" / "similarity" / "assignment3"
FUNCTIONS = (
    "conv_output_size",
    "pool_output_size",
    "conv2d_forward",
    "max_pool2d",
    "avg_pool2d",
    "unpool_nearest",
    "unpool_bed_of_nails",
)
IDENTICAL = ("erin", "greta", "hugo")


@pytest.fixture(scope="module")
def spec() -> AssignmentSpec:
    return load_spec(CourseDir(REPO).spec_file("assignment3"))


@pytest.fixture(scope="module")
def corpus(spec: AssignmentSpec) -> Comparison:
    course = CourseDir(REPO)
    return analyse(read_class(course, spec, CORPUS), spec, stub_files(course, spec))


def _authors() -> dict[str, dict[str, str]]:
    table = tomllib.loads((CORPUS / "authors.toml").read_text())["authors"]
    return {s: {f: e.get(f, e["all"]) for f in FUNCTIONS} for s, e in table.items()}


def _scores(c: Comparison) -> dict[frozenset[str], float]:
    return {frozenset((p.a, p.b)): p.score for p in c.pairs}


def _split_pairs(c: Comparison) -> tuple[list[tuple[float, str, str]], list[tuple[float, str, str]]]:
    authors = _authors()
    assert sorted(authors) == sorted(c.students), "authors.toml must name every corpus file"
    scores = _scores(c)
    copies: list[tuple[float, str, str]] = []
    independent: list[tuple[float, str, str]] = []
    for a, b in itertools.combinations(sorted(c.students), 2):
        shared = any(authors[a][f] == authors[b][f] != "stub" for f in FUNCTIONS)
        entry = (scores.get(frozenset((a, b)), 0.0), a, b)
        (copies if shared else independent).append(entry)
    return copies, independent


# -- the corpus -----------------------------------------------------------------


def test_every_copy_pair_ranks_above_every_independent_pair(corpus: Comparison) -> None:
    copies, independent = _split_pairs(corpus)
    assert len(copies) >= 10 and len(independent) >= 60
    lowest_copy = min(copies)
    highest_independent = max(independent)
    assert lowest_copy[0] > highest_independent[0], (lowest_copy, highest_independent)
    # Every copy pair is listed as worth a look, no independent pair is.
    listed = {frozenset((p.a, p.b)) for p in corpus.pairs}
    assert all(frozenset((a, b)) in listed for _, a, b in copies)
    assert not any(frozenset((a, b)) in listed for _, a, b in independent)


@pytest.mark.parametrize(
    ("original", "copy"),
    [("alice", "ivan"), ("bob", "judy"), ("carol", "kim"), ("dave", "leo"), ("frank", "mia")],
)
def test_each_disguise_of_a_whole_file_still_scores_high(corpus: Comparison, original: str, copy: str) -> None:
    assert _scores(corpus)[frozenset((original, copy))] >= 0.9


def test_partial_copies_show_the_copied_functions(corpus: Comparison) -> None:
    pair = next(p for p in corpus.pairs if {p.a, p.b} == {"bob", "pete"})
    full = {r.function_a for r in pair.regions if r.function_a == r.function_b and r.score >= 0.9}
    assert full == {"avg_pool2d", "unpool_nearest", "unpool_bed_of_nails"}
    region = next(r for r in pair.regions if r.function_a == "unpool_bed_of_nails")
    lines = region.lines_a if pair.a == "bob" else region.lines_b
    bob_lines = (CORPUS / "bob.py").read_text().splitlines()
    marked = [bob_lines[n - 1] for lo, hi in lines for n in range(lo, hi + 1)]
    assert any("result[..., ::sh, ::sw] = x" in line for line in marked)
    assert not any("Bed-of-nails unpooling" in line for line in marked)  # the stub's docstring


def test_byte_identical_copies_score_one_and_form_one_cluster(corpus: Comparison) -> None:
    scores = _scores(corpus)
    for a, b in itertools.combinations(IDENTICAL, 2):
        assert scores[frozenset((a, b))] >= 0.95
    assert sorted(IDENTICAL) in corpus.clusters
    assert not any(set(IDENTICAL) & set(g) and set(g) != set(IDENTICAL) for g in corpus.clusters)


def test_every_student_has_a_highest_score_and_partner(corpus: Comparison) -> None:
    assert corpus.best["ivan"] == (1.0, "alice")
    assert corpus.best["pete"][1] in ("bob", "judy")
    assert all(0.0 <= score <= 1.0 for score, _ in corpus.best.values())


def test_fingerprinting_in_worker_processes_gives_the_same_result(
    spec: AssignmentSpec, corpus: Comparison, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autograder.similarity import report

    monkeypatch.setattr(report, "PARALLEL_FROM", 2)
    course = CourseDir(REPO)
    parallel = analyse(read_class(course, spec, CORPUS), spec, stub_files(course, spec), jobs=2)
    assert parallel.pairs == corpus.pairs and parallel.clusters == corpus.clusters


# -- what survives disguise -------------------------------------------------------


def _labels(code: str) -> list[str]:
    labels, _lines, _segments, status, _note = normalise(code)
    assert status == "ok"
    return labels


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("def f(a, b):\n    a = a + b\n    return a\n", "def g(x, y):\n    x += y\n    return x\n"),
        ("def f(a, b):\n    return np.dot(a, b)\n", "def f(a, b):\n    return a @ b\n"),
        ("def f(a, b):\n    return a.dot(b)\n", "def f(a, b):\n    return np.matmul(a, b)\n"),
        (
            "def f(n):\n    t = 0\n    for i in range(n):\n        t = t + i\n    return t\n",
            "def f(n):\n    t = 0\n    i = 0\n    while i < n:\n        t += i\n        i += 1\n    return t\n",
        ),
        (
            'def f(x):\n    """Doc."""\n    # a comment\n    return x * 2\n',
            "def f(x):\n    print('x is', x)\n    unused = 3\n    if False:\n        x = 0\n"
            "    return (x *\n            2)\n    x = 1\n",
        ),
    ],
)
def test_equivalent_forms_normalise_alike(one: str, other: str) -> None:
    assert _labels(one) == _labels(other)


def test_different_code_normalises_differently() -> None:
    assert _labels("def f(a, b):\n    return a + b\n") != _labels("def f(a, b):\n    return a * b\n")
    assert _labels("def f(x):\n    return x.sum(axis=0)\n") != _labels("def f(x):\n    return x.max(axis=0)\n")


# -- the stub and common code -------------------------------------------------------


def test_the_stub_never_matches(spec: AssignmentSpec) -> None:
    course = CourseDir(REPO)
    stub = stub_files(course, spec)
    subs = [
        Submission("untouched1", Path("a"), dict(stub)),
        Submission("untouched2", Path("b"), dict(stub)),
        Submission("alice", CORPUS / "alice.py", {"cnn.py": (CORPUS / "alice.py").read_bytes()}),
    ]
    c = analyse(subs, spec, stub)
    assert c.pairs == []
    assert c.best["untouched1"] == (0.0, "")
    # Without the base, the stub's code is what they all share.
    assert analyse(subs, spec, {}).pairs


def _doc(student: str, hashes: list[int]) -> Fingerprinted:
    n = len(hashes)
    return Fingerprinted(
        student=student,
        status="ok",
        note="",
        sources={"cnn.py": ""},
        segments=[Segment("f", "cnn.py", 0, n + K, 1, 1)],
        token_lines=np.ones(n + K, dtype=np.int32),
        hashes=np.array(hashes, dtype=np.uint64),
        positions=np.arange(n),
        digest=student,
    )


def test_fingerprints_many_students_hold_count_less() -> None:
    common = list(range(1000, 1020))
    rare = list(range(2000, 2020))
    docs = []
    for i in range(12):
        own = list(range(10_000 * (i + 1), 10_000 * (i + 1) + 20))
        docs.append(_doc(f"s{i:02}", own + (common if i < 6 else []) + (rare if i in (6, 7) else [])))
    scores = _scores(compare(docs, report_score=0.0))
    # s00 and s01 share 20 fingerprints that half the class holds; s06 and s07 share 20 only they hold.
    assert scores[frozenset(("s06", "s07"))] == pytest.approx(0.5)
    assert scores[frozenset(("s00", "s01"))] < 0.4
    # Held by more than half the class: not counted at all.
    docs = [_doc(f"t{i}", list(range(100 * i, 100 * i + 20)) + common) for i in range(12)]
    assert compare(docs, report_score=0.0).pairs == []


# -- hostile files ------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "def f(:\n    return 1\n",  # syntax error
        "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n",  # nesting the parser refuses
        "x = " + "-" * 200_000 + "1\n",  # nesting the tree walk refuses
        "def f():\n    return 1\x00\n",  # null byte
        "\ufeff\udcff" * 10,  # text that does not tokenize
        "def f(x):\n" + "    x = x + 1\n" * 60_000,  # larger than what is read
    ],
)
def test_hostile_sources_are_read_without_failing(source: str) -> None:
    doc = fingerprint_files("mallory", {"cnn.py": source.encode("utf-8", "surrogatepass")}, ["cnn.py"])
    assert doc.status in ("ok", "tokens", "unparseable")
    if doc.status != "ok" or len(source) > MAX_SOURCE_CHARS:
        assert doc.note
    assert len(doc.sources["cnn.py"]) <= MAX_SOURCE_CHARS


def test_a_file_that_does_not_parse_is_still_compared_as_tokens(spec: AssignmentSpec) -> None:
    broken = (CORPUS / "alice.py").read_text().replace("def conv_output_size(", "def conv_output_size((", 1)
    subs = [
        Submission("alice", CORPUS / "alice.py", {"cnn.py": (CORPUS / "alice.py").read_bytes()}),
        Submission("broken1", Path("x"), {"cnn.py": broken.encode()}),
        Submission("broken2", Path("y"), {"cnn.py": broken.encode()}),
        Submission("nothing", Path("z"), {}),
    ]
    c = analyse(subs, spec, stub_files(CourseDir(REPO), spec))
    assert c.status["broken1"] == "tokens" and "does not parse" in c.notes["broken1"]
    assert c.status["nothing"] == "missing"
    assert _scores(c)[frozenset(("broken1", "broken2"))] == 1.0


def test_unreadable_submissions_are_kept_with_a_note(tmp_path: Path, spec: AssignmentSpec) -> None:
    shutil.copy(CORPUS / "alice.py", tmp_path / "alice.py")
    (tmp_path / "bob.zip").write_bytes(b"PK\x03\x04 not a zip")
    subs = read_class(CourseDir(REPO), spec, tmp_path)
    assert [s.student for s in subs] == ["alice", "bob"]
    assert subs[1].files == {} and "not read" in subs[1].notes[0]


# -- the reports ------------------------------------------------------------------

HOSTILE_NAME = '<img src=x onerror="alert(1)">&amp;'


def test_html_escapes_names_and_code_and_never_accuses(tmp_path: Path, spec: AssignmentSpec) -> None:
    code = (
        (CORPUS / "alice.py")
        .read_text()
        .replace(
            "    return span // stride + 1",
            "    # </td></tr></table><script>alert('x')</script>\n    return span // stride + 1",
        )
    )
    subs = [
        Submission(HOSTILE_NAME, Path("a"), {"cnn.py": code.encode()}),
        Submission("ivan", CORPUS / "ivan.py", {"cnn.py": (CORPUS / "ivan.py").read_bytes()}),
        Submission("bob", CORPUS / "bob.py", {"cnn.py": (CORPUS / "bob.py").read_bytes()}),
    ]
    c = analyse(subs, spec, stub_files(CourseDir(REPO), spec))
    assert [(p.a, p.b) for p in c.pairs] == [(HOSTILE_NAME, "ivan")] or [(p.b, p.a) for p in c.pairs] == [
        (HOSTILE_NAME, "ivan")
    ]
    page = render_html(c, "assignment3")
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&#34;", "")
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;amp;" in page
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;" in page
    assert 'class="hit"' in page  # matched lines are marked
    assert "similar, worth a look" in page
    for word in ("plagiar", "cheat", "copied", "guilty", "misconduct"):
        assert word not in page.lower()
    assert "http://" not in page and "https://" not in page and "<link" not in page
    data = to_json(c, "assignment3")
    assert json.loads(json.dumps(data))["students"][HOSTILE_NAME]["most_similar_to"] == "ivan"
    pair = data["pairs"][0]
    assert 0.95 <= pair["score"] <= 1.0 and pair["regions"][0]["lines_a"]


def test_gradebook_column_and_summary_link() -> None:
    result = SubmissionResult(assignment="a", student="alice", seed=0, checks=(), questions=())
    frame = gradebook_frame([result], similarity={"alice": (0.8766, "bob")})
    assert list(frame.columns[-2:]) == ["similarity", "similar_to"]
    assert frame.loc[0, "similarity"] == pytest.approx(0.877) and frame.loc[0, "similar_to"] == "bob"
    assert "similarity" not in gradebook_frame([result]).columns
    page = render_summary_html([result], similarity_href="similarity.html")
    assert 'href="similarity.html"' in page
    assert 'href="similarity.html"' not in render_summary_html([result])


def test_grade_similarity_command(tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("alice", "ivan", "bob", "erin", "greta", "hugo"):
        shutil.copy(CORPUS / f"{name}.py", folder / f"hw3_{name}.py")
    (folder / f"hw3_{HOSTILE_NAME}.py").write_text("def f(:\n")
    out = tmp_path / "out"
    run = grade_command("similarity", "assignment3", str(folder), "--out", str(out), timeout=300)
    assert run.returncode == 0, run.stderr
    assert "similar, worth a look" in run.stdout
    data = json.loads((out / "similarity.json").read_text())
    assert set(data["students"]) == {"alice", "ivan", "bob", "erin", "greta", "hugo", HOSTILE_NAME}
    assert data["clusters"] == [["erin", "greta", "hugo"]]
    assert {frozenset((p["a"], p["b"])) for p in data["pairs"]} == {
        frozenset(p) for p in [("alice", "ivan"), ("erin", "greta"), ("erin", "hugo"), ("greta", "hugo")]
    }
    assert data["students"][HOSTILE_NAME]["status"] == "tokens"
    assert (out / "similarity.html").is_file()
    assert "torch" not in run.stderr


@pytest.mark.browser
def test_similarity_page_renders_in_chromium_without_network_or_script(tmp_path: Path, spec: AssignmentSpec) -> None:
    from test_reports import Browser, _chromium, _remote

    exe = _chromium()
    if exe is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    attack = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    code = (
        (CORPUS / "alice.py")
        .read_text()
        .replace("    return span // stride + 1", f"    # {attack}\n    return span // stride + 1")
    )
    subs = [
        Submission(attack, Path("a"), {"cnn.py": code.encode()}),
        Submission("ivan", CORPUS / "ivan.py", {"cnn.py": (CORPUS / "ivan.py").read_bytes()}),
    ]
    c = analyse(subs, spec, stub_files(CourseDir(REPO), spec))
    page = tmp_path / "similarity.html"
    page.write_text(render_html(c, "assignment3"), encoding="utf-8")
    browser = Browser(exe, tmp_path / "profile")
    try:
        session, urls = browser.load(page)
        assert _remote(urls) == []
        assert browser.evaluate(session, "document.title") != "pwned"
        assert browser.evaluate(session, "document.images.length + document.scripts.length") == 0
        assert browser.evaluate(session, "document.querySelectorAll('section.pair').length") == 1
        assert browser.evaluate(session, "document.querySelectorAll('tr.hit').length") > 10
        text = browser.evaluate(session, "document.body.innerText")
        assert attack in text and "similar, worth a look" in text
    finally:
        browser.close()


LOOPED = '''"""Demo assignment, looped."""
import numpy as np


def add(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("shapes differ")
    flat_a, flat_b = a.ravel(), b.ravel()
    out = np.empty_like(flat_a)
    for i in range(flat_a.size):
        total = flat_a[i]
        total += flat_b[i]
        out[i] = total
    return out.reshape(a.shape)


def scale(x, factor=2.0):
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    flat = x.ravel()
    res = out.ravel()
    for i in range(flat.size):
        res[i] = flat[i] * factor
    return res.reshape(x.shape)
'''

VECTOR = '''"""Demo assignment, vectorised."""
import numpy as np


def add(a, b):
    return np.add(a, b)


def scale(x, factor=2.0):
    return factor * np.asarray(x)
'''


@pytest.mark.slow
def test_batch_writes_the_similarity_report_and_column_unless_asked_not_to(tmp_path: Path) -> None:
    from conftest import build_demo_course

    course = build_demo_course(tmp_path / "course")
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("ann", "ben", "cat"):
        (subs / f"{name}.py").write_text(LOOPED)
    (subs / "dan.py").write_text(VECTOR)
    env = {**os.environ, "AUTOGRADER_ROOT": str(course.root)}

    def batch(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "autograder", "batch", "demo", str(subs), "--out", str(out), "--jobs", "1"]
        cmd += ["--no-progress", "--allow-weak-isolation", *extra]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)

    run = batch(tmp_path / "out")
    assert run.returncode == 0, run.stderr[-3000:]
    out = tmp_path / "out"
    assert "similarity: 3 pairs similar, worth a look; groups of three or more: 1;" in run.stdout
    data = json.loads((out / "similarity.json").read_text())
    assert data["clusters"] == [["ann", "ben", "cat"]]
    assert data["students"]["dan"]["highest_score"] < 0.3
    import pandas as pd

    book = pd.read_csv(out / "gradebook.csv").set_index("student")
    assert book.loc["ann", "similarity"] == 1.0 and book.loc["ann", "similar_to"] in ("ben", "cat")
    assert book.loc["dan", "similarity"] < 0.3
    assert 'href="similarity.html"' in (out / "summary.html").read_text()

    run = batch(tmp_path / "out2", "--no-similarity")
    assert run.returncode == 0, run.stderr[-3000:]
    assert not (tmp_path / "out2" / "similarity.json").exists()
    assert "similarity" not in pd.read_csv(tmp_path / "out2" / "gradebook.csv").columns
    assert "similarity.html" not in (tmp_path / "out2" / "summary.html").read_text()


def test_first_occurrences_are_what_np_unique_over_columns_finds() -> None:
    """The region finder's numeric sort: the same first occurrence of every distinct pair."""
    from autograder.similarity.compare import _first_of_each

    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 50, 500):
        primary = rng.integers(0, 4, n)
        secondary = rng.integers(0, 6, n).astype(np.uint64)
        expected = np.unique(np.stack([primary.astype(np.uint64), secondary]), axis=1, return_index=True)[1]
        assert sorted(_first_of_each(primary, secondary).tolist()) == sorted(expected.tolist()), n
