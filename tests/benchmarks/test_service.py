"""The service under load, against Datasette serving the same view tables.

    python tests/benchmarks/test_service.py --facts 100000
    python tests/benchmarks/test_service.py --facts 1000000 --seconds 30

Builds a store (test_views.build: facts, then corrections and retractions),
serves it with `khronika serve` and with Datasette (the view tables, the
README's timeline query as a canned query; `pip install datasette`), and
sends each the same requests from 16 keep-alive clients on loopback at
random (as_of, known_at), bounded by count and time. Reports requests per
second, p50 and p99 for timeline, person, fact, trace and stats, Datasette's
timeline, the ratio of the two timelines, and each server's peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import service_load as sl  # noqa: E402
from test_views import build  # noqa: E402

from khronika.projections.deadline import TIME_LIMIT  # noqa: E402

QUIET: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def prepare(workdir: Path, facts: int) -> tuple[Path, list[str]]:
    from khronika.projections.views import Views
    from khronika.store.app import Chronicle

    store = build(workdir, facts)
    Views(str(store)).catch_up(Chronicle(str(store)).read_after)
    return store, stamps_of(store)


def stamps_of(store: Path) -> list[str]:
    """200 record times after every fact was first recorded."""
    from khronika.projections.views import Views

    rows = Views(str(store), create=False).query(  # times after every fact was recorded
        "SELECT DISTINCT recorded_from FROM view_facts WHERE recorded_from >= "
        "(SELECT MAX(recorded_from) FROM view_facts WHERE version = 1) "
        "ORDER BY random() LIMIT 200"
    )
    return [r["recorded_from"] for r in rows]


@contextmanager
def running(workdir: Path, store: Path) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """khronika and Datasette serving `store`: their ports, and the processes."""
    datasette = sl.datasette()
    assert datasette is not None, "pip install datasette"
    metadata = workdir / "metadata.json"
    sl.datasette_metadata(metadata, store.stem)
    ours, theirs = free_port(), free_port()
    khronika = [sys.executable, "-m", "khronika", "--store", str(store), "serve"]
    servers = {
        "khronika": subprocess.Popen([*khronika, "--port", str(ours)], **QUIET),
        "datasette": subprocess.Popen(
            [
                datasette,
                "serve",
                "-i",
                str(store),
                "--port",
                str(theirs),
                "--metadata",
                str(metadata),
                # khronika's own limit (serve --time-limit), not Datasette's 1 s
                "--setting",
                "sql_time_limit_ms",
                str(int(TIME_LIMIT * 1000)),
            ],
            **QUIET,
        ),  # fmt: skip
    }
    try:
        sl.wait_until_up(ours, "/api/status")
        sl.wait_until_up(theirs, f"/{store.stem}.json")
        yield ours, theirs, servers
    finally:
        for p in servers.values():
            p.terminate()
            p.wait(30)


def measure(
    workdir: Path, facts: int, clients: int, seconds: float, limit: int
) -> dict[str, Any]:
    store, stamps = prepare(workdir, facts)
    with running(workdir, store) as (ours, theirs, servers):
        point = sl.points(stamps)
        people = 500

        def ask(
            path: str, keys: tuple[str, ...] = ("as_of", "known_at"), **extra: str
        ) -> sl.Request:
            def request(rng: random.Random) -> str:
                drawn = point(rng)
                target = path.format(
                    person=rng.randrange(people), fact=rng.randrange(facts)
                )
                return sl.query(target, {k: drawn[k] for k in keys} | extra)

            return request

        runs = {
            "timeline": (ours, ask("/api/timeline", limit="50")),
            "person": (ours, ask("/api/person/person-{person}")),
            "fact": (ours, ask("/api/facts/fact-{fact}")),
            "trace": (ours, ask("/api/facts/fact-{fact}/trace", ("known_at",))),
            "stats by year": (ours, ask("/api/stats/year")),
            "Datasette timeline": (
                theirs,
                ask(f"/{store.stem}/timeline.json", _shape="array"),
            ),
        }
        results = {
            name: sl.load(port, request, clients, seconds, limit)
            for name, (port, request) in runs.items()
        }
        memory = {name: peak_mib(p.pid) for name, p in servers.items()}
    ratio = results["timeline"]["rps"] / results["Datasette timeline"]["rps"]
    return {
        "facts": facts,
        "clients": clients,
        "results": results,
        "memory_mib": memory,
        "timeline_ratio": ratio,
    }


@pytest.mark.skipif(
    sl.datasette() is None, reason="pip install datasette for this benchmark"
)
def test_the_service_and_datasette_are_measured(tmp_path: Path, benchmark: Any) -> None:
    result = benchmark.pedantic(measure, args=(tmp_path, 2000, 4, 3, 200), rounds=1)
    benchmark.extra_info.update(result)
    assert set(result["results"]) >= {"timeline", "Datasette timeline"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(Path(tmp), args.facts, args.clients, args.seconds, args.requests)
    print(json.dumps(r), file=sys.stderr)
    print(
        f"{r['facts']:,} facts, {r['clients']} clients, at most "
        f"{args.seconds:.0f} s or {args.requests:,} requests per endpoint\n"
    )
    print("| endpoint | requests | requests/s | p50 | p99 |\n|---|---:|---:|---:|---:|")
    for name, m in r["results"].items():
        print(
            f"| {name} | {m['requests']:,} | {m['rps']:,.0f} | {m['p50_ms']:.1f} ms "
            f"| {m['p99_ms']:.1f} ms |"
        )
    print(
        f"\nkhronika's timeline: {r['timeline_ratio']:.0%} of Datasette's rate. "
        f"Peak server memory: khronika {r['memory_mib']['khronika']:.0f} MiB, "
        f"Datasette {r['memory_mib']['datasette']:.0f} MiB."
    )


if __name__ == "__main__":
    main()
