"""Submission intake: .py, folders, zips and notebooks read within bounds, whatever their bytes say.

The last part is a property-based fuzz test (Hypothesis): random zips, folders,
notebooks and file names either load or raise a one-line SubmissionError, within
bounded memory.  ``AUTOGRADER_FUZZ_EXAMPLES`` raises the number of examples
(a few hundred by default).
"""

from __future__ import annotations

import bz2
import io
import json
import os
import shutil
import stat
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import submission as intake
from autograder.errors import SubmissionError
from autograder.notebooks.cells import (
    MAX_CELLS,
    CodeCell,
    drop_magics,
    notebook_source_to_module,
    read_notebook,
)
from autograder.spec import load_spec
from autograder.submission import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NOTEBOOK_BYTES,
    FolderWalk,
    load_submission,
    read_files,
)

HONEST = (
    "import numpy as np\n\n\ndef add(a, b):\n    return np.add(a, b)\n\n\n"
    "def double(x):\n    return 2 * np.asarray(x)\n"
)
SPEC_TOML = """
title = "Intake"
modules = ["target.py"]
[[questions]]
name = "add"
functions = ["add"]
points = 1
[[questions]]
name = "double"
functions = ["double"]
points = 1
"""
MB = 1024 * 1024


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("spec") / "target"
    folder.mkdir()
    (folder / "assignment.toml").write_text(SPEC_TOML)
    (folder / "target.py").write_text(HONEST)
    return load_spec(folder / "assignment.toml")


def peak_bytes(fn: Callable[[], Any]) -> tuple[Any, int]:
    """(what ``fn`` returned or raised, the peak of Python memory allocated while it ran)."""
    tracemalloc.start()
    try:
        try:
            value: Any = fn()
        except Exception as exc:
            value = exc
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def one_line_refusal(value: Any, *words: str) -> str:
    assert isinstance(value, SubmissionError), value
    message = str(value)
    assert "\n" not in message and len(message) < 600, message
    for word in words:
        assert word in message, message
    return message


def set_declared_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size a zip declares for ``member`` (local header and central directory)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    struct.pack_into("<L", data, info.header_offset + 22, size)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 24, size)
    path.write_bytes(bytes(data))


