"""Load on the service and on Datasette serving the same view tables.

The Datasette baseline answers the timeline question with the README's
timeline query, as a canned query: the same rows, in the same order, with
the same status. `tests/web/test_service_baseline.py` checks that its rows
equal khronika's answers on a small store.
"""

from __future__ import annotations

import http.client
import json
import random
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

NOW = "9999-12-31T23:59:59.999998Z"  # the record as it stands
TIMELINE_SQL = (
    "SELECT fact, version, kind, edtf, label, earliest, latest, approximate, "
    "uncertain, place, summary, doc, recorded_from, recorded_by, reason, "
    "CASE WHEN latest <= :as_of AND uncertain = 0 THEN 'certain' ELSE 'possible' "
    "END AS status FROM view_facts "
    "WHERE recorded_from <= :known_at AND :known_at < recorded_to "
    "AND earliest <= :as_of AND retracted = 0 "
    "ORDER BY earliest, latest, fact LIMIT 50"
)


# Verdicts by year, the statistic a client loops on in `under_load`: less
# than khronika's (no spans over years, no defendants), as a load, not a match.
STATS_SQL = (
    "SELECT substr(earliest, 1, 4) AS year, COUNT(*) AS verdicts FROM view_facts "
    "WHERE recorded_from <= :known_at AND :known_at < recorded_to "
    "AND earliest <= :as_of AND retracted = 0 AND kind = 'verdict' GROUP BY year"
)


def datasette_metadata(path: Path, database: str) -> None:
    """A metadata file giving Datasette the timeline and a statistic as
    canned queries."""
    queries = {"timeline": {"sql": TIMELINE_SQL}, "stats": {"sql": STATS_SQL}}
    path.write_text(json.dumps({"databases": {database: {"queries": queries}}}))


def datasette() -> str | None:
    """Datasette's command, beside this Python or on the PATH."""
    beside = Path(sys.executable).parent / "datasette"
    return str(beside) if beside.exists() else shutil.which("datasette")


def wait_until_up(port: int, path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


Request = Callable[[random.Random], str]


def load(
    port: int,
    request: Request,
    clients: int,
    seconds: float,
    limit: int,
    expect: int = 200,
) -> dict[str, Any]:
    """`clients` keep-alive clients send `request`s until `limit` or `seconds`;
    an answer of another status than `expect` fails the load."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    sent = [0]

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if sent[0] >= limit:
                        return
                    sent[0] += 1
                url = request(rng)
                started = time.perf_counter()
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
                took = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(took)
                    if response.status != expect:
                        errors.append(f"{response.status} {url}")
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies),
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
    }


def points(stamps: list[str]) -> Callable[[random.Random], dict[str, str]]:
    """Random (as_of, known_at): a day 1991-2025, a record time or now."""

    def draw(rng: random.Random) -> dict[str, str]:
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        as_of = f"{rng.randint(1991, 2025)}-{month:02d}-{day:02d}"
        known = rng.choice([*stamps, NOW])
        return {"as_of": as_of, "known_at": known}

    return draw


def query(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urlencode(params)}"
