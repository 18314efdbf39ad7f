"""Merkle tree and verify rates, in hashes per second against raw hashlib.

Opt-in. As a benchmark:  pytest tests/benchmarks --benchmarks
As a report (a table):   python tests/benchmarks/test_audit.py --facts 100000

  raw         hashlib.sha256 over the same canonical event bytes (the leaves),
              then over each pair of them and up, level by level: every
              inner node of the stored tree, each hashed once, in memory; its
              root must be the stored tree's
  tree        building the stored tree from scratch, as inserts do
              (`rebuild_tree`: read events, hash, store every node)
  verify 1    `khronika verify` in one process: read every event, recompute
              every leaf and node, compare with the stored tree
  verify      the same with a process per core (this one and workers)
  checkpoint  one signed checkpoint (an O(log n) root and a signature)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from workload import generate, signed_store  # noqa: E402


def measure(workdir: Path, facts: int) -> dict[str, Any]:
    from khronika.store import attest, merkle
    from khronika.store.importer import Importer, read_lines
    from khronika.store.ledger import canonical
    from khronika.store.verify import verify

    jsonl, store = workdir / "facts.jsonl", workdir / "k.db"
    generate(jsonl, facts)
    app = signed_store(str(store))
    with jsonl.open("rb") as f:
        Importer(app, "bench").run(read_lines([("f", f)]))
    attest.ensure_key(app)
    events = app.store.tree_size()
    hashes = 2 * events - bin(events).count("1")  # the tree's nodes, leaves too
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()
    leaves = [canonical(t, UUID(i), v, s) for i, v, t, s in rows]
    sha256 = hashlib.sha256
    started = time.perf_counter()
    level = [sha256(b"\x00" + data).digest() for data in leaves]
    levels = [level]
    while len(level) > 1:
        pairs = iter(level)
        level = [
            sha256(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs, strict=False)
        ]
        levels.append(level)
    raw = time.perf_counter() - started
    assert sum(map(len, levels)) == hashes
    edge = [level[-1] for level in levels if len(level) & 1]  # perfect subtrees
    root = edge[0] if edge else merkle.EMPTY_ROOT
    for left in edge[1:]:
        root = merkle.node_hash(left, root)
    assert root == merkle.root(events, app.store.node), "raw hashed another tree"

    started = time.perf_counter()
    app.rebuild_tree()
    tree = time.perf_counter() - started

    started = time.perf_counter()
    findings = verify(app, processes=1)
    alone = time.perf_counter() - started
    assert findings == [], findings

    started = time.perf_counter()
    findings = verify(app)
    checked = time.perf_counter() - started
    assert findings == [], findings

    started = time.perf_counter()
    attest.checkpoint(app)
    signed = time.perf_counter() - started
    return {
        "facts": facts, "events": events, "hashes": hashes,
        "raw_per_s": hashes / raw, "tree_per_s": hashes / tree,
        "verify_alone_per_s": hashes / alone, "verify_per_s": hashes / checked,
        "checkpoint_ms": signed * 1000,
    }  # fmt: skip


@pytest.mark.parametrize("facts", [3000])
def test_tree_and_verify_rates_are_measured(
    facts: int, tmp_path: Path, benchmark: Any
) -> None:
    result = benchmark.pedantic(measure, args=(tmp_path, facts), rounds=1)
    benchmark.extra_info.update(result)
    # every event is a leaf: the facts, the catalogue (a source, a law, 500
    # people) and the importing maintainer's registration; measure() checks
    # that raw hashing reached the stored root and that verify found nothing
    assert result["events"] == facts + 502 + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, nargs="+", default=[100_000])
    args = parser.parse_args()
    print(
        "| facts | events | hashes | raw hashlib/s | tree build/s | ratio "
        "| verify 1 process/s | ratio "
        f"| verify {os.cpu_count()} processes/s | ratio | checkpoint |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.facts:
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(Path(tmp), n)
        print(f"| {n:,} | {r['events']:,} | {r['hashes']:,} | {r['raw_per_s']:,.0f} "
              f"| {r['tree_per_s']:,.0f} | {r['tree_per_s'] / r['raw_per_s']:.0%} "
              f"| {r['verify_alone_per_s']:,.0f} "
              f"| {r['verify_alone_per_s'] / r['raw_per_s']:.0%} "
              f"| {r['verify_per_s']:,.0f} | {r['verify_per_s'] / r['raw_per_s']:.0%} "
              f"| {r['checkpoint_ms']:.1f} ms |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
