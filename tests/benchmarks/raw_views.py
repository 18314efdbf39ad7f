"""The views rebuilt by hand: the same work as khronika's, written tightly.

The baseline for the views benchmark: a program written for one job, a
rebuild into empty tables, with Python and sqlite3 in one thread (one core,
as khronika's catch-up), that writes exactly khronika's view tables. It

- reads the store's index of streams once (no event decoded) to learn which
  events a later version of the same record follows, and the record times of
  those later versions, so that every row is written once with its
  `recorded_to`: no closing UPDATEs, no earlier version read back;
- reads the stored events with one cursor in log order and decodes each:
  a signed fact recording by a decoder for it (its personal values spliced
  into the signed intent where it committed to them, then checked to be the
  document's personal fields in order, as `intent.reveal` would place them;
  the document decoded without today's constraints, as `lenient` reads what
  fails them: the values, and so the rows, are the same either way), and
  every other event, and any state it does not take as given (redacted
  values, a commitment without its value, a state stored before signing, an
  upcast class), by khronika's own `codec.decode`; a record time already
  in the form `events.stamp` writes is taken as it is stored;
- computes the rows inline (equal to `projections.rows`, as the test
  checks), the `search` words of ASCII text by one byte translation and of
  other text by one translation table, with the garbage collector off (the
  load keeps what it makes until a chunk is written);
- inserts each table's rows with a reused `executemany`, in one transaction,
  with the WAL journal and `synchronous` that khronika's store runs with
  (eventsourcing's: WAL, SQLite's default FULL), and a page cache big enough
  for the load (`CACHE_KIB`);
- leaves the triggers that keep the full-text tables and the label tables
  (`facts`, `entities`, `sources`) out of the load, fills those tables once
  at its end (FTS5's `rebuild`; the newest version of each record), builds
  every index then, and recreates the triggers: the same schema.

What it leaves out is khronika's plumbing: eventsourcing's notification
reads, the tracking table, the views' lock, and decoding the events that
make no rows (maintainers, the store's key, redactions).
`tests/projections/test_raw_views.py` checks that its tables equal
khronika's row for row (rowids too), the label tables, the `search`
columns, the indexes and triggers, and that its full-text tables find the
same rows.
"""

from __future__ import annotations

import gc
import re
import sqlite3
import sys
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from eventsourcing.utils import get_topic

from khronika.domain import aggregates as agg
from khronika.domain import edtf, intent, lenient
from khronika.domain.aggregates import Entity, Source
from khronika.domain.documents import FactDoc
from khronika.domain.events import (
    STREAM_KINDS,
    Event,
    FactCorrected,
    FactRecorded,
    FactRetracted,
    kind_of,
    stamp,
)
from khronika.projections import schema
from khronika.projections.rows import entity_row, source_row
from khronika.projections.text import KAZAKH, LONGEST
from khronika.store import codec

CACHE_KIB = 262_144  # SQLite's page cache for the load: 256 MiB
OPEN = schema.OPEN
FACTS = schema.FACT_TABLES
_RECORDED = "khronika.domain.events:FactRecorded"
_ROWS = {"fact", "entity", "source"}  # the kinds of stream with rows
_KINDS = {get_topic(cls): kind for cls, kind in STREAM_KINDS.items()}
_encode = msgspec.json.Encoder().encode
# text.fold as one translation: combining marks dropped, Kazakh letters read
_FOLD: dict[int, int | None] = {
    c: None for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))
}
_FOLD.update(KAZAKH)
_ASCII = bytes(  # ASCII letters in lower case, digits, and spaces for the rest
    c | 0x20 if chr(c).isalpha() else c if chr(c).isdigit() else 32 for c in range(128)
) + bytes(128)
_WORD = re.compile(rf"([^\W_]{{1,{LONGEST}}})[^\W_]*")  # text.WORD, kept short


class _Recorded(msgspec.Struct):
    """FactRecorded's own fields, checked as its decoding checks them."""

    doc: FactDoc
    unchecked: str = ""


