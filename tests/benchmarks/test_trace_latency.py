"""Trace latency: `khronika trace` of random facts, median and 95th percentile.

Opt-in. As a benchmark:  pytest tests/benchmarks --benchmarks
As a report (a table):   python tests/benchmarks/test_trace_latency.py --facts 100000

The store is test_views.py's (N generated facts imported, then 5% corrected
and 1% retracted in later sessions). Each sample traces one random fact as it
stands now (`khronika.store.audit.trace_fact`: its events with their citations
and, for each, an inclusion proof in the current log), in its own process.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_views import build  # noqa: E402
from workload import run_phase  # noqa: E402

QUERY = "trace"


def phase_trace(store: Path, facts: int, samples: int) -> dict[str, Any]:
    from khronika.store.app import Chronicle
    from khronika.store.audit import trace_fact

    app = Chronicle(str(store))
    rng = random.Random(4)
    ms, events = [], 0
    for _ in range(samples):
        slug = f"fact-{rng.randrange(facts)}"
        started = time.perf_counter()
        traced = trace_fact(app, slug)
        ms.append((time.perf_counter() - started) * 1000)
        events += len(traced.events)
    app.close()
    return {
        QUERY: {"median_ms": statistics.median(ms),
                "p95_ms": statistics.quantiles(ms, n=20)[18],
                "events_per_trace": events / samples}
    }  # fmt: skip


def measure_store(store: Path, facts: int, samples: int) -> dict[str, Any]:
    """Trace latency on a store test_views.build made."""
    return run_phase(__file__, "--phase", str(store), str(facts), str(samples))


def measure(workdir: Path, facts: int, samples: int) -> dict[str, Any]:
    return measure_store(build(workdir, facts), facts, samples)


@pytest.mark.parametrize("facts", [3000])
def test_trace_latency_is_measured(facts: int, tmp_path: Path, benchmark: Any) -> None:
    result = benchmark.pedantic(measure, args=(tmp_path, facts, 20), rounds=1)
    benchmark.extra_info.update(result)
    assert result[QUERY]["events_per_trace"] >= 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--phase", nargs=3)
    args = parser.parse_args()
    if args.phase:
        store, facts, samples = args.phase
        print(json.dumps(phase_trace(Path(store), int(facts), int(samples))))
        return
    print(
        "| facts | query | median | p95 | events a trace |\n|---:|---|---:|---:|---:|"
    )
    for n in args.facts:
        with tempfile.TemporaryDirectory() as tmp:
            q = measure(Path(tmp), n, args.samples)[QUERY]
        print(f"| {n:,} | {QUERY} | {q['median_ms']:.1f} ms | {q['p95_ms']:.1f} ms "
              f"| {q['events_per_trace']:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
