"""Import rate against raw inserts of the same encoded rows: SQLite, PostgreSQL.

Opt-in. As a benchmark:  pytest tests/benchmarks --benchmarks
As a report (a table):   python tests/benchmarks/test_import_rate.py --facts 100000
  with PostgreSQL too:   ... --postgres postgresql://postgres@127.0.0.1:PORT/bench
                         ... --start-postgres   (a throwaway server, see pgserver.py)

Each phase runs in its own process, so its peak memory (VmHWM) is its own:
  gen          writes N generated facts as JSON Lines
  import       the importer (khronika.store.importer) run in-process on that
               file into a fresh SQLite store; then, timed apart, the views
               caught up after it in the same process (what `khronika import`
               did before its views followed it in a process of their own)
  cli          the whole `khronika import` process on the same file, into a
               fresh store made by `khronika init` (not timed), wall clock,
               its views following it (projections/follower.py) and current
               at its end
Each size runs --rounds rounds of import, raw and cli, alternated on fresh
stores; each ratio is that of its median round.
  raw          the same stored rows (topic, stream, version, msgspec state), read
               back from that store and inserted into a fresh SQLite file with
               sqlite3 executemany, the same batch size, one transaction a batch
With PostgreSQL (each size in a fresh database made beside the one the URL
names, dropped afterwards, so the URL's user must be allowed to CREATE DATABASE):
  pg-import    the same file imported into `Chronicle(url, create=True)`
  pg-raw many  the rows khronika stored (khronika_events, in notification_id
               order) inserted into a fresh table of the same shape with
               psycopg 3 `executemany`, a transaction per batch
  pg-raw copy  the same with `COPY ... FROM STDIN (FORMAT BINARY)`
               (`cursor.copy`, `write_row`), a transaction per batch
The peak memory of the PostgreSQL phases is the client's; the server's is not
counted.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from workload import BATCH, generate, peak_rss_mib, run_phase, signed_store  # noqa: E402

PG_COLUMNS = "originator_id, originator_version, topic, state"
PG_TABLES = {"many": "raw_executemany", "copy": "raw_copy"}


def phase_import(jsonl: Path, location: str, batch: int) -> dict[str, Any]:
    """Import into a fresh store at a SQLite path or a PostgreSQL URL."""
    from khronika.cli.write import views_current
    from khronika.store.importer import Importer, read_lines

    app = signed_store(location)
    start_rss = peak_rss_mib()
    with jsonl.open("rb") as f:
        started = time.perf_counter()
        report = Importer(app, "bench", batch_size=batch).run(read_lines([("f", f)]))
        seconds = time.perf_counter() - started
    rss_peak = peak_rss_mib()
    started = time.perf_counter()
    views_current(app)  # what `khronika import` did before its views followed it
    views_seconds = time.perf_counter() - started
    app.close()
    return {
        "seconds": seconds,
        "views_seconds": views_seconds,
        "events": sum(report.added.values()),
        "rss_before": start_rss,
        "rss_peak": rss_peak,
    }


def phase_cli(jsonl: Path, store: Path, batch: int) -> dict[str, Any]:
    """`khronika import` as a user runs it, in a process of its own."""
    import os
    import subprocess
    import tempfile

    khronika = Path(sys.executable).with_name("khronika")
    env = os.environ | {"HOME": tempfile.mkdtemp(prefix="khronika-bench-home-"),
                        "KHRONIKA_USER": "bench"}  # fmt: skip
    run = [str(khronika), "--store", str(store)]
    subprocess.run([*run, "init"], env=env, check=True, capture_output=True)
    before = _events_in(store)
    started = time.perf_counter()
    subprocess.run([*run, "import", "--batch-size", str(batch), str(jsonl)],
                   env=env, check=True, capture_output=True)  # fmt: skip
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": _events_in(store) - before}


def _events_in(store: Path) -> int:
    with sqlite3.connect(store) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    return int(count)


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


def phase_pg_raw(url: str, how: str, batch: int) -> dict[str, Any]:
    """khronika's stored rows, inserted into a fresh table by `executemany`/COPY."""
    import psycopg

    table = PG_TABLES[how]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT {PG_COLUMNS} FROM khronika_events ORDER BY notification_id"
        ).fetchall()
        conn.execute(
            f"CREATE TABLE {table} (originator_id uuid NOT NULL,"
            " originator_version bigint NOT NULL, topic text, state bytea,"
            " notification_id bigserial,"
            " PRIMARY KEY (originator_id, originator_version))"
        )  # khronika_events' shape, and its unique index on notification_id:
        conn.execute(f"CREATE UNIQUE INDEX {table}_nid ON {table} (notification_id)")
        cursor = conn.cursor()
        insert = f"INSERT INTO {table} ({PG_COLUMNS}) VALUES (%s, %s, %s, %s)"
        copy = f"COPY {table} ({PG_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        started = time.perf_counter()
        for i in range(0, len(rows), batch):
            with conn.transaction():
                if how == "many":
                    cursor.executemany(insert, rows[i : i + batch])
                    continue
                with cursor.copy(copy) as out:
                    out.set_types(["uuid", "int8", "text", "bytea"])
                    for row in rows[i : i + batch]:
                        out.write_row(row)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": len(rows), "rss_peak": peak_rss_mib()}


