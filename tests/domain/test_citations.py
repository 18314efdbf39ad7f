"""Citations checked against the text of a stored copy."""

from __future__ import annotations

import pytest

from khronika.domain.citations import check, paragraphs
from khronika.domain.documents import Citation
from khronika.domain.errors import ValidationError

TEXT = (
    "-Analysis-\n"
    "In June, a court sentenced two locals.\n"
    "\n"
    "She said \u201cTake our Petropavlovsk for your own,  like Crimea.\u201d\n"
    "Her interlocutor posted the recording.\n"
)


def cite(locator: str, quote: str | None = None) -> Citation:
    return Citation(source="s", locator=locator, quote=quote)


def test_paragraphs_are_the_non_empty_lines_from_one() -> None:
    assert paragraphs(TEXT)[2].startswith("She said")
    assert len(paragraphs(TEXT)) == 4


@pytest.mark.parametrize(
    "citation",
    [
        cite("para:3", "Take our Petropavlovsk for your own, like Crimea"),
        cite("para:3"),
        cite("para:2-3", "two locals. She said"),
        cite("chars:11", "In June"),
        cite("chars:11-18", "In June"),
        cite("page:1", "posted the recording"),
    ],
)
def test_citation_that_points_at_its_quote_passes(citation: Citation) -> None:
    check(citation, TEXT, "sources[0]")


@pytest.mark.parametrize(
    ("citation", "field", "message"),
    [
        (cite("para:2", "Take our Petropavlovsk"), "sources[0].quote",
         "the quote is in para:3, not where the locator points"),
        (cite("para:3", "Take our Omsk for your own"), "sources[0].quote",
         "nearest passage \\(para:3\\): \".*Petropavlovsk for your own"),
        (cite("para:9"), "sources[0].locator",
         "para:9 is outside the stored copy, which has 4 paragraphs"),
        (cite("chars:0-7", "In June"), "sources[0].locator",
         "the quote is at chars:11-18, not chars:0-7"),
        (cite("chars:90-9000"), "sources[0].locator", "outside the stored copy"),
        (cite("page:2", "x"), "sources[0].locator", "which has 1 pages"),
        (cite("para:1", "nothing like this at all"), "sources[0].quote",
         "does not occur in the stored copy"),
    ],
)  # fmt: skip
def test_citation_that_misses_names_where_the_quote_is(
    citation: Citation, field: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        check(citation, TEXT, "sources[0]")
    assert raised.value.field == field
