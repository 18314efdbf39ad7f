"""Archived copies stream into and out of the store: memory stays within a
chunk or so, whatever the copy's size, and a copy cut short leaves nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from khronika.domain.errors import ValidationError
from khronika.store import copies, files
from khronika.store.app import Chronicle

SIZE = 64 << 20  # the copy: 64 MiB


def _write(path: Path, size: int) -> str:
    """A file of `size` pseudo-random bytes, written a MiB at a time; its hash."""
    sha = hashlib.sha256()
    block = hashlib.sha512(b"copy").digest() * (1 << 14)  # 1 MiB
    with open(path, "wb") as f:
        for i in range(0, size, len(block)):
            chunk = i.to_bytes(8, "big") + block[8:]
            f.write(chunk)
            sha.update(chunk)
    return sha.hexdigest()


def _peaks(location: str, path: Path) -> dict[str, int | str | bool]:
    result = subprocess.run(
        [sys.executable, "-c", READBACK, location, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, int | str | bool] = json.loads(result.stdout.splitlines()[-1])
    return found


# In a fresh process: open the store once (so that every module is imported
# and a connection made) and note the peak resident size; attach the copy as
# `khronika source attach` does; then read it back a chunk at a time, each
# chunk compared with the file's bytes. The peaks after each step.
READBACK = """
import json, resource, sys
from pathlib import Path
from khronika.cli.main import cli
from khronika.store import copies
from khronika.store.app import Chronicle

location, path = sys.argv[1:3]
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
warm = Chronicle(location)
warm.copy_bytes("0" * 64)
warm.close()
before = peak()
cli(["source", "attach", "worldcrunch-kz-separatism", path], standalone_mode=False)
attached = peak()
app = Chronicle(location)
[sha] = app.store.copy_hashes()
same = True
with open(path, "rb") as f:
    for chunk in copies.chunks(app.store, sha):
        same = same and chunk == f.read(len(chunk))
    same = same and f.read(1) == b""
print(json.dumps({"before": before, "attached": attached, "read": peak(),
                  "sha": sha, "rehashed": copies.hash_stored(app.store, sha),
                  "size": app.copy_bytes(sha), "same": same}))
"""


def test_a_large_copy_is_attached_and_read_back_in_bounded_memory(
    seeded: Chronicle, tmp_path: Path
) -> None:
    location = seeded.location
    seeded.close()
    path = tmp_path / "large.bin"
    sha = _write(path, SIZE)
    found = _peaks(location, path)
    assert found["sha"] == found["rehashed"] == sha
    assert found["size"] == SIZE and found["same"] is True
    before, attached, read = (int(found[k]) for k in ("before", "attached", "read"))
    # whole, the copy would add at least its own size to the peak
    assert attached - before < SIZE // 4, (before, attached)
    assert read - before < SIZE // 4, (before, read)


def _chunks(parts: list[bytes]) -> Iterator[bytes]:
    yield from parts


@pytest.mark.parametrize(
    ("parts", "size", "expect", "error"),
    [([b"abc", b"def"], 7, None, "shrank while it was read"),
     ([b"abc", b"defg"], 6, None, "grew while it was read"),
     ([b"abc"], 3, "0" * 64, "the copy's SHA-256 is not its name")],
)  # fmt: skip
def test_a_copy_cut_short_or_altered_leaves_nothing(
    app: Chronicle, parts: list[bytes], size: int, expect: str | None, error: str
) -> None:
    sha = expect or hashlib.sha256(b"".join(parts)).hexdigest()
    copy = copies.Hashed(_chunks(parts), size, "archived copy x", sha)
    with pytest.raises((files.FileError, ValidationError), match=error):
        app.store.store_copy(copy)
    assert app.store.copy_hashes() == []


def test_a_copy_stored_whole_before_streaming_reads_back_by_the_chunk(
    app: Chronicle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy stored as one value (as every copy was before streaming; the
    table is the same) reads back a chunk at a time, across chunk bounds."""
    content = bytes(range(256)) * 41  # 10,496 bytes
    sha = hashlib.sha256(content).hexdigest()
    assert app.store.put_copy(sha, content)
    monkeypatch.setattr(copies, "CHUNK", 1000)
    parts = list(copies.chunks(app.store, sha) or [])
    assert [len(p) for p in parts] == [1000] * 10 + [496]
    assert b"".join(parts) == content
    assert copies.hash_stored(app.store, sha) == sha
    assert app.copy_bytes(sha) == len(content)


def test_the_same_copy_streamed_twice_is_stored_once(
    app: Chronicle, tmp_path: Path
) -> None:
    path = tmp_path / "copy.txt"
    path.write_bytes(b"an archived copy\n")
    with copies.from_file(path) as first:
        assert app.store.store_copy(first) is True
    with copies.from_file(path) as second:
        assert app.store.store_copy(second) is False
    assert app.store.copy_hashes() == [
        hashlib.sha256(b"an archived copy\n").hexdigest()
    ]
