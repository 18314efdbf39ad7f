"""A maintainer's signed intent, and the leaf envelope that holds it.

One format serves signing, redaction and the served log (README,
"Maintainers and keys"). A write is an intent: what the maintainer asked to
write (event type, stream, version, body) with who asked and when. The
intent is signed as a C2SP signed note; the stored event's Merkle leaf
covers the envelope (record time, signer, signature, intent), and only it.

Fields that may hold personal data (PERSONAL) are not in the intent as
values: each is a commitment, SHA-256(salt || JSON of the value), and the
values with their salts are stored beside the envelope, outside the leaf.
The signature and the leaf therefore hold whether or not a value is later
erased, and `verify` checks every value still stored against its commitment.

Stored state: the envelope as compact JSON, then "\\n", then the values as
compact JSON. Compact JSON never holds a raw newline, so the leaf covers the
state up to its first newline, and a state without one (stored before
signing) is covered whole, as it always was. After a redaction the state
gains a third line, its notes: by JSON pointer, which redaction erased the
value and why (`Note`), so that a reader can say so in the value's place.
The notes are not in the leaf either; `verify` checks each against the
redaction event it names.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

PERSONAL = frozenset(
    {"summary", "wording", "quote", "note", "name", "aliases", "alias"}
)
COMMIT = "commit"  # {"commit": "<hex>"} stands where a personal value was
NOTE_HEADER = b"khronika-intent/1\n"
ENVELOPE = 2  # the marker of an enveloped state; states before it have none

Values = dict[str, list[Any]]  # JSON pointer -> [salt (base64), value]


class Intent(msgspec.Struct, frozen=True, kw_only=True):
    """What a maintainer signs: one event as asked for, before it is recorded.

    `log` is the origin of the chronicle it is for ("khronika/<store id>"),
    so that it cannot be replayed into another chronicle.
    """

    log: str
    by: str  # the maintainer's registered name
    key: str  # "<key name>+<key id hex>": the signed note's key (C2SP signed-note)
    created: str  # when the signer made it, RFC 3339 UTC
    type: str  # the event's class name
    stream: UUID
    slug: str
    version: int
    body: dict[str, Any]  # the event's own fields, personal values committed


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """What an event's leaf covers; `envelope` first, `timestamp` second."""

    envelope: int = ENVELOPE
    timestamp: datetime  # record time, stamped by the recorder (store/clock.py)
    signature: str  # base64(key id || Ed25519 signature), as on a note's line
    intent: msgspec.Raw  # the signed intent, byte for byte


def note(intent: bytes) -> bytes:
    """The C2SP signed-note text that is signed: a header line, the intent, "\\n".

    signed-note §Note text: UTF-8, ends in a newline; the header line keeps
    an intent's signature from ever passing as a checkpoint's.
    """
    return NOTE_HEADER + intent + b"\n"


def commitment(salt: bytes, value: Any) -> str:
    return hashlib.sha256(salt + msgspec.json.encode(value)).hexdigest()


def _pointer(path: str, key: str) -> str:
    """RFC 6901: '~' as '~0', '/' as '~1'."""
    if "~" in key or "/" in key:
        key = key.replace("~", "~0").replace("/", "~1")
    return f"{path}/{key}"


def tokens(pointer: str) -> list[str]:
    """A JSON pointer's reference tokens, unescaped (RFC 6901)."""
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def commit(body: Any, salt: Callable[[], bytes]) -> tuple[Any, Values]:
    """`body` with every PERSONAL value replaced by its commitment; the values."""
    values: Values = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key in PERSONAL and value is not None:
                    s = salt()
                    out[key] = {COMMIT: commitment(s, value)}
                    values[_pointer(path, key)] = [base64.b64encode(s).decode(), value]
                elif isinstance(value, dict | list):
                    out[key] = walk(value, _pointer(path, key))
                else:
                    out[key] = value
            return out
        if isinstance(node, list):
            return [
                walk(v, f"{path}/{i}") if isinstance(v, dict | list) else v
                for i, v in enumerate(node)
            ]
        return node

    return walk(body, ""), values


def reveal(
    body: Any, values: Values, missing: Callable[[str], Any], path: str = ""
) -> Any:
    """`body` with each commitment replaced by its stored value.

    A value not stored (erased) is `missing(pointer)`; whether a stored value
    matches its commitment is `verify`'s to check (`mismatches`).
    """
    if isinstance(body, dict):
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key in PERSONAL and _is_commitment(value):
                where = _pointer(path, key)
                found = values.get(where)
                out[key] = missing(where) if found is None else found[1]
            elif isinstance(value, dict | list):  # scalars are themselves
                out[key] = reveal(value, values, missing, _pointer(path, key))
            else:
                out[key] = value
        return out
    if isinstance(body, list):
        nested = (dict, list)
        return [reveal(v, values, missing, f"{path}/{i}") if isinstance(v, nested)
                else v for i, v in enumerate(body)]  # fmt: skip
    return body


def commitments(body: Any, path: str = "") -> dict[str, str]:
    """Every commitment in `body`, by JSON pointer."""
    found: dict[str, str] = {}
    if isinstance(body, dict):
        for key, value in body.items():
            where = _pointer(path, key)
            if key in PERSONAL and _is_commitment(value):
                found[where] = value[COMMIT]
            else:
                found.update(commitments(value, where))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            found.update(commitments(value, f"{path}/{i}"))
    return found


