"""Deleting erased values in the transaction that stores their redaction.

A recorder mixes this in and calls `_erase` right after it inserted a
batch; the batch then is one `Redacted` event (store/redaction.py), and
`erase` names the stored values it erased. Each of those events' states is
rewritten: its envelope byte for byte (so its leaf, every checkpoint and
the signature hold), its values without the erased ones, and a note for
each, naming the redaction (domain/intent.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from khronika.domain import intent
from khronika.domain.errors import StoreError
from khronika.store.codec import stamp_of
from khronika.store.ledger import TILES_TABLE, leaf_of


@dataclass(frozen=True)
class Erasure:
    """What a redaction erases: by log position, the JSON pointers; and for
    an event stored before signing, erased whole, what remains of it."""

    reason: str
    targets: dict[int, list[str]]
    whole: dict[int, bytes]


class Erasing:
    """The rewrite of erased values, for the SQLite and PostgreSQL recorders.

    They say how to spell a query (`_q`, with "{tiles}" for the tree's
    table), their events table, and the column of an event's log position.
    """

    events_table_name: str
    POSITION: str  # "rowid" (SQLite) or "notification_id" (PostgreSQL)

    def _q(self, sql: str) -> Any:
        raise NotImplementedError

    def _erase(
        self,
        c: Any,
        stored: Sequence[StoredEvent],
        positions: Sequence[int],
        erase: Erasure | None,
    ) -> None:
        if erase is None:
            return
        if len(stored) != 1:
            raise StoreError("a redaction is stored alone, in its own transaction")
        day = stamp_of(stored[0].state).strftime("%Y-%m-%d")
        note = intent.Note(by=positions[0], on=day, reason=erase.reason)
        # the events table, named as the adapter names the tree's (quoted in
        # its schema on PostgreSQL)
        table = self._q("{tiles}").replace(TILES_TABLE, self.events_table_name)
        select = self._q(
            "SELECT topic, originator_id, originator_version, state "
            f"FROM {table} WHERE {self.POSITION} = ?"
        )
        update = self._q(f"UPDATE {table} SET state = ? WHERE {self.POSITION} = ?")
        for position, pointers in sorted(erase.targets.items()):
            c.execute(select, [position])
            row = c.fetchone()
            if row is None:
                raise StoreError(f"there is no event at position {position} to redact")
            state = bytes(row["state"])
            if position in erase.whole:
                raw_id = row["originator_id"]
                stream = raw_id if isinstance(raw_id, UUID) else UUID(raw_id)
                leaf = leaf_of(row["topic"], stream, row["originator_version"], state)
                new = intent.bury(state, leaf, erase.whole[position], pointers, note)
            else:
                new = intent.erase(state, pointers, note)
            c.execute(update, [new, position])
