"""checkpoint, prove, verify and verify-proof through the CLI."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from khronika.store.checkpoint import generate_key

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"


@pytest.fixture
def demo(run: Run, store_path: str) -> Run:
    assert run("init").exit_code == 0
    assert run("demo").exit_code == 0
    return run


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_init_makes_a_private_key_and_a_public_one(demo: Run, key_path: Path) -> None:
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert key_path.with_suffix(".pub").read_text().startswith("khronika/")


def test_the_key_is_named_by_the_checkpoint_origin(demo: Run, tmp_path: Path) -> None:
    """C2SP tlog-checkpoint: the log's key name is its origin."""
    note = ok(demo("checkpoint"))
    origin = note.split("\n", 1)[0]
    assert origin.startswith("khronika/")
    assert note.split("\n\n", 1)[1].startswith(f"\u2014 {origin} ")


def test_checkpoint_then_verify_against_it(demo: Run, tmp_path: Path) -> None:
    assert ok(demo("checkpoint", "--out", str(tmp_path / "cp.txt"))) == (
        f"checkpoint of 117 events written to {tmp_path / 'cp.txt'}\n"
    )
    assert ok(demo("verify", "--checkpoint", str(tmp_path / "cp.txt"))).startswith(
        "verified 117 events against 1 checkpoint(s)\n"
        "signatures: 117 events signed, all valid\n"
    )


def test_proofs_verify_offline_with_no_store(
    demo: Run, tmp_path: Path, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    ok(demo("checkpoint", "--out", str(old)))
    ok(demo("retract", "astakhov-verdict-2024", "--reason", "test", "--source",
            f"{SOURCE}@para:4"))  # fmt: skip
    ok(demo("checkpoint", "--out", str(new)))
    ok(demo("prove", "astakhov-verdict-2024", "--checkpoint", str(new),
            "--out", str(tmp_path / "p.json")))  # fmt: skip
    ok(demo("prove", "--consistency", str(old), str(new), "--out",
            str(tmp_path / "c.json")))  # fmt: skip
    pub = str(key_path.with_suffix(".pub"))
    monkeypatch.setenv("KHRONIKA_STORE", str(tmp_path / "no-such-store.db"))
    out = ok(demo("verify-proof", str(tmp_path / "p.json"), "--checkpoint", str(new),
                  "--pubkey", pub))  # fmt: skip
    assert out.count("ok: the event at leaf") == 2  # recorded, then retracted
    out = ok(demo("verify-proof", str(tmp_path / "c.json"), "--checkpoint", str(old),
                  "--checkpoint", str(new), "--pubkey", pub))  # fmt: skip
    assert out == "ok: the log of size 117 is a prefix of the log of size 118\n"
    assert not (tmp_path / "no-such-store.db").exists()


def test_a_doctored_proof_fails_offline(
    demo: Run, tmp_path: Path, key_path: Path
) -> None:
    head = tmp_path / "cp.txt"
    ok(demo("checkpoint", "--out", str(head)))
    ok(demo("prove", "serebryakova-verdict-2023", "--checkpoint", str(head),
            "--out", str(tmp_path / "p.json")))  # fmt: skip
    proofs = json.loads((tmp_path / "p.json").read_text())
    proofs[0]["event"]["state"] = proofs[0]["event"]["state"].replace("A", "B", 1)
    (tmp_path / "p.json").write_text(json.dumps(proofs))
    result = demo("verify-proof", str(tmp_path / "p.json"), "--checkpoint", str(head),
                  "--pubkey", str(key_path.with_suffix(".pub")))  # fmt: skip
    assert result.exit_code == 1
    assert "is NOT in the log of the checkpoint (size 117)" in result.output


def test_a_checkpoint_signed_by_another_key_is_refused(
    demo: Run, tmp_path: Path, run: Run
) -> None:
    head = tmp_path / "cp.txt"
    ok(demo("checkpoint", "--out", str(head)))
    generate_key(tmp_path / "other.key", "someone-else")
    result = run("verify", "--checkpoint", str(head), "--pubkey",
                 str(tmp_path / "other.pub"))  # fmt: skip
    assert result.exit_code == 1
    assert "key id" in result.output


@pytest.mark.sqlite_only
def test_verify_names_the_broken_event_and_exits_1(demo: Run, store_path: str) -> None:
    with sqlite3.connect(store_path) as db:
        db.execute("DELETE FROM stored_events WHERE rowid = 12")
    result = demo("verify")
    assert result.exit_code == 1
    assert result.output == (
        "Error: event at position 12: the tree's leaf 11 is the event at "
        "position 12, but the log has position 13 there: an event is missing "
        "or was moved\n"
    )


def test_prove_needs_a_target_and_a_checkpoint(demo: Run) -> None:
    result = demo("prove", "serebryakova-verdict-2023")
    assert result.exit_code == 2
    assert "give FACT (or POSITION) and --checkpoint" in result.output


def test_checkpoints_of_the_same_size_and_root_are_consistent_by_an_empty_proof(
    demo: Run, tmp_path: Path, key_path: Path
) -> None:
    """RFC 9162 §2.1.4: a tree is consistent with itself; the proof is empty."""
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    ok(demo("checkpoint", "--out", str(old)))
    ok(demo("checkpoint", "--out", str(new)))  # a later note, the same tree
    ok(demo("prove", "--consistency", str(old), str(new), "--out",
            str(tmp_path / "c.json")))  # fmt: skip
    proof = json.loads((tmp_path / "c.json").read_text())
    assert (proof["old_size"], proof["new_size"], proof["path"]) == (117, 117, [])
    assert proof["old_root"] == proof["new_root"]
    out = ok(demo("verify-proof", str(tmp_path / "c.json"), "--checkpoint", str(old),
                  "--checkpoint", str(new), "--pubkey",
                  str(key_path.with_suffix(".pub"))))  # fmt: skip
    assert out == "ok: the log of size 117 is a prefix of the log of size 117\n"