def bz2_bomb(path: Path, inflated: int) -> bytes:
    """A zip whose bzip2 member ``target.py`` declares 100 bytes and inflates to ``inflated``."""
    compressor = bz2.BZ2Compressor(9)
    chunk = b"\0" * MB
    body = b"".join(compressor.compress(chunk) for _ in range(inflated // MB)) + compressor.flush()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("target.py"), b"x" * 100, compress_type=zipfile.ZIP_STORED)
    # Swap the stored body for the bzip2 stream, declare the method and keep the 100 bytes.
    data = bytearray(path.read_bytes())
    start = 30 + len("target.py")
    local, rest = data[:start], data[start + 100 :]
    struct.pack_into("<H", local, 8, zipfile.ZIP_BZIP2)
    struct.pack_into("<L", local, 18, len(body))
    central = rest.find(b"PK\x01\x02")
    struct.pack_into("<H", rest, central + 10, zipfile.ZIP_BZIP2)
    struct.pack_into("<L", rest, central + 20, len(body))
    end = rest.rfind(b"PK\x05\x06")
    struct.pack_into("<L", rest, end + 16, len(local) + len(body) + central)
    path.write_bytes(bytes(local + body + rest))
    return body


# -- zips -------------------------------------------------------------------------------


def test_a_plain_zip_is_read(tmp_path: Path, spec: Any) -> None:
    path = tmp_path / "alice.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("alice/target.py", HONEST)
        archive.writestr("alice/helpers/util.py", "X = 1\n")
        archive.writestr("__MACOSX/alice/._target.py", "junk")
        archive.writestr("../evil.py", "bad")
        archive.writestr("/abs.py", "bad")
    sub = load_submission(path, spec)
    assert sub.files["target.py"] == HONEST.encode()
    files, _ = read_files(path)
    assert sorted(files) == ["alice/helpers/util.py", "alice/target.py"]


@pytest.mark.parametrize(("method", "name"), [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "lzma")])
def test_other_compression_methods_are_refused_in_one_line(tmp_path: Path, method: int, name: str) -> None:
    path = tmp_path / "bob.zip"
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("target.py", HONEST)
    one_line_refusal(peak_bytes(lambda: read_files(path))[0], "target.py", name, "deflate")


def test_a_bzip2_bomb_that_declares_100_bytes_is_refused_without_inflating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    body = bz2_bomb(path, 256 * MB)
    assert path.stat().st_size < 4096
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("target.py").file_size == 100
    inflating = bz2.BZ2Decompressor()  # the bomb is real: far more than it claims, and more to come
    assert len(inflating.decompress(body, max_length=2 * MB)) == 2 * MB and not inflating.eof
    value, peak = peak_bytes(lambda: read_files(path))
    one_line_refusal(value, "bzip2")
    assert peak < 4 * MB


def test_the_corpus_bomb_of_two_gigabytes_is_refused_in_one_line() -> None:
    bomb = Path(__file__).resolve().parent / "corpus" / "intake" / "bz2_bomb.zip"
    assert bomb.stat().st_size < 2048
    value, peak = peak_bytes(lambda: read_files(bomb))
    one_line_refusal(value, "bzip2")
    assert peak < 4 * MB


def test_a_deflated_member_that_lies_about_its_size_is_read_in_bounded_chunks(tmp_path: Path) -> None:
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("target.py", b"#" * (64 * MB))
    set_declared_size(path, "target.py", 100)
    value, peak = peak_bytes(lambda: read_files(path))
    one_line_refusal(value, "liar.zip")
    assert peak < 4 * MB


def test_a_member_over_the_limit_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("target.py", b"#" * (MAX_FILE_BYTES + 1))
    value, peak = peak_bytes(lambda: read_files(path))
    one_line_refusal(value, "target.py", "larger than")
    assert peak < 4 * MB


def test_a_zip_that_lists_too_many_members_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "MAX_ENTRIES", 50)
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(60):
            archive.writestr(f"f{i}.txt", "")
    one_line_refusal(peak_bytes(lambda: read_files(path))[0], "zip only your code")


