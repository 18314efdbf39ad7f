"""Signed checkpoints (tree heads) as C2SP signed notes, with Ed25519 keys.

A checkpoint note is a body of four lines (origin, tree size, base64 root
hash, "timestamp <RFC 3339 UTC>"), a blank line, and one or more signature
lines "— <key name> <base64(key id || signature)>". The signature covers the
body including its final newline. The key id is the first 4 bytes of
SHA-256(name || "\\n" || 0x01 || public key), as in C2SP signed-note; a
verifier key is written "<name>+<key id hex>+<base64(0x01 || public key)>".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from khronika.domain.errors import KhronikaError
from khronika.store import files

ED25519 = b"\x01"
# Earlier versions named a store's key "khronika-<store id>", not its
# origin "khronika/<store id>"; a key under either name verifies as the other.
_LEGACY = ("khronika/", "khronika-")
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_SIZE = re.compile(r"0|[1-9][0-9]*")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z"
)


class CheckpointError(KhronikaError):
    """A checkpoint, note or key that is malformed or does not verify."""


class Checkpoint(msgspec.Struct, frozen=True):
    origin: str
    size: int
    root: bytes
    timestamp: datetime

    def __post_init__(self) -> None:
        if not self.origin.strip() or not self.origin.isprintable():
            raise CheckpointError(f"origin {self.origin!r} is blank or not one line")
        if self.size < 0:
            raise CheckpointError(f"size {self.size} is negative")
        if len(self.root) != 32:
            raise CheckpointError(f"root is {len(self.root)} bytes, not 32")
        if self.timestamp.utcoffset() is None:
            raise CheckpointError("timestamp has no time zone")


def key_id(name: str, public_key: bytes, kind: bytes = ED25519) -> bytes:
    """C2SP signed-note §Verifier keys: SHA-256(name || "\n" || type || key)[:4];
    the type is 0x01 for a note's Ed25519 key, 0x04 for a tlog-cosignature's."""
    return hashlib.sha256(name.encode() + b"\n" + kind + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise CheckpointError(f"key name {name!r} is empty or has a space or '+'")


@dataclass(frozen=True)
class Signer:
    name: str
    key: Ed25519PrivateKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, _raw(self.key.public_key()))


@dataclass(frozen=True)
class Verifier:
    """A vkey: "<name>+<key id hex>+<base64(type || Ed25519 public key)>"."""

    name: str
    key: Ed25519PublicKey
    kind: bytes = ED25519  # a witness's: 0x04 (tlog-cosignature)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, _raw(self.key), self.kind)

    def __str__(self) -> str:
        encoded = base64.b64encode(self.kind + _raw(self.key)).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def create_file(path: Path, content: bytes, mode: int) -> None:
    """A new file (never an existing one) with `content` and `mode`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)  # whatever the umask
        f.write(content)


def generate_key(path: Path, name: str) -> None:
    """A new private key at `path` (0600) and its verifier key beside it (.pub)."""
    _check_name(name)
    pub = path.with_suffix(".pub")
    if pub == path:
        raise CheckpointError(f"private key path {path} must not end in .pub")
    for p in (path, pub):
        if p.exists():
            raise CheckpointError(f"{p} already exists; refusing to overwrite it")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        create_file(path, pem, 0o600)
        try:
            create_file(pub, f"{Verifier(name, key.public_key())}\n".encode(), 0o644)
        except BaseException:
            path.unlink()
            raise
    except FileExistsError as e:  # created meanwhile
        raise CheckpointError(
            f"{e.filename} already exists; refusing to overwrite it"
        ) from None


def load_signer(path: Path, name: str | None = None) -> Signer:
    """The private key at `path`, named as in its .pub file unless `name` is given."""
    try:
        data = files.read_capped(path, files.NOTE_MAX, "private key")
    except files.FileError as e:
        raise CheckpointError(str(e)) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"cannot load private key {path}: {e}") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 private key")
    if name is None:
        verifier = load_verifier(path.with_suffix(".pub"))
        if _raw(verifier.key) != _raw(key.public_key()):
            raise CheckpointError(f"{path} does not match its .pub file")
        name = verifier.name
    _check_name(name)
    return Signer(name, key)


def load_verifier(path_or_text: Path | str, kind: bytes = ED25519) -> Verifier:
    """A verifier key from a .pub file (Path) or its one-line text (str), of
    the type `kind`."""
    if isinstance(path_or_text, Path):
        try:
            path_or_text = files.read_text(path_or_text, files.NOTE_MAX, "verifier key")
        except files.FileError as e:
            raise CheckpointError(str(e)) from None
    parts = path_or_text.strip().split("+", 2)  # base64 may hold "+"
    if len(parts) != 3:
        raise CheckpointError("verifier key is not '<name>+<key id hex>+<base64 key>'")
    name, hex_id, encoded = parts
    _check_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error as e:
        raise CheckpointError(f"verifier key is not base64: {e}") from e
    if len(raw) != 33 or raw[:1] != kind:
        raise CheckpointError(
            f"verifier key is not 0x{kind.hex()} and a 32-byte Ed25519 key"
        )
    verifier = Verifier(name, Ed25519PublicKey.from_public_bytes(raw[1:]), kind)
    if hex_id != verifier.key_id.hex():
        raise CheckpointError(f"verifier key id {hex_id} does not match its key")
    return verifier


