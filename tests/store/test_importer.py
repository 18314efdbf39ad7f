"""Bulk import: batches, atomicity, idempotence, references across batches."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import msgspec
import pytest

from khronika.domain.aggregates import Fact
from khronika.store.app import Chronicle
from khronika.store.importer import Importer, ImportError_, read_lines


def jsonl(*records: Any) -> bytes:
    return b"".join(msgspec.json.encode(r) + b"\n" for r in records)


def run(app: Chronicle, data: bytes, batch_size: int = 2, **kw: Any) -> Any:
    lines = read_lines([("in.jsonl", io.BytesIO(data))])
    return Importer(app, "ann", batch_size=batch_size, **kw).run(lines)


def records(make: Any, n: int) -> list[dict[str, Any]]:
    head: list[dict[str, Any]] = [
        {"type": "source"} | msgspec.to_builtins(make.source()),
        {"type": "entity"} | msgspec.to_builtins(make.entity("tatyana-serebryakova")),
        {"type": "entity"}
        | msgspec.to_builtins(
            make.entity(
                "kz-criminal-code-2014",
                "law",
                articles=[{"number": "180", "title": "Separatist activity"}],
            )
        ),
    ]
    facts = [{"type": "fact"} | make.fact_data(id=f"fact-{i}") for i in range(n)]
    return head + facts


def test_import_adds_everything_then_nothing_the_second_time(
    app: Chronicle, make: Any
) -> None:
    data = jsonl(*records(make, 5))
    first = run(app, data)
    assert (first.added["source"], first.added["entity"], first.added["fact"]) == (
        1,
        2,
        5,
    )
    assert first.batches == 4
    second = run(app, data)
    assert not second.added
    assert sum(second.skipped.values()) == 8
    assert app.recorder.max_notification_id() == 9  # the first admin's, then 8


def test_failed_batch_writes_nothing_and_earlier_batches_stay(
    app: Chronicle, make: Any
) -> None:
    rows = records(make, 4)
    rows[5]["when"] = "2023-02-30"  # the third fact, in the third batch
    with pytest.raises(ImportError_) as raised:
        run(app, jsonl(*rows))
    message = str(raised.value)
    assert message.startswith("in.jsonl line 6: when: '2023-02-30' is not a real day")
    assert "2 earlier batch(es) with 4 new record(s)" in message
    assert app.recorder.max_notification_id() == 5  # the first admin's, then 4


def test_fixing_the_line_and_reimporting_finishes_the_job(
    app: Chronicle, make: Any
) -> None:
    rows = records(make, 4)
    bad = [dict(r) for r in rows]
    bad[5]["sources"] = []
    with pytest.raises(ImportError_, match="at least one citation"):
        run(app, jsonl(*bad))
    report = run(app, jsonl(*rows))
    assert report.added["fact"] == 3 and report.skipped["fact"] == 1
    assert app.get(Fact, "fact-3").doc.id == "fact-3"


def test_same_id_with_other_content_is_refused(app: Chronicle, make: Any) -> None:
    rows = records(make, 1)
    run(app, jsonl(*rows))
    rows[3]["summary"] = "Something else."
    with pytest.raises(
        ImportError_,
        match="fact 'fact-0' exists already with other values in summary; "
        "to change the fact, use `khronika correct fact-0",
    ):
        run(app, jsonl(*rows))


def test_a_fact_may_cite_a_fact_from_an_earlier_batch(
    app: Chronicle, make: Any
) -> None:
    rows = records(make, 1)
    release = make.fact_data(
        id="release",
        kind="sentence_change",
        details={"type": "sentence_change", "change": "release", "verdict": "fact-0"},
    )
    report = run(app, jsonl(*rows, {"type": "fact"} | release), batch_size=1)
    assert report.added["fact"] == 2


def test_unknown_fact_reference_is_refused(app: Chronicle, make: Any) -> None:
    release = make.fact_data(
        id="release",
        kind="sentence_change",
        details={"type": "sentence_change", "change": "release", "verdict": "fact-9"},
    )
    rows = [*records(make, 1), {"type": "fact"} | release]
    with pytest.raises(ImportError_, match="unknown fact 'fact-9'.*'fact-0'"):
        run(app, jsonl(*rows))


def test_dry_run_checks_everything_and_writes_nothing(
    app: Chronicle, make: Any
) -> None:
    report = run(app, jsonl(*records(make, 3)), dry_run=True)
    assert report.added["fact"] == 3
    assert app.recorder.max_notification_id() == 1  # the first admin's only


def test_progress_is_reported_in_bytes(app: Chronicle, make: Any) -> None:
    data = jsonl(*records(make, 3)) + b"\n"
    seen: list[int] = []
    lines = read_lines([("in.jsonl", io.BytesIO(data))])
    Importer(app, "ann", batch_size=2, on_progress=seen.append).run(lines)
    assert seen == sorted(seen) and seen[-1] == len(data)


def test_undecodable_line_names_file_line_and_field(
    app: Chronicle, make: Any, tmp_path: Path
) -> None:
    data = jsonl(*records(make, 1)) + b'{"type": "fact", "id": "x", "kind": "nope"}\n'
    bad = "in.jsonl line 5: kind: 'nope' is not allowed; one of: charge,"
    with pytest.raises(ImportError_, match=bad):
        run(app, data)
