"""`entity list|show` and `source list|show`: what the store holds."""

from __future__ import annotations

import click
import msgspec

from khronika.cli.catalogue import entity, source
from khronika.cli.context import Settings, with_settings
from khronika.cli.output import (
    echo,
    emit,
    indented,
    output_options,
    sections,
    to_json,
)
from khronika.cli.points import RecordTime, open_views
from khronika.domain.documents import ENTITY_KINDS
from khronika.projections import lists
from khronika.projections import models as m
from khronika.projections.queries import Point

KNOWN_AT = click.option(
    "--known-at", type=RecordTime(),
    help="The store as it stood at TIMESTAMP (UTC; a date means its end).",
)  # fmt: skip


@entity.command(name="list")
@click.option("--kind", type=click.Choice(ENTITY_KINDS), help="Only this kind.")
@click.option("--search", metavar="TEXT", help="Text in the slug, name or an alias.")
@KNOWN_AT
@output_options()
@with_settings
def entity_list(
    settings: Settings, kind: str | None, search: str | None, known_at: str | None,
    fmt: str,
) -> None:  # fmt: skip
    """List the entities, by name: people, groups, places, laws and the rest.

    \b
    Examples:
      khronika entity list --kind law
      khronika entity list --search Серебрякова --format json
    """
    views = open_views(settings)
    point = Point(known_at=known_at)
    found = lists.matching(lists.entities(views, point, kind), search)
    if fmt == "json":
        echo(to_json(m.Entities(known_at=known_at, lag=views.lag, entities=found)))
        return
    columns = ("id", "kind", "name", "aliases")
    emit([dict(zip(columns, (e.id, e.kind, e.name, e.aliases), strict=True))
          for e in found], fmt, columns=columns)  # fmt: skip
    if fmt == "table":
        echo(f"{len(found)} entit{'ies' if len(found) != 1 else 'y'}")


@entity.command(name="show")
@click.argument("ident", metavar="ID")
@KNOWN_AT
@output_options()
@with_settings
def entity_show(settings: Settings, ident: str, known_at: str | None, fmt: str) -> None:
    """One entity (by slug, name or alias) and every fact that names it.

    \b
    Example:
      khronika entity show "Татьяна Серебрякова"
    """
    views = open_views(settings)
    answer = lists.entity_facts(views, ident, Point(known_at=known_at))
    answer = m.at(answer, None, known_at, views.lag)
    if fmt == "json":
        echo(to_json(answer))
        return
    e = answer.entity
    if fmt == "csv":  # the entity's row, then a row for each fact naming it
        entity = msgspec.to_builtins(e) | {"aliases": "; ".join(e.aliases)}
        del entity["articles"]
        facts = [{"fact": f.id, "kind": f.kind, "when": f.when} for f in answer.facts]
        emit(sections(entity=[entity], fact=facts), "csv")
        return
    echo(indented(f"{e.name} ({e.kind}, {e.id})", ""))
    echo(f"Version {e.version}, recorded {e.recorded_at}")
    if e.aliases:
        echo(indented(", ".join(e.aliases), "Also: "))
    if e.note:
        echo(indented(e.note, "Note: "))
    if e.merged_into:
        echo(f"Merged into: {e.merged_into}")
    for a in e.articles:
        echo(indented(a.title, f"Article {a.number}: "))
    echo(f"\n{len(answer.facts)} fact{'s' * (len(answer.facts) != 1)} name it:")
    for f in answer.facts:
        echo(indented(f"{f.when} · {f.kind} · {f.id}", "  "))


@source.command(name="list")
@KNOWN_AT
@output_options()
@with_settings
def source_list(settings: Settings, known_at: str | None, fmt: str) -> None:
    """List the sources, with their archived copies' hashes.

    \b
    Example:
      khronika source list --format csv
    """
    views = open_views(settings)
    found = lists.sources(views, Point(known_at=known_at))
    if fmt == "json":
        echo(to_json(m.Sources(known_at=known_at, lag=views.lag, sources=found)))
        return
    columns = ("id", "title", "publisher", "published", "sha256")
    rows = [dict(zip(columns, (s.id, s.title, s.publisher, s.published, s.sha256),
                     strict=True)) for s in found]  # fmt: skip
    if fmt == "table":  # to fit 80 columns: the publisher off, the hash cut short
        rows = [{k: v for k, v in r.items() if k != "publisher"}
                | {"sha256": (r["sha256"] or "")[:12]} for r in rows]  # fmt: skip
    emit(rows, fmt, columns=columns)


@source.command(name="show")
@click.argument("slug")
@KNOWN_AT
@output_options()
@with_settings
def source_show(settings: Settings, slug: str, known_at: str | None, fmt: str) -> None:
    """One source: its fields, its stored copy, and every fact that cites it.

    \b
    Example:
      khronika source show worldcrunch-kz-separatism
    """
    app = settings.open()
    views = open_views(settings)
    point = Point(known_at=known_at)
    found = lists.source(views, slug, point)
    answer = m.OneSource(known_at=known_at, lag=views.lag, source=found,
                         copy_bytes=app.copy_bytes(found.sha256),
                         cited_by=lists.citations(views, found.id, point))  # fmt: skip
    if fmt == "json":
        echo(to_json(answer))
        return
    if fmt == "csv":  # the source's row, then a row for each citation of it
        source = msgspec.to_builtins(answer.source) | {"copy_bytes": answer.copy_bytes}
        cited = [msgspec.to_builtins(c) for c in answer.cited_by]
        emit(sections(source=[source], citation=cited), "csv")
        return
    s = answer.source
    echo(indented(s.title, ""))
    echo(indented(f"{s.publisher}, {s.published} ({s.language})", ""))
    echo(s.url)  # one line, whole, to copy
    if s.sha256 is None:
        echo("No archived copy named.")
    else:
        stored = "not stored here" if answer.copy_bytes is None else (
            f"{answer.copy_bytes:,} bytes stored")  # fmt: skip
        echo(f"Archived copy, {stored}:\n  sha256:{s.sha256}")
    echo(f"\nCited {len(answer.cited_by)} time{'s' * (len(answer.cited_by) != 1)}:")
    for c in answer.cited_by:
        quote = f' "{c.quote}"' if c.quote else ""
        echo(indented(f"{c.fact} @ {c.locator}{quote}", "  "))
