"""Archived copies in the store, and citations checked against them at append."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from khronika.domain.aggregates import Source
from khronika.domain.errors import ValidationError
from khronika.store.app import Chronicle

ARTICLE = (
    "-Analysis-\nIn June, a court sentenced two locals.\n"
    "She said \u201cTake our Petropavlovsk for your own, like Crimea.\u201d\n"
).encode()


def quoted(make: Any, locator: str, quote: str) -> Any:
    cite = [{"source": "worldcrunch-kz-separatism", "locator": locator, "quote": quote}]
    return make.fact(sources=cite)


def test_same_bytes_are_stored_once(seeded: Chronicle) -> None:
    first = seeded.attach_copy("worldcrunch-kz-separatism", ARTICLE, "ann")
    second = seeded.attach_copy("worldcrunch-kz-separatism", ARTICLE, "ann")
    assert first is not None and second is None
    assert [sha for sha, _ in seeded.store.copies()] == [
        hashlib.sha256(ARTICLE).hexdigest()
    ]
    source = seeded.get(Source, "worldcrunch-kz-separatism")
    assert source.doc.sha256 == hashlib.sha256(ARTICLE).hexdigest()
    assert source.version == 2


def test_quote_is_checked_against_the_copy_at_append(
    seeded: Chronicle, make: Any
) -> None:
    seeded.attach_copy("worldcrunch-kz-separatism", ARTICLE, "ann")
    with pytest.raises(ValidationError, match="the quote is in para:3"):
        seeded.append_fact(quoted(make, "para:2", "Take our Petropavlovsk"), "ann")
    seeded.append_fact(quoted(make, "para:3", "Take our Petropavlovsk"), "ann")


def test_unchecked_skips_the_check_and_records_why(
    seeded: Chronicle, make: Any
) -> None:
    seeded.attach_copy("worldcrunch-kz-separatism", ARTICLE, "ann")
    event = seeded.append_fact(
        quoted(make, "para:2", "words from the video"), "ann", unchecked="video"
    )
    assert event.unchecked == "video"  # type: ignore[attr-defined]


def test_without_a_stored_copy_nothing_is_checked(seeded: Chronicle, make: Any) -> None:
    seeded.append_fact(quoted(make, "para:99", "anything"), "ann")


def test_correction_citations_are_checked_too(seeded: Chronicle, make: Any) -> None:
    seeded.append_fact(make.fact(), "ann")
    seeded.attach_copy("worldcrunch-kz-separatism", ARTICLE, "ann")
    cite = quoted(make, "para:9", "x").sources
    with pytest.raises(ValidationError, match="para:9 is outside the stored copy"):
        seeded.correct("serebryakova-verdict-2023", {"summary": "S."}, "r", cite, "b")
