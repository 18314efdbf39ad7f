"""`khronika migrate`: SQLite to PostgreSQL, and nothing is lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from khronika.store import merkle
from khronika.store import migrate as migrate_module
from khronika.store.app import Chronicle

Run = Callable[..., Result]
pytestmark = pytest.mark.postgres


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_migrate_keeps_identity_order_record_times_and_the_merkle_root(
    run: Run, tmp_path: Path, postgres_db: str, key_path: Path
) -> None:
    sqlite = str(tmp_path / "source.db")
    ok(run("--store", sqlite, "init"))
    ok(run("--store", sqlite, "demo"))
    ok(run("--store", sqlite, "retract", "astakhov-verdict-2024", "--reason", "t",
           "--source", "worldcrunch-kz-separatism@para:4"))  # fmt: skip
    ok(run("--store", sqlite, "source", "attach", "worldcrunch-kz-separatism",
           __file__))  # fmt: skip
    ok(run("--store", sqlite, "checkpoint", "--out", str(tmp_path / "cp.txt")))

    out = ok(run("migrate", "--from", sqlite, "--to", postgres_db))
    assert out.startswith("copied 119 events from ")
    assert out.endswith("; the Merkle roots match\n")

    source, target = Chronicle(sqlite), Chronicle(postgres_db)
    assert target.meta["store_id"] == source.meta["store_id"]
    assert [(n.originator_id, n.originator_version, n.topic, n.state)
            for n in target.notifications()] == [
        (n.originator_id, n.originator_version, n.topic, n.state)
        for n in source.notifications()]  # fmt: skip
    assert merkle.root(117, target.store.node) == merkle.root(117, source.store.node)
    assert list(target.store.copies()) == list(source.store.copies())

    pub = str(key_path.with_suffix(".pub"))
    checked = ok(run("--store", postgres_db, "verify", "--checkpoint",
                     str(tmp_path / "cp.txt"), "--pubkey", pub))  # fmt: skip
    assert checked.startswith(  # the signatures came along, byte for byte
        "verified 119 events against 1 checkpoint(s)\n"
        "signatures: 119 events signed, all valid\n"
    )
    before = json.loads(ok(run("--store", sqlite, "timeline", "--format", "json")))
    after = json.loads(ok(run("--store", postgres_db, "timeline", "--format", "json")))
    assert after == before  # record times, recorders and versions included


def test_migrate_refuses_a_target_that_is_a_store_already(
    run: Run, tmp_path: Path, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite = str(tmp_path / "source.db")
    ok(run("--store", sqlite, "init"))
    monkeypatch.setenv("KHRONIKA_KEY", str(tmp_path / "other.key"))  # its own key
    ok(run("--store", postgres_db, "init"))
    result = run("migrate", "--from", sqlite, "--to", postgres_db)
    assert result.exit_code == 1
    assert "is a khronika store already" in result.output


class Killed(Exception):
    """Stands for the process being killed midway."""


@pytest.mark.sqlite_only  # the source; the target is either
@pytest.mark.parametrize("target_kind", ["sqlite", "postgres"])
def test_a_migration_killed_midway_is_refused_until_migrate_runs_again(
    run: Run,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    target_kind: str,
) -> None:
    sqlite = str(tmp_path / "source.db")
    ok(run("--store", sqlite, "init"))
    ok(run("--store", sqlite, "demo"))
    target = (
        str(tmp_path / "target.db")
        if target_kind == "sqlite"
        else str(request.getfixturevalue("postgres_db"))
    )

    def kill(done: int) -> None:
        if done >= 20:
            raise Killed

    monkeypatch.setattr(migrate_module, "PAGE", 10)
    source = Chronicle(sqlite)
    with pytest.raises(Killed):
        migrate_module.migrate(source, target, kill)

    for command in (["verify"], ["timeline"], ["log"]):
        refused = run("--store", target, *command)
        assert refused.exit_code == 1, refused.output
        assert "is an unfinished copy: `khronika migrate` from " in refused.output
        assert "Run the same `khronika migrate` again" in refused.output

    out = ok(run("migrate", "--from", sqlite, "--to", target))
    assert out.startswith("copied 117 events from ")
    verified = ok(run("--store", target, "verify"))
    assert verified.startswith("verified 117 events")
    refused = run("migrate", "--from", sqlite, "--to", target)
    assert "is a khronika store already" in refused.output
