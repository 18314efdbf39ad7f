"""Reading a file named from outside: a regular file, up to a cap.

A key, a `.pub`, a checkpoint, a proof file and a release's MANIFEST are
read whole into memory; an archived copy is streamed into the store a chunk
at a time (`open_regular`, store/copies.py). Each has a cap, and only a
regular file is read: a FIFO would never end (or never start), and
`/dev/zero` never ends. The path is stat-ed before it is opened, so a
device, a FIFO or a folder is refused unopened; the open does not wait, and
what was opened is checked again, so a file swapped in meanwhile is refused
too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from khronika.domain.errors import KhronikaError

NOTE_MAX = 65_536  # a key, a .pub or a checkpoint: a few hundred bytes
PROOF_MAX = 100_000_000  # a proof file: a fact's proofs, a few KB each
MANIFEST_MAX = 100_000_000  # a release's MANIFEST: a line per file
COPY_MAX = 100_000_000  # an archived copy of a source


class FileError(KhronikaError):
    """A file that is not a regular file, cannot be read or is too large."""


def read_capped(path: Path, cap: int, what: str, *, follow: bool = True) -> bytes:
    """The bytes of the regular file at `path`, if it holds at most `cap`.

    `what` names the file in errors ("checkpoint", "private key"). With
    `follow=False` (a file inside a release) a symlink is refused too:
    the path is lstat-ed, and opened without following one.
    """
    with open_regular(path, cap, what, follow=follow) as (f, _):
        try:
            data = f.read(cap + 1)
        except OSError as e:
            raise FileError(f"cannot read {what} {path}: {e.strerror}") from None
    check_size(path, len(data), cap, what)  # it may have grown meanwhile
    return data


@contextmanager
def open_regular(
    path: Path, cap: int, what: str, *, follow: bool = True
) -> Iterator[tuple[BinaryIO, int]]:
    """The regular file at `path`, open for reading, and its size, if that is
    at most `cap`; `read_capped`'s checks, for a file read a chunk at a time.
    The reader checks the size again as it reads (the file may grow)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        _check(path, path.stat() if follow else path.lstat(), cap, what)
        f = os.fdopen(os.open(path, flags), "rb")
    except OSError as e:
        raise FileError(f"cannot read {what} {path}: {e.strerror}") from None
    with f:
        try:
            found = os.fstat(f.fileno())
        except OSError as e:
            raise FileError(f"cannot read {what} {path}: {e.strerror}") from None
        _check(path, found, cap, what)
        yield f, found.st_size


def _check(path: Path, found: os.stat_result, cap: int, what: str) -> None:
    if not stat.S_ISREG(found.st_mode):
        raise FileError(f"{what} {path} is {kind(found.st_mode)}, not a regular file")
    check_size(path, found.st_size, cap, what)


def check_size(path: Path, size: int, cap: int, what: str) -> None:
    if size > cap:
        raise FileError(
            f"{what} {path} is larger than {cap:,} bytes, the most a {what} may be"
        )


def read_text(path: Path, cap: int, what: str, *, follow: bool = True) -> str:
    """`read_capped` as UTF-8 text; FileError if it is not UTF-8."""
    data = read_capped(path, cap, what, follow=follow)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileError(f"{what} {path} is not UTF-8 text") from None


def kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def write_whole(path: Path, data: bytes) -> None:
    """`data` at `path`, whole or not at all: written beside it under a
    scratch name, synced, then renamed over it. A write that fails (a full
    disk) leaves neither a part of it nor the scratch file; what `path`
    held before stays, and so does its mode. A symlink, a device or a FIFO
    is written through, as it is."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        with path.open("wb") as out:  # a link, /dev/stdout, a FIFO: through it
            out.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with scratch.open("xb") as out:
            if path.exists():  # keep the mode of the file it replaces
                os.chmod(out.fileno(), stat.S_IMODE(path.stat().st_mode))
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
