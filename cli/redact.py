"""`khronika redact`: an admin erases personal values, keeping the log verifiable."""

from __future__ import annotations

import click

from khronika.cli.context import Settings, with_settings
from khronika.cli.read import rebuild_views
from khronika.domain.events import Redacted, stamp
from khronika.domain.ids import StreamKind
from khronika.store import location as loc
from khronika.store.scrub import scrub


@click.command()
@click.argument("record", metavar="FACT|ENTITY|SOURCE")
@click.option(
    "--field",
    "fields",
    multiple=True,
    required=True,
    help="A field that holds personal data (summary, wording, quote, note, name, "
    "aliases, alias), or a JSON pointer into the events (/doc/summary). "
    "Repeat for more.",
)
@click.option("--reason", required=True, help="Why, in a sentence: readers see it.")
@click.option("--legal-basis", default="", help="The law or order it rests on.")
@click.option(
    "--kind",
    type=click.Choice(["fact", "entity", "source"]),
    default=None,
    help="The record's kind, if its slug names more than one.",
)
@with_settings
def redact(
    settings: Settings,
    record: str,
    fields: tuple[str, ...],
    reason: str,
    legal_basis: str,
    kind: StreamKind | None,
) -> None:
    """Erase the stored values of a record's fields, in every version (admins).

    The values and their salts are deleted in the transaction that records
    your signed redaction; every leaf, checkpoint and signature still holds,
    and `verify` checks that each missing value is one a redaction names.
    Readers see "[redacted on DATE: REASON]" in its place. The views are
    then rebuilt, and the store's files rewritten without the old bytes.

    \b
    Example:
      khronika redact serebryakova-daughter-placed-2023 --field summary \\
          --reason "a minor's placement with child services" \\
          --legal-basis "GDPR Art. 17(1)(d)"
    """
    if loc.is_remote(settings.location):
        raise click.ClickException(
            "a redaction is made on the store's own machine, which then rewrites "
            "its files: run `khronika redact` there"
        )
    app = settings.open()
    kinds: list[StreamKind] = ["fact", "entity", "source"]
    found = [k for k in kinds if (kind is None or k == kind) and app.exists(k, record)]
    if len(found) > 1:
        raise click.UsageError(
            f"'{record}' names a {' and a '.join(found)}: say which with --kind"
        )
    event = app.redact(
        found[0] if found else kind or "fact", record, list(fields), reason,
        legal_basis, settings.user(),
    )  # fmt: skip
    assert isinstance(event, Redacted)
    click.echo(
        f"redacted {', '.join(fields)} of {event.kind} '{record}': "
        f"{len(event.erased)} stored value(s) erased in "
        f"{len({e.position for e in event.erased})} event(s), "
        f"{stamp(event.timestamp)}"
    )
    rebuild_views(settings)
    scrub(app)
    click.echo("the store's files were rewritten without the erased bytes")
