"""A class of fingerprinted submissions -> similar pairs, their matched regions and clusters.

Candidate pairs come from an inverted index (fingerprint -> the submissions holding it):
only submissions that share a fingerprint are ever compared, and the overlap of every
such pair is summed in one pass over the index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .fingerprints import Fingerprinted, K

#: Fingerprints held by at most this many students weigh 1; more common ones weigh
#: ``RARE / holders`` (with ``RARE`` at least 5 % of the class).
RARE = 3
#: A fingerprint held by more than this share of the class (and by more than 4) is what
#: everyone writes: it is left out of every score.
COMMON_SHARE = 0.5
#: The weight below which a submission counts as small: a pair's score is the shared
#: weight over at least this much (about ten fingerprints, six lines of code), so two
#: submissions that hold little besides the stub never score high on a few lines.
MIN_MASS = 10.0
#: Pairs at or above this score are listed in the report.
REPORT_SCORE = 0.3
#: Pairs at or above this score join their students in a cluster.
CLUSTER_SCORE = 0.5
#: Pairs listed at most.
MAX_PAIRS = 500
#: Regions (pairs of functions) below this share are left out of a pair's list.
MIN_REGION_SCORE = 0.15
#: Regions listed per pair at most.
MAX_REGIONS = 12
#: Pair ids accumulated per step of the index pass (bounds the temporary memory).
CHUNK = 2_000_000


@dataclass(frozen=True)
class Region:
    """Lines of one function in each submission that hold the same fingerprints."""

    function_a: str
    function_b: str
    #: Inclusive line ranges, merged, in each submission's module.
    lines_a: tuple[tuple[int, int], ...]
    lines_b: tuple[tuple[int, int], ...]
    module_a: str
    module_b: str
    #: Shared weight over the smaller function's weight, in [0, 1].
    score: float
    #: First and last line of each whole function (for showing it).
    span_a: tuple[int, int] = (0, 0)
    span_b: tuple[int, int] = (0, 0)
    #: First line of each function's body after its signature and docstring.
    body_a: int = 0
    body_b: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "function_a": self.function_a,
            "function_b": self.function_b,
            "module_a": self.module_a,
            "module_b": self.module_b,
            "score": round(self.score, 4),
            "lines_a": [list(r) for r in self.lines_a],
            "lines_b": [list(r) for r in self.lines_b],
            "span_a": list(self.span_a),
            "span_b": list(self.span_b),
        }


@dataclass(frozen=True)
class Pair:
    """Two submissions that are similar, worth a look."""

    a: str
    b: str
    #: Shared weight over the smaller submission's weight, in [0, 1]; 1.0 for code that is
    #: the same up to disguise.
    score: float
    #: The normalised code is the same (identical, or differing only in names, layout, comments).
    same_code: bool
    regions: tuple[Region, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "score": round(self.score, 4),
            "same_code": self.same_code,
            "regions": [r.to_dict() for r in self.regions],
        }


@dataclass
class Comparison:
    """Every student's closest match, the pairs worth a look and the clusters they form."""

    students: list[str]
    #: Per student: status of reading, a note, highest score and with whom.
    status: dict[str, str]
    notes: dict[str, str]
    best: dict[str, tuple[float, str]]
    pairs: list[Pair]
    clusters: list[list[str]]
    #: Number of pairs that shared a fingerprint (the candidates).
    candidates: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    #: Source text per module of the students in listed pairs (for showing matched lines).
    sources: dict[str, dict[str, str]] = field(default_factory=dict)


def _weights(holders: np.ndarray, n_students: int) -> np.ndarray:
    rare = max(RARE, 0.05 * n_students)
    w = np.minimum(1.0, rare / np.maximum(holders, 1))
    common = (holders > COMMON_SHARE * n_students) & (holders > 4)
    w[common] = 0.0
    return w


