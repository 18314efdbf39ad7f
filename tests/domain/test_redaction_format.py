"""The redaction format, without a store: erasing values beside an envelope,
the notes readers show, and a whole event's remainder."""

from __future__ import annotations

import json

import msgspec
import pytest

from khronika.domain import intent

NOTE = intent.Note(by=9, on="2026-12-07", reason="personal data of a minor")


def sealed_state(body: dict[str, object]) -> tuple[bytes, dict[str, object]]:
    committed, values = intent.commit(body, lambda: b"\x01" * 16)
    head = json.dumps({"envelope": 2, "intent": committed}, separators=(",", ":"))
    return head.encode() + b"\n" + msgspec.json.encode(values), committed


def test_erasing_a_value_keeps_the_envelope_byte_for_byte_and_notes_why() -> None:
    state, committed = sealed_state({"doc": {"summary": "secret", "note": "kept"}})
    erased = intent.erase(state, ["/doc/summary"], NOTE)
    assert intent.split_state(erased)[0] == intent.split_state(state)[0]
    values = msgspec.json.decode(intent.split_state(erased)[1])
    assert list(values) == ["/doc/note"] and b"secret" not in erased
    assert intent.notes_of(erased) == {"/doc/summary": NOTE}
    wrong, absent, stray = intent.mismatches(committed, values)
    assert (wrong, absent, stray) == ([], ["/doc/summary"], [])


def test_a_value_erased_already_gets_no_second_note() -> None:
    state, _ = sealed_state({"doc": {"summary": "secret"}})
    once = intent.erase(state, ["/doc/summary"], NOTE)
    later = intent.Note(by=12, on="2027-01-01", reason="again")
    assert intent.notes_of(intent.erase(once, ["/doc/summary"], later)) == {
        "/doc/summary": NOTE
    }


def test_the_note_reads_as_readers_see_it() -> None:
    assert NOTE.text() == "[redacted on 2026-12-07: personal data of a minor]"
    assert intent.holds_note({"a": [NOTE.text()]}) and not intent.holds_note("x")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"summary"}, ["/doc/summary"]),
        ({"quote"}, ["/doc/sources/0/quote"]),
        ({"aliases", "name"}, ["/doc/name", "/doc/aliases"]),
    ],
)
def test_strip_replaces_only_the_named_personal_values(
    fields: set[str], expected: list[str]
) -> None:
    body = {"doc": {"kind": "summary", "summary": "s", "name": "n",
                    "aliases": ["a"], "sources": [{"quote": "q"}]}}  # fmt: skip
    remainder, found = intent.strip(body, lambda p: p.rpartition("/")[2] in fields)
    assert found == expected
    assert remainder["doc"]["kind"] == "summary"  # a value, not a field: kept
    for pointer in expected:
        intent.place(remainder, pointer, "X")
    assert b'"X"' in msgspec.json.encode(remainder)


def test_a_tombstone_keeps_the_leaf_the_time_and_what_remains() -> None:
    old = b'{"timestamp":"2020-01-01T00:00:00Z","slug":"f","doc":{"summary":"s"}}'
    remainder = old.replace(b'"s"}', b'"[redacted]"}')
    buried = intent.bury(old, b"\xab" * 32, remainder, ["/doc/summary"], NOTE)
    assert intent.is_tombstone(buried) and intent.tombstone_leaf(buried) == b"\xab" * 32
    assert bytes(intent.tombstone(buried).state) == remainder
    assert intent.notes_of(buried) == {"/doc/summary": NOTE}
    assert intent.tombstone_leaf(old) is None
