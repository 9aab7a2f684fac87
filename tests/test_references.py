"""The reference cache of ``autograder.checks``: what it keeps, what it hands out, and that verdicts do not change."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from corpus import honest_styles, mistakes

from autograder import references
from autograder.checks import clear_reference_cache, reference
from autograder.results import SubmissionResult

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("assignment1", "assignment2", "assignment3", "assignment4")


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(references.REFERENCE_CACHE_ENV, raising=False)
    clear_reference_cache()
    yield
    clear_reference_cache()


def counted() -> tuple[Callable[..., object], list[tuple[object, ...]]]:
    """A reference function that records every call it really computes."""
    calls: list[tuple[object, ...]] = []

    @reference
    def double(x, factor=2.0, *, extra=None):
        calls.append((x, factor, extra))
        return np.asarray(x) * factor

    return double, calls


# -- the cache --------------------------------------------------------------------------


def test_equal_arguments_are_computed_once():
    double, calls = counted()
    a = np.arange(6.0).reshape(2, 3)
    first = double(a, 3.0)
    second = double(a.copy(), 3.0)  # another array, the same contents
    np.testing.assert_array_equal(first, second)
    assert len(calls) == 1
    assert double.__name__ == "double"


def test_contents_dtype_shape_and_keywords_make_the_key():
    double, calls = counted()
    a = np.arange(6.0)
    double(a)
    double(a.reshape(2, 3))  # the same bytes, another shape
    double(a.astype(np.float32))  # another dtype
    double(a + 1)  # other contents
    double(a, 2)  # an int, not the float 2.0
    double(a, extra="x")
    double(a, extra=("x",))
    assert len(calls) == 7
    double(a, extra="x")
    double(extra="x", x=a)
    assert len(calls) == 8  # keywords count by name, in any order; x= is another call shape


def test_results_are_copies_a_check_cannot_poison():
    @reference
    def parts(x):
        return x * 2, {"sum": x.sum(), "rows": [x[0].copy()]}

    x = np.ones((2, 2))
    doubled, more = parts(x)
    doubled[:] = -1  # the caller of the first call changes its result ...
    more["rows"][0][:] = -1
    more["sum"] = "changed"
    again, more_again = parts(x)  # ... the next caller sees the reference
    np.testing.assert_array_equal(again, 2 * x)
    np.testing.assert_array_equal(more_again["rows"][0], x[0])
    assert more_again["sum"] == 4.0
    again[:] = 7
    np.testing.assert_array_equal(parts(x)[0], 2 * x)


def test_exceptions_are_not_stored():
    calls = []

    @reference
    def flaky(n):
        calls.append(n)
        if len(calls) == 1:
            raise RuntimeError("first time")
        return n + 1

    with pytest.raises(RuntimeError):
        flaky(1)
    assert flaky(1) == 2
    assert flaky(1) == 2
    assert calls == [1, 1]


def test_arguments_it_cannot_key_are_computed_every_time():
    double, calls = counted()

    class Opaque:
        def __array__(self, dtype=None, copy=None):
            return np.ones(2)

    double(Opaque())
    double(Opaque())
    assert len(calls) == 2
    sizes = []

    @reference
    def size(x):
        sizes.append(x)
        return len(x)

    boxed = np.array([None, 1], dtype=object)
    assert size(boxed) == size(boxed) == 2
    assert size([boxed]) == size([boxed]) == 1
    assert len(sizes) == 4
    assert size((1, 2)) == size((1, 2)) == 2
    assert len(sizes) == 5


def test_results_it_cannot_copy_are_computed_every_time():
    calls = []

    @reference
    def model(n):
        calls.append(n)
        return {"layers": [object()]}

    model(3)
    model(3)
    assert len(calls) == 2


def test_records_masks_subclasses_and_huge_ints_are_never_mistaken_for_each_other():
    """Values whose bytes or type the key does not capture are computed afresh, never crash."""
    seen = []

    @reference
    def first_field(x):
        seen.append(x)
        return x.dtype.names[0] if x.dtype.names else np.ma.getmaskarray(x).tolist()

    a = np.zeros(1, dtype=[("a", "<f8"), ("b", "<i8")])
    b = np.zeros(1, dtype=[("zz", "<i8"), ("yy", "<f8")])
    assert a.dtype.str == b.dtype.str and first_field(a) == "a" and first_field(b) == "zz"
    masked = [np.ma.masked_array([1.0, 2.0], mask=m) for m in ([True, False], [False, True])]
    assert first_field(masked[0]) == [True, False] and first_field(masked[1]) == [False, True]
    assert len(seen) == 4

    pair = collections.namedtuple("pair", "x y")

    @reference
    def as_pair(n):
        seen.append(n)
        return pair(n, np.ones(2))

    assert as_pair(2).x == as_pair(2).x == 2  # a namedtuple result: computed each time, no crash
    assert as_pair(pair(1, 2)).x == pair(1, 2)
    assert as_pair(10**5000).x == 10**5000  # too long an int to print: no key, no crash


def test_the_environment_switch_turns_it_off(monkeypatch):
    double, calls = counted()
    monkeypatch.setenv(references.REFERENCE_CACHE_ENV, "0")
    double(1.0)
    double(1.0)
    assert len(calls) == 2
    monkeypatch.setenv(references.REFERENCE_CACHE_ENV, "1")
    double(1.0)
    double(1.0)
    assert len(calls) == 3


def test_clear_forgets_everything():
    double, calls = counted()
    double(1.0)
    clear_reference_cache()
    double(1.0)
    assert len(calls) == 2


def test_two_functions_of_one_name_do_not_share_results():
    def make(factor):
        @reference
        def scaled(x):
            return x * factor

        return scaled

    assert make(2)(3) == 6
    assert make(5)(3) == 15


def test_the_cache_is_bounded_in_entries_and_bytes(monkeypatch):
    monkeypatch.setattr(references, "_references", references._ReferenceCache(max_entries=3, max_bytes=1000))
    double, calls = counted()
    for i in range(4):
        double(float(i))
    assert len(references._references.entries) == 3
    double(0.0)  # the oldest was evicted
    assert len(calls) == 5
    double(3.0)  # the newest was kept
    assert len(calls) == 5

    big = np.ones(100)  # 800 bytes of result
    double(big)
    double(big + 1)  # a second one goes over 1000 bytes: the older leaves
    assert references._references.bytes <= 1000
    double(big + 1)
    assert len(calls) == 7
    double(big)
    assert len(calls) == 8
    huge = np.ones(200)  # larger than the whole cache: never stored
    double(huge)
    double(huge)
    assert len(calls) == 10


def test_a_session_closing_clears_the_cache(tmp_path):
    from autograder.checkrun import CheckSession

    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_one.py").write_text("def test_nothing():\n    pass\n")
    double, calls = counted()
    session = CheckSession([tests], None)
    double(1.0)
    session.close()
    double(1.0)
    assert len(calls) == 2


# -- verdicts with the cache on and off ----------------------------------------------------


def corpus_cases() -> list[tuple[str, str]]:
    cases = []
    for name in ASSIGNMENTS:
        cases += [(name, "zeros")]
        cases += [(name, m.name) for m in honest_styles(name)]
        cases += [(name, m.name) for m in mistakes(name)]
    return cases


def write_case(assignment: str, case: str, folder: Path) -> Path:
    if case == "zeros":
        return REPO / "tests" / "corpus" / assignment / "zeros.py"
    found = {m.name: m for m in [*honest_styles(assignment), *mistakes(assignment)]}[case]
    path = folder / f"{case}.py"
    path.write_text(found.source(), encoding="utf-8")
    return path


def verdicts(result: SubmissionResult) -> list[tuple[str, float, str, str]]:
    return [(c.name, c.score, c.outcome, c.message) for c in result.checks]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_corpus_submission_gets_the_same_verdicts_with_and_without_the_cache(
    assignment, grade_path, tmp_path, monkeypatch
):
    """Graded with the cache off, then on: the first submission fills it, the others (one
    seed, so the same cases) take their references from it."""
    cases = [case for name, case in corpus_cases() if name == assignment]
    paths = [write_case(assignment, case, tmp_path) for case in cases]
    monkeypatch.setenv(references.REFERENCE_CACHE_ENV, "0")
    off = [verdicts(grade_path(assignment, p, hidden=True)) for p in paths]
    monkeypatch.setenv(references.REFERENCE_CACHE_ENV, "1")
    on = [verdicts(grade_path(assignment, p, hidden=True)) for p in paths]
    assert len(references._references.entries) > 0
    for case, a, b in zip(cases, off, on, strict=True):
        assert a == b, case
    assert len({tuple(v) for v in off}) > 1  # the corpus holds submissions graded differently
