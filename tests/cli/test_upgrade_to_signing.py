"""A store made before writes were signed upgrades, and its past still holds.

tests/data/before-signing holds such a store, made by the version before
signing (its README says how), with a checkpoint it signed.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from khronika.store.app import Chronicle

Run = Callable[..., Result]
OLD = Path(__file__).parents[1] / "data" / "before-signing"


@pytest.fixture
def old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the old store, with its key beside it as `init` left it."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript((OLD / "old.sql").read_text("utf-8"))
    for name in ("old.db.key", "old.db.pub", "checkpoint.txt"):
        shutil.copy(OLD / name, tmp_path / name)
    (tmp_path / "old.db.key").chmod(0o600)
    monkeypatch.setenv("KHRONIKA_STORE", str(path))
    monkeypatch.delenv("KHRONIKA_KEY")  # the key beside the store, as it was
    return str(path)


def events(location: str) -> list[tuple[Any, ...]]:
    app = Chronicle(location)
    try:
        return [(n.id, n.topic, n.originator_version, n.state)
                for n in app.notifications()]  # fmt: skip
    finally:
        app.close()


@pytest.mark.sqlite_only
def test_an_old_store_upgrades_and_its_old_events_and_checkpoints_still_verify(
    old_store: str, run: Run
) -> None:
    before = events(old_store)
    assert len(before) == 5
    verified = run("verify", "--checkpoint", "checkpoint.txt")
    assert verified.exit_code == 1  # its tree is one row per node, not tiles
    assert "run `khronika upgrade` to convert it" in verified.output

    refused = run("entity", "add", "person", "ann-smith", "--name", "Ann Smith")
    assert refused.exit_code == 1
    assert "made before writes were signed: run `khronika upgrade`" in refused.output
    assert events(old_store) == before

    upgraded = run("upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "converted the Merkle tree of 5 leaves to tiles" in upgraded.output
    assert "registered tester as this store's first admin" in upgraded.output
    assert "rebuilt the views from 6 events" in upgraded.output

    added = run("entity", "add", "person", "ann-smith", "--name", "Ann Smith")
    assert added.exit_code == 0, added.output
    after = events(old_store)
    assert after[:5] == before  # the old events, byte for byte
    verified = run("verify", "--checkpoint", "checkpoint.txt")
    assert verified.exit_code == 0, verified.output
    lines = verified.output.splitlines()
    assert lines[0] == "verified 7 events against 1 checkpoint(s)"
    assert lines[1] == "signatures: 2 events signed, all valid"
    assert any(line.strip().startswith("1  tester (key ") for line in lines)
    assert any(
        line.strip().startswith("1  the store's own key (key ") for line in lines
    )
    assert lines[-1] == "unsigned (recorded before signing): 5"
    log = run("log", "serebryakova-verdict-2023")
    assert "by olga (unsigned, recorded" in log.output  # wrapped at 80 columns
    assert run("upgrade").output.startswith("nothing to upgrade")  # once is enough