def mismatches(body: Any, values: Values) -> tuple[list[str], list[str], list[str]]:
    """Pointers whose stored value fails its commitment; absent; not committed."""
    committed = commitments(body)
    wrong, absent = [], []
    for where, digest in committed.items():
        found = values.get(where)
        if found is None:
            absent.append(where)
            continue
        try:
            salt = base64.b64decode(found[0], validate=True)
        except (ValueError, TypeError, IndexError):
            wrong.append(where)
            continue
        if len(found) != 2 or commitment(salt, found[1]) != digest:
            wrong.append(where)
    stray = [where for where in values if where not in committed]
    return wrong, absent, stray


def _is_commitment(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(value.get(COMMIT), str)
    )


def split_state(state: bytes) -> tuple[bytes, bytes]:
    """An enveloped state's envelope and values; (state, b"") for an older one."""
    envelope, _, rest = state.partition(b"\n")
    return envelope, rest.partition(b"\n")[0]


class Note(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """Why a value is no longer stored: the redaction at log position `by`,
    its record day (YYYY-MM-DD) and its reason."""

    by: int
    on: str
    reason: str

    def text(self) -> str:
        """What readers show in the value's place."""
        return f"{NOTE_TEXT}{self.on}: {self.reason}]"


NOTE_TEXT = "[redacted on "


def holds_note(value: Any) -> bool:
    """Whether a value (builtins) shows a redaction's note anywhere in it."""
    if isinstance(value, str):
        return value.startswith(NOTE_TEXT)
    if isinstance(value, dict):
        return any(holds_note(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_note(v) for v in value)
    return False


Notes = dict[str, Note]
_notes_decoder = msgspec.json.Decoder(Notes)
_values_decoder = msgspec.json.Decoder(Values)
_encoder = msgspec.json.Encoder()


def notes_of(state: bytes) -> Notes:
    """The redaction notes of a stored state; {} if none erased anything."""
    tail = state.split(b"\n", 2)
    return _notes_decoder.decode(tail[2]) if len(tail) == 3 and tail[2] else {}


def erase(state: bytes, pointers: list[str], note: Note) -> bytes:
    """An enveloped state without the values (and salts) at `pointers`, with a
    note for each: the envelope byte for byte, the rest re-encoded."""
    envelope, values = split_state(state)
    kept = _values_decoder.decode(values) if values else {}
    notes = notes_of(state)
    for pointer in pointers:
        if kept.pop(pointer, None) is not None:
            notes[pointer] = note
    return b"\n".join((envelope, _encoder.encode(kept), _encoder.encode(notes)))


def is_enveloped(state: bytes) -> bool:
    return state.startswith(b'{"envelope":')


# -- events stored before signing, erased whole ------------------------------
# Such an event's leaf covers all of its bytes, so no value of it can go
# alone. A redaction replaces its state with a tombstone: the leaf hash the
# tree keeps (verify takes it for the event's), its record time and slug,
# and what remains: its state with the erased values as "[redacted]", whose
# SHA-256 the admin's signed redaction names. Then, as for a signed event,
# an empty line of values and the notes.

TOMBSTONE = b'{"erased":"'
STRIPPED = "[redacted]"  # a value erased, where no note says more


class Tombstone(msgspec.Struct, frozen=True, kw_only=True):
    erased: str  # the event's leaf hash, hex; the tree's leaf
    timestamp: datetime
    slug: str = ""
    state: msgspec.Raw  # the event's state, erased values as "[redacted]"


_tombstone_decoder = msgspec.json.Decoder(Tombstone)


def is_tombstone(state: bytes) -> bool:
    return state.startswith(TOMBSTONE)


def tombstone(state: bytes) -> Tombstone:
    return _tombstone_decoder.decode(split_state(state)[0])


def tombstone_leaf(state: bytes) -> bytes | None:
    """The leaf hash a tombstone keeps; None for any other state."""
    if not is_tombstone(state):
        return None
    try:
        return bytes.fromhex(tombstone(state).erased)
    except (msgspec.DecodeError, ValueError):
        return b""  # matches no leaf: verify names the event


def strip(
    body: Any, fields: Callable[[str], bool], path: str = ""
) -> tuple[Any, list[str]]:
    """`body` with each PERSONAL value whose pointer `fields` names replaced by
    "[redacted]" ([] for a list); the pointers replaced."""
    if isinstance(body, dict):
        out: dict[str, Any] = {}
        found: list[str] = []
        for key, value in body.items():
            where = _pointer(path, key)
            if key in PERSONAL and value is not None and fields(where):
                out[key] = [] if isinstance(value, list) else STRIPPED
                found.append(where)
            else:
                out[key], inner = strip(value, fields, where)
                found += inner
        return out, found
    if isinstance(body, list):
        items, found = [], []
        for i, value in enumerate(body):
            item, inner = strip(value, fields, f"{path}/{i}")
            items.append(item)
            found += inner
        return items, found
    return body, []


def place(body: Any, pointer: str, value: Any) -> None:
    """Set the value at `pointer` (RFC 6901) in `body`, if it is there."""
    *parents, key = tokens(pointer)
    for token in parents:
        body = body[int(token)] if isinstance(body, list) else body.get(token)
        if body is None:
            return
    if isinstance(body, dict) and key in body:
        body[key] = value


def bury(
    state: bytes, leaf: bytes, remainder: bytes, pointers: list[str], note: Note
) -> bytes:
    """The tombstone that replaces a whole event stored before signing."""
    stamp = _stamp_decoder.decode(state)
    head = _encoder.encode(
        Tombstone(
            erased=leaf.hex(),
            timestamp=stamp.timestamp,
            slug=stamp.slug,
            state=msgspec.Raw(remainder),
        )
    )
    notes = {pointer: note for pointer in pointers}
    return b"\n".join((head, b"", _encoder.encode(notes)))


class _Stamp(msgspec.Struct):
    timestamp: datetime
    slug: str = ""


_stamp_decoder = msgspec.json.Decoder(_Stamp)
