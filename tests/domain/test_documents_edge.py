"""What a document may hold: slugs, anchored patterns, text without control
characters, finite numbers; and every accepted document survives storage."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khronika.domain.documents import EntityDoc, FactDoc, Record, Slug, SourceDoc
from khronika.domain.errors import KhronikaError, ValidationError
from khronika.domain.events import FactRecorded
from khronika.domain.parse import decode
from khronika.domain.rules import check_fact
from khronika.domain.text import check_line, check_text
from khronika.store.codec import MsgspecMapper, NullTranscoder
from khronika.store.codec import decode as decode_event

SOURCE: dict[str, Any] = {
    "type": "source",
    "id": "worldcrunch-kz-separatism",
    "title": "Kazakhstan separatists",
    "publisher": "Worldcrunch",
    "url": "https://worldcrunch.com/a",
    "published": "2024-06",
    "language": "en",
    "sha256": "0" * 64,
}
ENTITY: dict[str, Any] = {
    "type": "entity",
    "id": "kz-criminal-code-2014",
    "kind": "law",
    "name": "Criminal Code",
    "aliases": ["УК РК"],
    "note": "The code of 2014.",
    "articles": [{"number": "174.1", "title": "Inciting discord"}],
}
FACT: dict[str, Any] = {
    "type": "fact",
    "id": "serebryakova-verdict-2023",
    "kind": "verdict",
    "when": {"edtf": "2023-05-30", "wording": "on 30 May", "anchor": "2023"},
    "summary": "Sentenced.\nThree years.",
    "place": "petropavlovsk",
    "participants": [{"entity": "tatyana-serebryakova", "role": "defendant"}],
    "sources": [{"source": "worldcrunch", "locator": "para:5", "quote": "Take"}],
    "details": {"type": "verdict", "charges": ["kz-criminal-code-2014:180"]},
}
MEASURE: dict[str, Any] = FACT | {
    "kind": "measurement",
    "details": {"type": "measurement", "quantity": "share", "value": 0.7, "unit": "%"},
}


def _with(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `doc` with the field at dotted `path` (0 = list item) set."""
    copy: dict[str, Any] = json.loads(json.dumps(doc))
    *parents, last = path.split(".")
    target: Any = copy
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(last) if last.isdigit() else last] = value
    return copy


def _decode(doc: dict[str, Any]) -> Any:
    return decode(json.dumps(doc).encode(), Record)  # type: ignore[arg-type]


@pytest.mark.parametrize("doc", [SOURCE, ENTITY, FACT, MEASURE])
def test_the_examples_are_accepted(doc: dict[str, Any]) -> None:
    _decode(doc)


# Every pattern, with a trailing newline: `$` would let each of them through.
ANCHORED = [
    (FACT, "id"),
    (ENTITY, "id"),
    (SOURCE, "id"),
    (FACT, "place"),
    (FACT, "participants.0.entity"),
    (FACT, "sources.0.source"),
    (FACT, "sources.0.locator"),
    (FACT, "details.charges.0"),
    (SOURCE, "url"),
    (SOURCE, "language"),
    (SOURCE, "sha256"),
    (ENTITY, "articles.0.number"),
]


@pytest.mark.parametrize(("doc", "path"), ANCHORED)
def test_a_trailing_newline_is_refused_by_every_pattern(
    doc: dict[str, Any], path: str
) -> None:
    value: Any = doc
    for key in path.split("."):
        value = value[int(key)] if key.isdigit() else value[key]
    field = path.replace(".0.", "[0].").replace(".0", "[0]")
    with pytest.raises(ValidationError) as e:
        _decode(_with(doc, path, value + "\n"))
    assert e.value.field == field


@pytest.mark.parametrize(
    "slug", ["Serebryakova", "a b", "a_b", "-a", "ä", "a" * 121, "a\n", "a\r"]
)
def test_an_id_that_is_not_a_slug_is_refused(slug: str) -> None:
    with pytest.raises(ValidationError, match="^id: "):
        _decode(_with(FACT, "id", slug))


def test_the_id_rule_is_described_where_the_error_edge_can_read_it() -> None:
    (meta,) = Slug.__metadata__  # type: ignore[attr-defined]
    rule: str = meta.description or ""
    assert "lower-case letters a-z, digits and hyphens" in rule
    assert "120" in rule


HOSTILE = ["\x1b[2J", "\x1b]0;title\x07", "\x9b31m", "\u202e", "\u2066", "\x00", "\r"]
TEXT_FIELDS = [
    (FACT, "summary"),
    (FACT, "when.wording"),
    (FACT, "when.edtf"),
    (FACT, "when.anchor"),
    (FACT, "sources.0.quote"),
    (ENTITY, "name"),
    (ENTITY, "aliases.0"),
    (ENTITY, "note"),
    (ENTITY, "articles.0.title"),
    (SOURCE, "title"),
    (SOURCE, "publisher"),
    (SOURCE, "published"),
    (SOURCE, "url"),
    (MEASURE, "details.quantity"),
    (MEASURE, "details.unit"),
]


@pytest.mark.parametrize("char", HOSTILE, ids=[f"U+{ord(c[-1]):04X}" for c in HOSTILE])
@pytest.mark.parametrize(("doc", "path"), TEXT_FIELDS)
def test_control_characters_and_bidi_overrides_are_refused_in_every_text_field(
    doc: dict[str, Any], path: str, char: str
) -> None:
    with pytest.raises(ValidationError):
        _decode(_with(doc, path, "text " + char + " more"))


