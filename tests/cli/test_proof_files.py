"""verify-proof with no store: proofs bound to their origin, malformed files refused."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import Result

from khronika.store import checkpoint as cp
from khronika.store import merkle
from khronika.store.ledger import canonical

pytestmark = pytest.mark.sqlite_only  # no store is opened: one run is enough
Run = Callable[..., Result]
ORIGIN = "khronika/2fce5f5e-688e-4460-8ab5-90599285c344"
ID = UUID("6ccaac98-14da-539d-a682-27949f126906")
EVENTS = [("khronika.domain.events:FactRecorded", ID, v, b"{}") for v in (1, 2, 3)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def tree() -> merkle.DictStore:
    store = merkle.DictStore()
    store.extend([merkle.leaf_hash(canonical(*e)) for e in EVENTS])
    return store


@pytest.fixture
def signed(tmp_path: Path, tree: merkle.DictStore) -> dict[int, Path]:
    """Checkpoints of sizes 2 and 3 signed under ORIGIN, and the .pub beside them."""
    cp.generate_key(tmp_path / "k.key", ORIGIN)
    signer = cp.load_signer(tmp_path / "k.key")
    paths = {}
    for size in (2, 3):
        head = cp.Checkpoint(ORIGIN, size, merkle.root(size, tree.get),
                             datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
        paths[size] = tmp_path / f"cp{size}.txt"
        paths[size].write_text(cp.sign(head, signer))
    return paths


def inclusion(tree: merkle.DictStore, index: int = 1) -> dict[str, Any]:
    topic, originator, version, state = EVENTS[index]
    return {
        "type": "inclusion", "origin": ORIGIN, "tree_size": 3,
        "root": b64(merkle.root(3, tree.get)), "leaf_index": index,
        "event": {"position": index + 1, "topic": topic,
                  "originator_id": str(originator), "originator_version": version,
                  "state": b64(state)},
        "path": [b64(h) for h in merkle.inclusion_proof(index, 3, tree.get)],
    }  # fmt: skip


def check(run: Run, tmp_path: Path, proof: Any, *sizes: int) -> Result:
    path = tmp_path / "proof.json"
    path.write_text(proof if isinstance(proof, str) else json.dumps(proof))
    heads = [a for s in sizes or (3,) for a in ("--checkpoint", f"cp{s}.txt")]
    return run("verify-proof", str(path), *heads, "--pubkey", "k.pub")


def test_a_good_inclusion_proof_verifies(
    run: Run, tmp_path: Path, tree: merkle.DictStore, signed: dict[int, Path]
) -> None:
    result = check(run, tmp_path, [inclusion(tree)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"ok: the event at leaf 1, version 2 of {ID} is in the log of size 3 "
        f"signed by {ORIGIN}\n"
    )


def test_an_inclusion_proof_does_not_vouch_for_its_unchecked_position(
    run: Run, tmp_path: Path, tree: merkle.DictStore, signed: dict[int, Path]
) -> None:
    """The log position is not in the leaf hash, so the proof may say any."""
    proof = inclusion(tree)
    proof["event"]["position"] = 987654
    result = check(run, tmp_path, [proof])
    assert result.exit_code == 0, result.output
    assert "987654" not in result.output and "position" not in result.output


def test_a_proof_for_another_origin_is_refused(
    run: Run, tmp_path: Path, tree: merkle.DictStore, signed: dict[int, Path]
) -> None:
    proof = inclusion(tree) | {"origin": "khronika/another-store"}
    result = check(run, tmp_path, proof)
    assert result.exit_code == 1
    assert result.output == (
        "Error: the proof is for the log khronika/another-store, but the "
        f"checkpoint of size 3 is of {ORIGIN}\n"
    )


def test_an_inclusion_proof_must_carry_the_checkpoints_root(
    run: Run, tmp_path: Path, tree: merkle.DictStore, signed: dict[int, Path]
) -> None:
    result = check(run, tmp_path, inclusion(tree) | {"root": b64(bytes(32))})
    assert result.exit_code == 1
    assert "is not the root signed in the checkpoint" in result.output


@pytest.mark.parametrize("text", ["[]", ""])
def test_an_empty_proof_file_is_an_error(
    run: Run, tmp_path: Path, signed: dict[int, Path], text: str
) -> None:
    result = check(run, tmp_path, text)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert result.output.count("\n") == 1
    if text == "[]":
        assert result.output.endswith("proof.json: the file holds no proofs\n")


def test_a_consistency_proof_of_equal_sizes_needs_the_signed_root(
    run: Run, tmp_path: Path, signed: dict[int, Path]
) -> None:
    bogus = {"type": "consistency", "origin": ORIGIN, "old_size": 3,
             "old_root": b64(b"\x01" * 32), "new_size": 3,
             "new_root": b64(b"\x02" * 32), "path": []}  # fmt: skip
    result = check(run, tmp_path, bogus)
    assert result.exit_code == 1
    assert "is not the root signed in the checkpoint of that size" in result.output


def test_a_consistency_proof_for_another_origin_is_refused(
    run: Run, tmp_path: Path, tree: merkle.DictStore, signed: dict[int, Path]
) -> None:
    path = [b64(h) for h in merkle.consistency_proof(2, 3, tree.get)]
    proof = {"type": "consistency", "origin": "khronika/x",
             "old_size": 2, "old_root": b64(merkle.root(2, tree.get)),
             "new_size": 3, "new_root": b64(merkle.root(3, tree.get)),
             "path": path}  # fmt: skip
    assert check(run, tmp_path, proof | {"origin": ORIGIN}, 2, 3).exit_code == 0
    result = check(run, tmp_path, proof, 2, 3)
    assert result.exit_code == 1
    assert "the proof is for the log khronika/x" in result.output


def _event(**change: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda p: [p | {"event": p["event"] | change}]


MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "not JSON": (lambda p: "{not json", "not a JSON proof file"),
    "a number": (lambda p: 42, "not a khronika proof: Expected `object | array`"),
    "a list of strings": (lambda p: ["a", "b"], "not a khronika proof"),
    "missing key": (
        lambda p: [{k: v for k, v in p.items() if k != "leaf_index"}],
        "missing required field `leaf_index`",
    ),
    "bad base64 hash": (lambda p: [p | {"root": "@@@"}], "`$[0].root`"),
    "short hash": (lambda p: [p | {"path": [b64(b"x")]}], "`$[0].path[0]`"),
    "bad UUID": (_event(originator_id="not-a-uuid"), "Invalid UUID"),
    "negative version": (_event(originator_version=-1), "Expected `int` >= 1"),
    "huge version": (_event(originator_version=2**70),
                     "$[0].event.originator_version"),
    "unknown type": (lambda p: [p | {"type": "exclusion"}],
                     "Invalid value 'exclusion'"),
}  # fmt: skip


@pytest.mark.parametrize("case", MALFORMED.values(), ids=MALFORMED)
def test_a_malformed_proof_file_is_one_clear_line(
    run: Run,
    tmp_path: Path,
    tree: merkle.DictStore,
    signed: dict[int, Path],
    case: tuple[Callable[[dict[str, Any]], Any], str],
) -> None:
    change, message = case
    data = change(inclusion(tree))
    result = check(run, tmp_path, data if isinstance(data, str) else json.dumps(data))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert result.output.count("\n") == 1
    assert message in result.output


def test_non_utf8_proof_checkpoint_and_key_files_are_one_clear_line(
    run: Run, tmp_path: Path, tree: merkle.DictStore, signed: dict[int, Path]
) -> None:
    (tmp_path / "proof.json").write_bytes(b"\xff\xfe[")
    result = run("verify-proof", "proof.json", "--checkpoint", "cp3.txt",
                 "--pubkey", "k.pub")  # fmt: skip
    assert result.exit_code == 1 and result.output.count("\n") == 1
    (tmp_path / "proof.json").write_text(json.dumps(inclusion(tree)))
    (tmp_path / "bad.txt").write_bytes(b"\xff" * 10)
    result = run("verify-proof", "proof.json", "--checkpoint", "bad.txt",
                 "--pubkey", "k.pub")  # fmt: skip
    assert result.output == "Error: checkpoint bad.txt is not UTF-8 text\n"
    result = run("verify-proof", "proof.json", "--checkpoint", "cp3.txt",
                 "--pubkey", "bad.txt")  # fmt: skip
    assert result.output == "Error: verifier key bad.txt is not UTF-8 text\n"


def test_an_unreadable_checkpoint_is_one_clear_line(
    run: Run, tmp_path: Path, tree: merkle.DictStore, signed: dict[int, Path]
) -> None:
    (tmp_path / "proof.json").write_text(json.dumps(inclusion(tree)))
    signed[3].chmod(0)
    try:
        if signed[3].read_bytes() is not None:  # root reads anything
            pytest.skip("running as root: no file is unreadable")
    except PermissionError:
        pass
    result = run("verify-proof", "proof.json", "--checkpoint", "cp3.txt",
                 "--pubkey", "k.pub")  # fmt: skip
    assert result.output == "Error: cannot read checkpoint cp3.txt: Permission denied\n"


def _fifo(tmp_path: Path) -> str:
    os.mkfifo(tmp_path / "fifo")
    return "fifo"


def _huge(tmp_path: Path) -> str:
    with open(tmp_path / "huge", "wb") as f:
        f.truncate(100_000_001)  # sparse: larger than every cap, on no disk
    return "huge"


# a file named from outside, as each bad thing: (what, path) -> the message
BAD_FILES: dict[str, tuple[Callable[[Path], str], str]] = {
    "a device": (lambda _: "/dev/zero",
                 "{what} /dev/zero is a device, not a regular file"),
    "a FIFO": (_fifo, "{what} fifo is a FIFO, not a regular file"),
    "huge": (_huge,
             "{what} huge is larger than {cap} bytes, the most a {what} may be"),
}  # fmt: skip


@pytest.mark.parametrize("bad", BAD_FILES)
@pytest.mark.parametrize(
    ("what", "cap"),
    [("proof", "100,000,000"), ("checkpoint", "65,536"), ("verifier key", "65,536")],
)
def test_only_a_regular_file_within_its_cap_is_read(
    run: Run, tmp_path: Path, tree: merkle.DictStore, signed: dict[int, Path],
    bad: str, what: str, cap: str,
) -> None:  # fmt: skip
    (tmp_path / "proof.json").write_text(json.dumps(inclusion(tree)))
    make, message = BAD_FILES[bad]
    name = make(tmp_path)
    files = {"proof": "proof.json", "checkpoint": "cp3.txt", "verifier key": "k.pub"}
    files[what] = name
    result = run("verify-proof", files["proof"], "--checkpoint", files["checkpoint"],
                 "--pubkey", files["verifier key"])  # fmt: skip
    assert result.exit_code == 1
    assert result.output == f"Error: {message.format(what=what, cap=cap)}\n"
