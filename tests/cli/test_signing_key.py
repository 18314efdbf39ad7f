"""init never makes a new signing identity silently; `key rotate` does, on record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from khronika.store import checkpoint as cp

Run = Callable[..., Result]


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_init_on_a_store_whose_key_is_missing_refuses_and_says_what_to_do(
    run: Run, key_path: Path, store_path: str, make: type
) -> None:
    ok(run("init"))
    pub = key_path.with_suffix(".pub")
    key_path.unlink()
    pub.unlink()
    before = make.dump(store_path)  # type: ignore[attr-defined]
    result = run("init")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"Error: this store's signing key is missing: no {key_path} and {pub}. "
        "Restore the key files from your backup (or set KHRONIKA_KEY to where "
        "they are); to start a new signing identity on purpose, run `khronika "
        "key rotate --reason TEXT`, which records the change in the log\n"
    )
    assert not key_path.exists() and not pub.exists()
    assert make.dump(store_path) == before  # type: ignore[attr-defined]


def test_init_warns_when_the_private_key_is_readable_by_others(
    run: Run, key_path: Path
) -> None:
    ok(run("init"))
    assert "warning" not in run("init").stderr
    key_path.chmod(0o644)
    result = run("init")
    assert result.exit_code == 0
    assert result.stderr == (
        f"warning: the private key {key_path} is readable by group or others "
        f"(mode 644); run `chmod 600 {key_path}`\n"
    )
    assert "readable by group or others" in run("checkpoint").stderr


def test_key_rotate_makes_a_new_key_and_records_it_in_the_log(
    run: Run, key_path: Path, tmp_path: Path
) -> None:
    ok(run("init"))
    pub = key_path.with_suffix(".pub")
    ok(run("checkpoint", "--out", "before.txt"))
    old_pub = pub.read_text()
    out = ok(run("key", "rotate", "--reason", "the key may have leaked"))
    retired = sorted(tmp_path.glob("khronika.*.retired-*"))
    assert [p.name.split(".retired-")[0] for p in retired] == [
        "khronika.key", "khronika.pub"
    ]  # fmt: skip
    assert f"old key file kept as {retired[0]}" in out
    new_pub = pub.read_text()
    assert new_pub != old_pub
    log = ok(run("log", "--limit", "1"))
    assert "SigningKeyRotated" in log and "the key may have leaked" in log
    assert new_pub.strip() in log
    # the log, with its new event, verifies; old checkpoints with the old .pub
    ok(run("checkpoint", "--out", "after.txt"))
    assert ok(run("verify", "--checkpoint", "after.txt")).startswith("verified 2 ")
    retired_pub = next(p for p in retired if p.name.startswith("khronika.pub"))
    assert ok(run("verify", "--checkpoint", "before.txt",
                  "--pubkey", str(retired_pub)))  # fmt: skip
    note = (tmp_path / "after.txt").read_text()
    assert cp.verify(note, cp.load_verifier(pub)).size == 2  # admin, then the key
    ok(run("timeline"))  # the views pass over the event


def test_key_rotate_after_a_lost_key_records_no_previous_key(
    run: Run, key_path: Path
) -> None:
    ok(run("init"))
    key_path.unlink()
    key_path.with_suffix(".pub").unlink()
    ok(run("key", "rotate", "--reason", "the disk died"))
    assert key_path.exists()
    ok(run("init"))  # the store has its key again
    log = ok(run("log", "--format", "json"))
    assert '"previous": ""' in log


def test_key_rotate_needs_a_reason(run: Run, key_path: Path) -> None:
    ok(run("init"))
    before = key_path.read_bytes()
    result = run("key", "rotate", "--reason", "  ")
    assert result.exit_code == 1
    assert "reason: say why the key is rotated" in result.output
    assert key_path.read_bytes() == before


def test_a_key_copied_from_another_store_signs_no_checkpoint(
    run: Run, key_path: Path, tmp_path: Path
) -> None:
    ok(run("init"))
    other = "khronika/00000000-0000-4000-8000-000000000000"
    key_path.unlink()
    key_path.with_suffix(".pub").unlink()
    cp.generate_key(key_path, other)  # the other store's pair, copied here
    result = run("checkpoint", "--out", "cp.txt")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: the signing key {key_path} is {other}'s, not this store's (khronika/"
    )
    assert "its checkpoints would name another log" in result.stderr
    assert not (tmp_path / "cp.txt").exists()
