"""Checking a citation against the text of a source's archived copy.

Paragraphs are the non-empty lines of the text, numbered from 1; pages are
separated by form feeds; character ranges are 0-based and end-exclusive.
Whitespace runs compare as one space.
"""

from __future__ import annotations

import difflib
import re

from khronika.domain.documents import Citation
from khronika.domain.errors import ValidationError

_SPACE = re.compile(r"\s+")
SNIPPET = 160


def squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def paragraphs(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def pages(text: str) -> list[str]:
    return text.split("\f")


def check(citation: Citation, text: str, field: str) -> None:
    """Raise ValidationError, with the nearest passage, if the citation is off."""
    kind, _, where = citation.locator.partition(":")
    start, _, end = where.partition("-")
    quote = squash(citation.quote) if citation.quote else None
    if kind == "chars":
        _check_range(int(start), int(end) if end else None, quote, text, field)
        return
    parts = paragraphs(text) if kind == "para" else pages(text)
    first, last = int(start), int(end or start)
    if not 1 <= first <= last <= len(parts):
        raise ValidationError(
            f"{field}.locator",
            f"{citation.locator} is outside the stored copy, which has "
            f"{len(parts)} {'paragraphs' if kind == 'para' else 'pages'}",
        )
    if quote is None:
        return
    if quote in squash(" ".join(parts[first - 1 : last])):
        return
    raise ValidationError(f"{field}.quote", _nowhere(quote, parts, kind))


def _check_range(
    start: int, end: int | None, quote: str | None, text: str, field: str
) -> None:
    stop = end if end is not None else start + len(quote or "")
    if not 0 <= start < stop <= len(text):
        raise ValidationError(
            f"{field}.locator",
            f"chars:{start}-{stop} is outside the stored copy ({len(text)} characters)",
        )
    if quote is None or squash(text[start:stop]) == quote:
        return
    found = text.find(quote)
    if found >= 0:
        raise ValidationError(
            f"{field}.locator",
            f"the quote is at chars:{found}-{found + len(quote)}, "
            f"not chars:{start}-{stop}",
        )
    raise ValidationError(f"{field}.quote", _nowhere(quote, paragraphs(text), "para"))


def _nowhere(quote: str, parts: list[str], kind: str) -> str:
    """Where the quote is instead, or the passage that comes nearest to it."""
    for number, part in enumerate(parts, start=1):
        if quote in squash(part):
            return f"the quote is in {kind}:{number}, not where the locator points"
    best, score = 0, 0.0
    for number, part in enumerate(parts, start=1):
        ratio = _closeness(quote, squash(part))
        if ratio > score:
            best, score = number, ratio
    if not best:
        return "the quote does not occur in the stored copy"
    passage = _window(quote, squash(parts[best - 1]))
    return (
        f"the quote does not occur in the stored copy; nearest passage "
        f'({kind}:{best}): "{passage}"'
    )


def _closeness(quote: str, part: str) -> float:
    match = difflib.SequenceMatcher(None, quote, part, autojunk=False)
    block = match.find_longest_match(0, len(quote), 0, len(part))
    return block.size / max(1, len(quote))


def _window(quote: str, part: str) -> str:
    match = difflib.SequenceMatcher(None, quote, part, autojunk=False)
    block = match.find_longest_match(0, len(quote), 0, len(part))
    start = max(0, block.b - block.a - 20)
    snippet = part[start : start + len(quote) + 40]
    return snippet if len(snippet) <= SNIPPET else snippet[:SNIPPET] + "…"