class _Intent(msgspec.Struct):
    by: str
    key: str
    slug: str
    version: int
    body: _Recorded


class _Head(msgspec.Struct):
    timestamp: str
    intent: _Intent


class _Stamp(msgspec.Struct):
    timestamp: str


# without today's constraints (as `lenient` reads what fails them): values
# are the same whether or not a document meets them, and so are the rows
_head = msgspec.json.Decoder(lenient._loose(_Head)).decode
_values = msgspec.json.Decoder(dict[str, list[Any]]).decode
_stamp_of = msgspec.json.Decoder(_Stamp).decode
_STAMPED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def rebuild(store: Path, target: Path, chunk: int = 10_000) -> int:
    """Project every event of `store` into fresh tables in `target`; return
    how many events it read. Rows go to SQLite `chunk` events at a time."""
    source = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")  # the store's journal, as khronika's
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    db.execute("BEGIN")
    for statement in schema.create_statements():
        db.execute(statement)
    db.execute("INSERT INTO view_format VALUES (?)", [schema.FORMAT])
    for name in sorted(schema.DEFERRED):  # every index: built at the end
        db.execute(f"DROP INDEX {name}")
    for table in schema.SEARCHED:
        db.execute(f"DROP TRIGGER {table}_fts_insert")
    for name in schema.LABELS:
        db.execute(f"DROP TRIGGER {name}_label")
    until = _successors(source)
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in schema.TABLES}
    inserts = {table: schema.insert_statement(table) for table in schema.TABLES}

    def flush() -> None:
        for table, pending in rows.items():
            if pending:
                db.executemany(inserts[table], pending)
                pending.clear()

    project = _Projector(rows, until)
    gc.disable()  # the load's rows and records are kept, none is garbage
    try:
        done = 0
        cursor = source.execute(
            "SELECT rowid, topic, state FROM stored_events ORDER BY rowid"
        )
        while events := cursor.fetchmany(chunk):
            for position, topic, state in events:
                project.event(position, topic, state)
            done += len(events)
            flush()
    finally:
        gc.enable()
    _finish(db)
    db.execute("COMMIT")
    db.close()
    source.close()
    return done


def _successors(source: sqlite3.Connection) -> dict[int, str]:
    """Log position -> the record time of the next version of its record,
    for every event that a later one follows: the stored events' primary key
    in stream order, then the states of those later events."""
    after: dict[int, int] = {}
    last_stream, last = None, 0
    for stream, position in source.execute(
        "SELECT originator_id, rowid FROM stored_events "
        "ORDER BY originator_id, originator_version"
    ):
        if stream == last_stream:
            after[last] = position
        last_stream, last = stream, position
    until = {}
    for position, later in after.items():
        (state,) = source.execute(
            "SELECT state FROM stored_events WHERE rowid = ?", (later,)
        ).fetchone()
        until[position] = _stamp_text(
            _stamp_of(intent.split_state(bytes(state))[0]).timestamp
        )
    return until


def _stamp_text(text: str) -> str:
    """`events.stamp` of a stored record time, without parsing one written
    in its form already."""
    if _STAMPED.fullmatch(text):
        return text
    return stamp(msgspec.convert(text, type=datetime))


def _finish(db: sqlite3.Connection) -> None:
    """Fill what the dropped triggers keep, build the indexes, and put the
    triggers back (the same statements: the same schema)."""
    for name, (table, key, label) in schema.LABELS.items():
        db.execute(
            f"INSERT INTO {name} SELECT {key}, {label} FROM {table} "
            f"WHERE recorded_to = '{OPEN}' ORDER BY {key}"
        )
    for table in schema.SEARCHED:
        db.execute(f"INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild')")
    for statement in schema.create_statements():  # IF NOT EXISTS: the missing
        db.execute(statement)


