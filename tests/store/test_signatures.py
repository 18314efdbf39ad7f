"""Every event is signed by its maintainer, and `verify` checks each seal.

Tampering is done as an attacker with the file would: sqlite3 statements,
and a Merkle tree recomputed afterwards (which no signature survives).
Writes that skip the registry's checks are put straight into the event
store, as a recorder that ignored khronika's rules could.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from khronika.domain import aggregates as agg
from khronika.domain.aggregates import Fact
from khronika.domain.documents import Citation
from khronika.domain.errors import ValidationError
from khronika.domain.events import Event, MaintainerAdded
from khronika.domain.ids import maintainer_stream
from khronika.store import checkpoint as cp
from khronika.store import signing
from khronika.store.app import Chronicle
from khronika.store.clock import Stamper
from khronika.store.codec import decode
from khronika.store.signing import SigningError
from khronika.store.verify import Finding, verify

CITE = [Citation(source="worldcrunch-kz-separatism", locator="para:5")]
Hands = Callable[[Chronicle, str], signing.Hand]


def findings(app: Chronicle) -> list[Finding]:
    return verify(app)


def put_unchecked(app: Chronicle, event: Event) -> None:
    """Store `event` as it is, as a writer that skipped the registry would."""
    app.events.put([event], stamper=Stamper(app.clock))


def with_fact(app: Chronicle, make: Any) -> Chronicle:
    app.append_fact(make.fact(), "tester")
    return app


def correction(app: Chronicle, summary: str) -> Event:
    fact = app.get(Fact, "serebryakova-verdict-2023")
    now = app.clock.now()
    return agg.correct(fact, {"summary": summary}, "why", CITE, now, "x")


def test_every_event_is_signed_and_verify_names_who(
    seeded: Chronicle, make: Any, hand_of: Hands
) -> None:
    bob = hand_of(seeded, "bob")
    seeded.hand = bob
    with_fact(seeded, make)
    seen: list[signing.Signatures] = []
    assert verify(seeded, seen=seen) == []
    (signed,) = seen
    tester = seeded.registry().current["tester"].verifier.key_id.hex()
    assert signed.signed == {
        "the store's own key (key " + signed_key(seeded, 1) + ")": 1,
        f"tester (key {tester})": 4,  # the seeds and bob's registration
        f"bob (key {bob.signer.key_id.hex()})": 1,
    }
    assert signed.unsigned == 0 and signed.finding is None


def signed_key(app: Chronicle, position: int) -> str:
    (n,) = app.recorder.select_notifications(position, 1)
    event: Event = decode(n.topic, n.state)
    assert event.seal is not None
    return event.seal.key_id


def test_an_unknown_key_fails_verify_naming_the_event(
    seeded: Chronicle, make: Any, tmp_path: Path
) -> None:
    with_fact(seeded, make)
    signing.new_key("eve", tmp_path / "eve.key")
    eve = signing.Hand("eve", cp.load_signer(tmp_path / "eve.key"))
    put_unchecked(
        seeded, signing.seal(correction(seeded, "Eve's."), eve, seeded.origin)
    )
    (found,) = findings(seeded)
    assert found.stream == "serebryakova-verdict-2023" and found.version == 2
    assert found.message == f"signed by an unknown key {eve.key}"


def test_a_revoked_key_fails_verify_after_its_revocation_only(
    seeded: Chronicle, make: Any, hand_of: Hands
) -> None:
    admin = seeded.hand
    bob = hand_of(seeded, "bob")
    seeded.hand = bob
    with_fact(seeded, make)  # signed while bob's key is in force
    seeded.hand = admin
    seeded.revoke_maintainer("bob", "left the group")
    assert findings(seeded) == []
    put_unchecked(seeded, signing.seal(correction(seeded, "Late."), bob, seeded.origin))
    (found,) = findings(seeded)
    assert found.version == 2
    assert found.message.startswith(f"signed by bob (key {bob.signer.key_id.hex()}), "
                                    "whose key was revoked at position")  # fmt: skip


def test_a_revoked_key_is_refused_when_it_writes(
    seeded: Chronicle, make: Any, hand_of: Hands
) -> None:
    admin, bob = seeded.hand, hand_of(seeded, "bob")
    seeded.revoke_maintainer("bob", "left the group")
    seeded.hand = bob
    before = seeded.recorder.max_notification_id()
    with pytest.raises(SigningError, match="of bob was revoked; it signs nothing"):
        with_fact(seeded, make)
    assert seeded.recorder.max_notification_id() == before
    seeded.hand = admin


def test_a_maintainer_making_an_admins_change_fails_verify_and_is_refused(
    seeded: Chronicle, tmp_path: Path
) -> None:
    signing.new_key("mo", tmp_path / "mo.key")
    seeded.add_maintainer("mo", cp.load_verifier(tmp_path / "mo.pub"), "maintainer")
    mo = signing.Hand("mo", cp.load_signer(tmp_path / "mo.key"))
    signing.new_key("zed", tmp_path / "zed.key")
    zed = cp.load_verifier(tmp_path / "zed.pub")
    seeded.hand = mo
    with pytest.raises(SigningError, match="mo .* is a maintainer; only an admin"):
        seeded.add_maintainer("zed", zed, "admin")
    assert "zed" not in seeded.registry().current  # nothing was written
    added = MaintainerAdded(
        originator_id=maintainer_stream("zed"), originator_version=1,
        timestamp=seeded.clock.now(), recorded_by="mo", slug="zed",
        key=str(zed), role="admin",
    )  # fmt: skip
    put_unchecked(seeded, signing.seal(added, mo, seeded.origin))
    (found,) = findings(seeded)
    assert found.stream == "zed"
    assert "is a maintainer; only an admin may make this change" in found.message


def test_an_unsigned_event_after_signing_began_fails_verify(
    seeded: Chronicle, make: Any
) -> None:
    put_unchecked(seeded, agg.record_fact(make.fact(), datetime.now(UTC), "nobody"))
    (found,) = findings(seeded)
    assert found.message == "unsigned, written after signing began"


def test_an_intent_for_another_chronicle_is_refused(
    seeded: Chronicle, make: Any
) -> None:
    assert seeded.hand is not None
    event = agg.record_fact(make.fact(), seeded.clock.now(), "tester")
    elsewhere = signing.seal(event, seeded.hand, "khronika/another-store")
    with pytest.raises(SigningError, match="for another chronicle, khronika/another"):
        seeded.save_batch([elsewhere])


# ---- tampering with the file (SQLite, as an attacker with sqlite3) ----


def _state(path: str, position: int) -> bytes:
    with sqlite3.connect(path) as db:
        found: bytes = db.execute(
            "SELECT state FROM stored_events WHERE rowid = ?", [position]
        ).fetchone()[0]
        return found


def _set_state(path: str, position: int, state: bytes) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?", [state, position]
        )


def _last(app: Chronicle) -> int:
    return app.recorder.max_notification_id() or 0


@pytest.mark.sqlite_only
def test_one_byte_of_a_stored_signature_edited_fails_verify_naming_the_event(
    seeded: Chronicle, make: Any, store_path: str
) -> None:
    with_fact(seeded, make)
    position = _last(seeded)
    state = _state(store_path, position)
    head, _, values = state.partition(b"\n")
    envelope = json.loads(head)
    signature = bytearray(base64.b64decode(envelope["signature"]))
    signature[10] ^= 0x01
    envelope["signature"] = base64.b64encode(signature).decode()
    edited = _reencode(head, envelope) + b"\n" + values
    _set_state(store_path, position, edited)
    (found,) = findings(seeded)  # the leaf covers the envelope
    assert found.position == position and "does not match its leaf" in found.message
    seeded.rebuild_tree()  # an attacker recomputes the tree: the signature holds out
    (found,) = findings(seeded)
    assert (found.position, found.stream) == (position, "serebryakova-verdict-2023")
    assert found.message.startswith("the signature of tester (key ")
    assert found.message.endswith("does not verify: altered after signing")


def _reencode(head: bytes, envelope: dict[str, Any]) -> bytes:
    """The envelope with one field changed, its intent kept byte for byte."""
    intent = head[head.index(b'"intent":') + len(b'"intent":') : -1]
    start = head[: head.index(b'"signature":')]
    signature = msgspec.json.encode(envelope["signature"])
    return start + b'"signature":' + signature + b',"intent":' + intent + b"}"


@pytest.mark.sqlite_only
def test_two_events_key_ids_swapped_fail_verify_naming_the_first(
    seeded: Chronicle, make: Any, store_path: str, hand_of: Hands
) -> None:
    admin = seeded.hand
    bob = hand_of(seeded, "bob")
    with_fact(seeded, make)  # by tester
    first = _last(seeded)
    seeded.hand = bob
    seeded.correct("serebryakova-verdict-2023", {"summary": "Bob's."}, "why",
                   CITE, "bob")  # fmt: skip
    second = _last(seeded)
    seeded.hand = admin
    a, b = _state(store_path, first), _state(store_path, second)
    assert admin is not None
    key_a = f'"key":"{admin.key}"'.encode()
    key_b = f'"key":"{bob.key}"'.encode()
    assert key_a in a and key_b in b
    _set_state(store_path, first, a.replace(key_a, key_b))
    _set_state(store_path, second, b.replace(key_b, key_a))
    seeded.rebuild_tree()
    (found,) = findings(seeded)
    assert (found.position, found.version) == (first, 1)
    assert found.message == (
        f"the signature of bob (key {bob.signer.key_id.hex()}) does not verify: "
        "altered after signing"
    )


@pytest.mark.sqlite_only
def test_an_edited_personal_value_fails_its_commitment(
    seeded: Chronicle, make: Any, store_path: str
) -> None:
    with_fact(seeded, make)
    position = _last(seeded)
    state = _state(store_path, position)
    _set_state(store_path, position, state.replace(b"three years", b"two years"))
    (found,) = findings(seeded)  # no leaf covers the value: its commitment does
    assert found.position == position
    assert (
        found.message
        == "the stored value of /doc/summary does not match its commitment"
    )


@pytest.mark.sqlite_only
def test_a_deleted_personal_value_without_a_redaction_fails_verify(
    seeded: Chronicle, make: Any, store_path: str
) -> None:
    with_fact(seeded, make)
    position = _last(seeded)
    head, _, values = _state(store_path, position).partition(b"\n")
    kept = {k: v for k, v in json.loads(values).items() if k != "/doc/summary"}
    _set_state(store_path, position, head + b"\n" + msgspec.json.encode(kept))
    (found,) = findings(seeded)
    assert found.message == (
        "the value of /doc/summary is missing, and no redaction covers it"
    )


@pytest.mark.sqlite_only
def test_a_byte_added_to_the_values_fails_verify(
    seeded: Chronicle, make: Any, store_path: str
) -> None:
    """Not in the leaf, yet not a byte of them may change unseen."""
    with_fact(seeded, make)
    position = _last(seeded)
    _set_state(store_path, position, _state(store_path, position) + b" ")
    (found,) = findings(seeded)
    assert found.position == position
    assert found.message == (
        "the values stored beside its envelope are not as they were written"
    )


def test_an_envelope_too_long_for_a_tlog_tiles_entry_is_refused(
    seeded: Chronicle, make: Any
) -> None:
    """Long texts are outside the envelope; a record whose other fields alone
    pass 65,535 bytes cannot be served in an entry bundle, so it is refused."""
    many = [{"source": "worldcrunch-kz-separatism", "locator": f"para:{i}"}
            for i in range(1, 1500)]  # fmt: skip
    before = seeded.recorder.max_notification_id()
    with pytest.raises(ValidationError, match="over the 65,535 bytes of a tlog-tiles"):
        seeded.append_fact(make.fact(sources=many), "tester")
    assert seeded.recorder.max_notification_id() == before