def measure(
    workdir: Path,
    facts: int,
    batch: int = BATCH,
    postgres: str | None = None,
    rounds: int = 1,
) -> dict[str, Any]:
    """SQLite, and with a server URL PostgreSQL too, in a fresh database.

    Each round runs the importer, raw inserts of its rows and the CLI on
    fresh stores, one after the other; ratios are the median round's.
    A PostgreSQL failure is kept as `postgres["error"]`, so SQLite still reports.
    """
    jsonl = workdir / "facts.jsonl"
    generate(jsonl, facts)
    runs = []
    for n in range(rounds):
        store, raw, cli_store = (
            workdir / f"{name}{n}.db" for name in ("k", "raw", "cli")
        )
        imported = run_phase(
            __file__, "--phase", "import", str(jsonl), str(store), str(batch)
        )
        baseline = run_phase(
            __file__, "--phase", "raw", str(store), str(raw), str(batch)
        )
        cli = run_phase(
            __file__, "--phase", "cli", str(jsonl), str(cli_store), str(batch)
        )
        runs.append((imported, baseline, cli))
    ratios = sorted(runs, key=lambda r: r[1]["seconds"] / r[0]["seconds"])
    imported, baseline, _ = ratios[len(ratios) // 2]
    by_cli = sorted(runs, key=lambda r: r[2]["seconds"] / r[0]["seconds"])
    cli_import, _, cli = by_cli[len(by_cli) // 2]
    result = {
        "facts": facts,
        "rounds": rounds,
        "events": imported["events"],
        "cli_events": cli["events"],
        "khronika_per_s": imported["events"] / imported["seconds"],
        "cli_per_s": cli["events"] / cli["seconds"],
        "cli_over_importer": cli["seconds"] / cli_import["seconds"],
        "views_after": cli_import["views_seconds"] / cli_import["seconds"],
        "raw_per_s": baseline["events"] / baseline["seconds"],
        "ratio": baseline["seconds"] / imported["seconds"],
        "import_peak_mib": imported["rss_peak"],
        "import_start_mib": imported["rss_before"],
        "raw_peak_mib": baseline["rss_peak"],
        "jsonl_mib": jsonl.stat().st_size / 2**20,
    }
    if postgres is not None:
        from pgserver import fresh_database

        try:
            with fresh_database(postgres) as database:
                result["postgres"] = measure_postgres(jsonl, database, batch)
        except Exception as e:  # reported, not hidden: PostgreSQL is optional here
            result["postgres"] = {"error": f"{type(e).__name__}: {e}"}
    return result


def measure_postgres(jsonl: Path, database: str, batch: int = BATCH) -> dict[str, Any]:
    """Import into the (empty) `database`, then both raw baselines beside it."""
    imported = run_phase(
        __file__, "--phase", "import", str(jsonl), database, str(batch)
    )
    many = run_phase(__file__, "--phase", "pg-raw", database, "many", str(batch))
    copy = run_phase(__file__, "--phase", "pg-raw", database, "copy", str(batch))
    rate = imported["events"] / imported["seconds"]
    return {
        "events": imported["events"],
        "khronika_per_s": rate,
        "executemany_per_s": many["events"] / many["seconds"],
        "copy_per_s": copy["events"] / copy["seconds"],
        "executemany_ratio": many["seconds"] / imported["seconds"],
        "copy_ratio": copy["seconds"] / imported["seconds"],
        "import_peak_mib": imported["rss_peak"],
        "import_start_mib": imported["rss_before"],
        "raw_peak_mib": max(many["rss_peak"], copy["rss_peak"]),
    }


@pytest.mark.parametrize("facts", [5000])
def test_import_is_complete_and_measured(
    facts: int, tmp_path: Path, benchmark: Any
) -> None:
    result = benchmark.pedantic(measure, args=(tmp_path, facts), rounds=1)
    benchmark.extra_info.update(result)
    assert result["events"] == result["cli_events"] == facts + 502
    # the raw copy holds every stored row: the imported events and the one
    # that registered the importing maintainer
    assert _events_in(tmp_path / "raw0.db") == _events_in(tmp_path / "k0.db")
    assert _events_in(tmp_path / "k0.db") == result["events"] + 1


@pytest.mark.postgres
@pytest.mark.parametrize("facts", [3000])
def test_postgres_import_is_complete_and_measured(
    facts: int, tmp_path: Path, benchmark: Any, postgres_db: str
) -> None:
    import psycopg

    jsonl = tmp_path / "facts.jsonl"
    generate(jsonl, facts)
    result = benchmark.pedantic(measure_postgres, args=(jsonl, postgres_db), rounds=1)
    benchmark.extra_info.update(result)
    assert result["events"] == facts + 502
    with psycopg.connect(postgres_db) as conn:
        for table in ("khronika_events", *PG_TABLES.values()):
            row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            # the imported events, and the one registering the maintainer
            assert row is not None and row[0] == result["events"] + 1, table


def postgres_rows(r: dict[str, Any]) -> str:
    """The PostgreSQL table's row for one measurement, or the error it met."""
    pg = r["postgres"]
    if "error" in pg:
        return f"| {r['facts']:,} | failed: {' '.join(pg['error'].split())[:400]} |"
    return (
        f"| {r['facts']:,} | {pg['events']:,} | {pg['khronika_per_s']:,.0f} "
        f"| {pg['executemany_per_s']:,.0f} | {pg['executemany_ratio']:.0%} "
        f"| {pg['copy_per_s']:,.0f} | {pg['copy_ratio']:.0%} "
        f"| {pg['import_peak_mib']:.0f} MiB (start {pg['import_start_mib']:.0f}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--rounds", type=int, default=3, help="alternated; the median")
    parser.add_argument("--postgres", metavar="URL", help="also on this server")
    parser.add_argument(
        "--start-postgres", action="store_true", help="also on a throwaway server"
    )
    parser.add_argument("--phase", nargs="+")
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        if name == "import":
            result = phase_import(Path(rest[0]), rest[1], int(rest[2]))
        elif name == "cli":
            result = phase_cli(Path(rest[0]), Path(rest[1]), int(rest[2]))
        elif name == "pg-raw":
            result = phase_pg_raw(rest[0], rest[1], int(rest[2]))
        else:
            result = phase_raw(Path(rest[0]), Path(rest[1]), int(rest[2]))
        print(json.dumps(result))
        return
    import tempfile

    from pgserver import server

    running: AbstractContextManager[str | None] = (
        server() if args.start_postgres else nullcontext(args.postgres)
    )
    results = []
    with running as postgres:
        print(
            "| facts | events | khronika events/s | raw sqlite3 events/s | ratio "
            "| `khronika import` events/s | process / importer "
            "| views caught up after, / importer "
            "| import peak RSS | raw peak RSS | input |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.facts:
            with tempfile.TemporaryDirectory() as tmp:
                r = measure(Path(tmp), n, args.batch, postgres, args.rounds)
            results.append(r)
            print(
                f"| {n:,} | {r['events']:,} | {r['khronika_per_s']:,.0f} "
                f"| {r['raw_per_s']:,.0f} | {r['ratio']:.0%} "
                f"| {r['cli_per_s']:,.0f} | {r['cli_over_importer']:.2f}× "
                f"| {r['views_after']:.2f}× "
                f"| {r['import_peak_mib']:.0f} MiB (start {r['import_start_mib']:.0f}) "
                f"| {r['raw_peak_mib']:.0f} MiB | {r['jsonl_mib']:.0f} MiB |",
                flush=True,
            )
    if postgres is not None:
        print(
            "\nPostgreSQL:\n\n| facts | events | khronika events/s "
            "| executemany events/s | ratio | COPY events/s | ratio "
            "| import peak RSS (client) |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
        )
        for r in results:
            print(postgres_rows(r))


if __name__ == "__main__":
    main()