class _Projector:
    """Rows of each event, in log order, appended to `rows` by table."""

    def __init__(self, rows: dict[str, list[tuple[Any, ...]]], until: dict[int, str]):
        self.rows = rows
        self.until = until
        self.docs: dict[str, Any] = {}  # facts a later version changes
        self.records: dict[str, Any] = {}  # entities and sources: few
        self.facts = rows["view_facts"].append
        self.roles = rows["view_roles"].append
        self.citations = rows["view_citations"].append
        self.dated: dict[str, tuple[str, str, str, int, int]] = {}

    def event(self, position: int, topic: str, state: bytes) -> None:
        kind = _KINDS.get(topic)
        if kind not in _ROWS:
            if kind is None:  # a topic khronika's codec may still resolve
                self._event(position, codec.decode(topic, state))
            return  # the store's key, the maintainers and redactions: no view
        if topic == _RECORDED and topic not in codec.UPCASTERS:
            if self._recorded(position, state):
                return
        self._event(position, codec.decode(topic, state))

    def _recorded(self, position: int, state: bytes) -> bool:
        """A signed fact recording, decoded here; False to leave it to codec.

        Its intent with each personal value spliced in, in order, where it
        committed to one, decoded straight into the document; which holds
        only if the values' pointers are the document's personal fields,
        in order, as `intent.commit` writes them.
        """
        if not intent.is_enveloped(state):
            return False
        parts = state.split(b"\n")
        if len(parts) != 2:  # a third line: redaction notes
            return False
        head, tail = parts
        try:
            values = _values(tail) if tail else {}
            spliced = _splice(head, values)
            if spliced is None:
                return False
            envelope = _head(spliced)
        except (msgspec.DecodeError, msgspec.ValidationError, IndexError):
            return False
        asked = envelope.intent
        doc = asked.body.doc
        if not _personal(doc, values):
            return False
        slug = asked.slug
        if position in self.until:
            self.docs[slug] = doc
        self._fact(
            doc, asked.version, 0, "", asked.by, asked.key, position,
            _stamp_text(envelope.timestamp),
        )  # fmt: skip
        return True

    def _event(self, position: int, event: Event) -> None:
        """Any event, from khronika's own decoding (as `views._Batch`)."""
        kind = kind_of(event)
        if kind not in _ROWS:
            return
        slug, at = event.slug, stamp(event.timestamp)
        version = event.originator_version
        by, key = event.recorded_by, event.seal.key if event.seal else ""
        if isinstance(event, FactRecorded | FactCorrected | FactRetracted):
            if isinstance(event, FactRecorded):
                doc = event.doc
            else:
                doc = self.docs.pop(slug)
                if isinstance(event, FactCorrected):
                    doc = agg.apply_correction(doc, event)
            if position in self.until:
                self.docs[slug] = doc
            retracted = int(isinstance(event, FactRetracted))
            reason = getattr(event, "reason", "")
            self._fact(doc, version, retracted, reason, by, key, position, at)
            return
        name = f"{kind}:{slug}"
        record = self.records[name] = agg.apply(self.records.get(name), event)
        if isinstance(record, Source):
            row, table = source_row(record, by, position), "view_sources"
        else:
            assert isinstance(record, Entity)
            row, table = entity_row(record, by, position), "view_entities"
        self.rows[table].append((*row, at, self.until.get(position, OPEN)))

    def _fact(
        self, doc: Any, version: int, retracted: int, reason: str, by: str,
        key: str, position: int, at: str,
    ) -> None:  # fmt: skip
        """A fact version's rows (as `rows.fact_rows`), all tables, from a
        FactDoc or its twin without constraints (`lenient`)."""
        to = self.until.get(position, OPEN)
        when = doc.when
        if isinstance(when, str):
            date, wording = when, None
        else:
            date, wording = when.edtf, when.wording
        dated = self.dated.get(date) or self._dated(date)
        label, earliest, latest, approximate, uncertain = dated
        fact, place, summary, sources = doc.id, doc.place, doc.summary, doc.sources
        texts = [summary, wording, *(c.quote for c in sources)]
        self.facts((
            fact, version, doc.kind, date, label, wording, earliest, latest,
            approximate, uncertain, place, summary, retracted, reason, by, key,
            position, _encode(doc).decode(), _searchable(texts), at, to,
        ))  # fmt: skip
        if retracted:
            return
        for n, p in enumerate(doc.participants, 1):
            self.roles((fact, version, n, p.entity, p.role, earliest, latest, at, to))
        for n, c in enumerate(sources, 1):
            self.citations((fact, version, n, c.source, c.locator, c.quote, at, to))
        details = doc.details
        if details is None:
            return
        tag = details.__struct_config__.tag
        if tag == "verdict":
            charges = self.rows["view_charges"].append
            for n, article in enumerate(details.charges, 1):
                law = article.partition(":")[0]
                charges((fact, version, n, article, law, place, earliest, latest,
                         at, to))  # fmt: skip
            sentences = self.rows["view_sentences"].append
            n = 0
            for p in doc.participants:
                if p.role != "defendant":
                    continue
                who = p.entity
                mine: list[Any] = [
                    s for s in details.sentences if s.defendant in (None, who)
                ]
                for s in mine or [None]:
                    n += 1
                    sentences((
                        fact, version, n, who, details.outcome,
                        s and s.type, s and s.term_months, s and s.regime,
                        s and s.probation_months, place, earliest, latest, at, to,
                    ))  # fmt: skip
        elif tag == "sentence_change":
            changes = self.rows["view_changes"].append
            n = 0
            for p in doc.participants:
                if p.role == "defendant":
                    n += 1
                    changes((fact, version, n, p.entity, details.change,
                             details.verdict, details.served_months, earliest,
                             latest, at, to))  # fmt: skip
        elif tag == "law_amendment":
            penalties = self.rows["view_penalties"].append
            n = 0
            for side, listed in (("before", details.penalties_before),
                                 ("after", details.penalties_after)):  # fmt: skip
                for q in listed:
                    n += 1
                    penalties((fact, version, n, details.law, q.article, side,
                               q.conduct, q.min_term_months, q.max_term_months,
                               earliest, latest, at, to))  # fmt: skip

    def _dated(self, text: str) -> tuple[str, str, str, int, int]:
        bounds = edtf.parse(text)
        dated = (edtf.describe(text), bounds.earliest.key(), bounds.latest.key(),
                 int(bounds.approximate), int(bounds.uncertain))  # fmt: skip
        self.dated[text] = dated
        return dated