def test_zip_symlinks_deep_members_and_extra_files_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "MAX_FILES", 3)
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as archive:
        link = zipfile.ZipInfo("link.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("/".join(["d"] * (MAX_DEPTH + 1)) + "/deep.py", "")
        for name in ("z/z/z.py", "b.py", "a.py", "target.py"):
            archive.writestr(name, "X = 1\n")
    files, notes = read_files(path)
    assert sorted(files) == ["a.py", "b.py", "target.py"]  # the shallowest three
    assert any("symbolic link" in n for n in notes) and any("deep" in n for n in notes)
    assert any("beyond the 3 shallowest" in n for n in notes)


def test_a_damaged_zip_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    one_line_refusal(peak_bytes(lambda: read_files(path))[0], "not a valid zip")


# -- folders ----------------------------------------------------------------------------


def nest(top: Path, levels: int, leaf: str = "deep.py") -> None:
    """``top/d/d/.../d/<leaf>``, ``levels`` deep (deeper than one path may be long)."""
    fd = os.open(top, os.O_RDONLY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open(leaf, os.O_WRONLY | os.O_CREAT, dir_fd=fd), "w") as f:
            f.write("X = 1\n")
    finally:
        os.close(fd)


def unnest(top: Path) -> None:
    """Remove what :func:`nest` made, one level at a time (a recursive rmtree would overflow)."""
    while (top / "d").exists():
        if (top / "d" / "d").exists():
            os.rename(top / "d" / "d", top / "d-next")
            shutil.rmtree(top / "d")
            os.rename(top / "d-next", top / "d")
        else:
            shutil.rmtree(top / "d")


@pytest.fixture
def deep_folder(tmp_path: Path) -> Iterator[Path]:
    top = tmp_path / "carol"
    top.mkdir()
    nest(top, 1100)
    yield top
    unnest(top)


def test_a_folder_nested_1100_levels_is_walked_without_recursion(deep_folder: Path, spec: Any) -> None:
    top = deep_folder
    (top / "target.py").write_text(HONEST)
    sub = load_submission(top, spec)
    assert sub.files["target.py"] == HONEST.encode()
    assert any(f"more than {MAX_DEPTH} levels deep" in n for n in sub.notes)


def test_symlinks_in_a_folder_are_never_followed(tmp_path: Path, spec: Any) -> None:
    secret = tmp_path / "host-file.py"
    with open(secret, "wb") as f:  # a sparse 1.5 GB host file
        f.truncate(1536 * MB)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.py").write_text("STOLEN = 1\n")
    top = tmp_path / "dave"
    top.mkdir()
    (top / "target.py").write_text(HONEST)
    (top / "big.py").symlink_to(secret)
    (top / "sub").symlink_to(outside)
    (top / "loop").symlink_to(top)
    value, peak = peak_bytes(lambda: load_submission(top, spec))
    assert not isinstance(value, Exception), value
    assert set(value.files) == {"target.py"} and b"STOLEN" not in value.files["target.py"]
    assert any("symbolic link" in n for n in value.notes)
    assert peak < 8 * MB


def test_a_symlink_given_as_the_submission_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text(HONEST)
    link = tmp_path / "eve.py"
    link.symlink_to(real)
    one_line_refusal(peak_bytes(lambda: read_files(link))[0], "symbolic link")


def test_a_fifo_named_like_source_is_not_read(tmp_path: Path) -> None:
    top = tmp_path / "frank"
    top.mkdir()
    os.mkfifo(top / "target.py")  # opening it for reading would block forever
    files, _ = read_files(top)
    assert files == {}
    one_line_refusal(peak_bytes(lambda: read_files(top / "target.py"))[0], "regular file")


def test_walking_a_huge_folder_stops_at_the_entry_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "MAX_ENTRIES", 40)
    top = tmp_path / "grace"
    top.mkdir()
    (top / "a_target.py").write_text(HONEST)
    for i in range(100):
        (top / f"empty{i:03d}").mkdir()
    _, notes = read_files(top)
    assert any("more than 40 files and folders" in n for n in notes)
    walk = FolderWalk(top, 40, MAX_DEPTH)
    assert len(list(walk)) <= 40 and walk.truncated


def test_a_notebook_over_the_limit_is_refused_with_the_hint_to_clear_outputs(tmp_path: Path) -> None:
    path = tmp_path / "heidi.ipynb"
    with open(path, "wb") as f:
        f.truncate(MAX_NOTEBOOK_BYTES + 1)
    message = one_line_refusal(peak_bytes(lambda: read_files(path))[0], "Clear Outputs")
    assert "16 MB" in message
    one_line_refusal(peak_bytes(lambda: read_notebook(b" " * (MAX_NOTEBOOK_BYTES + 1), "x.ipynb"))[0], "Clear")


# -- notebooks ---------------------------------------------------------------------------


@pytest.mark.parametrize("line", [" " * 1_000_000 + "x y", "a" + " " * 1_000_000 + "x y", "x" + "=" * 100_000])
def test_the_magic_line_pattern_is_linear_on_long_lines(line: str) -> None:
    """Quadratic backtracking made 20k characters take 4.5 s and 1 MB take hours: this would not end."""
    source, notes = drop_magics(CodeCell(1, f"def f():\n    return 1\n{line}\n", (), {}))
    assert source is not None and notes == []


def test_magics_are_still_recognised() -> None:
    source, notes = drop_magics(CodeCell(3, "%matplotlib inline\nx = !ls\n  y = %sx ls\nnp.sum??\nZ = 1\n", (), {}))
    assert source == "pass\npass\n  pass\npass\nZ = 1\n"
    assert len(notes) == 4


def test_deeply_nested_notebook_json_is_refused_in_one_line() -> None:
    deep = '{"cells": [], "metadata": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    one_line_refusal(peak_bytes(lambda: read_notebook(deep.encode(), "n.ipynb"))[0], "nested")
    shallow_but_over = {"cells": [], "metadata": {"x": json.loads("[" * 70 + "]" * 70)}}
    one_line_refusal(read_or_error(json.dumps(shallow_but_over).encode()), "nested")


