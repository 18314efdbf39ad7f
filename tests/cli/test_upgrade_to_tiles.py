"""A store whose Merkle tree is one row per node upgrades to tiles, and its
old checkpoints and proofs still verify, with byte for byte the same roots.

tests/data/before-tiles holds a store made by the version before tiles (its
README says how), with checkpoints and proofs it wrote. On PostgreSQL (and
SQLite again) a store made now is turned back into that layout: its tiles
dropped, one row per node written as the version before wrote them.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from khronika.store import merkle
from khronika.store.app import Chronicle

Run = Callable[..., Result]
OLD = Path(__file__).parents[1] / "data" / "before-tiles"
REFUSED = "Merkle tree is kept as one row per node"


@pytest.fixture
def old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the old store, with its key beside it as `init` left it."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(gzip.decompress((OLD / "old.sql.gz").read_bytes()).decode())
    for name in ("old.db.key", "old.db.pub", "checkpoint-1.txt", "checkpoint-2.txt",
                 "proof-f-7.json", "consistency.json"):  # fmt: skip
        shutil.copy(OLD / name, tmp_path / name)
    (tmp_path / "old.db.key").chmod(0o600)
    monkeypatch.setenv("KHRONIKA_STORE", str(path))
    monkeypatch.delenv("KHRONIKA_KEY")  # the key beside the store, as it was
    return str(path)


def tables(path: str) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


@pytest.mark.sqlite_only
def test_a_store_made_before_tiles_upgrades_and_its_proofs_still_verify(
    old_store: str, run: Run, tmp_path: Path
) -> None:
    refused = run("verify", "--checkpoint", "checkpoint-2.txt")
    assert refused.exit_code == 1 and REFUSED in refused.output
    assert "run `khronika upgrade`" in refused.output

    upgraded = run("upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "converting the Merkle tree to tiles: 302 of 302 leaves" in upgraded.stderr
    assert upgraded.stdout.startswith(
        "converted the Merkle tree of 302 leaves to tiles; its root is the same\n"
    )
    assert "khronika_merkle" not in tables(old_store)
    with sqlite3.connect(old_store) as db:
        shapes = db.execute(
            "SELECT level, idx, length(hashes), length(positions) FROM khronika_tiles "
            "ORDER BY level, idx"
        ).fetchall()
    assert shapes == [(0, 0, 8192, 2048), (0, 1, 46 * 32, 46 * 8), (1, 0, 32, None)]

    verified = run("verify", "--checkpoint", "checkpoint-1.txt",
                   "--checkpoint", "checkpoint-2.txt")  # fmt: skip
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("verified 302 events against 2 checkpoint(s)")
    for proof in ("proof-f-7.json", "consistency.json"):
        checked = run("verify-proof", proof, "--checkpoint", "checkpoint-1.txt",
                      "--checkpoint", "checkpoint-2.txt",
                      "--pubkey", "old.db.pub")  # fmt: skip
        assert checked.exit_code == 0, checked.output
    # the proofs made from tiles are the ones made from rows, byte for byte
    again = run("prove", "f-7", "--checkpoint", "checkpoint-2.txt", "--out", "new.json")
    assert again.exit_code == 0, again.output
    old = (tmp_path / "proof-f-7.json").read_text()
    assert (tmp_path / "new.json").read_text() == old
    again = run("prove", "--consistency", "checkpoint-1.txt", "checkpoint-2.txt")
    assert json.loads(again.stdout) == json.loads(
        (tmp_path / "consistency.json").read_text()
    )
    assert run("upgrade").stdout.startswith("nothing to upgrade")


KILLED_AFTER = """
import os, signal, sys
from khronika.store.app import Chronicle

app = Chronicle(sys.argv[1])

def progress(done: int, total: int) -> None:
    print(done, flush=True)
    if done >= 200:
        os.kill(os.getpid(), signal.SIGKILL)

