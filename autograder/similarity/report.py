"""Similarity of a class: read the submissions, compare them, write similarity.json and similarity.html."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ..errors import AutograderError
from ..paths import CourseDir
from ..spec import AssignmentSpec, load_spec
from ..students import discover_submissions, student_ids
from ..submission import Submission, load_submission
from .compare import Comparison, compare
from .fingerprints import Fingerprinted, all_kgrams, fingerprint_files

JSON_FILE = "similarity.json"
HTML_FILE = "similarity.html"
SCHEMA_VERSION = 1
#: Pairs shown with their code in the HTML page (all listed pairs are in the table and the JSON).
HTML_PAIRS = 25
#: Matched pairs of functions shown per pair.
HTML_REGIONS = 6
#: Lines of one function shown side by side.
HTML_LINES = 150
#: Submissions from which fingerprinting is spread over processes.
PARALLEL_FROM = 200
#: Characters of one line shown.
HTML_LINE_CHARS = 240


def read_class(course: CourseDir, spec: AssignmentSpec, folder: Path, exclude: Sequence[Path] = ()) -> list[Submission]:
    """Every submission in ``folder``, named as ``grade batch`` names them; never runs them.

    A submission that cannot be read is kept, empty, with the reason as its note.
    """

    paths, _skipped = discover_submissions(folder, exclude=exclude)
    ids = student_ids(paths, hints=[spec.name, *(m.rsplit(".", 1)[0] for m in spec.modules)])
    out = []
    for path in paths:
        try:
            out.append(load_submission(path, spec, student=ids[path]))
        except Exception as exc:  # a broken submission never stops the report
            out.append(Submission(student=ids[path], source=path, files={}, notes=(f"not read: {exc}",)))
    return out


def stub_files(course: CourseDir, spec: AssignmentSpec) -> dict[str, bytes]:
    """The handout's own modules: the base that never counts as a match."""
    folder = course.assignment_dir(spec.name)
    return {m: (folder / m).read_bytes() for m in spec.modules if (folder / m).is_file()}


def analyse(
    submissions: Sequence[Submission], spec: AssignmentSpec, stub: dict[str, bytes], jobs: int | None = None
) -> Comparison:
    """Fingerprint every submission (text and AST only) and compare the class."""
    modules = list(spec.modules)
    base = all_kgrams(stub, modules) if stub else None
    return compare(fingerprint_class(submissions, modules, jobs), base)