def read_or_error(data: bytes) -> Any:
    try:
        return read_notebook(data, "n.ipynb")
    except Exception as exc:
        return exc


def test_a_notebook_with_too_many_cells_is_refused() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x")] * (MAX_CELLS + 1))
    one_line_refusal(read_or_error(nbformat.writes(nb).encode()), "cells")


# -- property-based: whatever the bytes, files or a one-line SubmissionError ---------------

EXAMPLES = int(os.environ.get("AUTOGRADER_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
#: Python memory one intake may allocate at its peak (files are capped at 20 MB in all).
PEAK_LIMIT = 64 * MB

names = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\0/"), min_size=1, max_size=40
).filter(lambda n: n not in (".", ".."))
member_names = st.one_of(
    st.lists(names, min_size=1, max_size=4).map("/".join),
    st.sampled_from(["target.py", "a/target.py", "../x.py", "/abs.py", "x\\y.py", "n.ipynb", ".hidden.py", ""]),
)
suffixes = st.sampled_from([".py", ".ipynb", ".PY", ".txt", ""])
methods = st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
contents = st.one_of(st.binary(max_size=2000), st.text(max_size=500).map(str.encode))


@st.composite
def zips(draw: st.DrawFn) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for _ in range(draw(st.integers(0, 6))):
            info = zipfile.ZipInfo(draw(member_names) + draw(suffixes))
            info.compress_type = draw(methods)
            if draw(st.booleans()):
                info.external_attr = (draw(st.sampled_from([stat.S_IFLNK, stat.S_IFREG, stat.S_IFDIR])) | 0o644) << 16
            archive.writestr(info, draw(contents))
    data = bytearray(buf.getvalue())
    for _ in range(draw(st.integers(0, 3))):  # damage: flip bytes, lie about sizes
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)
cell_sources = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        ["%matplotlib inline", "!pip install x", "x = !ls", "obj?", "%%bash\nls", "def add(a, b):\n  return a+b"]
    ),
    st.lists(st.text(max_size=40), max_size=5),
    json_values,
)


@st.composite
def wild_notebooks(draw: st.DrawFn) -> bytes:
    """JSON shaped roughly like a notebook: any kinds, fields, versions, truncations, encodings."""
    cells = []
    for _ in range(draw(st.integers(0, 6))):
        cell: dict[str, Any] = {
            "cell_type": draw(st.sampled_from(["code", "markdown", "raw", "weird", 3])),
            "source": draw(cell_sources),
            "metadata": draw(
                st.one_of(json_values, st.fixed_dictionaries({"tags": st.lists(st.text(max_size=10), max_size=3)}))
            ),
        }
        if draw(st.booleans()):
            cell["outputs"] = draw(json_values)
        cells.append(cell)
    nb = {
        "cells": cells,
        "metadata": draw(json_values),
        "nbformat": draw(st.sampled_from([4, 3, 5, "4", None])),
        "nbformat_minor": draw(st.integers(-1, 10)),
    }
    if draw(st.booleans()):
        nb.pop(draw(st.sampled_from(sorted(nb))))
    text = json.dumps(nb)
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), "replace")


@st.composite
def real_notebooks(draw: st.DrawFn) -> bytes:
    """Notebooks nbformat writes: random code (magics, definitions, junk), tags and metadata."""
    cells = []
    for _ in range(draw(st.integers(0, 6))):
        source = draw(st.one_of(st.text(max_size=200), cell_sources.filter(lambda s: isinstance(s, str))))
        if draw(st.booleans()):
            cell = nbformat.v4.new_code_cell(source)
            cell.metadata["tags"] = draw(st.lists(st.sampled_from(["student", "handout", "x"]), max_size=2))
            if draw(st.booleans()):
                cell.metadata["autograder"] = draw(json_values)
        else:
            cell = nbformat.v4.new_markdown_cell(source)
        cells.append(cell)
    nb = {"cells": cells, "metadata": {"extra": draw(json_values)}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb).encode()  # unvalidated: tags may repeat, metadata may be anything


