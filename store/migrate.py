"""Copying a store across (SQLite to PostgreSQL, say), losing nothing."""

from __future__ import annotations

from collections.abc import Callable

from khronika.domain.errors import StoreError
from khronika.store import location as loc
from khronika.store import merkle
from khronika.store.app import Chronicle


def migrate(
    source: Chronicle,
    target_location: str,
    on_progress: Callable[[int], None] | None = None,
) -> Chronicle:
    """Copy every event, in order and byte for byte, and every archived copy.

    The target takes the source's identity, so checkpoints signed for the
    source verify against the target; its Merkle root is the same.
    """
    if Chronicle.is_store(target_location):
        raise StoreError(
            f"{loc.describe(target_location)} is a khronika store already; "
            "migrate into an empty database or a new file"
        )
    identity = {k: v for k, v in source.meta.items() if k in ("store_id", "created_at")}
    target = Chronicle(target_location, create=True, identity=identity)
    done = 0
    for page in source.pages():
        target.store.insert_events(page)
        done += len(page)
        if on_progress is not None:
            on_progress(done)
    for sha256, content in source.store.copies():
        target.store.put_copy(sha256, content)
    size = source.store.tree_size()
    if target.store.tree_size() != size or merkle.root(
        size, target.store.node
    ) != merkle.root(size, source.store.node):
        raise StoreError("the copied log does not hash to the source's root")
    return target
