"""The log served as C2SP tlog-tiles, checked by an outside client.

The outside client is Go's golang.org/x/mod/sumdb/tlog and sumdb/note
(Debian's golang-go and golang-golang-x-mod-dev): tests/interop/tlogcheck.go
verifies the checkpoint's signature, the root from the hash tiles, and every
entry of the entry bundles against its leaf, with an inclusion proof each.
Without Go these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from starlette.testclient import TestClient

from khronika.store import attest, merkle, tiles
from khronika.store import checkpoint as cp
from khronika.store.app import Chronicle
from khronika.store.ledger import leaf
from khronika.web.app import create_app

sys.path.insert(0, str(Path(__file__).parent))
import uvicorn_thread  # noqa: E402

Run = Callable[..., Result]
CHECK = Path(__file__).parents[1] / "interop" / "tlogcheck.go"
GOPATH = "/usr/share/gocode"  # Debian's golang-golang-x-mod-dev


@pytest.fixture
def served(demo: Run, store_path: str) -> Iterator[TestClient]:
    assert demo("checkpoint", "--out", "cp.txt").exit_code == 0
    with TestClient(create_app(store_path)) as client:
        yield client


def test_the_checkpoint_is_the_latest_signed_note(
    served: TestClient, key_path: Path
) -> None:
    answer = served.get("/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "max-age=5"
    verifier = cp.load_verifier(key_path.with_suffix(".pub"))
    assert cp.verify(answer.text, verifier).size == 117
    assert answer.text == Path("cp.txt").read_text("utf-8")


def test_tiles_hold_the_stored_tree(served: TestClient, store_path: str) -> None:
    app = Chronicle(store_path)
    try:
        size = app.store.tree_size()
        partial = served.get("/tile/0/000.p/117")
        assert partial.status_code == 200 and len(partial.content) == 117 * 32
        assert partial.headers["cache-control"] == "no-cache"
        leaves = tiles.split(partial.content)
        assert leaves == [app.store.node(0, i) for i in range(size)]
        assert merkle.root(size, app.store.node) == _root(leaves)
        narrower = served.get("/tile/0/000.p/7")  # an earlier checkpoint's
        assert narrower.content == partial.content[: 7 * 32]
    finally:
        app.close()


def _root(leaves: list[bytes]) -> bytes:
    frontier = merkle.Frontier()
    for hashed in leaves:
        frontier.add(hashed)
    return frontier.root()


@pytest.mark.parametrize(
    "path",
    ["/tile/0/000", "/tile/0/000.p/118", "/tile/1/000.p/1", "/tile/0/0",
     "/tile/0/x000/000.p/1", "/tile/entries/000.p/0", "/tile/64/000.p/1"],
)  # fmt: skip
def test_tiles_the_tree_does_not_have_are_not_found(
    served: TestClient, path: str
) -> None:
    answer = served.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_entry_bundles_hash_to_the_leaves(served: TestClient, store_path: str) -> None:
    answer = served.get("/tile/entries/000.p/117", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    entries = tiles.read_entry_bundle(answer.content)  # the client unzipped it
    assert len(entries) == 117
    app = Chronicle(store_path)
    try:
        stored = [n for page in app.pages() for n in page][:117]
        assert [merkle.leaf_hash(e) for e in entries] == [leaf(n) for n in stored]
    finally:
        app.close()
    assert answer.headers["content-encoding"] == "gzip"  # tlog-tiles: SHOULD
    events = served.get(f"/tile/{tiles.EVENTS}/000.p/117").content
    whole = tiles.read_events_bundle(events)
    assert [tiles.entry(e) for e in whole] == entries
    assert all(e.state == n.state for e, n in zip(whole, stored, strict=True))


def test_a_store_without_a_checkpoint_says_how_to_make_one(
    demo: Run, store_path: str
) -> None:
    with TestClient(create_app(store_path)) as client:
        answer = client.get("/checkpoint")
    assert answer.status_code == 404
    assert "khronika checkpoint" in answer.json()["detail"]


@pytest.fixture
def go() -> str:
    found = shutil.which("go")
    ready = found and (Path(GOPATH) / "src/golang.org/x/mod/sumdb/tlog").is_dir()
    if not ready:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Go and golang.org/x/mod are needed under CI", pytrace=False)
        pytest.skip("no Go toolchain with golang.org/x/mod here")
    assert found is not None
    return found


def test_go_sumdb_tlog_verifies_the_served_log(
    go: str, demo: Run, store_path: str, key_path: Path, tmp_path: Path
) -> None:
    assert demo("checkpoint").exit_code == 0
    env: dict[str, Any] = os.environ | {
        "GO111MODULE": "off", "GOPATH": GOPATH, "GOFLAGS": "",
        "GOCACHE": str(tmp_path / "gocache"), "HOME": str(tmp_path),
    }  # fmt: skip
    pub = key_path.with_suffix(".pub").read_text("utf-8").strip()
    with uvicorn_thread.served(create_app(store_path)) as url:
        checked = subprocess.run(
            [go, "run", str(CHECK), url, pub],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    app = Chronicle(store_path)
    try:
        note = attest.latest(app)
        assert note is not None
        head = cp.parse(note)
    finally:
        app.close()
    assert checked.stdout.split() == ["ok", str(head.size), _b64(head.root)]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