@pytest.mark.parametrize(
    ("doc", "path", "multi_line"),
    [
        (FACT, "summary", True),
        (ENTITY, "note", True),
        (ENTITY, "name", False),
        (ENTITY, "aliases.0", False),
        (FACT, "sources.0.quote", False),
        (SOURCE, "title", False),
    ],
)
def test_only_multi_line_fields_hold_newlines_and_tabs(
    doc: dict[str, Any], path: str, multi_line: bool
) -> None:
    for text in ("one\ntwo", "one\ttwo", "one\u2028two"):
        changed = _with(doc, path, text)
        if multi_line:
            _decode(changed)
        else:
            with pytest.raises(ValidationError):
                _decode(changed)


@pytest.mark.parametrize(
    ("doc", "path"),
    [(FACT, "summary"), (ENTITY, "name"), (ENTITY, "note"), (SOURCE, "title")],
)
@pytest.mark.parametrize("blank", [" ", "\n\t ", "\u00a0\u3000"])
def test_blank_text_is_refused_where_text_is_required(
    doc: dict[str, Any], path: str, blank: str
) -> None:
    with pytest.raises(ValidationError):
        _decode(_with(doc, path, blank))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+inf", "1e999"])
def test_a_measurement_that_is_not_a_finite_number_is_refused(value: str) -> None:
    toml = (
        'id = "m"\nkind = "measurement"\nwhen = "2024"\nsummary = "s"\n'
        'sources = [{ source = "s", locator = "para:1" }]\n'
        f'details = {{ type = "measurement", quantity = "q", value = {value} }}\n'
    )
    with pytest.raises(ValidationError) as e:
        check_fact(decode(toml.encode(), FactDoc, "toml"))
    assert e.value.field == "details.value"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("two\nlines", "must be one line, but holds a newline at position 4"),
        ("tab\there", "must be one line, but holds a tab"),
        ("\x1b[2J", "holds U+001B at position 1"),
        ("\u202eevil", "holds U+202E at position 1"),
        ("  ", "is blank"),
        ("x" * 1001, "is 1001 characters long; at most 1000 allowed"),
    ],
)
def test_one_line_options_say_what_is_wrong(value: str, problem: str) -> None:
    with pytest.raises(ValidationError, match="^reason: " + re.escape(problem)):
        check_line("reason", value, 1000)


def test_multi_line_text_may_hold_newlines_but_not_escapes() -> None:
    assert check_text("summary", "a\n\tb", 100) == "a\n\tb"
    with pytest.raises(ValidationError, match=r"U\+001B"):
        check_text("summary", "a\x1b", 100)


# ---- property: an accepted document decodes back to itself after storage ----
# A valid document with hostile text in at most one field, so that many of
# the examples are accepted and the ones refused are refused for that field.
_hostile_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
_valid_text = st.sampled_from(["Text", "Два слова", "a b", "«quoted» — ok"])
_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
)
_slug = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,5}\Z")


@st.composite
def _documents(draw: st.DrawFn) -> tuple[type[Any], dict[str, Any]]:
    if draw(st.booleans()):
        cls: type[Any] = FactDoc
        raw: dict[str, Any] = {
            "id": draw(_slug),
            "kind": "measurement",
            "when": draw(st.sampled_from(["2023", "2021-09?", "2019/2021"])),
            "summary": draw(st.one_of(_valid_text, st.just("two\nlines\tok"))),
            "sources": [{"source": draw(_slug), "locator": "para:5"}],
            "details": {
                "type": "measurement",
                "quantity": draw(_valid_text),
                "value": draw(_number),
                "unit": draw(_valid_text),
            },
        }
        fields = ["id", "when", "summary", "place", "sources.0.locator",
                  "sources.0.quote", "details.quantity", "details.unit"]  # fmt: skip
    else:
        cls = EntityDoc
        raw = {
            "id": draw(_slug),
            "kind": "person",
            "name": draw(_valid_text),
            "aliases": [draw(_valid_text)],
        }
        fields = ["id", "name", "aliases.0", "note"]
    field = draw(st.one_of(st.none(), st.sampled_from(fields)))
    if field is not None:
        raw = _with(raw, field, draw(_hostile_text))
    return cls, raw


def _accepted(raw: dict[str, Any], cls: type[Any]) -> Any:
    """The document if khronika's edge accepts it, else None."""
    try:
        doc = msgspec.convert(raw, cls)
        if isinstance(doc, FactDoc):
            check_fact(doc)
    except (msgspec.ValidationError, KhronikaError):
        return None
    return doc


@settings(max_examples=300, deadline=None)
@given(document=_documents())
def test_every_accepted_document_decodes_back_to_itself(
    document: tuple[type[Any], dict[str, Any]],
) -> None:
    cls, raw = document
    doc = _accepted(raw, cls)
    if doc is None:
        return
    assert msgspec.json.decode(msgspec.json.encode(doc), type=cls) == doc
    if isinstance(doc, FactDoc):  # and as a stored event, the way the log holds it
        event = FactRecorded(
            originator_id=UUID(int=1), originator_version=1,
            timestamp=datetime(2030, 1, 1, tzinfo=UTC),
            recorded_by="t", slug=doc.id, doc=doc,
        )  # fmt: skip
        stored = MsgspecMapper(transcoder=NullTranscoder()).to_stored_event(event)
        assert decode_event(stored.topic, stored.state) == event


def test_source_documents_round_trip() -> None:
    doc = _decode(SOURCE)
    assert isinstance(doc, SourceDoc)
    assert msgspec.json.decode(msgspec.json.encode(doc), type=SourceDoc) == doc