def notebooks() -> st.SearchStrategy[bytes]:
    return st.one_of(real_notebooks(), wild_notebooks())


def check_intake(path: Path, spec: Any) -> None:
    """Load ``path``: files, or a one-line SubmissionError; nothing else, within PEAK_LIMIT."""
    value, peak = peak_bytes(lambda: load_submission(path, spec))
    if isinstance(value, Exception):
        assert isinstance(value, SubmissionError), repr(value)
        assert "\n" not in str(value) and "\x1b" not in str(value), str(value)
    else:
        assert isinstance(value.files, dict)
        assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in value.files.items())
    assert peak < PEAK_LIMIT, peak


@FUZZ
@given(data=zips())
def test_fuzz_zips(tmp_path_factory: pytest.TempPathFactory, spec: Any, data: bytes) -> None:
    path = tmp_path_factory.mktemp("zip") / "student.zip"
    path.write_bytes(data)
    check_intake(path, spec)


@FUZZ
@given(data=notebooks(), raw=st.binary(max_size=300), use_raw=st.booleans())
def test_fuzz_notebooks(
    tmp_path_factory: pytest.TempPathFactory, spec: Any, data: bytes, raw: bytes, use_raw: bool
) -> None:
    path = tmp_path_factory.mktemp("nb") / "student.ipynb"
    path.write_bytes(raw if use_raw else data)
    check_intake(path, spec)
    value = read_or_error(raw if use_raw else data)
    if not isinstance(value, Exception):  # a notebook that parses converts, or says why not
        try:
            notebook_source_to_module(raw if use_raw else data, "student.ipynb", ("add", "double"))
        except SubmissionError as exc:
            assert "\n" not in str(exc)


entries = st.lists(
    st.tuples(
        st.lists(names, min_size=1, max_size=3),
        st.sampled_from(["file", "dir", "symlink-file", "symlink-dir", "symlink-loop", "dangling", "fifo"]),
        st.binary(max_size=300),
        suffixes,
    ),
    max_size=10,
)


@FUZZ
@given(layout=entries, top_name=names)
def test_fuzz_folders(tmp_path_factory: pytest.TempPathFactory, spec: Any, layout: list[Any], top_name: str) -> None:
    base = tmp_path_factory.mktemp("folder")
    outside = base / "outside.py"
    outside.write_bytes(b"HOST = 1\n")
    top = base / "top"
    top.mkdir()
    for parts, kind, content, suffix in layout:
        path = top.joinpath(*parts[:-1], parts[-1][:200] + suffix)
        if os.path.lexists(path):  # never write into an earlier entry: it may be a FIFO or a link
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "file":
                path.write_bytes(content)
            elif kind == "dir":
                path.mkdir(exist_ok=True)
            elif kind == "fifo":
                os.mkfifo(path)
            else:
                target = {
                    "symlink-file": outside,
                    "symlink-dir": base,
                    "symlink-loop": path,
                    "dangling": base / "nowhere",
                }[kind]
                path.symlink_to(target)
        except OSError:  # a name the file system refuses, or a clash with an earlier entry
            continue
    check_intake(top, spec)
    files, _ = (lambda r: r if not isinstance(r, Exception) else ({}, []))(peak_bytes(lambda: read_files(top))[0])
    assert all(b"HOST = 1" not in data for data in files.values()), "a symbolic link was followed"
    if top_name not in (".", ".."):
        try:
            renamed = top.rename(base / top_name[:200])
        except OSError:
            return
        check_intake(renamed, spec)


def test_the_fuzz_strategies_make_what_they_claim() -> None:
    """The generators are not vacuous: their zips hold members of every method, their notebooks parse."""
    seen_methods: set[int] = set()
    parsed = 0

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=zips(), nb=notebooks())
    def probe(data: bytes, nb: bytes) -> None:
        nonlocal parsed
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                seen_methods.update(i.compress_type for i in archive.infolist())
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, struct.error, OSError):
            pass
        if not isinstance(read_or_error(nb), Exception):
            parsed += 1

    probe()
    assert {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED} <= seen_methods
    assert seen_methods & {zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
    assert parsed > 0
