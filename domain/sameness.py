"""When two facts are likely one: a verdict recorded twice.

Two verdicts with the same defendants on the same date (the same EDTF
text) are most likely the same verdict, entered twice, perhaps from two
sources. Nothing refuses them (two trials may end on one day); writers warn.
"""

from __future__ import annotations

from msgspec import Struct

from khronika.domain.documents import FactDoc


class VerdictKey(Struct, frozen=True, kw_only=True):
    """What makes two verdicts look the same, and the fact it is of."""

    fact: str
    edtf: str
    defendants: tuple[str, ...]  # sorted, each once

    @property
    def same(self) -> tuple[str, tuple[str, ...]]:
        return self.edtf, self.defendants


def verdict_key(doc: FactDoc) -> VerdictKey | None:
    """The key of a verdict that names its defendants; None for any other."""
    defendants = sorted({p.entity for p in doc.participants if p.role == "defendant"})
    if doc.kind != "verdict" or not defendants:
        return None
    return VerdictKey(fact=doc.id, edtf=doc.date.edtf, defendants=tuple(defendants))
