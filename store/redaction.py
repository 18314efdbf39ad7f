"""Which stored values a redaction erases: the plan `Chronicle.redact` saves.

`--field F` names a personal field (domain/intent.PERSONAL), erased wherever
it occurs in the record's signed events (a fact's summary in its recording
and in each correction, every citation's quote, ...), or one JSON pointer
(`/doc/sources/0/quote`) into the events' intent bodies.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import Notification

from khronika.domain import intent
from khronika.domain.errors import ValidationError
from khronika.domain.events import Erased
from khronika.store.codec import open_envelope


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


def _last(pointer: str) -> str:
    """A pointer's last reference token, unescaped (RFC 6901)."""
    return pointer.rpartition("/")[2].replace("~1", "/").replace("~0", "~")


def _named(pointer: str, fields: Sequence[str]) -> bool:
    return any(pointer == f or _last(pointer) == f for f in fields)


def plan(
    slug: str, events: Sequence[Notification], fields: Sequence[str]
) -> list[Erased]:
    """Every stored value of `fields` in the record's events, by position.

    An event stored before signing has no values apart from its leaf: it
    could only be erased whole, which is refused (README, "Redaction").
    """
    check_fields(fields)
    erased: list[Erased] = []
    for n in events:
        if not intent.is_enveloped(n.state):
            raise ValidationError(
                "field",
                f"version {n.originator_version} of '{slug}' was stored before "
                "signing: its leaf covers all of its bytes, so it could only be "
                "erased whole, which this version does not do",
            )
        values = open_envelope(n.state)[2]
        erased += [
            Erased(position=n.id, pointer=p) for p in values if _named(p, fields)
        ]
    if not erased:
        raise ValidationError(
            "field",
            f"no version of '{slug}' stores a value of {', '.join(fields)} "
            "(erased already, or never given)",
        )
    return erased


def targets(erased: Sequence[Erased]) -> dict[int, list[str]]:
    """The erased values grouped by the position of their event."""
    found: dict[int, list[str]] = {}
    for e in erased:
        found.setdefault(e.position, []).append(e.pointer)
    return found
