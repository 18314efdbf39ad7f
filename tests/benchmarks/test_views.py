"""View rebuild rate against a hand-written baseline, and query latency.

Opt-in. As a benchmark:  pytest tests/benchmarks --benchmarks
As a report (a table):   python tests/benchmarks/test_views.py --facts 100000

  build     imports N generated facts, then corrects 5% and retracts 1% of
            them in later "sessions", an hour of record time apart
  rebuild   khronika's views from an empty start (`projections rebuild`):
            a load, 25,000 events per transaction, the indexes that the
            closing updates do not use built at its end
  raw       the same work by hand (raw_views.py), written for a rebuild
            alone: one pass over the stored events in log order, each row
            written once with its recorded_to (known from the stream
            index), a decoder for signed fact recordings, the label and
            full-text tables filled and every index built at the end, one
            transaction, the store's WAL journal and synchronous setting;
            test_raw_views.py checks that its tables, indexes and triggers
            equal khronika's
  queries   timeline page, person, law and stats at random (as_of,
            known_at) points: median and 95th percentile
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from workload import generate, peak_rss_mib, run_phase, signed_store  # noqa: E402

QUERIES = ("timeline page", "person page", "law", "fact", "stats by year")
PAGE = 100  # the API's page of a timeline and of a person's facts


def build(
    workdir: Path, facts: int, more: Callable[[Any], object] | None = None
) -> Path:
    """A store of `facts` generated facts, corrected and retracted in later
    sessions; `more` may write more into it (it is given the app)."""
    from khronika.domain import aggregates as agg
    from khronika.domain.aggregates import Fact
    from khronika.domain.documents import Citation
    from khronika.domain.events import Event
    from khronika.store.importer import Importer, read_lines

    jsonl, store = workdir / "facts.jsonl", workdir / "k.db"
    generate(jsonl, facts)
    app = signed_store(str(store))
    with jsonl.open("rb") as f:
        Importer(app, "bench").run(read_lines([("f", f)]))
    rng = random.Random(2)
    cite = [Citation(source="src", locator="para:2")]
    clock = app.clock
    for session in range(3):
        clock.last = clock.now() + timedelta(hours=1)  # the next session
        events: list[Event] = []
        for i in rng.sample(range(facts), facts // 50):
            fact = app.get(Fact, f"fact-{i}")
            if fact.retracted:
                continue
            if session == 2 and i % 3 == 0:
                events.append(agg.retract(fact, "dup", cite, clock.now(), "b"))
            else:
                change = {"summary": f"{fact.doc.summary} (checked)"}
                events.append(
                    agg.correct(fact, change, "check", cite, clock.now(), "b")
                )
        app.save_batch(events)
    if more is not None:
        more(app)
    app.close()
    return store


def phase_rebuild(store: Path) -> dict[str, Any]:
    from khronika.projections.views import Views
    from khronika.store.app import Chronicle

    app, views = Chronicle(str(store)), Views(str(store))
    views.upgrade()
    start_rss = peak_rss_mib()
    started = time.perf_counter()
    events = views.catch_up(app.read_after)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": events, "rss_before": start_rss,
            "rss_peak": peak_rss_mib()}  # fmt: skip


def phase_raw(store: Path, target: Path) -> dict[str, Any]:
    """The same work by hand (raw_views.py), timed like the rebuild."""
    from raw_views import rebuild

    start_rss = peak_rss_mib()
    started = time.perf_counter()
    events = rebuild(store, target)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": events, "rss_before": start_rss,
            "rss_peak": peak_rss_mib()}  # fmt: skip


def phase_queries(store: Path, samples: int, facts: int) -> dict[str, Any]:
    from khronika.domain.days import Day
    from khronika.projections.law import law
    from khronika.projections.person import person
    from khronika.projections.queries import Point, fact_history, timeline
    from khronika.projections.stats import stats
    from khronika.projections.views import Views

    views = Views(str(store))
    bounds = views.query(
        "SELECT MIN(recorded_from) AS first, MAX(recorded_from) AS last FROM view_facts"
    )[0]
    first, last = bounds["first"], bounds["last"]
    stamps = [
        r["recorded_from"]
        for r in views.query(
            "SELECT DISTINCT recorded_from FROM view_facts ORDER BY random() LIMIT 500"
        )
    ]
    rng = random.Random(3)
    timings: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(samples):
        point = Point(
            as_of=Day(1991, 1, 1).plus_days(rng.randint(0, 34 * 365)),
            known_at=rng.choice([*stamps, first, last, None]),
        )
        who = f"person-{rng.randint(0, 499)}"
        fact = f"fact-{rng.randrange(facts)}"
        runs: dict[str, Callable[[], object]] = {
            "timeline page": partial(timeline, views, point, limit=PAGE),
            "person page": partial(person, views, who, point, limit=PAGE),
            "law": partial(law, views, "code:180", point),
            "fact": partial(fact_history, views, fact, point),
            "stats by year": partial(stats, views, point, "year"),
        }
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            timings[name].append((time.perf_counter() - started) * 1000)
    return {
        name: {"median_ms": statistics.median(ms),
               "p95_ms": statistics.quantiles(ms, n=20)[18]}
        for name, ms in timings.items()
    }  # fmt: skip


def measure(workdir: Path, facts: int, samples: int) -> dict[str, Any]:
    store = build(workdir, facts)
    rebuilt = run_phase(__file__, "--phase", "rebuild", str(store))
    raw = run_phase(__file__, "--phase", "raw", str(store), str(workdir / "raw.db"))
    queries = run_phase(
        __file__, "--phase", "queries", str(store), str(samples), str(facts)
    )
    return {"facts": facts, "rebuild": rebuilt, "raw": raw, "queries": queries,
            "ratio": raw["seconds"] / rebuilt["seconds"]}  # fmt: skip


@pytest.mark.parametrize("facts", [3000])
def test_views_rebuild_and_queries_are_measured(
    facts: int, tmp_path: Path, benchmark: Any
) -> None:
    result = benchmark.pedantic(measure, args=(tmp_path, facts, 20), rounds=1)
    benchmark.extra_info.update(result)
    assert result["rebuild"]["events"] == result["raw"]["events"]
    assert set(result["queries"]) == set(QUERIES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--phase", nargs="+")
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        if name == "rebuild":
            result = phase_rebuild(Path(rest[0]))
        elif name == "raw":
            result = phase_raw(Path(rest[0]), Path(rest[1]))
        else:
            result = phase_queries(Path(rest[0]), int(rest[1]), int(rest[2]))
        print(json.dumps(result))
        return
    print(
        "| facts | events | rebuild events/s | same-work baseline events/s | ratio "
        "| rebuild peak RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    results = []
    for n in args.facts:
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(Path(tmp), n, args.samples)
        results.append(r)
        b, raw = r["rebuild"], r["raw"]
        print(f"| {n:,} | {b['events']:,} | {b['events'] / b['seconds']:,.0f} "
              f"| {raw['events'] / raw['seconds']:,.0f} | {r['ratio']:.0%} "
              f"| {b['rss_peak']:.0f} MiB (start {b['rss_before']:.0f}) |",
              flush=True)  # fmt: skip
    print("\n| facts | query | median | p95 |\n|---:|---|---:|---:|")
    for r in results:
        for name, q in r["queries"].items():
            print(f"| {r['facts']:,} | {name} | {q['median_ms']:.1f} ms "
                  f"| {q['p95_ms']:.1f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
