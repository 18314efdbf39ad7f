"""verify and prove against tampered copies, foreign checkpoints and old keys."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from khronika.store import attest, merkle
from khronika.store import checkpoint as cp
from khronika.store.app import Chronicle
from khronika.store.verify import verify

Run = Callable[..., Result]
COPY = b"para 1\n\npara 2\n"


def messages(location: str, checkpoints: list[cp.Checkpoint] = ()) -> list[str]:  # type: ignore[assignment]
    app = Chronicle(location)
    try:
        return [str(f) for f in verify(app, checkpoints)]
    finally:
        app.close()


def head(app: Chronicle, origin: str | None = None) -> cp.Checkpoint:
    size = app.store.tree_size()
    root = merkle.root(size, app.store.node)
    return cp.Checkpoint(origin or attest.origin(app), size, root, datetime.now(UTC))


@pytest.mark.parametrize("how", ["add --file", "attach"])
def test_a_deleted_archived_copy_is_caught(
    app: Chronicle, store_path: str, make: Any, how: str
) -> None:
    if how == "add --file":
        app.add_source(make.source(), "ann", COPY)
    else:
        app.add_source(make.source(), "ann")
        app.attach_copy(make.source().id, COPY, "ann")
    assert messages(store_path) == []
    make.edit(store_path, "DELETE FROM khronika_copies")
    sha = hashlib.sha256(COPY).hexdigest()
    assert messages(store_path) == [
        f"source 'worldcrunch-kz-separatism' names the archived copy sha256:{sha}, "
        "but the store has no copy by that hash: it was deleted or replaced"
    ]


def test_a_copy_replaced_along_with_its_key_is_caught(
    app: Chronicle, store_path: str, make: Any
) -> None:
    app.add_source(make.source(), "ann", COPY)
    other = b"another text\n"
    make.edit(store_path, "UPDATE khronika_copies SET sha256 = ?, content = ?",
              hashlib.sha256(other).hexdigest(), other)  # fmt: skip
    (found,) = messages(store_path)
    assert "has no copy by that hash" in found


def test_a_hash_named_without_a_copy_is_no_finding(
    app: Chronicle, store_path: str, make: Any
) -> None:
    """A source may name the hash of a copy nobody stored (yet)."""
    app.add_source(make.source(sha256="ab" * 32), "ann")
    assert messages(store_path) == []


def test_a_checkpoint_of_another_store_fails_verify(
    seeded: Chronicle, store_path: str
) -> None:
    foreign = head(seeded, "khronika/00000000-0000-0000-0000-000000000000")
    (found,) = messages(store_path, [foreign])
    assert "is for khronika/00000000-0000-0000-0000-000000000000, " in found
    assert f"but this store is {attest.origin(seeded)}: it is another store's" in found


def test_a_changed_store_id_fails_verify_against_an_earlier_checkpoint(
    seeded: Chronicle, store_path: str, make: Any
) -> None:
    earlier = head(seeded)
    assert messages(store_path, [earlier]) == []
    make.edit(store_path, "UPDATE khronika_meta SET value = ? WHERE key = 'store_id'",
              "11111111-1111-1111-1111-111111111111")  # fmt: skip
    (found,) = messages(store_path, [earlier])  # the first signed intent notices
    assert found.startswith("event at position 1 ")
    assert found.endswith(
        f"its signed intent is for another chronicle, {earlier.origin}"
    )


def test_prove_with_a_checkpoint_of_a_longer_log_says_it_was_truncated(
    seeded: Chronicle, run: Run, tmp_path: Path
) -> None:
    attest.ensure_key(seeded)
    ok = run("checkpoint", "--out", "now.txt")
    assert ok.exit_code == 0, ok.output
    size = seeded.store.tree_size()
    longer = cp.Checkpoint(attest.origin(seeded), size + 2, bytes(32),
                           datetime.now(UTC))  # fmt: skip
    note = cp.sign(longer, cp.load_signer(attest.key_path(seeded)))
    (tmp_path / "longer.txt").write_text(note)
    result = run("prove", "1", "--checkpoint", "longer.txt")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: the checkpoint covers {size + 2} events, but this log has only "
        f"{size}: the checkpoint is from a longer log, so this log was truncated "
        "(`khronika verify --checkpoint` says where)\n"
    )
    result = run("prove", "--consistency", "now.txt", "longer.txt")
    assert result.exit_code == 1 and "from a longer log" in result.output


def test_a_store_keyed_before_the_rename_still_verifies_and_signs_by_origin(
    seeded: Chronicle, run: Run, key_path: Path, tmp_path: Path
) -> None:
    """Keys were named khronika-<id> before; their checkpoints still verify."""
    old_name = f"khronika-{seeded.meta['store_id']}"
    for made in (key_path, key_path.with_suffix(".pub")):
        made.unlink()  # the key `init` makes now, replaced by one made before
    cp.generate_key(key_path, old_name)  # as the earlier version's init did
    old_note = cp.sign(head(seeded), cp.load_signer(key_path))
    assert f"\n\u2014 {old_name} " in old_note
    (tmp_path / "old.txt").write_text(old_note)
    result = run("verify", "--checkpoint", "old.txt")
    assert result.exit_code == 0, result.output
    new_note = run("checkpoint").output  # signed under the origin now
    assert f"\n\u2014 {attest.origin(seeded)} " in new_note
    (tmp_path / "new.txt").write_text(new_note)
    result = run("verify", "--checkpoint", "old.txt", "--checkpoint", "new.txt")
    assert result.exit_code == 0, result.output
    # and with a .pub written under the new name, the old note still verifies
    new_pub = cp.Verifier(attest.origin(seeded), cp.load_verifier(
        key_path.with_suffix(".pub")).key)  # fmt: skip
    assert cp.verify(old_note, new_pub).size == seeded.store.tree_size()


TILE_EDITS = {
    "text hashes": "UPDATE khronika_tiles SET hashes = 'abc' "
    "WHERE level = 0 AND idx = 0",
    "NULL positions": "UPDATE khronika_tiles SET positions = NULL "
    "WHERE level = 0 AND idx = 0",
    "text positions": "UPDATE khronika_tiles SET positions = 'x' "
    "WHERE level = 0 AND idx = 0",
}


@pytest.mark.parametrize("edit", TILE_EDITS.values(), ids=TILE_EDITS)
def test_a_tile_that_is_not_bytes_is_reported_not_a_crash(
    seeded: Chronicle, store_path: str, run: Run, edit: str, make: Any
) -> None:
    if store_path.startswith("postgresql://") and "'" in edit:
        pytest.skip("PostgreSQL's bytea columns refuse text")
    make.edit(store_path, edit)
    result = run("verify")
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: event at position 1: the stored tile 0/0 holds "
    )
    assert result.output.endswith(": the stored Merkle tree was altered\n")


@pytest.mark.sqlite_only
def test_null_tile_hashes_are_reported_not_a_crash(seeded: Chronicle, run: Run) -> None:
    """Only a schema edited behind khronika's back lets NULL hashes in."""
    with sqlite3.connect(seeded.location) as db:
        db.execute("PRAGMA writable_schema = ON")
        db.execute("UPDATE sqlite_master SET sql = replace(sql, 'hashes BLOB NOT "
                   "NULL', 'hashes BLOB') WHERE name = 'khronika_tiles'")  # fmt: skip
    with sqlite3.connect(seeded.location) as db:
        db.execute("UPDATE khronika_tiles SET hashes = NULL WHERE level = 0")
    result = run("verify")
    assert result.exit_code == 1
    assert "the stored tile 0/0 holds 0 bytes of hashes" in result.output


