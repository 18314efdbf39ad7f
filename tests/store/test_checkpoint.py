"""Signed checkpoints: C2SP signed notes with Ed25519 keys."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from khronika.domain.errors import KhronikaError
from khronika.store.checkpoint import (
    Checkpoint,
    CheckpointError,
    Signer,
    Verifier,
    generate_key,
    load_signer,
    load_verifier,
    parse,
    sign,
    verify,
)

NAME = "khronika.example/log"
ROOT = hashlib.sha256(b"a root").digest()
WHEN = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
CHECKPOINT = Checkpoint("khronika/store-1", 42, ROOT, WHEN)


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint.key"
    generate_key(path, NAME)
    return path


@pytest.fixture
def signer(key_path: Path) -> Signer:
    return load_signer(key_path)


@pytest.fixture
def verifier(key_path: Path) -> Verifier:
    return load_verifier(key_path.with_suffix(".pub"))


@pytest.fixture
def note(signer: Signer) -> str:
    return sign(CHECKPOINT, signer)


def other_signer(name: str = NAME) -> Signer:
    return Signer(name, Ed25519PrivateKey.generate())


def sign_body(body: str, signer: Signer) -> str:
    """A validly signed note around any body, however malformed."""
    blob = signer.key_id + signer.key.sign(body.encode())
    return f"{body}\n\u2014 {signer.name} {base64.b64encode(blob).decode()}\n"


# Round trips and format.


def test_signed_checkpoint_verifies_back_to_itself(
    note: str, verifier: Verifier
) -> None:
    assert verify(note, verifier) == CHECKPOINT
    assert parse(note) == CHECKPOINT


def test_note_is_a_c2sp_signed_note(note: str, signer: Signer) -> None:
    body, signature = note.split("\n\n")
    assert body.split("\n") == [
        "khronika/store-1",
        "42",
        base64.b64encode(ROOT).decode(),
        "timestamp 2030-01-02T03:04:05Z",
    ]
    assert signature.startswith(f"\u2014 {NAME} ")
    assert signature.endswith("\n") and signature.count("\n") == 1
    blob = base64.b64decode(signature.split(" ")[2])
    assert len(blob) == 68 and blob[:4] == signer.key_id
    signer.key.public_key().verify(blob[4:], (body + "\n").encode())


def test_key_id_is_the_c2sp_ed25519_key_id(signer: Signer) -> None:
    pub = signer.key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    expected = hashlib.sha256(NAME.encode() + b"\n\x01" + pub).digest()[:4]
    assert signer.key_id == expected


def test_verifier_key_file_is_name_key_id_and_base64_key(
    key_path: Path, signer: Signer
) -> None:
    text = key_path.with_suffix(".pub").read_text()
    name, hex_id, encoded = text.strip().split("+", 2)
    assert (name, hex_id) == (NAME, signer.key_id.hex())
    assert base64.b64decode(encoded)[:1] == b"\x01"
    assert text.endswith("\n") and text.count("\n") == 1
    assert str(load_verifier(text)) == text.strip()


def test_verifier_loads_from_path_or_text(key_path: Path, note: str) -> None:
    pub = key_path.with_suffix(".pub")
    assert verify(note, load_verifier(pub)) == verify(
        note, load_verifier(pub.read_text())
    )


@pytest.mark.parametrize(
    "when",
    [
        datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        datetime(2030, 1, 2, 8, 4, 5, tzinfo=timezone(timedelta(hours=5))),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ],
)
def test_timestamps_round_trip_as_utc_with_z(
    when: datetime, signer: Signer, verifier: Verifier
) -> None:
    note = sign(Checkpoint("o", 0, ROOT, when), signer)
    assert re.search(r"\ntimestamp [0-9T:.-]+Z\n", note)
    back = verify(note, verifier)
    assert back.timestamp == when and back.timestamp.tzinfo == UTC


@pytest.mark.parametrize("size", [0, 1, 2**63])
def test_any_non_negative_size_round_trips(
    size: int, signer: Signer, verifier: Verifier
) -> None:
    cp = Checkpoint("o", size, ROOT, WHEN)
    assert verify(sign(cp, signer), verifier) == cp


def test_signatures_by_other_keys_are_ignored(
    signer: Signer, verifier: Verifier
) -> None:
    theirs = sign(CHECKPOINT, other_signer("witness"))
    ours = sign(CHECKPOINT, signer)
    cosigned = theirs + ours.split("\n\n")[1]
    assert verify(cosigned, verifier) == CHECKPOINT


def test_checkpoint_error_is_a_khronika_error() -> None:
    assert issubclass(CheckpointError, KhronikaError)


# Key files.


def test_private_key_file_is_0600_and_public_key_file_0644(key_path: Path) -> None:
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.with_suffix(".pub").stat().st_mode) == 0o644
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_private_key_is_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        generate_key(tmp_path / "k", NAME)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


@pytest.mark.parametrize("existing", ["checkpoint.key", "checkpoint.pub"])
def test_generate_key_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("precious")
    with pytest.raises(CheckpointError, match="already exists; refusing to overwrite"):
        generate_key(tmp_path / "checkpoint.key", NAME)
    assert (tmp_path / existing).read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]


@pytest.mark.parametrize("existing", ["checkpoint.key", "checkpoint.pub"])
def test_generate_key_never_overwrites_a_file_created_after_its_check(
    tmp_path: Path, existing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / existing).write_text("precious")
    monkeypatch.setattr(Path, "exists", lambda self: False)  # lose the race
    with pytest.raises(CheckpointError, match=f"{existing} already exists"):
        generate_key(tmp_path / "checkpoint.key", NAME)
    monkeypatch.undo()
    assert (tmp_path / existing).read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]


def test_generate_key_refuses_a_pub_path(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"must not end in \.pub"):
        generate_key(tmp_path / "k.pub", NAME)


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\there"])
def test_generate_key_refuses_a_bad_key_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(CheckpointError, match="key name"):
        generate_key(tmp_path / "k", name)


def test_load_signer_takes_its_name_from_the_pub_file_or_the_caller(
    key_path: Path,
) -> None:
    assert load_signer(key_path).name == NAME
    assert load_signer(key_path, name="other").name == "other"


def test_load_signer_refuses_a_pub_file_for_another_key(
    key_path: Path, tmp_path: Path
) -> None:
    generate_key(tmp_path / "second.key", NAME)
    key_path.with_suffix(".pub").unlink()
    (tmp_path / "second.pub").rename(key_path.with_suffix(".pub"))
    with pytest.raises(CheckpointError, match="does not match its .pub file"):
        load_signer(key_path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"not a key", "cannot load private key"),
        (
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "cannot load private key",
        ),
    ],
)
def test_load_signer_refuses_a_file_that_is_not_a_pem_key(
    tmp_path: Path, content: bytes, match: str
) -> None:
    (tmp_path / "k").write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load_signer(tmp_path / "k", name="n")


def test_load_signer_refuses_a_key_that_is_not_ed25519(tmp_path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "k").write_bytes(pem)
    with pytest.raises(CheckpointError, match="is not an Ed25519 private key"):
        load_signer(tmp_path / "k", name="n")


def test_load_signer_without_a_name_needs_the_pub_file(key_path: Path) -> None:
    key_path.with_suffix(".pub").unlink()
    with pytest.raises(CheckpointError, match="cannot read verifier key"):
        load_signer(key_path)


def _good_pub(signer: Signer) -> str:
    return str(Verifier(signer.name, signer.key.public_key()))


def _part(text: str, k: int, value: str) -> str:
    parts = text.split("+", 2)
    parts[k] = value
    return "+".join(parts)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda t: t.replace("+", " "), "is not '<name>\\+<key id hex>"),
        (lambda t: t + "+extra", "not base64"),
        (lambda t: "a b" + t[t.index("+") :], "key name"),
        (lambda t: _part(t, 2, "!!!!"), "not base64"),
        (lambda t: _part(t, 2, "AQID"), "0x01 and a 32-byte"),
        (
            lambda t: _part(t, 2, base64.b64encode(b"\x02" + bytes(32)).decode()),
            "0x01 and a 32-byte",
        ),
        (lambda t: _part(t, 1, "00000000"), "key id 00000000 does not"),
    ],
    ids=[
        "no plus",
        "trailing part",
        "bad name",
        "bad base64",
        "short",
        "alg",
        "key id",
    ],
)
def test_malformed_verifier_keys_are_refused(
    edit: Callable[[str], str], match: str
) -> None:
    with pytest.raises(CheckpointError, match=match):
        load_verifier(edit(_good_pub(other_signer())))


def test_missing_verifier_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot read verifier key"):
        load_verifier(tmp_path / "absent.pub")


# Refusals.


def test_checkpoint_signed_by_another_key_is_refused_by_key_id(
    verifier: Verifier,
) -> None:
    forged = sign(CHECKPOINT, other_signer())  # same name, different key
    with pytest.raises(CheckpointError, match="key id"):
        verify(forged, verifier)


def test_checkpoint_signed_under_another_name_is_refused_by_key_id(
    verifier: Verifier,
) -> None:
    with pytest.raises(CheckpointError, match=r"no signature by .* with key id"):
        verify(sign(CHECKPOINT, other_signer("mallory")), verifier)


def _replace_line(note: str, number: int, text: str) -> str:
    lines = note.split("\n")
    lines[number - 1] = text
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (1, "khronika/store-2"),
        (2, "43"),
        (2, "0"),
        (3, base64.b64encode(hashlib.sha256(b"other").digest()).decode()),
        (4, "timestamp 2030-01-02T03:04:06Z"),
    ],
    ids=["origin", "size", "size zero", "root", "timestamp"],
)
def test_editing_any_body_line_breaks_the_signature(
    note: str, verifier: Verifier, line: int, text: str
) -> None:
    edited = _replace_line(note, line, text)
    parse(edited)  # still well formed
    with pytest.raises(CheckpointError, match="does not verify"):
        verify(edited, verifier)


def test_flipped_signature_bit_is_refused(note: str, verifier: Verifier) -> None:
    body, sig_line = note.split("\n\n")
    prefix, encoded = sig_line.rsplit(" ", 1)
    blob = bytearray(base64.b64decode(encoded))
    blob[-1] ^= 1
    tampered = f"{body}\n\n{prefix} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        verify(tampered, verifier)


R = base64.b64encode(ROOT).decode()
T = "timestamp 2030-01-02T03:04:05Z"

MALFORMED_BODIES = {
    "three lines": (f"o\n1\n{R}\n", "note body has 3 lines, not 4"),
    "five lines": (f"o\n1\n{R}\n{T}\nextra\n", "note body has 5 lines, not 4"),
    "blank origin": (f" \n1\n{R}\n{T}\n", r"line 1 \(origin\)"),
    "control char in origin": (f"o\x07\n1\n{R}\n{T}\n", r"line 1 \(origin\)"),
    "negative size": (f"o\n-1\n{R}\n{T}\n", r"line 2 \(size\) '-1' is not a non-neg"),
    "word size": (f"o\nten\n{R}\n{T}\n", r"line 2 \(size\) 'ten' is not"),
    "leading zero": (f"o\n01\n{R}\n{T}\n", r"line 2 \(size\) '01' is not"),
    "fractional size": (f"o\n1.5\n{R}\n{T}\n", r"line 2 \(size\) '1.5' is not"),
    "plus sign": (f"o\n+1\n{R}\n{T}\n", r"line 2 \(size\) '\+1' is not"),
    "unicode digits": (f"o\n\u0661\n{R}\n{T}\n", r"line 2 \(size\)"),
    "empty size": (f"o\n\n{R}\n{T}\n", "note body has"),
    "root not base64": (
        f"o\n1\nnot*base64\n{T}\n",
        r"line 3 \(root\) .* is not base64",
    ),
    "root 31 bytes": (
        f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n{T}\n",
        r"line 3 \(root\) .* is not base64 of 32 bytes",
    ),
    "root 33 bytes": (
        f"o\n1\n{base64.b64encode(bytes(33)).decode()}\n{T}\n",
        "not base64 of 32 bytes",
    ),
    "root url-safe": (
        "o\n1\n" + base64.urlsafe_b64encode(b"\xfb" * 32).decode() + f"\n{T}\n",
        r"line 3 \(root\)",
    ),
    "root unpadded": (f"o\n1\n{R.rstrip('=')}\n{T}\n", r"line 3 \(root\)"),
    "no timestamp word": (f"o\n1\n{R}\n2030-01-02T03:04:05Z\n", "line 4"),
    "timestamp not utc": (
        f"o\n1\n{R}\ntimestamp 2030-01-02T03:04:05+01:00\n",
        r"line 4 \(timestamp\) .* RFC 3339 UTC time ending in Z",
    ),
    "timestamp date only": (f"o\n1\n{R}\ntimestamp 2030-01-02\n", "line 4"),
    "impossible date": (
        f"o\n1\n{R}\ntimestamp 2030-02-30T03:04:05Z\n",
        r"line 4 \(timestamp\)",
    ),
}


@pytest.mark.parametrize(
    ("body", "match"), MALFORMED_BODIES.values(), ids=MALFORMED_BODIES
)
def test_validly_signed_malformed_body_is_refused_naming_the_line(
    signer: Signer, verifier: Verifier, body: str, match: str
) -> None:
    note = sign_body(body, signer)
    with pytest.raises(CheckpointError, match=match):
        verify(note, verifier)
    with pytest.raises(CheckpointError, match=match):
        parse(note)


SIG = "\u2014 " + NAME + " "

MALFORMED_NOTES: dict[str, tuple[Callable[[str], str], str]] = {
    "no signature": (lambda n: n.split("\n\n")[0] + "\n", "signature is missing"),
    "blank line only": (lambda n: n.split("\n\n")[0] + "\n\n", "signature is missing"),
    "no final newline": (lambda n: n[:-1], "signature is missing or not ended"),
    "hyphen not em dash": (
        lambda n: n.replace("\u2014", "-"),
        "signature line 1 is not '\u2014 <name> <base64 signature>'",
    ),
    "no space after dash": (
        lambda n: n.replace("\u2014 ", "\u2014"),
        "signature line 1",
    ),
    "no signature text": (lambda n: n[: n.rindex(" ")] + "\n", "signature line 1"),
    "signature not base64": (
        lambda n: n[: n.rindex(" ")] + " ***\n",
        "signature line 1 is not",
    ),
    "signature too short": (
        lambda n: n[: n.rindex(" ")] + " AAAA\n",
        "signature line 1",
    ),
    "second line bad": (lambda n: n + "junk\n", "signature line 2 is not"),
}


@pytest.mark.parametrize(
    ("edit", "match"), MALFORMED_NOTES.values(), ids=MALFORMED_NOTES
)
def test_malformed_signature_block_is_refused(
    note: str, verifier: Verifier, edit: Callable[[str], str], match: str
) -> None:
    with pytest.raises(CheckpointError, match=match):
        verify(edit(note), verifier)


def test_truncated_signature_does_not_verify(note: str, verifier: Verifier) -> None:
    body, sig_line = note.split("\n\n")
    prefix, encoded = sig_line.rsplit(" ", 1)
    short = base64.b64encode(base64.b64decode(encoded)[:40]).decode()
    with pytest.raises(CheckpointError, match="does not verify"):
        verify(f"{body}\n\n{prefix} {short}\n", verifier)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"origin": ""}, "origin '' is blank"),
        ({"origin": "two\nlines"}, "not one line"),
        ({"size": -1}, "size -1 is negative"),
        ({"root": bytes(31)}, "root is 31 bytes, not 32"),
        ({"timestamp": datetime(2030, 1, 1)}, "timestamp has no time zone"),
    ],
)
def test_invalid_checkpoints_cannot_be_made(
    kwargs: dict[str, object], match: str
) -> None:
    fields: dict[str, object] = {
        "origin": "o",
        "size": 1,
        "root": ROOT,
        "timestamp": WHEN,
        **kwargs,
    }
    with pytest.raises(CheckpointError, match=match):
        Checkpoint(**fields)  # type: ignore[arg-type]


def test_parse_reads_a_bare_body_without_signatures() -> None:
    assert parse(f"khronika/store-1\n42\n{R}\n{T}\n") == CHECKPOINT
