"""Which stored values a redaction erases: the plan `Chronicle.redact` saves.

`--field F` names a personal field (domain/intent.PERSONAL), erased wherever
it occurs in the record's events (a fact's summary in its recording and in
each correction, every citation's quote, ...), or one JSON pointer
(`/doc/sources/0/quote`) into the events' bodies. A signed event loses the
values alone; an event stored before signing, whose leaf covers all of its
bytes, is erased whole and leaves a tombstone (domain/intent.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import msgspec
from eventsourcing.persistence import Notification

from khronika.domain import intent
from khronika.domain.errors import ValidationError
from khronika.domain.events import Erased
from khronika.store.codec import open_envelope
from khronika.store.erasure import Erasure


def check_fields(fields: Sequence[str]) -> None:
    if not fields:
        raise ValidationError("field", "name at least one field to redact")
    for field in fields:
        if not (field in intent.PERSONAL or field.startswith("/")):
            allowed = ", ".join(sorted(intent.PERSONAL))
            raise ValidationError(
                "field",
                f"'{field}' is not a field that holds personal data ({allowed}), "
                "nor a JSON pointer (/doc/summary)",
            )


def plan(
    slug: str, events: Sequence[Notification], fields: Sequence[str], reason: str
) -> tuple[list[Erased], Erasure]:
    """Every stored value of `fields` in the record's events, by position:
    what the redaction names, and what its transaction rewrites."""
    check_fields(fields)

    def named(pointer: str) -> bool:
        last = intent.tokens(pointer)[-1]
        return any(pointer == f or last == f for f in fields)

    erased: list[Erased] = []
    erasure = Erasure(reason, {}, {})
    for n in events:
        if intent.is_tombstone(n.state):
            continue  # erased whole already
        if intent.is_enveloped(n.state):
            values = open_envelope(n.state)[2]
            found = [p for p in values if named(p)]
            erased += [Erased(position=n.id, pointer=p) for p in found]
        else:
            remainder, found = intent.strip(msgspec.json.decode(n.state), named)
            if found:
                kept = msgspec.json.encode(remainder)
                digest = hashlib.sha256(kept).hexdigest()
                erased.append(Erased(position=n.id, pointer="", kept=digest))
                erasure.whole[n.id] = kept
        if found:
            erasure.targets[n.id] = found
    if not erased:
        raise ValidationError(
            "field",
            f"no version of '{slug}' stores a value of {', '.join(fields)} "
            "(erased already, or never given)",
        )
    return erased, erasure


def doc_fields(erased: Sequence[Erased]) -> set[str]:
    """The fields of a record's document whose values `erased` took: the
    top-level name under a recording's `/doc` or a correction's `/changes`;
    an added alias is the record's aliases, a rename its name."""
    found: set[str] = set()
    for e in erased:
        tokens = intent.tokens(e.pointer)
        if len(tokens) > 1 and tokens[0] in ("doc", "changes"):
            found.add(tokens[1])
        elif tokens == ["alias"]:
            found.add("aliases")
        elif tokens == ["name"]:
            found.add("name")
    return found
