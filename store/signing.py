"""Maintainers' keys, their registry in the log, and sealing every write.

A maintainer signs each event's intent (domain/intent.py) with an Ed25519
key as a C2SP signed note: the signature covers `intent.note(intent)`, and
is stored as a note signature line stores it, base64(key id || signature),
with the key named "<key name>+<key id hex>" (signed-note §Signatures,
§Ed25519). The registry (MaintainerAdded, MaintainerKeyRotated,
MaintainerRevoked) is read from the log; `Registry.admit` says whether an
event's seal holds against the registry as it stood at the event's
position, and is used alike by writes (against the current registry) and
by `verify` (against each position's).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature

from khronika.domain import intent
from khronika.domain.errors import KhronikaError, ValidationError
from khronika.domain.events import (
    Event,
    MaintainerAdded,
    MaintainerEvent,
    MaintainerKeyRotated,
    MaintainerRevoked,
    Redacted,
    Seal,
    SigningKeyRotated,
)
from khronika.store import checkpoint as cp
from khronika.store.codec import body_of, decode, slug_of
from khronika.store.verify_range import Finding

# tlog-tiles §Log entries: an entry (the leaf's input) after a uint16 length.
ENTRY_MAX = 0xFFFF
# What an entry holds besides the intent, at most: the leaf's framing, topic,
# stream id and version, and the envelope's record time and signature.
ENVELOPE_OVERHEAD = 512
WINDOW = timedelta(minutes=5)  # how far a served write's creation time may be off
_encoder = msgspec.json.Encoder()


class SigningError(KhronikaError):
    """A write without a valid maintainer's signature."""


