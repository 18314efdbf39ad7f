"""Import rate against raw SQLite inserts of the same encoded rows.

Opt-in. As a benchmark:  pytest tests/benchmarks --benchmarks
As a report (a table):   python tests/benchmarks/test_import_rate.py --facts 100000

Each phase runs in its own process, so its peak memory (VmHWM) is its own:
  gen     writes N generated facts as JSON Lines
  import  `khronika import` of that file into a fresh SQLite store
  raw     the same stored rows (topic, stream, version, msgspec state), read
          back from that store and inserted into a fresh SQLite file with
          sqlite3 executemany, the same batch size, one transaction a batch
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from workload import BATCH, generate, peak_rss_mib  # noqa: E402


def phase_import(jsonl: Path, store: Path, batch: int) -> dict[str, Any]:
    from khronika.store.app import Chronicle
    from khronika.store.importer import Importer, read_lines

    app = Chronicle(str(store), create=True)
    start_rss = peak_rss_mib()
    with jsonl.open("rb") as f:
        started = time.perf_counter()
        report = Importer(app, "bench", batch_size=batch).run(read_lines([("f", f)]))
        seconds = time.perf_counter() - started
    app.close()
    return {
        "seconds": seconds,
        "events": sum(report.added.values()),
        "rss_before": start_rss,
        "rss_peak": peak_rss_mib(),
    }


def phase_raw(store: Path, target: Path, batch: int) -> dict[str, Any]:
    source = sqlite3.connect(store)
    rows = source.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events"
        " ORDER BY rowid"
    ).fetchall()
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER,"
        " topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO stored_events VALUES (?,?,?,?)", rows[i : i + batch]
        )
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": len(rows), "rss_peak": peak_rss_mib()}


def run_phase(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(workdir: Path, facts: int, batch: int = BATCH) -> dict[str, Any]:
    jsonl, store, raw = workdir / "facts.jsonl", workdir / "k.db", workdir / "raw.db"
    generate(jsonl, facts)
    imported = run_phase("--phase", "import", str(jsonl), str(store), str(batch))
    baseline = run_phase("--phase", "raw", str(store), str(raw), str(batch))
    return {
        "facts": facts,
        "events": imported["events"],
        "khronika_per_s": imported["events"] / imported["seconds"],
        "raw_per_s": baseline["events"] / baseline["seconds"],
        "ratio": baseline["seconds"] / imported["seconds"],
        "import_peak_mib": imported["rss_peak"],
        "import_start_mib": imported["rss_before"],
        "raw_peak_mib": baseline["rss_peak"],
        "jsonl_mib": jsonl.stat().st_size / 2**20,
    }


@pytest.mark.parametrize("facts", [5000])
def test_import_is_complete_and_measured(
    facts: int, tmp_path: Path, benchmark: Any
) -> None:
    result = benchmark.pedantic(measure, args=(tmp_path, facts), rounds=1)
    benchmark.extra_info.update(result)
    assert result["events"] == facts + 502
    with sqlite3.connect(tmp_path / "raw.db") as raw:
        (count,) = raw.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    assert count == result["events"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--phase", nargs="+")
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        if name == "import":
            print(json.dumps(phase_import(Path(rest[0]), Path(rest[1]), int(rest[2]))))
        else:
            print(json.dumps(phase_raw(Path(rest[0]), Path(rest[1]), int(rest[2]))))
        return
    import tempfile

    print(
        "| facts | events | khronika events/s | raw sqlite3 events/s | ratio "
        "| import peak RSS | raw peak RSS | input |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.facts:
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(Path(tmp), n, args.batch)
        print(
            f"| {n:,} | {r['events']:,} | {r['khronika_per_s']:,.0f} "
            f"| {r['raw_per_s']:,.0f} | {r['ratio']:.0%} "
            f"| {r['import_peak_mib']:.0f} MiB (start {r['import_start_mib']:.0f}) "
            f"| {r['raw_peak_mib']:.0f} MiB | {r['jsonl_mib']:.0f} MiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