def test_unwritable_out_and_unreadable_checkpoints_are_one_clear_line(
    seeded: Chronicle, run: Run, tmp_path: Path
) -> None:
    attest.ensure_key(seeded)
    (tmp_path / "a-file").write_text("")
    result = run("checkpoint", "--out", "a-file/cp.txt")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write the checkpoint to a-file/")
    assert result.output.count("\n") == 1
    ok = run("checkpoint", "--out", "cp.txt")
    assert ok.exit_code == 0, ok.output
    result = run("prove", "1", "--checkpoint", "cp.txt", "--out", "a-file/p.json")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write the proof to a-file/")
    (tmp_path / "latin1.txt").write_bytes("origine\n1\nR\u00e9\n".encode("latin-1"))
    for args in (["prove", "1", "--checkpoint", "latin1.txt"],
                 ["prove", "--consistency", "cp.txt", "latin1.txt"],
                 ["verify", "--checkpoint", "latin1.txt"]):  # fmt: skip
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.output == "Error: checkpoint latin1.txt is not UTF-8 text\n"
    (tmp_path / "bad.pub").write_bytes(b"\xff\xfe")
    result = run("verify", "--checkpoint", "cp.txt", "--pubkey", "bad.pub")
    assert result.output == "Error: verifier key bad.pub is not UTF-8 text\n"


def test_a_source_added_by_an_earlier_version_decodes_without_copy_stored(
    app: Chronicle, make: Any
) -> None:
    import msgspec
    from eventsourcing.utils import get_topic

    from khronika.domain.events import SourceAdded
    from khronika.store.codec import decode

    event = app.add_source(make.source(sha256="ab" * 32), "ann")
    old = msgspec.to_builtins(event)
    del old["copy_stored"]  # as earlier versions stored it
    decoded = decode(get_topic(SourceAdded), msgspec.json.encode(old))
    assert isinstance(decoded, SourceAdded)
    assert decoded.copy_stored is False and decoded.doc.sha256 == "ab" * 32
