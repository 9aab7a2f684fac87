"""Similar code across a class, worth a look: fingerprints that survive disguise, pairs, clusters.

The approach is MOSS's: winnowing (S. Schleimer, D. S. Wilkerson and A. Aiken,
"Winnowing: Local Algorithms for Document Fingerprinting", SIGMOD 2003) over k-grams
of a normalised token stream.  As in Dolos (R. Maertens et al., "Dolos:
Language-agnostic plagiarism detection in source code", Journal of Computer
Assisted Learning, 2022), the tokens come from the syntax tree rather than the text,
so renaming, reformatting and comments don't change them; the normalisation in
:mod:`.fingerprints` also undoes the usual equivalent rewrites.  The stub's own
code is the base (never a match, as MOSS's ``-b``), and a fingerprint counts less
the more students hold it.  Student code is only read as text and parsed, never run.

Modules, in the order data flows: :mod:`.fingerprints` (source -> fingerprints),
:mod:`.compare` (class -> pairs, regions, clusters), :mod:`.report` (files and the command).
"""

from __future__ import annotations

from .compare import Comparison, Pair, Region, compare
from .fingerprints import Fingerprinted, fingerprint_files
from .report import analyse, read_class, report_similarity, similarity_for_batch, write_similarity

__all__ = [
    "Comparison",
    "Fingerprinted",
    "Pair",
    "Region",
    "analyse",
    "compare",
    "fingerprint_files",
    "read_class",
    "report_similarity",
    "similarity_for_batch",
    "write_similarity",
]
