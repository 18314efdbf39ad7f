"""The README's benchmark table: every benchmark script's measurements, one size.

    python tests/benchmarks/report.py --facts 100000
    python tests/benchmarks/report.py --facts 100000 --postgres URL
    python tests/benchmarks/report.py --facts 100000 --start-postgres

Runs the measurements of test_import_rate.py (SQLite, and PostgreSQL with a
server), test_encoding.py (the very events the import stores),
test_views.py (rebuild and queries), test_trace_latency.py (trace, on the
store test_views built), test_audit.py (tree, verify, checkpoint),
test_export.py (a release against the sqlite3 shell's dump) and
test_under_load.py (the service against Datasette, on test_views' store),
each as its own script does, then prints the tables. Every ratio is
khronika's rate over its baseline's, both measured in this run; progress
goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import test_audit  # noqa: E402
import test_encoding  # noqa: E402
import test_export  # noqa: E402
import test_import_rate  # noqa: E402
import test_trace_latency  # noqa: E402
import test_under_load  # noqa: E402
import test_views  # noqa: E402
from pgserver import server  # noqa: E402
from workload import BATCH  # noqa: E402

HEADER_LINES = 502  # the source, the law and the 500 people before the facts


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def measure(
    facts: int, samples: int, rounds: int, postgres: str | None
) -> dict[str, Any]:
    results: dict[str, Any] = {"facts": facts}
    steps: list[tuple[str, Callable[[Path], dict[str, Any]]]] = [
        (
            "import",
            lambda tmp: test_import_rate.measure(tmp, facts, BATCH, postgres, rounds),
        ),
        (
            "encoding",
            lambda tmp: test_encoding.measure(tmp, facts + HEADER_LINES, rounds),
        ),
        ("views", lambda tmp: views_and_trace(tmp, facts, samples)),
        ("audit", lambda tmp: test_audit.measure(tmp, facts)),
    ]
    for name, step in steps:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            results[name] = step(Path(tmp))
        note(f"{name}: {time.perf_counter() - started:.0f} s")
    return results


def views_and_trace(workdir: Path, facts: int, samples: int) -> dict[str, Any]:
    views = test_views.measure(workdir, facts, samples)
    views["queries"] |= test_trace_latency.measure_store(
        workdir / "k.db", facts, samples
    )
    views["export"] = test_export.measure(workdir, facts, workdir / "k.db")
    views["service"] = test_under_load.measure(workdir, facts, workdir / "k.db")
    return views


def ratio(khronika: float, baseline: float) -> str:
    return f"{khronika / baseline:.0%}"


def table(r: dict[str, Any]) -> list[str]:
    imp, enc, views, audit = r["import"], r["encoding"], r["views"], r["audit"]
    rows = [
        f"| measure ({r['facts']:,} facts, {imp['events']:,} events) "
        "| khronika | baseline | khronika / baseline |",
        "|---|---:|---:|---:|",
        f"| import, SQLite (events/s) | {imp['khronika_per_s']:,.0f} "
        f"| {imp['raw_per_s']:,.0f} (sqlite3 executemany) "
        f"| {ratio(imp['khronika_per_s'], imp['raw_per_s'])} |",
        f"| import, SQLite, the whole `khronika import` process (events/s) "
        f"| {imp['cli_per_s']:,.0f} | {imp['raw_per_s']:,.0f} "
        f"| {ratio(imp['cli_per_s'], imp['raw_per_s'])} |",
        f"| `khronika import` process against the importer alone (time) "
        f"| {imp['cli_over_importer']:.2f}× | goal ≤ 1.20× "
        f"| the views caught up after the import instead: "
        f"{1 + imp['views_after']:.2f}× |",
    ]
    pg = imp.get("postgres")
    if pg is not None and "error" in pg:
        error = " ".join(pg["error"].split()).replace("|", "\\|")[:600]
        rows.append(f"| import, PostgreSQL | failed: {error} | | |")
    elif pg is not None:
        rows += [
            f"| import, PostgreSQL (events/s) | {pg['khronika_per_s']:,.0f} "
            f"| {pg['executemany_per_s']:,.0f} (psycopg executemany) "
            f"| {ratio(pg['khronika_per_s'], pg['executemany_per_s'])} |",
            f"| import, PostgreSQL (events/s) | {pg['khronika_per_s']:,.0f} "
            f"| {pg['copy_per_s']:,.0f} (COPY, binary) "
            f"| {ratio(pg['khronika_per_s'], pg['copy_per_s'])} |",
        ]
    rows += [
        f"| encode (events/s) | {enc['msgspec_encode_per_s']:,.0f} (msgspec) "
        f"| {enc['json_encode_per_s']:,.0f} (JSON transcoder) "
        f"| {enc['encode_ratio']:.0%} |",
        f"| decode (events/s) | {enc['msgspec_decode_per_s']:,.0f} (msgspec) "
        f"| {enc['json_decode_per_s']:,.0f} (JSON transcoder) "
        f"| {enc['decode_ratio']:.0%} |",
        f"| stored state (bytes/event) | {enc['msgspec_bytes'] / enc['events']:,.0f} "
        f"| {enc['json_bytes'] / enc['events']:,.0f} | {enc['size_ratio']:.0%} |",
    ]
    b, raw, out = views["rebuild"], views["raw"], views["export"]
    rebuild, by_hand = b["events"] / b["seconds"], raw["events"] / raw["seconds"]
    rows.append(
        f"| view rebuild ({b['events']:,} events, events/s) | {rebuild:,.0f} "
        f"| {by_hand:,.0f} (same work by hand) | {ratio(rebuild, by_hand)} |"
    )
    for name, q in views["queries"].items():
        rows.append(
            f"| query: {name} (median / p95) "
            f"| {q['median_ms']:.1f} ms / {q['p95_ms']:.1f} ms | | |"
        )
    rows += [
        f"| tree build (hashes/s) | {audit['tree_per_s']:,.0f} "
        f"| {audit['raw_per_s']:,.0f} (hashlib) "
        f"| {ratio(audit['tree_per_s'], audit['raw_per_s'])} |",
        f"| verify, one process (hashes/s) | {audit['verify_alone_per_s']:,.0f} "
        f"| {audit['raw_per_s']:,.0f} (hashlib) "
        f"| {ratio(audit['verify_alone_per_s'], audit['raw_per_s'])} |",
        f"| verify, a process per core (hashes/s) | {audit['verify_per_s']:,.0f} "
        f"| {audit['raw_per_s']:,.0f} (hashlib) "
        f"| {ratio(audit['verify_per_s'], audit['raw_per_s'])} |",
        f"| checkpoint | {audit['checkpoint_ms']:.1f} ms | | |",
        f"| export, bundle (facts/s) | {out['bundle_per_s']:,.0f} "
        f"| {out['sqlite3_per_s']:,.0f} (sqlite3 shell, same documents) "
        f"| {ratio(out['bundle_per_s'], out['sqlite3_per_s'])} |",
        f"| export, whole release with --events (facts/s) "
        f"| {out['full_per_s']:,.0f} | | |",
        f"| peak RSS, import SQLite | {imp['import_peak_mib']:.0f} MiB "
        f"(start {imp['import_start_mib']:.0f}) "
        f"| {imp['raw_peak_mib']:.0f} MiB (sqlite3) | |",
    ]
    if pg is not None and "error" not in pg:
        rows.append(
            f"| peak RSS, import PostgreSQL (client) | {pg['import_peak_mib']:.0f} MiB "
            f"(start {pg['import_start_mib']:.0f}) "
            f"| {pg['raw_peak_mib']:.0f} MiB (psycopg) | |"
        )
    rows.append(
        f"| peak RSS, view rebuild | {b['rss_peak']:.0f} MiB "
        f"(start {b['rss_before']:.0f}) "
        f"| {raw['rss_peak']:.0f} MiB (same work by hand) | |"
    )
    full = out["full"]
    rows.append(
        f"| peak RSS, whole release | {full['rss_peak']:.0f} MiB "
        f"(start {full['rss_before']:.0f}) | | |"
    )
    return rows + ["", *test_under_load.table(views["service"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200, help="query samples")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of import and of encoding"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", metavar="URL", help="also import on this server")
    where.add_argument(
        "--start-postgres", action="store_true", help="... on a throwaway server"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    running: AbstractContextManager[str | None] = (
        server() if args.start_postgres else nullcontext(args.postgres)
    )
    with running as postgres:
        results = measure(args.facts, args.samples, args.rounds, postgres)
    print("\n".join(table(results)))
    note(f"total: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
