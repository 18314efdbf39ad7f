"""Witnesses cosign a growing log and refuse a forked one (C2SP tlog-witness)."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from starlette.testclient import TestClient

from khronika.store import attest, merkle
from khronika.store import checkpoint as cp
from khronika.store import witness as wit
from khronika.store.app import Chronicle
from khronika.web.witness import create_app

sys.path.insert(0, str(Path(__file__).parent))
import uvicorn_thread  # noqa: E402

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"


def _origin_and_key(store_path: str) -> tuple[str, cp.Verifier]:
    app = Chronicle(store_path)
    try:
        return app.origin, cp.load_verifier(attest.key_path(app).with_suffix(".pub"))
    finally:
        app.close()


@pytest.fixture
def witness(demo: Run, store_path: str, tmp_path: Path) -> Iterator[wit.Witness]:
    wit.new_key(tmp_path / "w1.key", "witness.example.org/w1")
    origin, key = _origin_and_key(store_path)
    yield wit.Witness(
        wit.load_cosigner(tmp_path / "w1.key"), {origin: key}, tmp_path / "w1.db"
    )


@pytest.fixture
def witness_url(witness: wit.Witness) -> Iterator[str]:
    with uvicorn_thread.served(create_app(witness)) as url:
        yield url


def _add_fact(run: Run, slug: str) -> None:
    fact = {"id": slug, "kind": "statement", "when": "2024-06",
            "summary": "A statement.",
            "sources": [{"source": SOURCE, "locator": "para:1"}]}  # fmt: skip
    assert run("append", "-", input=json.dumps(fact)).exit_code == 0


def test_a_witness_cosigns_a_growing_log_across_three_checkpoints(
    demo: Run, witness_url: str, witness: wit.Witness, tmp_path: Path, store_path: str
) -> None:
    pub = str(tmp_path / "w1.pub")
    sizes = []
    for n in range(3):
        if n:
            _add_fact(demo, f"witnessed-{n}")
        made = demo("checkpoint", "--witness", witness_url, "--out", f"cp{n}.txt")
        assert made.exit_code == 0, made.output
        note = Path(f"cp{n}.txt").read_text("utf-8")
        assert "\n\u2014 witness.example.org/w1 " in note
        sizes.append(cp.parse(note).size)
        checked = demo("verify", "--checkpoint", f"cp{n}.txt", "--witness-key", pub,
                       "--quorum", "1")  # fmt: skip
        assert checked.exit_code == 0, checked.output
        assert (
            f"cp{n}.txt: cosigned by witness.example.org/w1 (1 of 1; quorum 1 holds)"
            in checked.output
        )
    origin, _ = _origin_and_key(store_path)
    assert witness.latest(origin)[0] == sizes[-1] == sizes[0] + 2
    # the store serves its latest checkpoint, cosigned
    app = Chronicle(store_path)
    try:
        assert attest.latest(app) == Path("cp2.txt").read_text("utf-8")
    finally:
        app.close()
    proof = demo("prove", "--consistency", "cp0.txt", "cp2.txt", "--witness-key", pub)
    assert proof.exit_code == 0, proof.output


def _forked(store_path: str, size: int) -> str:
    """A checkpoint of the same size with another root, signed by the log's key:
    what a log that shows one history to some and another to others signs."""
    app = Chronicle(store_path)
    try:
        fork = cp.Checkpoint(app.origin, size, bytes(32), datetime.now(UTC))
        return cp.sign(fork, attest.signer(app))
    finally:
        app.close()


def test_a_forked_checkpoint_is_refused_and_fails_a_quorum_of_one(
    demo: Run, witness: wit.Witness, tmp_path: Path, store_path: str
) -> None:
    client = TestClient(create_app(witness))
    app = Chronicle(store_path)
    try:
        note = attest.checkpoint(app)
    finally:
        app.close()
    head = cp.parse(note)
    cosigned = client.post("/add-checkpoint",
                           content=wit.add_checkpoint_request(0, [], note))  # fmt: skip
    assert cosigned.status_code == 200
    assert cosigned.text.startswith("\u2014 witness.example.org/w1 ")
    fork = _forked(store_path, head.size)
    refused = client.post(
        "/add-checkpoint", content=wit.add_checkpoint_request(head.size, [], fork)
    )
    assert refused.status_code == 422
    assert "not consistent with the one of size" in refused.text
    Path("fork.txt").write_text(fork, encoding="utf-8")
    checked = demo("verify", "--checkpoint", "fork.txt", "--witness-key",
                   str(tmp_path / "w1.pub"), "--quorum", "1")  # fmt: skip
    assert checked.exit_code == 1
    assert "fork.txt is cosigned by 0 of 1 witnesses" in checked.output
    assert "the quorum is 1: it does not hold" in checked.output


def test_the_witness_answers_as_tlog_witness_says(
    demo: Run, witness: wit.Witness, store_path: str, tmp_path: Path
) -> None:
    client = TestClient(create_app(witness))
    app = Chronicle(store_path)
    try:
        small = attest.checkpoint(app, 5)
        large = attest.checkpoint(app)
        size = cp.parse(large).size
        proof = merkle.consistency_proof(5, size, app.store.node)
    finally:
        app.close()

    def post(old: int, lines: list[bytes], note: str) -> Any:
        body = wit.add_checkpoint_request(old, lines, note)
        return client.post("/add-checkpoint", content=body)

    assert post(0, [], small).status_code == 200
    stale = post(0, [], large)  # the witness saw size 5: a 409 says so
    assert (stale.status_code, stale.text) == (409, "5\n")
    assert stale.headers["content-type"].startswith("text/x.tlog.size")
    assert post(5, [bytes(32)], large).status_code == 422  # a bad proof
    assert post(5, proof, large).status_code == 200
    assert post(size + 1, [], large).status_code == 400  # old above the size
    other = tmp_path / "other.key"
    cp.generate_key(other, cp.parse(large).origin)
    forged = cp.sign(cp.parse(large), cp.load_signer(other))
    assert post(size, [], forged).status_code == 403  # not the log's key
    unknown = cp.sign(
        cp.Checkpoint("elsewhere/log", 1, bytes(32), datetime.now(UTC)),
        cp.load_signer(other, "elsewhere/log"),
    )
    assert post(0, [], unknown).status_code == 404
    assert client.post("/add-checkpoint", content=b"nonsense").status_code == 400


def test_a_cosignature_follows_tlog_cosignature(tmp_path: Path) -> None:
    """The signed message is "cosignature/v1", the time line and the body; the
    signature line carries the key id, a big-endian u64 time and the
    Ed25519 signature; the key id hashes the name, a newline, 0x04, the key."""
    vkey = wit.new_key(tmp_path / "w.key", "witness.example/w")
    cosigner = wit.load_cosigner(tmp_path / "w.key")
    body = (  # the spec's example checkpoint body
        "example.com/behind-the-sofa\n20852163\n"
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    line = wit.cosign(body, cosigner, timestamp=1679315147)
    name, encoded = line.removeprefix("\u2014 ").split()
    blob = base64.b64decode(encoded)
    assert name == "witness.example/w" and len(blob) == 4 + 8 + 64
    raw = base64.b64decode(str(vkey).split("+", 2)[2])  # base64 may hold "+"
    assert raw[0] == 4 and blob[:4] == cp.key_id(name, raw[1:], wit.COSIGNATURE)
    assert blob[4:12] == (1679315147).to_bytes(8, "big")
    message = f"cosignature/v1\ntime 1679315147\n{body}".encode()
    vkey.key.verify(blob[12:], message)  # raises if it does not hold
    note = body + "\n\u2014 example.com/behind-the-sofa AAAA\n" + line
    assert wit.cosigned_by(note, [vkey]) == [vkey]
    other = wit.new_key(tmp_path / "x.key", "witness.example/w")
    assert wit.cosigned_by(note, [other]) == []