def key_names(name: str) -> tuple[str, ...]:
    """`name`, and the name the same key had in earlier versions (or has now)."""
    for old, new in (_LEGACY, _LEGACY[::-1]):
        if name.startswith(old) and len(name) > len(old):
            return name, new + name.removeprefix(old)
    return (name,)


def _body(checkpoint: Checkpoint) -> str:
    stamp = checkpoint.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
    root = base64.b64encode(checkpoint.root).decode()
    return f"{checkpoint.origin}\n{checkpoint.size}\n{root}\ntimestamp {stamp}\n"


def sign(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note text for `checkpoint`."""
    return sign_note(_body(checkpoint), signer)


def sign_note(body: str, signer: Signer) -> str:
    """A C2SP signed note of `body` (lines, each ending in a newline)."""
    signature = base64.b64encode(signer.key_id + signer.key.sign(body.encode()))
    return f"{body}\n{SIGNATURE_PREFIX}{signer.name} {signature.decode()}\n"


def _split(note: str) -> tuple[str, list[str]]:
    if "\n\n" not in note:
        raise CheckpointError("signature is missing: no blank line after the body")
    body, signatures = note.split("\n\n", 1)
    if not signatures.endswith("\n") or not signatures.strip():
        raise CheckpointError("signature is missing or not ended by a newline")
    return body + "\n", signatures[:-1].split("\n")


def _parse_body(body: str) -> Checkpoint:
    lines = body[:-1].split("\n")
    if len(lines) != 4:
        raise CheckpointError(
            f"note body has {len(lines)} lines, not 4 (origin, size, root, timestamp)"
        )
    origin, size, root, stamp = lines
    if not origin.strip() or not origin.isprintable():
        raise CheckpointError(f"line 1 (origin) {origin!r} is blank or not printable")
    if not _SIZE.fullmatch(size):
        raise CheckpointError(f"line 2 (size) {size!r} is not a non-negative integer")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise CheckpointError(f"line 3 (root) {root!r} is not base64") from None
    if len(digest) != 32 or base64.b64encode(digest).decode() != root:
        raise CheckpointError(f"line 3 (root) {root!r} is not base64 of 32 bytes")
    word, _, value = stamp.partition(" ")
    if word != "timestamp" or not _TIMESTAMP.fullmatch(value):
        raise CheckpointError(
            f"line 4 (timestamp) {stamp!r} is not 'timestamp' and an RFC 3339 "
            "UTC time ending in Z"
        )
    try:
        when = datetime.fromisoformat(value)
    except ValueError as e:
        raise CheckpointError(f"line 4 (timestamp) {value!r}: {e}") from None
    return Checkpoint(origin, int(size), digest, when)


def parse(note_text: str) -> Checkpoint:
    """The checkpoint in a note (with or without signatures), unverified."""
    body = note_text.split("\n\n", 1)[0]
    return _parse_body(body if body.endswith("\n") else body + "\n")


def _signature(number: int, line: str) -> tuple[str, bytes]:
    """The key name and key id || signature of a signature line."""
    name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        blob = b""
    if not line.startswith(SIGNATURE_PREFIX) or not name or len(blob) < 5:
        raise CheckpointError(
            f"signature line {number} is not '\u2014 <name> <base64 signature>'"
        )
    return name, blob


def verify(note_text: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint in `note_text`, if `verifier` signed it; else CheckpointError.

    Signatures by other keys are ignored, as C2SP signed-note requires. A
    signature under the key's name in earlier versions (`key_names`) counts too.
    """
    body, lines = _split(note_text)
    checkpoint = _parse_body(body)
    _check_signature(body, lines, verifier)
    return checkpoint


def open_note(note_text: str, verifier: Verifier) -> str:
    """The body of a signed note, if `verifier` signed it; else CheckpointError."""
    body, lines = _split(note_text)
    _check_signature(body, lines, verifier)
    return body


def _check_signature(body: str, lines: list[str], verifier: Verifier) -> None:
    signatures = [_signature(number, line) for number, line in enumerate(lines, 1)]
    want = verifier.key_id
    accepted = {
        (name, key_id(name, _raw(verifier.key))) for name in key_names(verifier.name)
    }
    for name, blob in signatures:
        if (name, blob[:4]) in accepted:
            try:
                verifier.key.verify(blob[4:], body.encode())
            except InvalidSignature:
                raise CheckpointError(
                    f"signature by '{name}' does not verify: the note was altered "
                    "or signed with another key"
                ) from None
            return
    seen = ", ".join(f"'{name}' (key id {blob[:4].hex()})" for name, blob in signatures)
    raise CheckpointError(
        f"no signature by '{verifier.name}' with key id {want.hex()}; signed by {seen}"
    )
