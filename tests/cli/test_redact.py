"""`khronika redact`: one field of one fact erased, and the log still verifies.

Each test runs on SQLite and PostgreSQL (the `demo` fixture). The erased
text is looked for in the raw bytes: the SQLite file and its WAL, or every
file of the PostgreSQL database's directory, read by the server itself.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import Result
from starlette.testclient import TestClient

from khronika.domain import intent
from khronika.domain.aggregates import Fact
from khronika.domain.events import Redacted
from khronika.domain.ids import stream_id
from khronika.store import attest
from khronika.store import checkpoint as cp
from khronika.store.accept import RefusedError, accept
from khronika.store.app import Chronicle
from khronika.store.codec import MsgspecMapper, NullTranscoder
from khronika.store.scrub import scrub
from khronika.store.verify import verify
from khronika.web.app import create_app

Run = Callable[..., Result]
FACT = "serebryakova-daughter-placed-2023"
TEXT = b"was put in the care of child services"
REASON = "personal data of a minor"


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def redact(run: Run) -> Result:
    return ok(run("redact", FACT, "--field", "summary", "--reason", REASON,
                  "--legal-basis", "GDPR Art. 17(1)(d)"))  # fmt: skip


def note() -> str:
    return f"[redacted on {datetime.now(UTC):%Y-%m-%d}: {REASON}]"


def test_a_verdicts_summary_redacted_in_every_version_leaves_every_checkpoint(
    demo: Run, tmp_path: Path, key_path: Path, store_path: str
) -> None:
    verdict = "serebryakova-verdict-2023"
    points = [tmp_path / f"cp{i}.txt" for i in range(3)]
    ok(demo("checkpoint", "--out", str(points[0])))
    ok(
        demo(
            "correct",
            verdict,
            "--set",
            "summary=Three years, medium security.",
            "--reason",
            "shorter",
            "--source",
            "worldcrunch-kz-separatism@para:6",
        )
    )
    ok(demo("checkpoint", "--out", str(points[1])))
    said = ok(demo("redact", verdict, "--field", "summary", "--reason", REASON))
    assert said.output.startswith(
        f"redacted summary of fact '{verdict}': 2 stored value(s) erased in 2 "
        "event(s)"
    )  # fmt: skip
    ok(demo("checkpoint", "--out", str(points[2])))
    every = [a for p in points for a in ("--checkpoint", str(p))]
    out = ok(demo("verify", *every)).output
    assert out.startswith("verified 119 events against 3 checkpoint(s)\n")
    assert "119 events signed, all valid" in out
    pub = str(key_path.with_suffix(".pub"))
    for older, size in zip(points[:2], (117, 118), strict=True):
        ok(
            demo(
                "prove",
                "--consistency",
                str(older),
                str(points[2]),
                "--out",
                str(tmp_path / "c.json"),
            )
        )
        proved = ok(
            demo(
                "verify-proof",
                str(tmp_path / "c.json"),
                "--checkpoint",
                str(older),
                "--checkpoint",
                str(points[2]),
                "--pubkey",
                pub,
            )
        )
        assert proved.output == (
            f"ok: the log of size {size} is a prefix of the log of size 119\n"
        )
    fact = json.loads(ok(demo("fact", verdict, "--format", "json")).stdout)
    assert fact["fact"]["summary"] == note()
    logged = json.loads(ok(demo("log", "-n", "1", "--format", "json")).stdout)[0]
    assert logged["event"] == "Redacted"
    recorded = _fact_event(store_path, verdict)[0]
    assert logged["details"]["erased"] == [
        {"position": recorded, "pointer": "/doc/summary"},
        {"position": 118, "pointer": "/changes/summary"},
    ]
    assert logged["details"]["fields"] == ["summary"]
    history = ok(demo("log", verdict)).output
    assert history.startswith(f"event 119  redaction {verdict}  v1  Redacted\n")
    assert f"Erased:   /doc/summary of event {recorded}\n" in history


def _events_table(location: str) -> tuple[str, str]:
    app = Chronicle(location)
    try:
        schema = getattr(app.store.datastore, "schema", "")
        return schema, app.store.events_table_name
    finally:
        app.close()


def _fact_event(location: str, slug: str = FACT) -> tuple[int, bytes]:
    """The position and stored state of the fact's first version."""
    app = Chronicle(location)
    try:
        n = app.store.stream_notifications(stream_id("fact", slug))[0]
        return n.id, n.state
    finally:
        app.close()


