"""A mirror follows a served chronicle, survives a kill, and refuses a rewrite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from khronika.store import attest, merkle
from khronika.store import checkpoint as cp
from khronika.store import witness as wit
from khronika.store.app import Chronicle
from khronika.web.app import create_app
from khronika.web.witness import create_app as witness_app

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from workload import generate  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import uvicorn_thread  # noqa: E402

Run = Callable[..., Result]
FACTS = 10_000


@pytest.fixture
def serving(store_path: str) -> Iterator[Callable[[], str]]:
    """Serves the test's store over HTTP once asked; returns its URL."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(
            uvicorn_thread.served(create_app(store_path, refresh_every=3600))
        )


def _size_and_root(location: str) -> tuple[int, bytes]:
    app = Chronicle(location)
    try:
        size = app.store.tree_size()
        return size, merkle.root(size, app.store.node)
    finally:
        app.close()


def _mirror(location: str, url: str, pub: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "khronika", "--store", location, "mirror", url,
         "--pubkey", str(pub)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_mirror_follows_10000_facts_survives_a_kill_and_ends_the_same(
    run: Run, store_path: str, serving: Callable[[], str], another_store: str,
    tmp_path: Path, key_path: Path,
) -> None:  # fmt: skip
    facts = tmp_path / "facts.jsonl"
    generate(facts, FACTS)
    assert run("init").exit_code == 0
    imported = run("import", str(facts))
    assert imported.exit_code == 0, imported.output
    assert run("checkpoint").exit_code == 0
    size, root = _size_and_root(store_path)
    pub = key_path.with_suffix(".pub")
    original = serving()

    first = _mirror(another_store, original, pub)
    killed_at = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        try:
            killed_at = _size_and_root(another_store)[0]
        except Exception:  # not made yet, or mid-transaction
            killed_at = 0
        if killed_at >= 2_000:
            os.kill(first.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    said = first.communicate(timeout=30)  # and its pipes closed
    assert first.returncode == -signal.SIGKILL, said
    assert 0 < killed_at < size  # killed mid-copy, with part of the log in

    second = _mirror(another_store, original, pub)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, out + err
    assert f"{size} in all, at its checkpoint's root" in out
    assert _size_and_root(another_store) == (size, root)
    theirs = run("timeline", "--format", "json", "--limit", "100000")
    mine = run("--store", another_store, "timeline", "--format", "json",
               "--limit", "100000")  # fmt: skip
    assert theirs.exit_code == mine.exit_code == 0
    assert json.loads(mine.stdout) == json.loads(theirs.stdout)
    checked = run("--store", another_store, "verify")
    assert checked.exit_code == 0, checked.output


def _rewrite_last_event(location: str) -> None:
    """An operator rewrites history: one event's envelope, then the tree."""
    app = Chronicle(location)
    try:
        last = app.recorder.max_notification_id()
        if location.startswith("postgresql://"):
            import psycopg

            with psycopg.connect(location, autocommit=True) as db:
                db.execute(
                    "UPDATE khronika_events SET state = convert_to(replace("
                    "convert_from(state, 'UTF8'), 'para:1', 'para:2'), 'UTF8') "
                    "WHERE notification_id = %s", [last],
                )  # fmt: skip
        else:
            with sqlite3.connect(location) as db:
                db.execute(
                    "UPDATE stored_events SET state = CAST(replace(CAST(state AS "
                    "TEXT), 'para:1', 'para:2') AS BLOB) WHERE rowid = ?", [last],
                )  # fmt: skip
        app.rebuild_tree()
        attest.publish(app, attest.checkpoint(app))
    finally:
        app.close()


def _dump(location: str) -> list[Any]:
    app = Chronicle(location)
    try:
        return [(n.id, n.topic, n.state) for n in app.notifications()]
    finally:
        app.close()


def test_a_mirror_pointed_at_a_rewritten_log_stops_and_keeps_its_data(
    run: Run, store_path: str, serving: Callable[[], str], another_store: str,
    key_path: Path,
) -> None:  # fmt: skip
    assert run("demo").exit_code == 0
    source = "worldcrunch-kz-separatism"
    fact = {"id": "to-be-rewritten", "kind": "statement", "when": "2024-06",
            "summary": "Said something.",
            "sources": [{"source": source, "locator": "para:1"}]}  # fmt: skip
    assert run("append", "-", input=json.dumps(fact)).exit_code == 0
    assert run("checkpoint").exit_code == 0
    original = serving()
    pub = str(key_path.with_suffix(".pub"))
    followed = run("--store", another_store, "mirror", original, "--pubkey", pub)
    assert followed.exit_code == 0, followed.output
    before = _dump(another_store)
    _rewrite_last_event(store_path)
    refused = run("--store", another_store, "mirror", original, "--pubkey", pub)
    assert refused.exit_code == 1
    assert "is not consistent with this mirror's last checkpoint (size 118" in (
        refused.output
    )
    assert "the original was rewritten or shows a forked log" in refused.output
    assert _dump(another_store) == before


VERDICT = "serebryakova-verdict-2023"
SECRET = b"told the court she had only been joking"


def _raw_bytes(location: str) -> bytes:
    """Every byte a SQLite store keeps on disk: the file and its log (the
    PostgreSQL scrub is tested on the original, in tests/cli/test_redact.py)."""
    if location.startswith("postgresql://"):
        return b""
    return b"".join(
        Path(p).read_bytes() for p in (location, f"{location}-wal") if Path(p).exists()
    )


def test_a_mirror_and_a_witness_follow_a_redaction(
    run: Run, store_path: str, serving: Callable[[], str], another_store: str,
    key_path: Path, tmp_path: Path,
) -> None:  # fmt: skip
    """One field of one verdict redacted: the witness cosigns the checkpoint
    after it, for no leaf changed, and the mirror erases its copy of the
    value and keeps verifying."""
    assert run("demo").exit_code == 0
    wit.new_key(tmp_path / "w.key", "witness.example/w")
    app = Chronicle(store_path)
    origin, verifier = app.origin, cp.load_verifier(key_path.with_suffix(".pub"))
    app.close()
    witness = wit.Witness(wit.load_cosigner(tmp_path / "w.key"), {origin: verifier},
                          tmp_path / "w.db")  # fmt: skip
    with uvicorn_thread.served(witness_app(witness)) as witness_url:
        assert run("checkpoint", "--witness", witness_url).exit_code == 0
        original = serving()
        pub = str(key_path.with_suffix(".pub"))
        assert run("--store", another_store, "mirror", original, "--pubkey",
                   pub).exit_code == 0  # fmt: skip
        if not another_store.startswith("postgresql://"):
            assert SECRET in _raw_bytes(another_store)
        redacted = run("redact", VERDICT, "--field", "summary", "--reason",
                       "a court ordered it erased")  # fmt: skip
        assert redacted.exit_code == 0, redacted.output
        after = run("checkpoint", "--witness", witness_url, "--out", "after.txt")
        assert after.exit_code == 0, after.output  # cosigned: the log only grew
        assert "\n\u2014 witness.example/w " in Path("after.txt").read_text("utf-8")
    followed = run("--store", another_store, "mirror", original, "--pubkey", pub)
    assert followed.exit_code == 0, followed.output
    assert SECRET not in _raw_bytes(another_store)
    assert all(SECRET not in state for _, _, state in _dump(another_store))
    checked = run("--store", another_store, "verify")
    assert checked.exit_code == 0, checked.output
    fact = run("--store", another_store, "fact", VERDICT, "--format", "json")
    assert "[redacted on " in fact.stdout and "a court ordered it erased" in fact.stdout