def config_dir() -> Path:
    """$KHRONIKA_CONFIG, else $XDG_CONFIG_HOME/khronika, else ~/.config/khronika."""
    if os.environ.get("KHRONIKA_CONFIG"):
        return Path(os.environ["KHRONIKA_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "khronika"


def maintainer_key_path() -> Path:
    """$KHRONIKA_MAINTAINER_KEY, else maintainer.key in the configuration folder."""
    if os.environ.get("KHRONIKA_MAINTAINER_KEY"):
        return Path(os.environ["KHRONIKA_MAINTAINER_KEY"])
    return config_dir() / "maintainer.key"


def label(key: cp.Signer | cp.Verifier) -> str:
    """A key as seals name it: "<key name>+<key id hex>"."""
    return f"{key.name}+{key.key_id.hex()}"


def key_name(name: str) -> str:
    """A signed-note key name made from a person's name: no spaces, no '+'."""
    cleaned = "".join("-" if c.isspace() or c == "+" else c for c in name.strip())
    return cleaned or "maintainer"


def new_key(name: str, path: Path | None = None) -> Path:
    """A maintainer's key pair at `path` (0600) and beside it (.pub)."""
    path = path or maintainer_key_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    cp.generate_key(path, key_name(name))
    return path


@dataclass(frozen=True)
class Hand:
    """Who signs: the name they are registered under, and their key."""

    name: str
    signer: cp.Signer

    @cached_property
    def key(self) -> str:
        return label(self.signer)

    @cached_property
    def key_id(self) -> bytes:
        return self.signer.key_id


def now_text(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seal(event: Event, hand: Hand, log: str, created: datetime | None = None) -> Event:
    """`event` signed by `hand` for the chronicle `log` (its origin)."""
    body, values = intent.commit(body_of(event), lambda: os.urandom(16))
    made = now_text(created)
    asked = _encoder.encode(
        intent.Intent(
            log=log, by=hand.name, key=hand.key, created=made,
            type=type(event).__name__, stream=event.originator_id,
            slug=event.slug, version=event.originator_version, body=body,
        )
    )  # fmt: skip
    if len(asked) + ENVELOPE_OVERHEAD > ENTRY_MAX:
        raise ValidationError(
            type(event).__name__,
            f"its signed intent is {len(asked):,} bytes: with its envelope, over "
            f"the {ENTRY_MAX:,} bytes of a tlog-tiles entry. Its long texts are "
            "outside it already; split the record (fewer participants, sources "
            "or details in one fact)",
        )
    signature = hand.key_id + hand.signer.key.sign(intent.note(asked))
    sealed = Seal(
        key=hand.key,
        created=made,
        signature=signature,
        intent=asked,
        values=values,
    )
    return msgspec.structs.replace(event, recorded_by=hand.name, seal=sealed)


def signature_holds(seal_: Seal, verifier: cp.Verifier) -> bool:
    """Whether `seal_` is `verifier`'s signature of its intent (signed-note)."""
    sig = seal_.signature
    if len(sig) != 68 or sig[:4] != verifier.key_id:
        return False
    try:
        verifier.key.verify(sig[4:], intent.note(seal_.intent))
    except InvalidSignature:
        return False
    return True


def _asked(seal_: Seal) -> intent.Intent:
    return msgspec.json.decode(seal_.intent, type=intent.Intent)


def seal_problem(
    event: Event, log: str, erased: frozenset[str] = frozenset()
) -> str | None:
    """What is wrong with a sealed event apart from who signed it, or None.

    The intent must be for this chronicle (`log`, its origin) and name this
    event's type, stream and version, and every stored personal value must
    match its commitment; only the values at `erased` may be missing.
    """
    assert event.seal is not None
    asked = _asked(event.seal)
    if asked.log not in cp.key_names(log):
        return f"its signed intent is for another chronicle, {asked.log}"
    if (asked.type, asked.stream, asked.version) != (
        type(event).__name__, event.originator_id, event.originator_version,
    ):  # fmt: skip
        return "its signed intent names another event (type, stream or version)"
    wrong, absent, stray = intent.mismatches(asked.body, event.seal.values)
    if wrong:
        return f"the stored value of {wrong[0]} does not match its commitment"
    absent = [where for where in absent if where not in erased]
    if absent:
        return missing(absent[0])
    if stray:
        return f"a stored value {stray[0]} is not in the signed intent"
    return None


def missing(pointer: str) -> str:
    return f"the value of {pointer} is missing, and no redaction covers it"


# (position, pointer) -> what the redaction must match (the note beside the
# value, or for a whole event erased, the SHA-256 of what remains; None if
# nothing), the event's slug and version: a value found missing, until a
# later redaction names it (pointer "": a whole event)
Pending = dict[tuple[int, str], tuple[intent.Note | str | None, str, int]]


@dataclass
class Member:
    name: str
    role: str
    verifier: cp.Verifier
    since: int  # the position of the event that registered this key
    until: int | None = None  # retired (rotated or revoked) at this position
    revoked: bool = False


@dataclass
class Registry:
    """The maintainers and their keys, as the log says, up to some position."""

    origin: str  # the store's checkpoint origin, the name of its own key
    keys: dict[str, Member] = field(default_factory=dict)  # by label
    current: dict[str, Member] = field(default_factory=dict)  # by name
    began: int | None = None  # the position of the first admin's registration
    unsigned: int = 0  # events stored before signing began
    # verify's: values found missing, each until a redaction covers it; a
    # write's registry has None, and refuses every missing value
    pending: Pending | None = None

    def admit(
        self, position: int, event: Event, *, sealed_here: bool = False
    ) -> str | None:
        """Why `event` at `position` may not stand, or None; then take it in.

        An event `sealed_here`, by this process from its own fields, is not
        checked again against its own signature and commitments (the costly
        part); who signed it, and whether they may, is.
        """
        problem = self._check(position, event, sealed_here)
        if problem is None and isinstance(event, Redacted):
            problem = self._cover(position, event)
        if problem is None and isinstance(event, MaintainerEvent):
            problem = self._apply(position, event)
        return problem

    def signer_of(self, event: Event) -> Member | None:
        return None if event.seal is None else self.keys.get(event.seal.key)

    def _check(self, position: int, event: Event, sealed_here: bool) -> str | None:
        seal_ = event.seal
        if seal_ is None:
            if self.began is not None:
                return "unsigned, written after signing began"
            self.unsigned += 1
            return None
        if not sealed_here:
            problem = seal_problem(event, self.origin, self._erased(position, event))
            if problem is not None:
                return problem
        if self.began is None:
            return self._genesis(event)
        member = self.keys.get(seal_.key)
        if member is None:
            return f"signed by an unknown key {seal_.key}"
        who = f"{member.name} (key {seal_.key_id})"
        if member.until is not None and position > member.until:
            state = "revoked" if member.revoked else "retired by a rotation"
            return f"signed by {who}, whose key was {state} at position {member.until}"
        if not sealed_here and not signature_holds(seal_, member.verifier):
            return f"the signature of {who} does not verify: altered after signing"
        if not sealed_here and _asked(seal_).by != member.name:
            return f"the intent names {_asked(seal_).by}, but the key is {who}'s"
        needs_admin = isinstance(event, MaintainerEvent | SigningKeyRotated | Redacted)
        if needs_admin and member.role != "admin":
            return f"{who} is a {member.role}; only an admin may make this change"
        return None

    def _erased(self, position: int, event: Event) -> frozenset[str]:
        """The values missing from `event`, pending a redaction (verify's)."""
        if self.pending is None or event.seal is None:
            return frozenset()
        values = event.seal.values
        absent = [p for p in intent.commitments(_asked(event.seal).body)
                  if p not in values]  # fmt: skip
        for pointer in absent:
            note = event.seal.notes.get(pointer)
            self.pending[(position, pointer)] = (
                note, event.slug, event.originator_version,
            )  # fmt: skip
        return frozenset(absent)

    def _cover(self, position: int, event: Redacted) -> str | None:
        """Take the values `event` erased off the pending ones; each note
        beside them must be this redaction's."""
        if self.pending is None:
            return None
        mine = intent.Note(by=position, on=day(event), reason=event.reason)
        for erased in event.erased:
            if erased.position >= position:
                return f"it names position {erased.position}, not before it"
            found = self.pending.pop((erased.position, erased.pointer), None)
            claim = None if found is None else found[0]
            if isinstance(claim, str) and claim != erased.kept:
                return (
                    f"what remains of the event at position {erased.position} "
                    "is not what this redaction kept"
                )
            if isinstance(claim, intent.Note) and claim != mine:
                return (
                    f"the note beside {erased.pointer} at position "
                    f"{erased.position} is not this redaction's"
                )
        return None

    def uncovered(self) -> Finding | None:
        """The first value found missing that no redaction covered."""
        if not self.pending:
            return None
        (position, pointer), (_, slug, version) = min(self.pending.items())
        if not pointer:
            return Finding(
                "its bytes were erased (only its leaf hash remains), and no "
                "redaction covers it", position, slug, version,
            )  # fmt: skip
        return Finding(missing(pointer), position, slug, version)

    def buried(self, position: int, version: int, state: bytes) -> None:
        """A whole event erased: pending until a redaction covers it."""
        if self.pending is None or not intent.is_tombstone(state):
            return
        remains = bytes(intent.tombstone(state).state)
        digest = hashlib.sha256(remains).hexdigest()
        slug = _slug(state) or ""
        self.pending[(position, "")] = (digest, slug, version)

    def _genesis(self, event: Event) -> str | None:
        """The first registration: an admin, signed by the store's own key."""
        if not isinstance(event, MaintainerAdded) or not event.store_key:
            return "signed before any maintainer was registered"
        try:
            store_key = cp.load_verifier(event.store_key)
        except cp.CheckpointError as e:
            return f"the store key of the first registration: {e}"
        if store_key.name not in cp.key_names(self.origin):
            return (
                f"the first registration is signed by the key of {store_key.name}, "
                f"but this store is {self.origin}: this store's id was changed, "
                "or its events were copied from another store"
            )
        assert event.seal is not None
        if event.seal.key != label(store_key):
            return "the first registration is not signed by the store key it names"
        if not signature_holds(event.seal, store_key):
            return "the store key's signature of the first registration does not verify"
        if event.role != "admin":
            return "the first maintainer registered must be an admin"
        return None

    def _apply(self, position: int, event: MaintainerEvent) -> str | None:
        name = event.slug
        old = self.current.get(name)
        if isinstance(event, MaintainerAdded):
            if old is not None:
                return f"{name} is registered already"
            return self._enter(position, name, event.role, event.key)
        if old is None:
            return f"{name} is not a registered maintainer"
        old.until = position
        if isinstance(event, MaintainerRevoked):
            old.revoked = True
            return None
        assert isinstance(event, MaintainerKeyRotated)
        return self._enter(position, name, old.role, event.key)

    def _enter(self, position: int, name: str, role: str, key: str) -> str | None:
        try:
            verifier = cp.load_verifier(key)
        except cp.CheckpointError as e:
            return f"the key of {name}: {e}"
        if label(verifier) in self.keys:
            return f"key {label(verifier)} is registered already"
        member = Member(name, role, verifier, position)
        self.keys[label(verifier)] = self.current[name] = member
        if self.began is None:
            self.began = position
        return None

    def active(self) -> list[Member]:
        return [m for m in self.current.values() if m.until is None]


def day(event: Event) -> str:
    """The record day a redaction's notes give: YYYY-MM-DD, UTC."""
    return event.timestamp.astimezone(UTC).strftime("%Y-%m-%d")


def check_created(seal_: Seal, now: datetime | None = None) -> str | None:
    """Why a served write's creation time is refused, or None (within WINDOW)."""
    try:
        created = datetime.fromisoformat(seal_.created.replace("Z", "+00:00"))
    except ValueError:
        return f"creation time {seal_.created!r} is not RFC 3339"
    off = abs((now or datetime.now(UTC)) - created)
    if off > WINDOW:
        return (
            f"created at {seal_.created}, {int(off.total_seconds())} s from the "
            f"server's clock (the window is {int(WINDOW.total_seconds())} s)"
        )
    return None


class Signatures(msgspec.Struct):
    """Who signed a log's events, and the first seal that does not hold."""

    signed: dict[str, int]  # "<name> (key <id>)" -> events signed
    unsigned: int  # recorded before signing began
    finding: Finding | None = None


Row = tuple[int, str, int, bytes]  # position, topic, version, stored state


def check_seals(origin: str, rows: Iterable[Row]) -> Signatures:
    """Check every event's seal against the registry as it stood at the event.

    Events before the first admin's registration may be unsigned, and are
    counted; from it on, every event must be signed by a registered key in
    force, with the role its change needs, and every personal value stored
    must match its commitment.
    """
    registry = Registry(origin, pending={})
    signed: dict[str, int] = {}
    for position, topic, version, state in rows:
        try:
            event: Event = decode(topic, state)
            registry.buried(position, version, state)
            member = registry.signer_of(event)  # as the event found the registry
            problem = _values_as_written(event, state) or registry.admit(
                position, event
            )
        except KhronikaError as e:
            problem = str(e)
        if problem is not None:
            finding = Finding(problem, position, _slug(state), version)
            return Signatures(signed, registry.unsigned, finding)
        if event.seal is not None:
            who = member.name if member else "the store's own key"
            name = f"{who} (key {event.seal.key_id})"
            signed[name] = signed.get(name, 0) + 1
    return Signatures(signed, registry.unsigned, registry.uncovered())


def _values_as_written(event: Event, state: bytes) -> str | None:
    """The values beside an envelope are not in its leaf; their commitments
    check what they say, and this, that not a byte of them changed."""
    values = intent.split_state(state)[1]
    if event.seal is None or _encoder.encode(event.seal.values) == values:
        return None
    return "the values stored beside its envelope are not as they were written"


def _slug(state: bytes) -> str | None:
    try:
        return slug_of(state)
    except (KhronikaError, msgspec.DecodeError):
        return None
