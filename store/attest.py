"""Signing keys, signed checkpoints, and proofs an auditor checks offline."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification

from khronika.domain.errors import KhronikaError, NotFoundError
from khronika.domain.parse import MAX_COUNT
from khronika.store import checkpoint as cp
from khronika.store import location as loc
from khronika.store import merkle, signing
from khronika.store.app import Chronicle
from khronika.store.ledger import canonical


def key_path(app: Chronicle) -> Path:
    """$KHRONIKA_KEY, else beside a SQLite file, else under ~/.config/khronika."""
    if loc.is_remote(app.location):
        raise KhronikaError(
            f"{loc.describe(app.location)}: a served chronicle's signing key "
            "is on its server; sign checkpoints and rotate the key there"
        )
    if os.environ.get("KHRONIKA_KEY"):
        return Path(os.environ["KHRONIKA_KEY"])
    if not loc.is_postgres(app.location):
        return Path(f"{loc.sqlite_file(app.location)}.key")
    return Path.home() / ".config" / "khronika" / f"{app.meta['store_id']}.key"


def ensure_key(app: Chronicle, *, create: bool = True) -> tuple[Path, bool]:
    """The store's signing key; made now (mode 0600) if there is none and `create`.

    Without `create` (a store that existed already), a missing key is an
    error: a new key is a new signing identity, made only by `rotate_key`.
    """
    path = key_path(app)
    pub = path.with_suffix(".pub")
    if path.exists() and pub.exists():
        _check_mine(app, pub)
        return path, False
    if not create:
        missing = " and ".join(str(p) for p in (path, pub) if not p.exists())
        raise KhronikaError(
            f"this store's signing key is missing: no {missing}. Restore the "
            "key files from your backup (or set KHRONIKA_KEY to where they "
            "are); to start a new signing identity on purpose, run `khronika "
            "key rotate --reason TEXT`, which records the change in the log"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    cp.generate_key(path, origin(app))  # C2SP: the key is named by the origin
    return path, True


def _check_mine(app: Chronicle, pub: Path) -> None:
    """Refuse a key named for another store (a copied key file, say)."""
    try:
        name = cp.load_verifier(pub).name
    except cp.CheckpointError:
        return  # a damaged .pub is for `verify` and `checkpoint` to name
    if name not in cp.key_names(origin(app)):
        raise KhronikaError(
            f"the signing key {pub} is {name}'s, not this store's "
            f"({origin(app)}): set KHRONIKA_KEY to this store's key, or to a "
            "new path to make one"
        )


def loose_key(path: Path) -> str | None:
    """A warning if the private key at `path` is readable by group or others."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if not mode & 0o044:
        return None
    return (
        f"warning: the private key {path} is readable by group or others "
        f"(mode {mode:o}); run `chmod 600 {path}`"
    )


def rotate_key(app: Chronicle, reason: str, by: str) -> tuple[Path, list[Path]]:
    """A new signing key, recorded in the log; the old files are kept, renamed.

    Returns the new key's path and where the old key files went.
    """
    if not reason.strip():
        raise KhronikaError("reason: say why the key is rotated")
    path = key_path(app)
    pub = path.with_suffix(".pub")
    previous = ""
    if pub.exists():
        try:
            previous = str(cp.load_verifier(pub))
        except cp.CheckpointError:
            previous = ""
    suffix = datetime.now(UTC).strftime("retired-%Y%m%dT%H%M%SZ")
    moved = [(p, p.with_name(f"{p.name}.{suffix}")) for p in (path, pub) if p.exists()]
    for _, new in moved:
        if new.exists():
            raise KhronikaError(f"{new} exists already; try again in a second")
    for old, new in moved:
        old.rename(new)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cp.generate_key(path, origin(app))
        app.record_key(str(cp.load_verifier(pub)), previous, reason, by)
    except BaseException:
        for p in (path, pub):
            p.unlink(missing_ok=True)
        for old, new in moved:
            new.rename(old)
        raise
    return path, [new for _, new in moved]


def origin(app: Chronicle) -> str:
    """The log's name in its checkpoints, and its signing key's name."""
    return app.origin