_COMMIT = b'{"commit":"'
_HEX = re.compile(rb"[0-9a-f]{64}")


def _splice(head: bytes, values: dict[str, list[Any]]) -> bytes | None:
    """`head` with the i-th of `values` in place of its i-th commitment; None
    unless it holds one commitment (as `intent.commit` writes) for each."""
    parts = head.split(_COMMIT)
    if len(parts) != len(values) + 1:
        return None
    out = [parts[0]]
    for found, part in zip(values.values(), parts[1:], strict=True):
        if part[64:66] != b'"}' or not _HEX.match(part):
            return None
        out += (_encode(found[1]), part[66:])
    return b"".join(out)


def _personal(doc: Any, values: dict[str, list[Any]]) -> bool:
    """Whether `values` are, in order, the document's personal fields that
    are not None (where `intent.commit` put commitments) and hold them."""
    when = doc.when
    if type(when) is str or when.wording is None:
        pointers, held = ["/doc/summary"], [doc.summary]
    else:
        pointers = ["/doc/when/wording", "/doc/summary"]
        held = [when.wording, doc.summary]
    for i, citation in enumerate(doc.sources):
        if citation.quote is not None:
            pointers.append(f"/doc/sources/{i}/quote")
            held.append(citation.quote)
    return list(values) == pointers and [v[1] for v in values.values()] == held


def _searchable(texts: list[str | None]) -> str:
    """`text.searchable(*texts)`."""
    text = " ".join(t for t in texts if t)
    if text.isascii():  # folded: lower case; words: runs of letters and digits
        words = text.encode().translate(_ASCII).split()
        if len(text) <= LONGEST or max(map(len, words), default=0) <= LONGEST:
            return b" ".join(words).decode()
    folded = unicodedata.normalize("NFKD", text.casefold()).translate(_FOLD)
    return " ".join(_WORD.findall(folded))
