"""Event encoding and decoding: msgspec against eventsourcing's JSON transcoder.

Opt-in. As a benchmark:  pytest tests/benchmarks --benchmarks
As a report (a table):   python tests/benchmarks/test_encoding.py --events 100000

The events are those an import of the generated workload stores (a source, a
law, 500 people, then facts), built with `khronika.domain.aggregates`.
  msgspec  khronika's `MsgspecMapper(NullTranscoder())`: `to_stored_event`,
           and `to_domain_event` back to the typed, validated event Struct
  JSON     eventsourcing's default `Mapper` with `JSONTranscoder` and its
           `UUIDAsHex`, `DatetimeAsISO`, `DecimalAsStr` transcodings, over the
           same events as eventsourcing would hold them: plain objects whose
           `__dict__` is the event as builtins (`msgspec.to_builtins`, keeping
           UUIDs and datetimes as objects for the transcodings);
           `to_stored_event`, and back with `transcoder.decode(state)` to dicts
           (eventsourcing's cost before it constructs the class, so the JSON
           side decodes less than msgspec, which builds and validates Structs)
Each direction is timed over all events, both ways in turn, for a few rounds;
the best round counts; the cyclic GC is off while timing, as in `timeit` (it
would otherwise scan every event held here, more the more there are). Sizes are
of the stored state (the topic aside): khronika's state also holds the stream
id and version, which eventsourcing's Mapper takes out of it.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from workload import generate  # noqa: E402

HEADER_LINES = 502  # the source, the law and 500 people before the facts


class JSONEvent:
    """An event as eventsourcing's Mapper sees one: its state is `vars(self)`."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def build_events(workdir: Path, events: int) -> list[Any]:
    """The first `events` events an import of the generated workload stores."""
    from khronika.domain import aggregates as agg
    from khronika.domain.documents import EntityDoc, FactDoc, Record, SourceDoc
    from khronika.domain.events import Event
    from khronika.domain.parse import decode

    jsonl = workdir / "facts.jsonl"
    generate(jsonl, max(0, events - HEADER_LINES))
    at = datetime(2030, 1, 1, tzinfo=UTC)
    built: list[Event] = []
    with jsonl.open("rb") as f:
        for i, line in enumerate(f):
            doc: Any = decode(line, Record)  # type: ignore[arg-type]
            when = at + timedelta(microseconds=i)
            if isinstance(doc, SourceDoc):
                built.append(agg.add_source(doc, when, "bench"))
            elif isinstance(doc, EntityDoc):
                built.append(agg.register_entity(doc, when, "bench"))
            else:
                assert isinstance(doc, FactDoc)
                built.append(agg.record_fact(doc, when, "bench"))
    return built[:events]


def baseline_mapper() -> Any:
    from eventsourcing.persistence import (
        DatetimeAsISO,
        DecimalAsStr,
        JSONTranscoder,
        Mapper,
        UUIDAsHex,
    )

    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def as_plain(event: Any) -> JSONEvent:
    import msgspec

    state = msgspec.to_builtins(event, builtin_types=(UUID, datetime, Decimal))
    assert isinstance(state["originator_id"], UUID)
    return JSONEvent(state)


def _timed(run: Callable[[], object]) -> float:
    """Seconds for one run, with the cyclic GC off as `timeit` has it."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        run()
        return time.perf_counter() - started
    finally:
        gc.enable()


def measure(workdir: Path, events: int, rounds: int = 3) -> dict[str, Any]:
    from khronika.store.codec import MsgspecMapper, NullTranscoder

    fast, slow = MsgspecMapper(NullTranscoder()), baseline_mapper()
    typed = build_events(workdir, events)
    plain = [as_plain(e) for e in typed]
    transcoder = slow.transcoder
    stored_fast = [fast.to_stored_event(e) for e in typed]
    stored_slow = [slow.to_stored_event(e) for e in plain]

    def encode(mapper: Any, items: Sequence[Any]) -> Callable[[], object]:
        to_stored = mapper.to_stored_event
        return lambda: [to_stored(e) for e in items]

    runs: dict[str, Callable[[], object]] = {
        "msgspec_encode": encode(fast, typed),
        "json_encode": encode(slow, plain),
        "msgspec_decode": lambda: [fast.to_domain_event(s) for s in stored_fast],
        "json_decode": lambda: [transcoder.decode(s.state) for s in stored_slow],
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            best[name] = min(best[name], _timed(run))
    n = len(typed)
    rates = {f"{name}_per_s": n / seconds for name, seconds in best.items()}
    fast_bytes = sum(len(s.state) for s in stored_fast)
    slow_bytes = sum(len(s.state) for s in stored_slow)
    return {
        "events": n,
        **rates,
        "encode_ratio": rates["msgspec_encode_per_s"] / rates["json_encode_per_s"],
        "decode_ratio": rates["msgspec_decode_per_s"] / rates["json_decode_per_s"],
        "msgspec_bytes": fast_bytes,
        "json_bytes": slow_bytes,
        "size_ratio": fast_bytes / slow_bytes,
    }


@pytest.mark.parametrize("events", [5000])
def test_encoding_both_ways_is_measured(
    events: int, tmp_path: Path, benchmark: Any
) -> None:
    from khronika.store.codec import MsgspecMapper, NullTranscoder

    result = benchmark.pedantic(measure, args=(tmp_path, events, 1), rounds=1)
    benchmark.extra_info.update(result)
    assert result["events"] == events
    # Both ways encode the same events: each decodes to what went in.
    fast, slow = MsgspecMapper(NullTranscoder()), baseline_mapper()
    for event in build_events(tmp_path, events)[::97]:
        assert fast.to_domain_event(fast.to_stored_event(event)) == event
        plain = as_plain(event)
        state = slow.transcoder.decode(slow.to_stored_event(plain).state)
        assert state == {
            k: v
            for k, v in vars(plain).items()
            if k not in ("originator_id", "originator_version")
        }


def row(r: dict[str, Any]) -> str:
    return (
        f"| {r['events']:,} | {r['msgspec_encode_per_s']:,.0f} "
        f"| {r['json_encode_per_s']:,.0f} | {r['encode_ratio']:.1f}× "
        f"| {r['msgspec_decode_per_s']:,.0f} | {r['json_decode_per_s']:,.0f} "
        f"| {r['decode_ratio']:.1f}× "
        f"| {r['msgspec_bytes'] / r['events']:,.0f} B "
        f"| {r['json_bytes'] / r['events']:,.0f} B | {r['size_ratio']:.0%} |"
    )


HEADER = (
    "| events | msgspec encode/s | JSON transcoder encode/s | ratio "
    "| msgspec decode/s | JSON transcoder decode/s | ratio "
    "| msgspec size/event | JSON size/event | size ratio |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(HEADER)
    for n in args.events:
        with tempfile.TemporaryDirectory() as tmp:
            print(row(measure(Path(tmp), n, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
