"""Archived copies streamed into and out of the store, a chunk at a time.

A copy is stored under its SHA-256, which the store must know before it
writes (SQLite rewrites a whole row to change its key): a file is read
twice, to hash it and then to store it; a copy fetched by hash (a mirror, a
bundle's copies) is hashed as it is written. Memory stays within a chunk
whatever the copy's size (up to `files.COPY_MAX`). A copy cut short, or
whose bytes are not its hash, is refused before the store's transaction
commits, so it leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from khronika.domain.errors import ValidationError
from khronika.store import files

CHUNK = 1 << 20  # bytes read, written or served at a time


class Hashed:
    """The chunks of a copy of `size` bytes to be stored under `sha256`,
    hashed as they pass, once.

    It refuses more or fewer bytes than `size` (a file that grew or shrank
    while it was read) and, unless `check` is off (`migrate` copies a store
    byte for byte), bytes that do not hash to `sha256`; the refusal comes
    before the last chunk is taken, so the writer that takes them rolls back.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        size: int,
        what: str,
        sha256: str,
        *,
        check: bool = True,
    ) -> None:
        self.chunks = chunks
        self.size = size
        self.what = what  # "archived copy article.txt", in errors
        self.sha256 = sha256  # the key it is stored under
        self.check = check
        self._taken = False

    def __iter__(self) -> Iterator[bytes]:
        if self._taken:
            raise RuntimeError("a copy's chunks are taken once")
        self._taken = True
        sha, read = hashlib.sha256(), 0
        for chunk in self.chunks:
            read += len(chunk)
            if read > self.size:
                raise files.FileError(f"{self.what} grew while it was read")
            sha.update(chunk)
            yield chunk
        if read != self.size:
            raise files.FileError(f"{self.what} shrank while it was read")
        if self.check and sha.hexdigest() != self.sha256:
            raise ValidationError(
                self.what, "the copy's SHA-256 is not its name: it was altered"
            )


def of_bytes(content: bytes, what: str = "archived copy") -> Hashed:
    """A copy already in memory (a request's body, say)."""
    return Hashed([content], len(content), what, hashlib.sha256(content).hexdigest())


def chunks_of(f: BinaryIO, what: str) -> Iterator[bytes]:
    """A file's bytes, a chunk at a time."""
    while True:
        try:
            chunk = f.read(CHUNK)
        except OSError as e:
            raise files.FileError(f"cannot read {what}: {e.strerror}") from None
        if not chunk:
            return
        yield chunk


@contextmanager
def from_file(
    path: Path, *, expect: str | None = None, follow: bool = True
) -> Iterator[Hashed]:
    """The archived copy in the regular file at `path`, open to be streamed
    under its hash, `expect` if known (a bundle's copies are named so), else
    found by a first read: a store writes a copy under its key. A FIFO, a
    device or a file over `files.COPY_MAX` bytes is refused."""
    sha256 = expect or hash_file(path, follow=follow)
    what = f"archived copy {path}"
    cap = files.COPY_MAX
    with files.open_regular(path, cap, "archived copy", follow=follow) as (f, size):
        yield Hashed(chunks_of(f, what), size, what, sha256)


def hash_file(path: Path, *, follow: bool = True) -> str:
    """The SHA-256 of the archived copy at `path`, read a chunk at a time."""
    sha = hashlib.sha256()
    what = f"archived copy {path}"
    cap = files.COPY_MAX
    with files.open_regular(path, cap, "archived copy", follow=follow) as (f, size):
        read = 0
        for chunk in chunks_of(f, what):
            read += len(chunk)
            if read > size:
                raise files.FileError(f"{what} grew while it was read")
            sha.update(chunk)
    return sha.hexdigest()


class CopyReader(Protocol):
    """What a store offers to read its copies by the chunk."""

    def copy_size(self, sha256: str) -> int | None: ...

    def read_copy_chunk(self, sha256: str, offset: int, size: int) -> bytes: ...


def chunks(store: CopyReader, sha256: str) -> Iterator[bytes] | None:
    """The stored copy's bytes a chunk at a time, each read on its own (so the
    reader may be moved between threads); None if no copy has this hash."""
    size = store.copy_size(sha256)
    if size is None:
        return None
    return _chunks(store, sha256, size)


def _chunks(store: CopyReader, sha256: str, size: int) -> Iterator[bytes]:
    for offset in range(0, size, CHUNK):
        yield store.read_copy_chunk(sha256, offset, min(CHUNK, size - offset))


def stored(store: CopyReader, sha256: str) -> Hashed | None:
    """The stored copy, to be streamed into another store (`migrate`)."""
    size = store.copy_size(sha256)
    if size is None:
        return None
    chunks = _chunks(store, sha256, size)
    return Hashed(chunks, size, f"archived copy {sha256}", sha256, check=False)


def hash_stored(store: CopyReader, sha256: str) -> str | None:
    """The SHA-256 of the stored copy's bytes (`verify`); None if absent."""
    found = chunks(store, sha256)
    if found is None:
        return None
    sha = hashlib.sha256()
    for chunk in found:
        sha.update(chunk)
    return sha.hexdigest()
