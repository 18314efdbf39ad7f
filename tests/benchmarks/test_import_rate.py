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
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

BATCH = 1000
KINDS = ("statement", "verdict", "detention", "publication", "other")


def generate(path: Path, facts: int, seed: int = 1) -> None:
    """A bundle-like JSONL file: a source, a law, 500 people, N facts."""
    rng = random.Random(seed)
    people = [f"person-{i}" for i in range(500)]
    with path.open("w") as out:
        out.write(
            json.dumps(
                {
                    "type": "source",
                    "id": "src",
                    "title": "Generated",
                    "publisher": "Bench",
                    "url": "https://example.org/",
                    "published": "2024-06",
                    "language": "en",
                }
            )
            + "\n"
        )
        out.write(
            json.dumps(
                {
                    "type": "entity",
                    "id": "code",
                    "kind": "law",
                    "name": "Code",
                    "articles": [{"number": "180", "title": "Separatist activity"}],
                }
            )
            + "\n"
        )
        for slug in people:
            out.write(
                json.dumps(
                    {"type": "entity", "id": slug, "kind": "person", "name": slug}
                )
                + "\n"
            )
        for i in range(facts):
            kind = rng.choice(KINDS)
            year = rng.randint(1991, 2024)
            fact: dict[str, Any] = {
                "type": "fact",
                "id": f"fact-{i}",
                "kind": kind,
                "when": rng.choice(
                    [
                        f"{year}",
                        f"{year}-{rng.randint(1, 12):02d}",
                        f"{year}-2{rng.randint(1, 4)}",
                        f"{year}~",
                    ]
                ),
                "summary": f"Generated fact number {i} about {rng.choice(people)}.",
                "participants": [{"entity": rng.choice(people), "role": "subject"}],
                "sources": [{"source": "src", "locator": f"para:{rng.randint(1, 60)}"}],
            }
            if kind == "verdict":
                fact["participants"] = [
                    {"entity": rng.choice(people), "role": "defendant"}
                ]
                fact["details"] = {
                    "type": "verdict",
                    "charges": ["code:180"],
                    "sentences": [
                        {"type": "prison", "term_months": rng.randint(12, 120)}
                    ],
                }
            out.write(json.dumps(fact) + "\n")


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
