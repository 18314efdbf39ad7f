"""Copying a store across (SQLite to PostgreSQL, say), losing nothing."""

from __future__ import annotations

from collections.abc import Callable

from khronika.domain.errors import StoreError
from khronika.store import copies, merkle
from khronika.store import location as loc
from khronika.store.app import UNFINISHED, Chronicle

PAGE = 1000  # events per transaction on the target


def migrate(
    source: Chronicle,
    target_location: str,
    on_progress: Callable[[int], None] | None = None,
) -> Chronicle:
    """Copy every event, in order and byte for byte, and every archived copy.

    The target takes the source's identity, so checkpoints signed for the
    source verify against the target; its Merkle root is the same. Until the
    last event and copy are in, the target is marked unfinished, and every
    command but this one refuses it; run again, this resumes where it stopped.
    """
    target = _target(source, target_location)
    done = target.store.tree_size()
    if done and merkle.root(done, target.store.node) != merkle.root(
        done, source.store.node
    ):
        raise StoreError(
            f"{loc.describe(target_location)}: the unfinished copy's events are "
            "not the source's first ones; migrate into an empty database or a "
            "new file"
        )
    skip = done
    for page in source.pages(page=PAGE):
        if skip >= len(page):
            skip -= len(page)
            continue
        target.store.insert_events(page[skip:])
        done += len(page) - skip
        skip = 0
        if on_progress is not None:
            on_progress(done)
    for sha256 in source.store.copy_hashes():  # streamed, a chunk at a time
        copy = copies.stored(source.store, sha256)
        if copy is not None and target.store.copy_size(sha256) is None:
            target.store.store_copy(copy)
    size = source.store.tree_size()
    if target.store.tree_size() != size or merkle.root(
        size, target.store.node
    ) != merkle.root(size, source.store.node):
        raise StoreError("the copied log does not hash to the source's root")
    target.store.drop_meta(UNFINISHED)
    return target


def _target(source: Chronicle, location: str) -> Chronicle:
    """The target, new and marked unfinished, or as an earlier run left it."""
    where = loc.describe(location)
    if not Chronicle.is_store(location):
        identity = {
            k: v for k, v in source.meta.items() if k in ("store_id", "created_at")
        }
        identity[UNFINISHED] = loc.describe(source.location)
        return Chronicle(location, create=True, identity=identity, unfinished=True)
    target = Chronicle(location, unfinished=True)
    if UNFINISHED not in target.meta:
        raise StoreError(
            f"{where} is a khronika store already; "
            "migrate into an empty database or a new file"
        )
    if target.meta["store_id"] != source.meta["store_id"]:
        raise StoreError(
            f"{where} is an unfinished copy of another store "
            f"({target.meta[UNFINISHED]}); finish that migration, or migrate "
            "into an empty database or a new file"
        )
    return target