app.store.create_meta_table()
app.store.tiles_from_rows("3", batch=100, on_progress=progress)
"""


@pytest.mark.sqlite_only
def test_an_upgrade_killed_midway_resumes_where_it_stopped(
    old_store: str, run: Run
) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER, old_store],
        capture_output=True, text=True, env=os.environ.copy(),
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert killed.stdout.split() == ["100", "200"]
    assert "khronika_merkle" in tables(old_store)  # not dropped yet
    with sqlite3.connect(old_store) as db:
        (tree,) = db.execute("SELECT value FROM khronika_meta WHERE key = 'tree'")
        (kept,) = db.execute(
            "SELECT length(hashes) FROM khronika_tiles WHERE level = 0"
        )
    assert tree == ("2",) and kept == (200 * 32,)  # two batches committed
    refused = run("verify")
    assert refused.exit_code == 1 and REFUSED in refused.output

    upgraded = run("upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "302 of 302 leaves" in upgraded.stderr
    verified = run("verify", "--checkpoint", "checkpoint-1.txt",
                   "--checkpoint", "checkpoint-2.txt")  # fmt: skip
    assert verified.exit_code == 0, verified.output


def to_rows(location: str) -> None:
    """Turn a store's tiles into one row per node, as the version before
    tiles stored its tree (leaves with their event's position)."""
    app = Chronicle(location)
    size = app.store.tree_size()
    leaves = app.store.leaves(0, size)
    app.close()
    tree = merkle.DictStore()
    tree.extend([leaves[i][0] for i in range(size)])
    rows = [(level, index, h, leaves[index][1] if level == 0 else None)
            for (level, index), h in tree.nodes.items()]  # fmt: skip
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as db:
            db.execute("CREATE TABLE khronika_merkle (level INTEGER, idx BIGINT, "
                       "hash BYTEA NOT NULL, position BIGINT, "
                       "PRIMARY KEY (level, idx))")  # fmt: skip
            with db.cursor() as c:
                c.executemany("INSERT INTO khronika_merkle VALUES (%s, %s, %s, %s)",
                              rows)  # fmt: skip
            db.execute("DROP TABLE khronika_tiles")
            db.execute("UPDATE khronika_meta SET value = '2' WHERE key = 'tree'")
    else:
        with sqlite3.connect(location) as db:
            db.execute("CREATE TABLE khronika_merkle (level INTEGER, idx INTEGER, "
                       "hash BLOB NOT NULL, position INTEGER, "
                       "PRIMARY KEY (level, idx)) WITHOUT ROWID")  # fmt: skip
            db.executemany("INSERT INTO khronika_merkle VALUES (?, ?, ?, ?)", rows)
            db.execute("DROP TABLE khronika_tiles")
            db.execute("UPDATE khronika_meta SET value = '2' WHERE key = 'tree'")


def test_on_sqlite_and_postgresql_a_tree_of_rows_upgrades_with_the_same_roots(
    seeded: Chronicle, store_path: str, run: Run, tmp_path: Path, key_path: Path
) -> None:
    assert run("checkpoint", "--out", "before.txt").exit_code == 0
    proved = run("prove", "3", "--checkpoint", "before.txt",
                 "--out", "proof.json")  # fmt: skip
    assert proved.exit_code == 0, proved.output
    size = seeded.store.tree_size()
    roots = [merkle.root(n, seeded.store.node) for n in range(size + 1)]
    seeded.close()
    to_rows(store_path)

    refused = run("timeline", "--format", "json")
    assert refused.exit_code == 0  # the views need no tree
    refused = run("checkpoint")
    assert refused.exit_code == 1 and REFUSED in refused.output

    upgraded = run("upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"{size} of {size} leaves" in upgraded.stderr
    app = Chronicle(store_path)
    try:
        assert [merkle.root(n, app.store.node) for n in range(size + 1)] == roots
    finally:
        app.close()
    verified = run("verify", "--checkpoint", "before.txt")
    assert verified.exit_code == 0, verified.output
    checked = run("verify-proof", "proof.json", "--checkpoint", "before.txt",
                  "--pubkey", str(key_path.with_suffix(".pub")))  # fmt: skip
    assert checked.exit_code == 0, checked.output
    again = run("prove", "3", "--checkpoint", "before.txt",
                "--out", "again.json")  # fmt: skip
    assert again.exit_code == 0, again.output
    old = (tmp_path / "proof.json").read_text()
    assert (tmp_path / "again.json").read_text() == old