def compare(
    docs: Sequence[Fingerprinted],
    base: np.ndarray | None = None,
    *,
    report_score: float = REPORT_SCORE,
    cluster_score: float = CLUSTER_SCORE,
    max_pairs: int = MAX_PAIRS,
) -> Comparison:
    """Score every pair of ``docs`` that shares a fingerprint not in ``base`` (the stub's k-grams).

    Score of a pair = the weight of the fingerprints both hold over the weight of the
    smaller submission's (so a partial copy in a larger file still scores its share, and
    two submissions the same up to disguise score 1).  Weights fall with how many
    students hold a fingerprint.  Memory: the index (16 bytes per fingerprint, about
    250 fingerprints per submission of assignment3) plus a few n x n matrices of
    overlaps and scores (about 55 n² bytes at the peak: 55 MB for 1,000 submissions,
    1.4 GB for 5,000).
    """
    n = len(docs)
    students = [d.student for d in docs]
    doc_ids = np.concatenate(
        [np.full(len(d.hashes), i, dtype=np.int64) for i, d in enumerate(docs)] or [np.zeros(0, dtype=np.int64)]
    )
    hashes = np.concatenate([d.hashes for d in docs] or [np.zeros(0, dtype=np.uint64)]).astype(np.uint64)
    doc_ids = doc_ids.astype(np.int64)
    if base is not None and len(base) and len(hashes):
        keep = ~np.isin(hashes, base)
        hashes, doc_ids = hashes[keep], doc_ids[keep]
    # The inverted index: sorted by fingerprint, one entry per (fingerprint, student).
    order = np.lexsort((doc_ids, hashes))
    hashes, doc_ids = hashes[order], doc_ids[order]
    if len(hashes):
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = (hashes[1:] != hashes[:-1]) | (doc_ids[1:] != doc_ids[:-1])
        hashes, doc_ids = hashes[first], doc_ids[first]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]]) if len(hashes) else np.zeros(0, dtype=np.int64)
    holders = np.diff(np.r_[starts, len(hashes)])
    weights = _weights(holders, n)
    entry_weight = np.repeat(weights, holders)
    mass = np.bincount(doc_ids, weights=entry_weight, minlength=n).astype(float)

    shared = np.zeros(n * n, dtype=np.float64)
    for size in np.unique(holders[(holders >= 2) & (weights > 0)]):
        group = starts[(holders == size) & (weights > 0)]
        members = doc_ids[group[:, None] + np.arange(size)]
        group_w = weights[(holders == size) & (weights > 0)]
        ia, ib = np.triu_indices(int(size), 1)
        per_step = max(1, CHUNK // len(ia))
        for s in range(0, len(group), per_step):
            m = members[s : s + per_step]
            flat = (m[:, ia] * n + m[:, ib]).ravel()
            wts = np.repeat(group_w[s : s + per_step], len(ia))
            shared += np.bincount(flat, weights=wts, minlength=n * n)
    shared_m = shared.reshape(n, n)
    shared_m = shared_m + shared_m.T
    smaller = np.maximum(np.minimum(mass[:, None], mass[None, :]), MIN_MASS)
    score = np.clip(shared_m / smaller, 0.0, 1.0)
    # The same code up to disguise scores 1, whatever the weights (if it is more than the stub).
    by_digest: dict[str, list[int]] = defaultdict(list)
    own = np.bincount(doc_ids, minlength=n)  # fingerprints beyond the stub's
    for i, d in enumerate(docs):
        if d.status in ("ok", "tokens") and own[i] >= MIN_MASS:
            by_digest[d.digest].append(i)
    same = np.zeros((n, n), dtype=bool)
    for group_ids in by_digest.values():
        if len(group_ids) > 1:
            idx = np.array(group_ids)
            same[np.ix_(idx, idx)] = True
    np.fill_diagonal(same, False)
    score[same] = 1.0
    np.fill_diagonal(score, 0.0)
    candidates = int(np.count_nonzero(np.triu(shared_m > 0) | np.triu(same))) if n else 0

    best: dict[str, tuple[float, str]] = {}
    for i, name in enumerate(students):
        if n > 1 and score[i].max() > 0:
            j = int(np.argmax(score[i]))
            best[name] = (float(score[i, j]), students[j])
        else:
            best[name] = (0.0, "")

    ia, ib = np.nonzero(np.triu((score >= report_score) & (score > 0), 1))
    ranked = sorted(zip(ia.tolist(), ib.tolist(), strict=True), key=lambda p: (-score[p], students[p[0]]))
    ranked = ranked[:max_pairs]
    unique_hashes = hashes[starts]
    doc_weights = {k: _weights_of(docs[k], unique_hashes, weights) for k in {x for p in ranked for x in p}}
    pairs = [
        Pair(
            a=students[i],
            b=students[j],
            score=float(score[i, j]),
            same_code=bool(same[i, j]),
            regions=tuple(regions(docs[i], docs[j], doc_weights[i], doc_weights[j])),
        )
        for i, j in ranked
    ]
    clusters = _clusters(n, score >= cluster_score, students)
    return Comparison(
        students=students,
        status={d.student: d.status for d in docs},
        notes={d.student: d.note for d in docs if d.note},
        best=best,
        pairs=pairs,
        clusters=clusters,
        candidates=candidates,
        sources={docs[k].student: docs[k].sources for k in sorted({x for p in ranked for x in p})},
        settings={
            "k": K,
            "report_score": report_score,
            "cluster_score": cluster_score,
            "rare": max(RARE, 0.05 * n),
            "common_share": COMMON_SHARE,
        },
    )


def _clusters(n: int, linked: np.ndarray, students: list[str]) -> list[list[str]]:
    """Groups of three or more students joined by pairs at or above the cluster score."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(linked, 1)), strict=True):
        parent[find(int(i))] = find(int(j))
    groups: dict[int, list[str]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(students[i])
    found = [sorted(g) for g in groups.values() if len(g) >= 3]
    return sorted(found, key=lambda g: (-len(g), g))


def _ranges(lines: set[int]) -> tuple[tuple[int, int], ...]:
    """Sorted lines as inclusive ranges of consecutive lines."""
    out: list[list[int]] = []
    for line in sorted(lines):
        if out and line <= out[-1][1] + 1:
            out[-1][1] = line
        else:
            out.append([line, line])
    return tuple((lo, hi) for lo, hi in out)


def _weights_of(doc: Fingerprinted, unique_hashes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The class weight of each of ``doc``'s fingerprints (0 for the stub's, which are not indexed)."""
    if not len(unique_hashes):
        return np.zeros(len(doc.hashes))
    at = np.clip(np.searchsorted(unique_hashes, doc.hashes), 0, len(unique_hashes) - 1)
    return np.where(unique_hashes[at] == doc.hashes, weights[at], 0.0)


def _segment_of(doc: Fingerprinted) -> np.ndarray:
    """The index in ``doc.segments`` of each fingerprint."""
    starts = np.array([s.start for s in doc.segments], dtype=np.int64)
    return np.clip(np.searchsorted(starts, doc.positions, side="right") - 1, 0, max(len(starts) - 1, 0))


def regions(a: Fingerprinted, b: Fingerprinted, weights_a: np.ndarray, weights_b: np.ndarray) -> list[Region]:
    """The matched regions of a pair, per pair of functions, heaviest first (at most MAX_REGIONS)."""
    if not a.segments or not b.segments:
        return []
    # Every occurrence in a joined with every occurrence in b of the same (weighted) fingerprint.
    order_b = np.argsort(b.hashes, kind="stable")
    sorted_b = b.hashes[order_b]
    lo = np.searchsorted(sorted_b, a.hashes, side="left")
    count = np.searchsorted(sorted_b, a.hashes, side="right") - lo
    count[weights_a <= 0] = 0
    ia = np.repeat(np.arange(len(a.hashes)), count)
    step = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    ib = order_b[np.repeat(lo, count) + step]
    seg_a, seg_b = _segment_of(a), _segment_of(b)
    mass_a = _unique_mass(a.hashes, seg_a, weights_a, len(a.segments))
    mass_b = _unique_mass(b.hashes, seg_b, weights_b, len(b.segments))
    key = seg_a[ia] * len(b.segments) + seg_b[ib]
    groups, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    # a fingerprint counts once per pair of functions, however often it occurs there
    firsts = _first_of_each(inverse, a.hashes[ia])
    once = np.zeros(len(ia), dtype=bool)
    once[firsts] = True
    shared = np.bincount(inverse[once], weights=weights_a[ia][once], minlength=len(groups))
    found = []
    for g, k in enumerate(groups.tolist()):
        sa, sb = divmod(k, len(b.segments))
        smaller = min(mass_a[sa], mass_b[sb])
        found.append((min(1.0, shared[g] / smaller) if smaller > 0 else 0.0, g, sa, sb))
    found.sort(key=lambda f: (-f[0], f[2], f[3]))
    # A stray k-gram shared by two unrelated functions is not a region worth showing.
    found = [f for i, f in enumerate(found) if i == 0 or f[0] >= MIN_REGION_SCORE][:MAX_REGIONS]
    offsets = np.arange(K)
    out = []
    for score, g, sa, sb in found:
        members = inverse == g
        segment_a, segment_b = a.segments[sa], b.segments[sb]
        out.append(
            Region(
                function_a=segment_a.name,
                function_b=segment_b.name,
                lines_a=_ranges(_kgram_lines(a, a.positions[ia[members]], offsets, segment_a.body_line)),
                lines_b=_ranges(_kgram_lines(b, b.positions[ib[members]], offsets, segment_b.body_line)),
                module_a=segment_a.module,
                module_b=segment_b.module,
                score=float(score),
                span_a=(segment_a.first_line, segment_a.last_line),
                span_b=(segment_b.first_line, segment_b.last_line),
                body_a=segment_a.body_line,
                body_b=segment_b.body_line,
            )
        )
    return out


def _unique_mass(hashes: np.ndarray, segment: np.ndarray, weights: np.ndarray, n_segments: int) -> np.ndarray:
    """Weight of each segment's distinct fingerprints."""
    if not len(hashes):
        return np.zeros(n_segments)
    first = _first_of_each(segment, hashes)
    return np.bincount(segment[first], weights=weights[first], minlength=n_segments)


def _first_of_each(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Index of the first occurrence of each distinct pair ``(primary[i], secondary[i])``.

    What ``np.unique(np.stack([primary, secondary]), axis=1, return_index=True)[1]`` gives
    (in another order), without its sort of raw bytes, which was most of a batch's similarity."""
    order = np.lexsort((secondary, primary))
    p, s = primary[order], secondary[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (s[1:] != s[:-1])
    return order[new]


def _kgram_lines(doc: Fingerprinted, positions: np.ndarray, offsets: np.ndarray, body_line: int) -> set[int]:
    """The source lines of the tokens of the k-grams starting at ``positions``, from the
    function's body on (a k-gram that starts in the stub's signature runs into the body)."""
    at = np.minimum(positions[:, None] + offsets[None, :], len(doc.token_lines) - 1)
    lines = np.unique(doc.token_lines[at])
    return set(lines[lines >= body_line].tolist())