def _set_state(location: str, position: int, state: bytes) -> None:
    schema, table = _events_table(location)
    if location.startswith("postgresql://"):
        import psycopg
        from psycopg import sql

        with psycopg.connect(location, autocommit=True) as db:
            db.execute(
                sql.SQL("UPDATE {}.{} SET state = %s WHERE notification_id = %s")
                .format(sql.Identifier(schema), sql.Identifier(table)),
                [state, position],
            )  # fmt: skip
    else:
        with sqlite3.connect(location) as db:
            db.execute(
                f"UPDATE {table} SET state = ? WHERE rowid = ?", [state, position]
            )


def test_a_value_deleted_without_a_redaction_fails_verify_naming_it(
    demo: Run, store_path: str
) -> None:
    position, state = _fact_event(store_path)
    head, values = intent.split_state(state)
    kept = msgspec.json.decode(values)
    del kept["/doc/summary"]
    _set_state(store_path, position, head + b"\n" + msgspec.json.encode(kept))
    result = demo("verify")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: event at position {position} ({FACT} v1): the value of "
        "/doc/summary is missing, and no redaction covers it\n"
    )


def test_a_note_that_names_no_redaction_fails_verify(
    demo: Run, store_path: str
) -> None:
    position, state = _fact_event(store_path)
    forged = intent.Note(by=position + 1, on="2026-01-01", reason="made up")
    _set_state(store_path, position, intent.erase(state, ["/doc/summary"], forged))
    result = demo("verify")
    assert result.exit_code == 1
    assert "the value of /doc/summary is missing, and no redaction covers it" in (
        result.output
    )


def test_reimporting_a_release_made_before_the_redaction_is_refused_for_that_value(
    demo: Run,
) -> None:
    ok(demo("export", "before"))
    redact(demo)
    result = demo("import", "before")
    assert result.exit_code == 1
    assert (
        f"fact '{FACT}': the values of summary were erased by a redaction by tester on "
    ) in result.output
    assert (
        f"(position 118): {REASON}; an older copy of the record cannot bring them back"
    ) in result.output
    fact = json.loads(ok(demo("fact", FACT, "--format", "json")).stdout)
    assert fact["fact"]["summary"] == note()


def test_reimporting_erased_aliases_is_refused_naming_the_redaction(
    demo: Run,
) -> None:
    ok(demo("export", "before"))
    ok(demo("redact", "andrei-astakhov", "--field", "aliases", "--reason", REASON))
    shown = json.loads(ok(demo("entity", "show", "andrei-astakhov", "--format",
                               "json")).stdout)  # fmt: skip
    assert shown["entity"]["aliases"] == []
    result = demo("import", "before")
    assert result.exit_code == 1
    assert (
        "entity 'andrei-astakhov': the values of aliases were erased by a "
        "redaction by tester on "
    ) in result.output


def test_a_redaction_needs_an_admin(
    demo: Run, maintainer: Callable[..., Callable[..., Result]]
) -> None:
    bek = maintainer("Bek B.")
    result = bek("redact", FACT, "--field", "summary", "--reason", REASON)
    assert result.exit_code == 1
    assert "is a maintainer; only an admin may make this change" in result.output


def test_a_field_that_holds_no_personal_data_is_refused(demo: Run) -> None:
    result = demo("redact", FACT, "--field", "kind", "--reason", REASON)
    assert result.exit_code == 1
    assert "'kind' is not a field that holds personal data" in result.output


