"""Text that came from a submission, made safe for one destination: terminal and log, CSV cell, file name.

Anything a student controls (file names, exception messages, printed output,
returned values) may hold escape sequences that move a terminal's cursor or
write its clipboard, a formula a spreadsheet runs, or a name no file system
accepts.  Each destination gets its own function; HTML is escaped by the
templates (jinja2 autoescape) and JSON sizes are capped where check results are
made (:mod:`autograder.results`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: Longest text shown for one untrusted value in a terminal line or a log line.
MAX_SHOWN = 2000
#: Longest student file stem, in characters and in UTF-8 bytes (``<stem>.html`` and the
#: temporary ``.<stem>.html.<pid>.<thread>.tmp`` must stay under the 255 bytes of a name).
MAX_STEM_CHARS = 80
MAX_STEM_BYTES = 120

_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SAFE_STEM = re.compile(r"\w[\w .+-]*")


def _visible(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(ch: str, keep: str) -> bool:
    if ch in keep:
        return False
    # Cc: C0/C1 controls and DEL (ESC starts every ANSI/OSC sequence); Cf: format characters,
    # among them the bidirectional overrides that reorder what a line seems to say;
    # Zl/Zp: line and paragraph separators.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")


def printable(text: object, limit: int | None = MAX_SHOWN, *, keep: str = "\n\t") -> str:
    """``text`` with every control and format character written as an escape (``\\x1b``),
    so no escape sequence reaches a terminal or a log raw; cut to ``limit`` characters.

    ``keep`` lists the control characters left alone (line breaks and tabs by default;
    ``keep=""`` for a value that must stay on one line).
    """
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 20)] + f" [... {len(text) - limit + 20} more]"
    if text.isprintable() and not any(ch in text for ch in "\u2028\u2029"):
        return text
    return "".join(_visible(ch) if _unsafe(ch, keep) else ch for ch in text)


def one_line(text: object, limit: int | None = 300) -> str:
    """:func:`printable` on a single line: line breaks and tabs are written as escapes too."""
    return printable(text, limit, keep="")


def csv_cell(text: object, limit: int = 500) -> str:
    """A gradebook cell a spreadsheet shows as text: a leading ``= + - @`` (a formula in
    Excel, LibreOffice and Google Sheets) is preceded by ``'``; control characters made visible."""
    cell = one_line(text, limit)
    return f"'{cell}" if cell.startswith(_CSV_FORMULA_START) else cell


def file_stem(student: str) -> str:
    """The stem of a student's report files (``<stem>.html``, ``<stem>.json``, the cache entry).

    A plain id (letters, digits, ``_ . + -`` and spaces, starting with a letter, digit or
    ``_``, short enough) is used as it is.  Any other id becomes a bounded, safe stem:
    unsafe characters replaced by ``_``, leading dots and dashes removed, cut, plus a
    hash of the full id so two students never share a stem.  The original id stays in
    the result and the gradebook.
    """
    if (
        _SAFE_STEM.fullmatch(student)
        and len(student) <= MAX_STEM_CHARS
        and len(student.encode("utf-8", "surrogatepass")) <= MAX_STEM_BYTES
        and not student.endswith((" ", "."))
        and student.isprintable()
    ):
        return student
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    cleaned = "".join(ch if (ch.isalnum() and ch.isprintable()) or ch in "_+-." else "_" for ch in student)
    cleaned = cleaned.lstrip("._-+")[:40]
    while len(cleaned.encode("utf-8")) > MAX_STEM_BYTES - 20:
        cleaned = cleaned[:-1]
    return f"{cleaned.rstrip('.')}-{digest}" if cleaned else f"student-{digest}"
