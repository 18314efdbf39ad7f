"""A source's stored copy as a reader sees it: its paragraphs, with each
cited passage marked and tied to the facts that cite it.

Locators are read as `domain.citations` reads them: paragraphs are the
non-empty lines, numbered from 1; pages are split by form feeds; character
ranges are 0-based and end-exclusive. Where a citation quotes words found
in its paragraphs, the words are the passage; otherwise the whole place the
locator names is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from khronika.domain.citations import squash

# a run of whitespace in a quote matches any run in the text
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Part:
    text: str
    facts: tuple[str, ...] = ()  # the facts citing this part; none: not cited


@dataclass
class Paragraph:
    number: int
    parts: list[Part] = field(default_factory=list)

    @property
    def cited(self) -> bool:
        return any(p.facts for p in self.parts)


@dataclass(frozen=True)
class Cite:
    fact: str
    locator: str
    quote: str | None = None


def spans(text: str, cite: Cite) -> list[tuple[int, int]]:
    """The character ranges of `text` that `cite` points at."""
    kind, _, where = cite.locator.partition(":")
    first, _, last = where.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        return []
    if kind == "chars":
        start = int(first)
        stop = int(last) if last else start + len(cite.quote or "")
        return [(max(start, 0), min(stop, len(text)))] if start < len(text) else []
    places = _places(text, kind)
    chosen = places[int(first) - 1 : int(last or first)]
    if not chosen or int(first) < 1:
        return []
    if cite.quote:
        pattern = r"\s+".join(re.escape(w) for w in squash(cite.quote).split(" "))
        for start, stop in chosen:
            found = re.search(pattern, text[start:stop])
            if found:
                return [(start + found.start(), start + found.end())]
        found = re.search(pattern, text[chosen[0][0] : chosen[-1][1]])
        if found:
            return [(chosen[0][0] + found.start(), chosen[0][0] + found.end())]
    return chosen


def _places(text: str, kind: str) -> list[tuple[int, int]]:
    """Each paragraph's (or page's) character range in `text`."""
    found, at = [], 0
    if kind == "page":
        for page in text.split("\f"):
            found.append((at, at + len(page)))
            at += len(page) + 1
        return found
    for line in text.splitlines(keepends=True):
        body = line.splitlines()[0]  # as `citations.paragraphs`: any line break
        if body.strip():
            found.append((at, at + len(body)))
        at += len(line)
    return found


def marked(text: str, cites: list[Cite]) -> list[Paragraph]:
    """The paragraphs of `text`, each split where a cited passage starts or
    ends, every part knowing which facts cite it."""
    ranges = [(a, b, c.fact) for c in cites for a, b in spans(text, c) if a < b]
    paragraphs = []
    for number, (start, stop) in enumerate(_places(text, "para"), 1):
        cuts = sorted({start, stop} | {x for a, b, _ in ranges for x in (a, b)
                                       if start < x < stop})  # fmt: skip
        parts = []
        for a, b in zip(cuts, cuts[1:], strict=False):
            facts = tuple(sorted({f for x, y, f in ranges if x <= a and b <= y}))
            parts.append(Part(text[a:b], facts))
        paragraphs.append(Paragraph(number, parts))
    return paragraphs


def passage(text: str, cite: Cite) -> list[Part] | None:
    """The paragraph(s) around what `cite` points at, the passage itself
    marked; None if the locator points at nothing in `text`."""
    found = spans(text, cite)
    if not found:
        return None
    places = _places(text, "para")
    start = min(a for a, _ in found)
    stop = max(b for _, b in found)
    around = [(a, b) for a, b in places if a < stop and start < b] or [(start, stop)]
    low, high = min(start, around[0][0]), max(stop, around[-1][1])
    return [
        Part(squash(text[low:start]) + " " if start > low else ""),
        Part(squash(text[start:stop]), (cite.fact,)),
        Part(" " + squash(text[stop:high]) if high > stop else ""),
    ]
