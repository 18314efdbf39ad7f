"""A release's MANIFEST and event log: what `verify-release` checks offline.

The MANIFEST is a C2SP signed note, signed with the store's key like a
checkpoint. Its body names the store, the record time the release was cut
at, the world day it was cut to (if any), the checkpoint of the log at that
record time (tree size and root), and every file with its SHA-256 and size:

    khronika-release/1
    origin khronika/<store id>
    known-at 2026-12-05T03:11:03.176915Z
    as-of -
    checkpoint 112 <base64 root>
    file <sha256 hex> <bytes> <path>
    ...

`events.jsonl` (with `export --events`) holds every stored event up to the
cut, its state byte for byte, so its leaves hash to the checkpoint's root.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from uuid import UUID

import msgspec

from khronika.domain.errors import KhronikaError
from khronika.domain.events import stamp
from khronika.domain.intent import split_state
from khronika.store import checkpoint as cp
from khronika.store import merkle
from khronika.store.app import Chronicle
from khronika.store.codec import stamp_of
from khronika.store.files import kind
from khronika.store.ledger import leaf_of
from khronika.store.signing import Row, Signatures, check_seals

MAGIC = "khronika-release/1"
MANIFEST = "MANIFEST"
EVENTS = "events.jsonl"
CHUNK = 1 << 20


class ReleaseError(KhronikaError):
    """A release does not verify."""


class File(msgspec.Struct, frozen=True):
    path: str  # relative, with / between folders
    sha256: str
    size: int


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    origin: str
    known_at: str
    as_of: str | None
    size: int  # the log's tree size at known_at
    root: bytes
    files: list[File]


NO_VALUES = msgspec.Raw(b"")


class EventLine(msgspec.Struct, frozen=True, omit_defaults=True):
    """One stored event, as `events.jsonl` carries it."""

    position: int
    topic: str
    stream: UUID
    version: int
    state: msgspec.Raw  # the stored bytes, exactly; a signed event's envelope
    # a signed event's personal values, stored beside its envelope (not in its
    # leaf): the state is `state`, a newline and these
    values: msgspec.Raw = NO_VALUES


_line_decoder = msgspec.json.Decoder(EventLine)


def file_of(folder: Path, path: Path) -> File:
    """A file's entry: its path under `folder`, SHA-256 and size. The file is
    opened without following a symlink, and must be a regular file."""
    name = path.relative_to(folder).as_posix()
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # no FIFO wait
    except OSError as e:
        raise ReleaseError(f"{name}: cannot be read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ReleaseError(f"{name}: {kind(mode)}, not a regular file")
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return File(name, digest.hexdigest(), size)


def body(m: Manifest) -> str:
    root = base64.b64encode(m.root).decode()
    lines = [MAGIC, f"origin {m.origin}", f"known-at {m.known_at}",
             f"as-of {m.as_of or '-'}", f"checkpoint {m.size} {root}"]  # fmt: skip
    lines += [f"file {f.sha256} {f.size} {f.path}" for f in m.files]
    return "\n".join(lines) + "\n"


def sign(m: Manifest, signer: cp.Signer) -> str:
    return cp.sign_note(body(m), signer)


def read(note: str, verifier: cp.Verifier) -> Manifest:
    """The MANIFEST's content, if `verifier` signed it; else ReleaseError."""
    try:
        text = cp.open_note(note, verifier)
    except cp.CheckpointError as e:
        raise ReleaseError(f"MANIFEST: {e}") from None
    return parse(text)


def parse(text: str) -> Manifest:
    lines = text.removesuffix("\n").split("\n")
    if len(lines) < 5 or lines[0] != MAGIC:
        raise ReleaseError(f"MANIFEST: not a {MAGIC} manifest")
    fields = {}
    for number, (line, key) in enumerate(
        zip(lines[1:5], ("origin", "known-at", "as-of", "checkpoint"), strict=True), 2
    ):
        word, _, value = line.partition(" ")
        if word != key or not value:
            raise ReleaseError(f"MANIFEST line {number}: expected '{key} …'")
        fields[key] = value
    size, _, root = fields["checkpoint"].partition(" ")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error:
        digest = b""
    if not size.isdigit() or len(digest) != merkle.HASH_SIZE:
        raise ReleaseError("MANIFEST line 5: checkpoint is not 'SIZE BASE64-ROOT'")
    files = [_file(number, line) for number, line in enumerate(lines[5:], 6)]
    as_of = None if fields["as-of"] == "-" else fields["as-of"]
    return Manifest(origin=fields["origin"], known_at=fields["known-at"],
                    as_of=as_of, size=int(size), root=digest, files=files)  # fmt: skip


def _file(number: int, line: str) -> File:
    parts = line.split(" ", 3)
    if len(parts) != 4 or parts[0] != "file" or not parts[2].isdigit():
        raise ReleaseError(f"MANIFEST line {number}: expected 'file SHA256 SIZE PATH'")
    path = parts[3]
    if path.startswith("/") or ".." in path.split("/") or path == MANIFEST:
        raise ReleaseError(
            f"MANIFEST line {number}: '{path}' is not inside the release"
        )
    return File(path, parts[1], int(parts[2]))