def check_head(app: Chronicle, at: cp.Checkpoint) -> None:
    """Raise KhronikaError unless `at` is a checkpoint of this store's log."""
    mine = origin(app)
    if at.origin != mine:
        raise KhronikaError(
            f"the checkpoint is for {at.origin}, but this store is {mine}: it is "
            "another store's checkpoint, or this store's id was changed"
        )
    size = app.store.tree_size()
    if at.size > size:
        raise KhronikaError(
            f"the checkpoint covers {at.size} events, but this log has only "
            f"{size}: the checkpoint is from a longer log, so this log was "
            "truncated (`khronika verify --checkpoint` says where)"
        )
    if merkle.root(at.size, app.store.node) != at.root:
        raise KhronikaError(
            f"the first {at.size} events of this log do not hash to the "
            "checkpoint's root: the log was rewritten (`khronika verify "
            "--checkpoint` says where)"
        )


def signer(app: Chronicle) -> cp.Signer:
    """The store's signing key, named by its origin; KhronikaError if missing."""
    path = key_path(app)
    if not path.exists():
        raise KhronikaError(
            f"no signing key at {path}: restore it from your backup (or set "
            "KHRONIKA_KEY to where it is); to start a new signing identity on "
            "purpose, run `khronika key rotate --reason TEXT`"
        )
    loaded, name = cp.load_signer(path), origin(app)
    if name not in cp.key_names(loaded.name):  # a key copied from another store
        raise KhronikaError(
            f"the signing key {path} is {loaded.name}'s, not this store's "
            f"({name}): its checkpoints would name another log. Set KHRONIKA_KEY "
            "to this store's key"
        )
    return cp.Signer(name, loaded.key)  # named as now, if named the earlier way


def checkpoint(
    app: Chronicle, size: int | None = None, by: cp.Signer | None = None
) -> str:
    """A signed note of the tree's root at `size` leaves (default: all), now."""
    size = app.store.tree_size() if size is None else size
    note = cp.Checkpoint(
        origin=origin(app),
        size=size,
        root=merkle.root(size, app.store.node),
        timestamp=datetime.now(UTC),
    )
    return cp.sign(note, by or signer(app))


def proof_from(app: Chronicle, size: int) -> Callable[[int], list[bytes]]:
    """The consistency proof from a smaller tree to `size` leaves, on request."""
    return lambda old: merkle.consistency_proof(old, size, app.store.node)


LATEST = "checkpoint"  # the meta key of the latest checkpoint, as served


def publish(app: Chronicle, note: str) -> None:
    """Keep `note` as the store's latest checkpoint, which `serve` serves at
    /checkpoint (tlog-tiles §Checkpoints): the log's head, for witnesses and
    mirrors. A note for a smaller tree than the one kept is not kept."""
    kept = latest(app)
    if kept is not None and cp.parse(kept).size > cp.parse(note).size:
        return
    app.store.write_meta({LATEST: note}, replace=True)


def latest(app: Chronicle) -> str | None:
    """The latest checkpoint kept, read afresh (another process may keep one)."""
    meta = app.store.read_meta() or {}
    return meta.get(LATEST)


MAX_INT = 2**63 - 1  # SQLite's and PostgreSQL's largest integer
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)]
Positive = Annotated[int, msgspec.Meta(ge=1, le=MAX_INT)]
Hash = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]  # base64 in JSON


class ProvedEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A stored event as it is in the log: enough to recompute its leaf."""

    position: Positive
    topic: str
    originator_id: UUID
    originator_version: Positive
    state: bytes


class InclusionProof(
    msgspec.Struct, frozen=True, tag_field="type", tag="inclusion",
    forbid_unknown_fields=True,
):  # fmt: skip
    """The event is leaf `leaf_index` of the log `origin` at `tree_size`."""

    origin: str
    tree_size: Count
    root: Hash
    leaf_index: Count
    event: ProvedEvent
    path: list[Hash]


class ConsistencyProof(
    msgspec.Struct, frozen=True, tag_field="type", tag="consistency",
    forbid_unknown_fields=True,
):  # fmt: skip
    """The log `origin` at `old_size` is a prefix of it at `new_size`."""

    origin: str
    old_size: Count
    old_root: Hash
    new_size: Count
    new_root: Hash
    path: list[Hash]


Proof = InclusionProof | ConsistencyProof
_proofs = msgspec.json.Decoder(Proof | list[Proof])


def read_proofs(data: bytes, name: str) -> list[Proof]:
    """The proofs in a proof file (one, or a list); KhronikaError naming the fault."""
    try:
        found = _proofs.decode(data)
    except msgspec.ValidationError as e:
        raise KhronikaError(f"{name}: not a khronika proof: {e}") from None
    except msgspec.DecodeError as e:
        raise KhronikaError(f"{name}: not a JSON proof file: {e}") from None
    proofs = found if isinstance(found, list) else [found]
    if not proofs:
        raise KhronikaError(f"{name}: the file holds no proofs")
    return proofs


def inclusion(app: Chronicle, target: str, at: cp.Checkpoint) -> list[InclusionProof]:
    """Inclusion proofs, in the checkpoint's tree, for a fact's events or one event.

    `target` is a fact id or a log position.
    """
    check_head(app, at)
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
        event = ProvedEvent(
            position=position,
            topic=n.topic,
            originator_id=originator_id,
            originator_version=n.originator_version,
            state=n.state,
        )
        proofs.append(InclusionProof(
            origin=at.origin, tree_size=at.size, root=at.root, leaf_index=index,
            event=event, path=merkle.inclusion_proof(index, at.size, app.store.node),
        ))  # fmt: skip
    return proofs


def consistency(
    app: Chronicle, old: cp.Checkpoint, new: cp.Checkpoint
) -> ConsistencyProof:
    """A proof that the log of `old` is a prefix of the log of `new`."""
    if old.size > new.size:
        old, new = new, old
    check_head(app, new)
    check_head(app, old)
    return ConsistencyProof(
        origin=new.origin, old_size=old.size, old_root=old.root,
        new_size=new.size, new_root=new.root,
        path=merkle.consistency_proof(old.size, new.size, app.store.node),
    )  # fmt: skip


def _head(
    checkpoints: Sequence[cp.Checkpoint], proof: Proof, size: int, root: bytes
) -> cp.Checkpoint:
    """The given checkpoint the proof's tree head of `size` and `root` names."""
    heads = [c for c in checkpoints if c.size == size]
    if not heads:
        raise KhronikaError(f"no given checkpoint has size {size}, the proof's")
    for head in heads:
        if head.origin != proof.origin:
            raise KhronikaError(
                f"the proof is for the log {proof.origin}, but the checkpoint of "
                f"size {size} is of {head.origin}"
            )
        if head.root != root:
            raise KhronikaError(
                f"the proof's root for size {size} is not the root signed in the "
                "checkpoint of that size"
            )
    return heads[0]


def check_proof(proof: Proof, checkpoints: Sequence[cp.Checkpoint]) -> str:
    """Verify a proof offline against signed checkpoints; a line saying what held.

    Raises KhronikaError saying what failed.
    """
    if isinstance(proof, InclusionProof):
        head = _head(checkpoints, proof, proof.tree_size, proof.root)
        e = proof.event
        try:
            data = canonical(e.topic, e.originator_id, e.originator_version, e.state)
        except UnicodeEncodeError:
            raise KhronikaError("the proof's event topic is not valid text") from None
        leaf = merkle.leaf_hash(data)
        # the event's log position is not in its leaf hash: the proof's own
        # word for it is unchecked, so it is not said; the leaf index is
        what = f"leaf {proof.leaf_index}, version {e.originator_version} of "
        what += str(e.originator_id)
        if not merkle.verify_inclusion(
            leaf, proof.leaf_index, head.size, proof.path, head.root
        ):
            raise KhronikaError(
                f"the proof's event ({what}) is NOT in the log of the "
                f"checkpoint (size {head.size})"
            )
        return (f"the event at {what} is in the log of size {head.size} "
                f"signed by {head.origin}")  # fmt: skip
    old = _head(checkpoints, proof, proof.old_size, proof.old_root)
    new = _head(checkpoints, proof, proof.new_size, proof.new_root)
    if not merkle.verify_consistency(
        old.size, new.size, old.root, new.root, proof.path
    ):
        raise KhronikaError(
            f"the log of size {old.size} is NOT a prefix of the log of size {new.size}"
        )
    return f"the log of size {old.size} is a prefix of the log of size {new.size}"


def load_hand() -> signing.Hand | None:
    """This user's maintainer key, if they have one (named by its .pub)."""
    path = signing.maintainer_key_path()
    if not path.exists():
        return None
    signer_ = cp.load_signer(path)
    return signing.Hand(signer_.name, signer_)


def begin_signing(app: Chronicle, name: str) -> tuple[Path, bool] | None:
    """Register this user as the store's first admin, signed by the store's key.

    Makes the user's maintainer key first if they have none; returns where
    it is and whether it was made now, or None if the store had admins.
    """
    if app.registry().began is not None:
        return None
    path = signing.maintainer_key_path()
    made = not path.exists()
    if made:
        signing.new_key(name, path)
    mine = cp.load_verifier(path.with_suffix(".pub"))
    app.begin_signing(signer(app), name, mine)
    return path, made
