"""What one version of a fact changed, field by field, and who changed it."""

from __future__ import annotations

from typing import Any

import msgspec

from khronika.domain import lenient
from khronika.domain.documents import FactDoc
from khronika.projections import models as m
from khronika.projections.views import ViewStore

LISTS = ("participants", "sources")
FIELDS = ("when", "summary", "place", "participants", "details", "sources")


def fields_of(doc: FactDoc) -> dict[str, Any]:
    """A fact document's fields as plain values; `when` always as an object."""
    plain = msgspec.to_builtins(doc)
    plain["when"] = msgspec.to_builtins(doc.date)
    return {name: plain.get(name) for name in FIELDS}


def changed(
    before: FactDoc | None,
    after: FactDoc,
    was_retracted: bool = False,
    retracted: bool = False,
) -> list[m.FieldChange]:
    """The fields `after` changed from `before`; none for a first version."""
    if before is None:
        return []
    old, new = fields_of(before), fields_of(after)
    found = []
    for name in FIELDS:
        if old[name] == new[name]:
            continue
        if name in LISTS:
            gone = [x for x in old[name] or [] if x not in (new[name] or [])]
            came = [x for x in new[name] or [] if x not in (old[name] or [])]
            found.append(m.FieldChange(field=name, before=gone, after=came))
        else:
            found.append(m.FieldChange(field=name, before=old[name], after=new[name]))
    if retracted != was_retracted:
        found.append(m.FieldChange(field="retracted", before=was_retracted,
                                   after=retracted))  # fmt: skip
    return found


def _doc(row: Any) -> FactDoc:
    return lenient.decode_json(row["doc"].encode(), FactDoc)


def with_changes(rows: list[Any], facts: list[m.Fact]) -> list[m.Fact]:
    """Each version of a history (`facts`, from `rows`, oldest first) with
    what it changed from the version before it."""
    out, before, was = [], None, False
    for row, fact in zip(rows, facts, strict=True):
        doc, retracted = _doc(row), bool(row["retracted"])
        out.append(msgspec.structs.replace(
            fact, changes=changed(before, doc, was, retracted)))  # fmt: skip
        before, was = doc, retracted
    return out


def steps(views: ViewStore, slug: str, after_version: int | None,
          known_at: str) -> list[m.Step]:  # fmt: skip
    """Each version of `slug` after `after_version`, recorded by `known_at`:
    who recorded it and what it changed."""
    rows = views.query(
        "SELECT * FROM view_facts WHERE fact = :slug AND version >= :v "
        "AND recorded_from <= :k ORDER BY version",
        {"slug": slug, "v": after_version or 1, "k": known_at},
    )
    found, before, was = [], None, False
    for row in rows:
        doc, retracted = _doc(row), bool(row["retracted"])
        if after_version is None or row["version"] > after_version:
            found.append(m.Step(
                version=row["version"], recorded_at=row["recorded_from"],
                recorded_by=row["recorded_by"], recorded_key=row["recorded_key"],
                reason=row["reason"], changes=changed(before, doc, was, retracted),
            ))  # fmt: skip
        before, was = doc, retracted
    return found
