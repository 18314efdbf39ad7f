"""The auditor's commands: trace (and, with the Merkle log, proofs)."""

from __future__ import annotations

import textwrap
from typing import Any

import click

from khronika.cli.context import Settings, with_settings
from khronika.cli.output import stamp, to_json
from khronika.cli.points import RecordTime, open_views
from khronika.domain.errors import NotFoundError
from khronika.projections.queries import Entities, Point, timeline
from khronika.store.audit import trace_fact

FORMATS = ("table", "json")


@click.command()
@click.argument("ident", metavar="FACT|ENTITY")
@click.option(
    "--known-at",
    type=RecordTime(),
    help="What an auditor would have seen at TIMESTAMP.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)  # fmt: skip
@with_settings
def trace(settings: Settings, ident: str, known_at: str | None, fmt: str) -> None:
    """Trace a fact to its events, recorders, sources and passages.

    For a fact: how it stands, then every event in its history with its
    record time, recorder and reason, and each citation with the source's
    title, publisher, URL and date, the locator and quote, and whether the
    quote was verified against the stored copy (and that copy's hash).
    For an entity: every fact that names it, with the sources behind each.

    \b
    Examples:
      khronika trace serebryakova-verdict-2023
      khronika trace tatyana-serebryakova
      khronika trace serebryakova-verdict-2023 --known-at 2026-01-01 --format json
    """
    app = settings.open()
    if app.exists("fact", ident):
        moment = None
        if known_at is not None:
            from datetime import datetime

            moment = datetime.fromisoformat(known_at.replace("Z", "+00:00"))
        result = trace_fact(app, ident, moment)
        if fmt == "json":
            click.echo(to_json(result))
        else:
            _print_fact(result)
        return
    views = open_views(settings)
    point = Point(known_at=known_at)
    try:
        entity = Entities(views, point).resolve(ident)
    except NotFoundError as e:
        raise NotFoundError("fact or entity", ident, e.suggestions) from None
    members = Entities(views, point).members(entity["entity"])
    facts = timeline(views, point, entities=members)
    facts += [f for f in timeline(views, point, places=members) if f not in facts]
    if fmt == "json":
        click.echo(to_json({"entity": entity["entity"], "name": entity["name"],
                            "known_at": known_at, "facts": facts}))  # fmt: skip
        return
    click.echo(f"{entity['name']} ({entity['kind']}, {entity['entity']}): "
               f"{len(facts)} fact{'s' * (len(facts) != 1)}")  # fmt: skip
    for f in facts:
        click.echo(f"\n{f['when']['label']} · {f['kind']} · {f['id']}")
        for c in f["sources"]:
            quote = f' "{c["quote"]}"' if c.get("quote") else ""
            click.echo(f"    {c['source']}@{c['locator']}{quote}")


def _print_fact(result: dict[str, Any]) -> None:
    fact = result["fact"]
    state = "RETRACTED" if result["retracted"] else f"version {result['version']}"
    click.echo(f"{result['id']}  ({fact['kind']}, {state})")
    when = fact["when"] if isinstance(fact["when"], str) else fact["when"]["edtf"]
    click.echo(f"When:     {when}")
    click.echo(textwrap.fill(fact["summary"], 80, initial_indent="Summary:  ",
                             subsequent_indent=" " * 10))  # fmt: skip
    for event in result["events"]:
        click.secho(
            f"\nevent {event['position']}  v{event['version']}  {event['event']}  "
            f"{stamp(event['recorded_at'])} by {event['recorded_by']}",
            fg="yellow",
        )
        if event["reason"]:
            click.echo(f"  Reason:    {event['reason']}")
        for name, value in (event["changes"] or {}).items():
            click.echo(f"  Set:       {name} = {to_json(value)}")
        if event["unchecked"]:
            click.echo(f"  Unchecked: {event['unchecked']}")
        for c in event["citations"]:
            click.echo(f"  Source:    {c['title']}")
            click.echo(f"             {c['publisher']}, {c['published']}, {c['url']}")
            quote = f'  "{c["quote"]}"' if c["quote"] else ""
            click.echo(f"  Passage:   {c['locator']}{quote}")
            copy = f"sha256:{c['copy_sha256']}" if c["copy_sha256"] else "none"
            click.echo(f"  Checked:   {c['verified']} (copy {copy})")
        if "proof" in event:
            proof = event["proof"]
            click.echo(f"  In log:    leaf {proof['leaf_index']} of "
                       f"{proof['tree_size']}, root {proof['root']}")  # fmt: skip
