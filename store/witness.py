"""Witnesses: cosigners that vouch a log only ever grew (C2SP tlog-witness).

A cosignature is a note signature line on a checkpoint (C2SP
tlog-cosignature, the Ed25519 type): key id SHA-256(name || "\\n" || 0x04 ||
public key)[:4], and a `timestamped_signature` (a big-endian u64 POSIX time,
then the Ed25519 signature) over "cosignature/v1\\n", "time <T>\\n" and the
checkpoint's body. The witness keeps, per log origin, the latest checkpoint
it cosigned, and cosigns a new one only with a valid consistency proof from
it (tlog-witness §add-checkpoint), checking and storing in one transaction.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
import struct
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from khronika.domain.errors import KhronikaError
from khronika.store import checkpoint as cp
from khronika.store import files, merkle

COSIGNATURE = b"\x04"  # tlog-cosignature §Format: the Ed25519 key id's type byte
HEADER = "cosignature/v1\n"
SIZE_TYPE = "text/x.tlog.size"  # tlog-witness: the body of a 409
MAX_PROOF = 63


class WitnessError(KhronikaError):
    """A witness key or cosignature that is malformed."""


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Cosigner:
    name: str
    key: Ed25519PrivateKey

    def vkey(self) -> str:
        return str(WitnessKey(self.name, self.key.public_key(), COSIGNATURE))


WitnessKey = cp.Verifier  # a witness's public key: a vkey of type 0x04


def new_key(path: Path, name: str) -> WitnessKey:
    """A witness key at `path` (0600), its vkey beside it (.pub)."""
    if not name or any(c.isspace() or c == "+" for c in name):
        raise WitnessError(f"witness name {name!r} is empty or has a space or '+'")
    pub = path.with_suffix(".pub")
    for p in (path, pub):
        if p.exists():
            raise WitnessError(f"{p} already exists; refusing to overwrite it")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    vkey = WitnessKey(name, key.public_key(), COSIGNATURE)
    try:
        cp.create_file(path, pem, 0o600)
        cp.create_file(pub, f"{vkey}\n".encode(), 0o644)
    except FileExistsError as e:  # made meanwhile
        raise WitnessError(f"{e.filename} already exists") from None
    return vkey


def load_cosigner(path: Path) -> Cosigner:
    """The witness key at `path`, named as its .pub says."""
    pem = files.read_capped(path, files.NOTE_MAX, "witness key")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise WitnessError(f"cannot load witness key {path}: {e}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise WitnessError(f"{path} is not an Ed25519 private key")
    pub = path.with_suffix(".pub")
    vkey = load_key(files.read_text(pub, files.NOTE_MAX, "witness key"))
    if _raw(vkey.key) != _raw(key.public_key()):
        raise WitnessError(f"{path} does not match its .pub file")
    return Cosigner(vkey.name, key)


def load_key(text: str) -> WitnessKey:
    """A witness vkey "<name>+<key id hex>+<base64(0x04 || key)>"."""
    try:
        return cp.load_verifier(text, COSIGNATURE)
    except cp.CheckpointError as e:
        raise WitnessError(f"a witness key (tlog-cosignature): {e}") from None


def _message(body: str, timestamp: int) -> bytes:
    """tlog-cosignature §Ed25519 signed message."""
    return f"{HEADER}time {timestamp}\n{body}".encode()


def cosign(body: str, cosigner: Cosigner, timestamp: int | None = None) -> str:
    """A cosignature line on the checkpoint whose note body is `body`."""
    when = int(time.time()) if timestamp is None else timestamp
    signature = cosigner.key.sign(_message(body, when))
    public = _raw(cosigner.key.public_key())
    blob = cp.key_id(cosigner.name, public, COSIGNATURE)
    blob += struct.pack(">Q", when) + signature
    return f"{cp.SIGNATURE_PREFIX}{cosigner.name} {base64.b64encode(blob).decode()}\n"


def cosigned_by(note: str, keys: Sequence[WitnessKey]) -> list[WitnessKey]:
    """The witnesses among `keys` whose cosignature on `note` verifies."""
    body, _, signatures = note.partition("\n\n")
    body += "\n"
    found = []
    for line in signatures.splitlines():
        name, _, encoded = line.removeprefix(cp.SIGNATURE_PREFIX).partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        for key in keys:
            if (name, blob[:4]) != (key.name, key.key_id) or len(blob) != 76:
                continue
            (when,) = struct.unpack(">Q", blob[4:12])
            try:
                key.key.verify(blob[12:], _message(body, when))
            except InvalidSignature:
                continue
            if key not in found:
                found.append(key)
    return found


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: str


def _text(status: int, body: str) -> Answer:
    return Answer(status, "text/plain; charset=utf-8", body)


class Witness:
    """tlog-witness §add-checkpoint, over a state file of the latest cosigned
    checkpoint per log origin."""

    def __init__(
        self, cosigner: Cosigner, logs: dict[str, cp.Verifier], state: Path
    ) -> None:
        self.cosigner = cosigner
        self.logs = logs
        self.state = state
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS cosigned "
                "(origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL)"
            )

    def _db(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self.state, timeout=30, isolation_level=None))

    def latest(self, origin: str) -> tuple[int, bytes]:
        with self._db() as db:
            row = db.execute(
                "SELECT size, root FROM cosigned WHERE origin = ?", [origin]
            ).fetchone()
        return (0, merkle.EMPTY_ROOT) if row is None else (int(row[0]), bytes(row[1]))

    def add_checkpoint(self, request: str) -> Answer:
        head, blank, note = request.partition("\n\n")
        lines = head.split("\n")
        old_line, proof_lines = lines[0], lines[1:]
        word, _, old_text = old_line.partition(" ")
        if not blank or word != "old" or not cp._SIZE.fullmatch(old_text):
            return _text(400, "the body is not 'old N', proof lines, a blank line "
                              "and a checkpoint\n")  # fmt: skip
        if len(proof_lines) > MAX_PROOF:
            return _text(400, f"more than {MAX_PROOF} consistency proof lines\n")
        try:
            proof = [base64.b64decode(p, validate=True) for p in proof_lines]
            origin = cp.parse(note).origin
        except (binascii.Error, cp.CheckpointError) as e:
            return _text(400, f"malformed: {e}\n")
        if origin not in self.logs:
            return _text(404, f"unknown log {origin}\n")
        try:
            new = cp.verify(note, self.logs[origin])
        except cp.CheckpointError as e:
            return _text(403, f"not signed by the log's key: {e}\n")
        old = int(old_text)
        if old > new.size:
            return _text(400, "the old size is larger than the checkpoint's\n")
        if new.size == 0 and new.root != merkle.EMPTY_ROOT:
            return _text(422, "a checkpoint of size 0 must have the empty root\n")
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")  # check and store at once (§add-checkpoint)
            row = db.execute(
                "SELECT size, root FROM cosigned WHERE origin = ?", [origin]
            ).fetchone()
            size, root = (0, merkle.EMPTY_ROOT) if row is None else (row[0], row[1])
            if old != size:
                db.execute("ROLLBACK")
                return Answer(409, SIZE_TYPE, f"{size}\n")
            if old == 0 and proof:
                db.execute("ROLLBACK")
                return _text(422, "a proof from size 0 must be empty\n")
            consistent = merkle.verify_consistency(
                old, new.size, bytes(root), new.root, proof
            ) if old else True  # fmt: skip
            if not consistent:
                db.execute("ROLLBACK")
                return _text(
                    422,
                    f"the checkpoint of size {new.size} is not consistent with "
                    f"the one of size {old} this witness cosigned: a forked or "
                    "rewritten log\n",
                )
            db.execute(
                "INSERT OR REPLACE INTO cosigned (origin, size, root) VALUES (?, ?, ?)",
                [origin, new.size, new.root],
            )
            db.execute("COMMIT")
        body = note.partition("\n\n")[0] + "\n"
        return _text(200, cosign(body, self.cosigner))


def add_checkpoint_request(old: int, proof: Sequence[bytes], note: str) -> bytes:
    """tlog-witness §add-checkpoint: the request body."""
    lines = [f"old {old}", *(base64.b64encode(p).decode() for p in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def collect(url: str, note: str, proof_from: Callable[[int], list[bytes]]) -> str:
    """The cosignature lines `url`'s witness gives `note`.

    It first asks as if the witness had seen nothing (old size 0); a witness
    that has answers 409 with the size it cosigned last, and is asked again
    with a consistency proof from that size (`proof_from`).
    """
    import urllib.error
    import urllib.request

    old = 0
    for _ in range(2):
        body = add_checkpoint_request(old, proof_from(old) if old else [], note)
        request = urllib.request.Request(
            url.rstrip("/") + "/add-checkpoint", data=body, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                lines: bytes = answer.read(files.NOTE_MAX + 1)  # signature lines
            if len(lines) > files.NOTE_MAX:
                raise WitnessError(
                    f"witness {url} answered over {files.NOTE_MAX} bytes"
                )
            return lines.decode(errors="replace")
        except urllib.error.HTTPError as e:
            with e:
                text = e.read().decode(errors="replace").strip()
            if e.code == 409 and old == 0 and cp._SIZE.fullmatch(text):
                old = int(text)
                continue
            raise WitnessError(f"witness {url} refused ({e.code}): {text}") from None
        except (urllib.error.URLError, OSError) as e:
            raise WitnessError(f"witness {url} did not answer: {e}") from None
    raise WitnessError(f"witness {url} keeps answering that it saw another size")