def fingerprint_class(
    submissions: Sequence[Submission], modules: Sequence[str], jobs: int | None = None
) -> list[Fingerprinted]:
    """Fingerprints of every submission, in order.  Byte-identical submissions are read once;
    from PARALLEL_FROM distinct ones on, the work is shared by ``jobs`` processes (default: the cores)."""
    jobs = jobs or os.cpu_count() or 1
    first: dict[tuple[bytes | None, ...], int] = {}
    distinct: list[Submission] = []
    index: list[int] = []
    for s in submissions:
        key = tuple(s.files.get(m) for m in modules)
        if key not in first:
            first[key] = len(distinct)
            distinct.append(s)
        index.append(first[key])
    files = [{m: s.files[m] for m in modules if m in s.files} for s in distinct]
    if jobs < 2 or len(distinct) < PARALLEL_FROM:
        docs = [fingerprint_files(s.student, f, list(modules)) for s, f in zip(distinct, files, strict=True)]
    else:
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            docs = list(
                pool.map(
                    fingerprint_files,
                    [s.student for s in distinct],
                    files,
                    [list(modules)] * len(distinct),
                    chunksize=max(1, len(distinct) // (4 * jobs)),
                )
            )
    return [replace(docs[i], student=s.student) for s, i in zip(submissions, index, strict=True)]


def to_json(comparison: Comparison, assignment: str, seconds: float = 0.0) -> dict[str, Any]:
    """The content of ``similarity.json``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "assignment": assignment,
        "about": "Pairs of submissions whose code is similar, worth a look. A score is a reason to read "
        "both, not a finding: the stub's code is left out and code much of the class writes counts less.",
        "settings": comparison.settings,
        "submissions": len(comparison.students),
        "candidate_pairs": comparison.candidates,
        "seconds": round(seconds, 3),
        "students": {
            s: {
                "status": comparison.status.get(s, ""),
                "note": comparison.notes.get(s, ""),
                "highest_score": round(comparison.best[s][0], 4),
                "most_similar_to": comparison.best[s][1],
            }
            for s in comparison.students
        },
        "pairs": [p.to_dict() for p in comparison.pairs],
        "clusters": comparison.clusters,
    }


def _code_rows(
    source: str, span: tuple[int, int], body: int, hits: tuple[tuple[int, int], ...]
) -> list[dict[str, Any]]:
    """The lines of one function to show: its first line, then its body from ``body`` on
    (the docstring in between, the stub's, is left out), matched lines marked."""
    lines = source.splitlines()
    first, last = max(1, span[0]), min(len(lines), span[1])
    body = max(body, first + 1)
    shown = [first, *range(body, min(last, body + HTML_LINES - 1) + 1)] if first <= last else []
    marked = {n for lo, hi in hits for n in range(lo, hi + 1)}
    rows: list[dict[str, Any]] = []
    for i, n in enumerate(shown):
        if i and n > shown[i - 1] + 1:
            rows.append({"n": "", "text": "…", "hit": False})
        text = lines[n - 1].expandtabs(4)
        if len(text) > HTML_LINE_CHARS:
            text = text[:HTML_LINE_CHARS] + " …"
        rows.append({"n": n, "text": text, "hit": n in marked})
    return rows


def render_html(comparison: Comparison, assignment: str, title: str = "") -> str:
    """``similarity.html``: clusters, pairs ranked, the matched functions side by side.

    Self-contained (inline CSS, no script, no network); every name and line of code
    is escaped by the template.
    """
    from ..reporting.html_report import env, stylesheet

    shown = []
    for rank, pair in enumerate(comparison.pairs[:HTML_PAIRS], start=1):
        src_a = comparison.sources.get(pair.a, {})
        src_b = comparison.sources.get(pair.b, {})
        regions = [
            {
                "r": r,
                "a": _code_rows(src_a.get(r.module_a, ""), r.span_a, r.body_a, r.lines_a),
                "b": _code_rows(src_b.get(r.module_b, ""), r.span_b, r.body_b, r.lines_b),
            }
            for r in pair.regions[:HTML_REGIONS]
        ]
        shown.append({"rank": rank, "p": pair, "regions": regions})
    notes = sorted(comparison.notes.items())
    return (
        env()
        .get_template("similarity.html")
        .render(
            assignment=assignment,
            title=title,
            c=comparison,
            shown=shown,
            notes=notes,
            css=stylesheet(),
        )
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_similarity(
    comparison: Comparison, out: Path, assignment: str, title: str = "", seconds: float = 0.0
) -> tuple[Path, Path]:
    """Write ``similarity.json`` and ``similarity.html`` into ``out`` (each atomically)."""
    json_path, html_path = out / JSON_FILE, out / HTML_FILE
    _write(json_path, json.dumps(to_json(comparison, assignment, seconds), indent=1))
    _write(html_path, render_html(comparison, assignment, title))
    return json_path, html_path


def similarity_for_batch(
    course: CourseDir, spec: AssignmentSpec, submissions: Sequence[Submission], out: Path, stream: TextIO
) -> dict[str, tuple[float, str]] | None:
    """The similarity step of ``grade batch``: write the reports, return each student's
    highest score and partner; None (with a warning) if it failed, which never fails the batch."""
    try:
        t0 = time.perf_counter()
        comparison = analyse(submissions, spec, stub_files(course, spec))
        _json_path, html_path = write_similarity(comparison, out, spec.name, spec.title, time.perf_counter() - t0)
        stream.write(
            f"similarity: {len(comparison.pairs)} pairs similar, worth a look; groups of three or more: "
            f"{len(comparison.clusters)}; {html_path}\n"
        )
    except Exception as exc:  # grades matter more than this report
        stream.write(f"warning: similarity report not written ({type(exc).__name__}: {exc})\n")
        return None
    return comparison.best


def report_similarity(
    course: CourseDir, assignment: str, submissions: Path, out: Path | None, stream: TextIO
) -> Comparison:
    """``grade similarity``: compare the class in ``submissions``, write the two reports into ``out``
    (default ``reports/<name>/``) and list the most similar pairs on ``stream``."""
    spec = load_spec(course.spec_file(assignment))
    out = out or course.reports_dir(spec.name)
    if not submissions.is_dir():
        raise AutograderError(f"submissions folder not found: {submissions}")
    t0 = time.perf_counter()
    found = read_class(course, spec, submissions, exclude=[out])
    comparison = analyse(found, spec, stub_files(course, spec))
    seconds = time.perf_counter() - t0
    json_path, html_path = write_similarity(comparison, out, spec.name, spec.title, seconds)
    stream.write(
        f"{spec.name}: {len(found)} submissions compared in {seconds:.1f} s; "
        f"{len(comparison.pairs)} pairs similar, worth a look; {len(comparison.clusters)} clusters of 3 or more\n"
    )
    for pair in comparison.pairs[:10]:
        stream.write(f"  {pair.score:5.2f}  {pair.a}  {pair.b}\n")
    stream.write(f"  report: {html_path}\n  data:   {json_path}\n")
    return comparison