def check_files(folder: Path, m: Manifest) -> None:
    """Every listed file is there with its hash and size, and nothing else is.

    The release is walked with lstat, never following a symlink: anything
    in it but the listed regular files, the folders that hold them and the
    MANIFEST (a symlink, a FIFO, a device, an unlisted folder) is refused.
    """
    listed = {f.path for f in m.files} | {MANIFEST}
    folders = {p.as_posix() for f in m.files for p in PurePosixPath(f.path).parents}
    found = sorted(_walk(folder))
    for name, mode in found:
        if stat.S_ISDIR(mode) and name in folders:
            continue
        if stat.S_ISREG(mode) and name in listed:
            continue
        if name in folders:
            raise ReleaseError(
                f"{name}: holds files the MANIFEST lists, but {kind(mode)} now"
            )
        if name in listed:
            raise ReleaseError(
                f"{name}: listed in the MANIFEST, but {kind(mode)} now, not the file"
            )
        what = "" if stat.S_ISREG(mode) else f" ({kind(mode)})"
        raise ReleaseError(f"{name}: in the release but not in its MANIFEST{what}")
    missing = listed - {name for name, _ in found}
    if missing:
        raise ReleaseError(f"{min(missing)}: listed in the MANIFEST but missing")
    for f in m.files:
        now = file_of(folder, folder / f.path)
        if (now.sha256, now.size) != (f.sha256, f.size):
            raise ReleaseError(
                f"{f.path}: its SHA-256 is not the MANIFEST's: the file was altered"
            )


def _walk(folder: Path) -> Iterator[tuple[str, int]]:
    """Each path under `folder` (relative, with /) and its lstat mode; only
    real folders are entered."""
    stack = [folder]
    while stack:
        here = stack.pop()
        with os.scandir(here) as entries:
            for entry in entries:
                mode = entry.stat(follow_symlinks=False).st_mode
                yield Path(entry.path).relative_to(folder).as_posix(), mode
                if stat.S_ISDIR(mode):
                    stack.append(Path(entry.path))


# -- the log at a record time ------------------------------------------------
def cut(app: Chronicle, known_at: str | None) -> tuple[str, int]:
    """The record time of the cut and the tree size at it.

    Without `known_at`, or with one at or after the last event, the cut is
    at the last event. Events are stamped in log order, so the events up to
    a record time are a prefix of the log, found by bisecting the leaves.
    """
    size = app.store.tree_size()
    if size == 0:
        raise KhronikaError("the store is empty: there is nothing to release")
    last = stamp(_time(app, size - 1))
    if known_at is None or known_at >= last:  # a time to come: all there is yet
        return last, size
    low, high = 0, size  # leaves [0, low) are at or before known_at
    while low < high:
        middle = (low + high) // 2
        if stamp(_time(app, middle)) <= known_at:
            low = middle + 1
        else:
            high = middle
    if low == 0:
        raise KhronikaError(
            f"nothing was recorded by --known-at {known_at}: the first event is "
            f"at {stamp(_time(app, 0))}"
        )
    return known_at, low


def _time(app: Chronicle, index: int) -> datetime:
    ((_, position),) = app.store.leaves(index, index + 1).values()
    (event,) = app.recorder.select_notifications(position, 1)
    return stamp_of(event.state)


def write_events(app: Chronicle, size: int, out: BinaryIO) -> int:
    """The first `size` events of the log as JSON Lines; how many."""
    encoder, done = msgspec.json.Encoder(), 0
    for page in app.pages():
        for n in page[: size - done]:
            stream = UUID(str(n.originator_id))
            head, values = split_state(n.state)
            line = EventLine(n.id, n.topic, stream, n.originator_version,
                             msgspec.Raw(head),
                             msgspec.Raw(values) if values else NO_VALUES)  # fmt: skip
            out.write(encoder.encode(line) + b"\n")
        done += min(len(page), size - done)
        if done >= size:
            break
    return done


def events_signatures(path: Path, origin: str) -> Signatures:
    """Every seal in an `events.jsonl`, checked as `verify` checks the log's."""

    def rows() -> Iterator[Row]:
        with path.open("rb") as f:
            for line in f:
                e = _line_decoder.decode(line)  # events_root read it already
                state = bytes(e.state)
                if bytes(e.values):
                    state += b"\n" + bytes(e.values)
                yield e.position, e.topic, e.version, state

    return check_seals(origin, rows())


def events_root(path: Path) -> tuple[int, bytes]:
    """The tree size and root of the events in an `events.jsonl`."""
    frontier = merkle.Frontier()
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            try:
                e = _line_decoder.decode(line)
            except msgspec.DecodeError as error:
                raise ReleaseError(f"{path.name} line {number}: {error}") from None
            frontier.add(leaf_of(e.topic, e.stream, e.version, bytes(e.state)))
    return frontier.size, frontier.root()