def _raw_bytes(location: str) -> bytes:
    """Every byte the database keeps on disk for this store (but PostgreSQL's
    write-ahead log, README "Redaction")."""
    if not location.startswith("postgresql://"):
        return b"".join(
            p.read_bytes()
            for p in Path(location).parent.iterdir()
            if p.name.startswith(Path(location).name)
        )
    import psycopg

    with psycopg.connect(location, autocommit=True) as db:
        db.execute("CHECKPOINT")  # the shared buffers, written to the files
        row = db.execute(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert row is not None
        folder = f"base/{row[0]}"
        found = [
            r[0]
            for r in db.execute(
                "SELECT pg_read_binary_file(p, 0, (pg_stat_file(p, true)).size, "
                "true) FROM (SELECT %s || '/' || f AS p FROM pg_ls_dir(%s) AS f) "
                "AS files WHERE (pg_stat_file(p, true)).isdir IS false",
                [folder, folder],
            )
            if r[0] is not None
        ]
    return b"".join(found)


def _exported(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_the_redacted_text_is_gone_from_the_files_views_exports_and_pages(
    demo: Run, store_path: str
) -> None:
    assert TEXT in _raw_bytes(store_path)
    redact(demo)
    assert TEXT not in _raw_bytes(store_path)
    ok(demo("export", "after", "--events"))
    ok(demo("export", "after-csv", "--format", "csv"))
    for folder in ("after", "after-csv"):
        assert TEXT not in _exported(Path(folder))
    assert note().encode() in _exported(Path("after"))
    checked = ok(demo("verify-release", "after", "--pubkey", str(next(
        Path().glob("*.pub")))))  # fmt: skip
    assert "events hash to the checkpoint's root" in checked.output
    searched = json.loads(
        ok(demo("timeline", "--search", "child services", "--format", "json")).stdout
    )
    assert searched["facts"] == []
    with TestClient(create_app(store_path, refresh_every=0.05)) as client:
        for path in (f"/facts/{FACT}", f"/api/facts/{FACT}", "/", "/api/timeline"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert TEXT not in page.content, path
        assert note() in client.get(f"/api/facts/{FACT}").text
    ok(demo("projections", "rebuild"))
    assert TEXT not in _raw_bytes(store_path)


def test_a_redaction_over_http_is_refused_saying_where_to_make_it(
    demo: Run, store_path: str
) -> None:

    app = Chronicle(store_path)
    writer = Chronicle(store_path)
    made: list[Any] = []

    def capture(events: list[Any], **_: Any) -> None:
        made.extend(events)
        raise _Captured

    try:
        writer.hand = attest.load_hand()
        writer.events.put = capture  # type: ignore[method-assign,assignment]
        with pytest.raises(_Captured):
            writer.redact("fact", FACT, ["summary"], REASON)
        mapper = MsgspecMapper(transcoder=NullTranscoder())
        with pytest.raises(RefusedError, match="a redaction is not taken over HTTP"):
            accept(app, [mapper.to_stored_event(made[0])])
    finally:
        app.close()
        writer.close()


class _Captured(Exception):
    """The event a redaction would store, caught before it is."""


OLD_TEXT = b"She was sentenced, and her son was placed with an aunt."
VERDICT = "serebryakova-verdict-2023"


def test_an_event_stored_before_signing_is_erased_whole_and_its_leaf_stays(
    unsigned_seeded: Chronicle, store_path: str, make: Any
) -> None:
    app = unsigned_seeded
    app.append_fact(make.fact(summary=OLD_TEXT.decode()), "tester")  # unsigned
    attest.ensure_key(app)
    before = cp.parse(attest.checkpoint(app))
    attest.begin_signing(app, "tester")
    app.hand = attest.load_hand()
    (n,) = app.store.stream_notifications(stream_id("fact", VERDICT))
    assert OLD_TEXT in _raw_bytes(store_path)
    event = app.redact("fact", VERDICT, ["summary"], REASON)
    assert isinstance(event, Redacted)
    assert [(e.position, e.pointer) for e in event.erased] == [(n.id, "")]
    scrub(app)
    assert OLD_TEXT not in _raw_bytes(store_path)
    assert verify(app, [before]) == []
    assert app.get(Fact, VERDICT).doc.summary == note()
    assert app.get(Fact, VERDICT).doc.details == make.fact().details  # the rest
    # what remains is what the admin's redaction names, to the byte
    (buried,) = app.store.stream_notifications(stream_id("fact", VERDICT))
    _set_state(
        store_path, n.id, buried.state.replace(b'"term_months":36', b'"term_months":48')
    )
    (found,) = verify(app)
    assert str(found).endswith(
        f"what remains of the event at position {n.id} is not what this redaction kept"
    )
