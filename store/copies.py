"""Archived copies streamed into and out of the store, a chunk at a time.

A copy is hashed (SHA-256) as it is read and written, so memory stays
within a chunk whatever its size (up to `files.COPY_MAX`). The store
writes it under a pending key and renames it to its hash in the same
transaction, once the last chunk is in: a copy cut short, or whose bytes
are not the hash it was given, leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol
from uuid import uuid4

from khronika.domain.errors import ValidationError
from khronika.store import files

CHUNK = 1 << 20  # bytes read, written or served at a time


class Hashed:
    """The chunks of a copy of `size` bytes, hashed as they pass, once.

    It refuses more or fewer bytes than `size` (a file that grew or shrank
    while it was read) and, with `expect`, bytes that hash to anything else;
    the refusal comes before the last chunk is taken, so the writer that
    takes them rolls back.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        size: int,
        what: str,
        *,
        expect: str | None = None,
    ) -> None:
        self.chunks = chunks
        self.size = size
        self.what = what  # "archived copy article.txt", in errors
        self.expect = expect
        self._sha = hashlib.sha256()
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        if self._done:
            raise RuntimeError("a copy's chunks are taken once")
        read = 0
        for chunk in self.chunks:
            read += len(chunk)
            if read > self.size:
                raise files.FileError(f"{self.what} grew while it was read")
            self._sha.update(chunk)
            yield chunk
        if read != self.size:
            raise files.FileError(f"{self.what} shrank while it was read")
        if self.expect is not None and self._sha.hexdigest() != self.expect:
            raise ValidationError(
                self.what, "the copy's SHA-256 is not its name: it was altered"
            )
        self._done = True

    def sha256(self) -> str:
        """The hash of every chunk; only once they were all taken."""
        if not self._done:
            raise RuntimeError("a copy's hash is known once all of it was read")
        return self._sha.hexdigest()


def of_bytes(content: bytes, what: str = "archived copy") -> Hashed:
    """A copy already in memory (a request's body, say)."""
    return Hashed([content], len(content), what)


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
    """The archived copy in the regular file at `path`, open to be streamed:
    a FIFO, a device or a file over `files.COPY_MAX` bytes is refused."""
    what = f"archived copy {path}"
    cap = files.COPY_MAX
    with files.open_regular(path, cap, "archived copy", follow=follow) as (f, size):
        yield Hashed(chunks_of(f, what), size, what, expect=expect)


def hash_file(path: Path, *, follow: bool = True) -> str:
    """The SHA-256 of the archived copy at `path`, read a chunk at a time."""
    with from_file(path, follow=follow) as copy:
        for _ in copy:
            pass
        return copy.sha256()


def pending_key() -> str:
    """A copy's key while it is written; never a SHA-256, so never a copy's."""
    return f"pending-{uuid4().hex}"


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
    return Hashed(_chunks(store, sha256, size), size, f"archived copy {sha256}")


def hash_stored(store: CopyReader, sha256: str) -> str | None:
    """The SHA-256 of the stored copy's bytes (`verify`); None if absent."""
    found = chunks(store, sha256)
    if found is None:
        return None
    sha = hashlib.sha256()
    for chunk in found:
        sha.update(chunk)
    return sha.hexdigest()
