"""A stored copy's paragraphs with each cited passage marked."""

from __future__ import annotations

from khronika.web.passages import Cite, marked, passage, spans

TEXT = "One.\n\nTwo says  this and that.\nThree.\fFour on page two.\n"


def test_a_quote_in_its_paragraph_is_the_passage() -> None:
    ((start, stop),) = spans(TEXT, Cite("f", "para:2", "says this"))
    assert TEXT[start:stop] == "says  this"  # any run of spaces matches


def test_without_a_quote_the_whole_place_is_the_passage() -> None:
    assert [TEXT[a:b] for a, b in spans(TEXT, Cite("f", "para:3"))] == ["Three."]
    assert [TEXT[a:b] for a, b in spans(TEXT, Cite("f", "chars:0-3"))] == ["One"]
    (page,) = spans(TEXT, Cite("f", "page:2"))
    assert TEXT[page[0] : page[1]] == "Four on page two.\n"
    assert spans(TEXT, Cite("f", "para:9")) == []  # outside the copy


def test_paragraphs_are_split_where_passages_start_and_end() -> None:
    paragraphs = marked(TEXT, [Cite("a", "para:2", "this and"),
                               Cite("b", "para:2", "and that")])  # fmt: skip
    assert [p.number for p in paragraphs] == [1, 2, 3, 4]
    parts = [(p.text, p.facts) for p in paragraphs[1].parts]
    assert parts == [("Two says  ", ()), ("this ", ("a",)), ("and", ("a", "b")),
                     (" that", ("b",)), (".", ())]  # fmt: skip
    assert not paragraphs[0].cited and paragraphs[1].cited


def test_a_passage_comes_with_its_paragraph_around_it() -> None:
    parts = passage(TEXT, Cite("f", "para:2", "this"))
    assert parts is not None
    assert [(p.text, p.facts) for p in parts] == [
        ("Two says ", ()), ("this", ("f",)), (" and that.", ())]  # fmt: skip
