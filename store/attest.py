"""Signing keys, signed checkpoints, and proofs an auditor checks offline."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from khronika.domain.errors import KhronikaError, NotFoundError
from khronika.domain.parse import MAX_COUNT
from khronika.store import checkpoint as cp
from khronika.store import location as loc
from khronika.store import merkle
from khronika.store.app import Chronicle
from khronika.store.ledger import canonical


def key_path(app: Chronicle) -> Path:
    """$KHRONIKA_KEY, else beside a SQLite file, else under ~/.config/khronika."""
    if os.environ.get("KHRONIKA_KEY"):
        return Path(os.environ["KHRONIKA_KEY"])
    if not loc.is_postgres(app.location):
        return Path(app.location + ".key")
    return Path.home() / ".config" / "khronika" / f"{app.meta['store_id']}.key"


def ensure_key(app: Chronicle) -> tuple[Path, bool]:
    """The store's signing key, made now (mode 0600) if there is none."""
    path = key_path(app)
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    cp.generate_key(path, f"khronika-{app.meta['store_id']}")
    return path, True


def origin(app: Chronicle) -> str:
    return f"khronika/{app.meta['store_id']}"


def checkpoint(app: Chronicle) -> str:
    """A signed note of the tree's size and root, now."""
    path = key_path(app)
    if not path.exists():
        raise KhronikaError(
            f"no signing key at {path}; `khronika init` makes one "
            "(or set KHRONIKA_KEY to where it is)"
        )
    size = app.store.tree_size()
    note = cp.Checkpoint(
        origin=origin(app),
        size=size,
        root=merkle.root(size, app.store.node),
        timestamp=datetime.now(UTC),
    )
    return cp.sign(note, cp.load_signer(path))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def inclusion(app: Chronicle, target: str, at: cp.Checkpoint) -> list[dict[str, Any]]:
    """Inclusion proofs, in the checkpoint's tree, for a fact's events or one event.

    `target` is a fact id or a log position.
    """
    if target.isascii() and target.isdigit():  # not "²", which isdigit() too
        position = int(target)
        found: Sequence[Notification] = []
        if position <= MAX_COUNT:  # larger ones do not fit an SQL integer
            found = app.recorder.select_notifications(position, 1, stop=position)
        if not found:
            raise NotFoundError("event at position", target)
        events = [(found[0].id, found[0])]
    else:
        if not app.exists("fact", target):
            raise app.catalogue().not_found("fact", target, app)
        from khronika.domain.ids import stream_id

        events = [(n.id, n) for n in app.store.stream_notifications(
            stream_id("fact", target))]  # fmt: skip
    proofs = []
    for position, n in events:
        index = app.store.leaf_index(position)
        if index is None:
            raise KhronikaError(f"event at position {position} is not in the tree")
        if index >= at.size:
            raise KhronikaError(
                f"event at position {position} came after the checkpoint "
                f"(size {at.size}); take a newer checkpoint"
            )
        originator_id = n.originator_id
        assert isinstance(originator_id, UUID)
        proofs.append({
            "type": "inclusion", "origin": at.origin, "tree_size": at.size,
            "root": _b64(at.root), "leaf_index": index,
            "event": {"position": position, "topic": n.topic,
                      "originator_id": str(originator_id),
                      "originator_version": n.originator_version,
                      "state": _b64(n.state)},
            "path": [_b64(h) for h in merkle.inclusion_proof(
                index, at.size, app.store.node)],
        })  # fmt: skip
    return proofs


def consistency(
    app: Chronicle, old: cp.Checkpoint, new: cp.Checkpoint
) -> dict[str, Any]:
    """A proof that the log of `old` is a prefix of the log of `new`."""
    if old.size > new.size:
        old, new = new, old
    size = app.store.tree_size()
    if new.size > size:
        raise KhronikaError(
            f"the newer checkpoint has {new.size} events, the log only {size}"
        )
    return {
        "type": "consistency", "origin": new.origin,
        "old_size": old.size, "old_root": _b64(old.root),
        "new_size": new.size, "new_root": _b64(new.root),
        "path": [_b64(h) for h in merkle.consistency_proof(
            old.size, new.size, app.store.node)],
    }  # fmt: skip


def check_proof(proof: dict[str, Any], checkpoints: list[cp.Checkpoint]) -> str:
    """Verify a proof offline against signed checkpoints; a line saying what held.

    Raises KhronikaError saying what failed.
    """
    path = [base64.b64decode(h) for h in proof["path"]]
    if proof["type"] == "inclusion":
        head = next((c for c in checkpoints if c.size == proof["tree_size"]), None)
        if head is None:
            raise KhronikaError(
                f"no given checkpoint has size {proof['tree_size']}, the proof's"
            )
        e = proof["event"]
        state = base64.b64decode(e["state"])
        data = canonical(
            e["topic"], UUID(e["originator_id"]), e["originator_version"], state
        )
        leaf = merkle.leaf_hash(data)
        if not merkle.verify_inclusion(
            leaf, proof["leaf_index"], head.size, path, head.root
        ):
            raise KhronikaError(
                f"event at position {e['position']} is NOT in the log of the "
                f"checkpoint (size {head.size})"
            )
        return (f"event at position {e['position']} (version "
                f"{e['originator_version']} of {e['originator_id']}) is in the log "
                f"of size {head.size} signed by {head.origin}")  # fmt: skip
    sizes = {c.size: c for c in checkpoints}
    old, new = sizes.get(proof["old_size"]), sizes.get(proof["new_size"])
    if old is None or new is None:
        raise KhronikaError(
            f"give both checkpoints: sizes {proof['old_size']} and {proof['new_size']}"
        )
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, path):
        raise KhronikaError(
            f"the log of size {old.size} is NOT a prefix of the log of size {new.size}"
        )
    return f"the log of size {old.size} is a prefix of the log of size {new.size}"
