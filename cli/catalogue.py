"""`khronika source …` and `khronika entity …`: what facts refer to."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import click
import msgspec

from khronika.cli.context import Settings, with_settings
from khronika.cli.examples import SLUG, TITLE
from khronika.cli.write import parse_assignments, set_option
from khronika.domain.aggregates import SOURCE_CORRECTABLE
from khronika.domain.documents import ENTITY_KINDS, EntityDoc, SourceDoc
from khronika.domain.events import stamp
from khronika.domain.parse import field_error
from khronika.store import copies


def _doc(cls: type[Any], **fields: Any) -> Any:
    """Build a document from options, with errors that name the option."""
    try:
        return msgspec.convert(
            {k: v for k, v in fields.items() if v is not None}, type=cls
        )
    except msgspec.ValidationError as e:
        raise click.BadParameter(str(field_error(e, cls=cls))) from None


@click.group()
def source() -> None:
    """Sources: the articles, documents and records that facts cite."""


@source.command(name="add")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--publisher", required=True)
@click.option("--url", required=True)
@click.option(
    "--published",
    required=True,
    metavar="EDTF",
    help="Publication date, EDTF: 2024-06-20, 2024-06, 2024-06~, 2024-06-13/2024-07.",
)
@click.option(
    "--language",
    default="en",
    show_default=True,
    help="Language code, e.g. en, ru, kk.",
)
@click.option(
    "--file",
    "archived",
    type=click.Path(exists=True, dir_okay=False),
    help="An archived copy: stored by its SHA-256; citations of the source "
    "are then checked against it.",
)
@with_settings
def source_add(
    settings: Settings,
    slug: str,
    title: str,
    publisher: str,
    url: str,
    published: str,
    language: str,
    archived: str | None,
) -> None:
    """Add a source that facts can cite.

    \b
    Example:
      khronika source add SLUG \\
          --title "TITLE" \\
          --publisher Worldcrunch --published 2024-06-13/2024-07 \\
          --url https://worldcrunch.com/world-affairs/kazakhstan-separatists-russian/
    """
    doc = _doc(
        SourceDoc,
        id=slug,
        title=title,
        publisher=publisher,
        url=url,
        published=published,
        language=language,
    )
    app = settings.open()
    with _copy(archived) if archived else nullcontext() as copy:
        app.add_source(doc, settings.user(), copy)
    click.echo(f"added source {slug}")


source_add.help = (source_add.help or "").replace("SLUG", SLUG).replace("TITLE", TITLE)


@source.command(name="attach")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_settings
def source_attach(settings: Settings, slug: str, file: str) -> None:
    """Store an archived copy of a source, by its SHA-256.

    From then on, citations of the source are checked against the copy:
    quotes must occur in it, at the paragraph, page or characters the
    locator names. The same bytes are stored once, however often attached.

    \b
    Example:
      khronika source attach worldcrunch-kz-separatism article.txt
    """
    app = settings.open()
    with _copy(file) as copy:
        event = app.attach_copy(slug, copy, settings.user())
    sha = copy.sha256
    state = "attached" if event else "stored (the source already names it)"
    click.echo(f"{slug}: archived copy sha256:{sha} {state}")


def _copy(path: str) -> AbstractContextManager[copies.Hashed]:
    """An archived copy, streamed into the store: a regular file of at most
    COPY_MAX bytes."""
    return copies.from_file(Path(path))


@source.command(name="correct")
@click.argument("slug")
@set_option(", ".join(SOURCE_CORRECTABLE))
@click.option("--reason", required=True, help="Why the values change.")
@with_settings
def source_correct(
    settings: Settings, slug: str, assignments: tuple[str, ...], reason: str
) -> None:
    """Correct fields of a source, with a reason.

    The correction is a new event: `source show SLUG --known-at T` shows
    the source as it stood before, and `khronika log SLUG` both versions.
    A new copy is attached with `source attach`, not set here.

    \b
    Example:
      khronika source correct worldcrunch-kz-separatism \\
          --set published=2024-06-13 --reason "The page gives its date"
    """
    app = settings.open()
    event = app.correct_source(
        slug, parse_assignments(assignments), reason, settings.user()
    )
    click.echo(
        f"corrected source {slug} (version {event.originator_version}, "
        f"{stamp(event.timestamp)})"
    )


@click.group()
def entity() -> None:
    """Entities: people, groups, organisations, courts, places, laws, platforms."""


@entity.command(name="add")
@click.argument("kind", type=click.Choice(ENTITY_KINDS))
@click.argument("slug")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    help="Another name: transliteration, Cyrillic, nickname. Repeatable.",
)
@click.option("--note", help="A short description in your own words.")
@click.option(
    "--article",
    "articles",
    multiple=True,
    metavar="NUMBER=TITLE",
    help="For a law: one of its articles, e.g. 180='Separatist activity'.",
)
@with_settings
def entity_add(
    settings: Settings,
    kind: str,
    slug: str,
    name: str,
    aliases: tuple[str, ...],
    note: str | None,
    articles: tuple[str, ...],
) -> None:
    """Add an entity that facts can name.

    \b
    Examples:
      khronika entity add person tatyana-serebryakova \\
          --name "Tatyana Serebryakova" --alias "Татьяна Серебрякова"
      khronika entity add law kz-criminal-code-2014 \\
          --name "Criminal Code of Kazakhstan (2014)" \\
          --article "180=Separatist activity"
    """
    parsed = []
    for text in articles:
        number, sep, title = text.partition("=")
        if not sep:
            raise click.BadParameter(
                f"'{text}': write NUMBER=TITLE", param_hint="--article"
            )
        parsed.append({"number": number.strip(), "title": title.strip()})
    doc = _doc(
        EntityDoc,
        id=slug,
        kind=kind,
        name=name,
        aliases=list(aliases),
        note=note,
        articles=parsed,
    )
    settings.open().register_entity(doc, settings.user())
    click.echo(f"added {kind} {slug}")


@entity.command(name="alias")
@click.argument("slug")
@click.argument("alias")
@with_settings
def entity_alias(settings: Settings, slug: str, alias: str) -> None:
    """Give an entity another name.

    \b
    Example:
      khronika entity alias nursultan-nazarbayev "Нурсултан Назарбаев"
    """
    settings.open().add_alias(slug, alias, settings.user())
    click.echo(f"{slug}: added alias '{alias}'")


@entity.command(name="rename")
@click.argument("slug")
@click.argument("name")
@click.option("--reason", default="", help="Why the name changes.")
@with_settings
def entity_rename(settings: Settings, slug: str, name: str, reason: str) -> None:
    """Change an entity's display name; the old name becomes an alias.

    \b
    Example:
      khronika entity rename konaev "Konaev (formerly Kapchagay)"
    """
    settings.open().rename(slug, name, reason, settings.user())
    click.echo(f"{slug}: now named '{name}'")


@entity.command(name="merge")
@click.argument("slug")
@click.argument("into")
@click.option("--reason", required=True, help="Why they are the same.")
@with_settings
def entity_merge(settings: Settings, slug: str, into: str, reason: str) -> None:
    """Record that SLUG is the same entity as INTO.

    Facts that name SLUG keep naming it; views count them for INTO.

    \b
    Example:
      khronika entity merge e-potopa evgenia-potopa --reason "Same person"
    """
    settings.open().merge(slug, into, reason, settings.user())
    click.echo(f"{slug}: merged into {into}")


COMMANDS = (source, entity)
