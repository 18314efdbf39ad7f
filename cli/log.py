"""`khronika log`: the raw event history, like `git log`."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

import click
import msgspec

from khronika.cli.context import Settings, with_settings
from khronika.cli.output import echo, emit, output_options, to_json
from khronika.domain import lenient
from khronika.domain.documents import Citation
from khronika.domain.errors import NotFoundError
from khronika.domain.events import Event, kind_of, recorder, stamp
from khronika.domain.ids import StreamKind
from khronika.domain.parse import MAX_COUNT
from khronika.store import checkpoint as cp
from khronika.store import signing
from khronika.store.app import Chronicle
from khronika.store.codec import BASE_FIELDS, decode


@click.command()
@click.argument("ident", required=False, metavar="[FACT|ENTITY|SOURCE]")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(1, MAX_COUNT),
    help="Show at most N events.",
)
@click.option("--oldest-first", is_flag=True, help="Oldest event first.")
@output_options("log", "table", "json", "csv", default="log")
@with_settings
def log(
    settings: Settings,
    ident: str | None,
    limit: int | None,
    oldest_first: bool,
    fmt: str,
) -> None:
    """Show the raw event history: what was recorded, when, by whom and why.

    Newest first, like `git log`. With an id (a slug, or an entity's name or
    alias), only that record's history, and its redactions.

    \b
    Examples:
      khronika log --limit 10
      khronika log serebryakova-verdict-2023
      khronika log "Tatyana Serebryakova" --format json
    """
    app = settings.open()
    entries = _entries(app, ident, oldest_first)
    if limit is not None:
        entries = (e for i, e in enumerate(entries) if i < limit)
    rows = [_row(position, event) for position, event in entries]
    if fmt == "log":
        _print_log(rows)
    elif fmt == "json":
        echo(to_json(rows))
    elif fmt == "csv":
        emit([_flat(r) for r in rows], fmt)
    else:
        emit([_short(r) for r in rows], fmt)


def _entries(
    app: Chronicle, ident: str | None, oldest_first: bool
) -> Iterator[tuple[int, Event]]:
    if ident is None:
        notifications: Iterable[Any] = (
            app.notifications() if oldest_first else _newest_first(app)
        )
        return ((n.id, decode(n.topic, n.state)) for n in notifications)
    slugs = _resolve(app, ident)
    found = sorted(
        e
        for kind, slug in slugs
        for e in (*app.history(kind, slug), *app.redactions(kind, slug))
    )
    return iter(found if oldest_first else reversed(found))


def _newest_first(app: Chronicle, page: int = 500) -> Iterator[Any]:
    stop = app.recorder.max_notification_id() or 0
    while stop > 0:
        start = max(1, stop - page + 1)
        yield from reversed(app.recorder.select_notifications(start, page, stop=stop))
        stop = start - 1


def _resolve(app: Chronicle, ident: str) -> list[tuple[StreamKind, str]]:
    kinds: tuple[StreamKind, ...] = ("fact", "entity", "source")
    found = [(k, ident) for k in kinds if app.exists(k, ident)]
    if found:
        return found
    catalogue = app.catalogue()
    for slug, entity in catalogue.entities.items():
        names = {slug, entity.doc.name, *entity.doc.aliases}
        if ident.lower() in {n.lower() for n in names}:
            return [("entity", slug)]
    error = catalogue.not_found("fact", ident, app)
    others = catalogue.not_found("entity", ident, app).suggestions
    raise NotFoundError(
        "fact, entity or source", ident, (error.suggestions + others)[:4]
    )


def _row(position: int, event: Event) -> dict[str, Any]:
    row: dict[str, Any] = {
        "position": position,
        "recorded_at": event.timestamp,
        "recorded_by": event.recorded_by,
        "key": event.seal.key if event.seal else "",
        "stream": kind_of(event),
        "id": event.slug,
        "version": event.originator_version,
        "event": type(event).__name__,
    }
    details = msgspec.to_builtins(event)
    for key in BASE_FIELDS:
        details.pop(key, None)
    row["details"] = details
    return row


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in row.items() if k != "details"}
    flat["recorded_at"] = stamp(row["recorded_at"])
    flat["summary"] = _summary(row)
    return flat


def _short(row: dict[str, Any]) -> dict[str, Any]:
    """A narrow row for an 80-column table; csv and json have everything."""
    return {
        "#": row["position"],
        "recorded (UTC)": row["recorded_at"].strftime("%Y-%m-%d %H:%M"),
        "by": row["recorded_by"],
        "event": row["event"],
        "id": f"{row['id']} v{row['version']}",
    }


def _summary(row: dict[str, Any]) -> str:
    d = row["details"]
    event = row["event"]
    if event in ("FactCorrected", "FactRetracted", "EntityRenamed", "EntityMerged"):
        text: str = d.get("reason", "")
        if "changes" in d:
            text = ", ".join(d["changes"]) + " — " + text
        if "name" in d:
            text = f"now '{d['name']}'" + (f" — {text}" if text else "")
        if "into" in d:
            text = f"into {d['into']}" + (f" — {text}" if text else "")
        return text
    if event == "EntityAliasAdded":
        return f"alias '{d['alias']}'"
    if event in ("MaintainerAdded", "MaintainerKeyRotated"):
        role = f"{d['role']}, " if "role" in d else ""
        return f"{role}key {signing.label(cp.load_verifier(d['key']))}" + (
            f" — {d['reason']}" if d.get("reason") else ""
        )
    if event == "MaintainerRevoked":
        return f"revoked — {d['reason']}"
    if event == "Redacted":
        basis = f" ({d['legal_basis']})" if d.get("legal_basis") else ""
        return (
            f"redacted {', '.join(d['fields'])} of {d['kind']} '{row['id']}' "
            f"({len(d['erased'])} value(s)) — {d['reason']}{basis}"
        )
    if event == "SigningKeyRotated":
        return f"new signing key {d['key'].split('+')[1]} — {d['reason']}"
    if event == "SourceCopyAttached":
        return f"archived copy sha256:{d['sha256']}"
    doc = d.get("doc", {})
    if event == "FactRecorded":
        when = doc["when"] if isinstance(doc["when"], str) else doc["when"]["edtf"]
        return f"{doc['kind']} {when}: {doc['summary']}"
    if event == "EntityRegistered":
        return f"{doc['kind']} '{doc['name']}'"
    return f"'{doc.get('title', '')}' ({doc.get('publisher', '')})"


def _print_log(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        echo(
            f"event {row['position']}  {row['stream']} {row['id']}  "
            f"v{row['version']}  {row['event']}",
            fg="yellow",
        )
        who = recorder(row["recorded_by"], row["key"])
        echo(_field("Recorded:", f"{stamp(row['recorded_at'])} by {who}"))
        d = row["details"]
        if d.get("unchecked"):
            echo(_field("Unchecked:", d["unchecked"]))
        if "reason" in d:
            for name, value in d.get("changes", {}).items():
                echo(_field("Set:", f"{name} = {to_json(value)}"))
            for key in ("name", "into", "key"):
                if key in d:
                    echo(_field(key.capitalize() + ":", d[key]))
            for e in d.get("erased", ()):  # a redaction's
                echo(_field("Erased:", f"{e['pointer'] or '(whole event)'} of "
                                       f"event {e['position']}"))  # fmt: skip
            echo(_field("Reason:", d["reason"] or "(none given)"))
            if d.get("legal_basis"):
                echo(_field("Basis:", d["legal_basis"]))
        else:
            echo(_field("", _summary(row)))
        sources = d.get("sources") or d.get("doc", {}).get("sources") or []
        for c in sources:
            citation = lenient.convert(c, Citation)  # as stored, maybe long ago
            quote = f' "{citation.quote}"' if citation.quote else ""
            echo(_field("Source:", f"{citation.source}@{citation.locator}{quote}"))
        echo()


def _field(label: str, text: str) -> str:
    """A labelled field; every further line of its text is indented.

    Only the first line of an entry starts at the margin (`event N ...`), so
    stored text with line breaks (a multi-line summary, or a reason written
    by an older version) can never pass for an entry of its own.
    """
    indent = " " * 10
    lines = [
        piece
        for line in text.splitlines() or [""]
        for piece in textwrap.wrap(
            line, 80 - len(indent), break_on_hyphens=False, break_long_words=False
        )
        or [""]
    ]  # each line wrapped to 80 columns, every piece under the first
    return f"{label:<9} " + ("\n" + indent).join(lines)
