"""Commands that write: init, demo, append, import, correct, retract."""

from __future__ import annotations

import contextlib
import getpass
import inspect
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click
from eventsourcing.persistence import PersistenceError
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TimeRemainingColumn,
)

from khronika.cli import spreadsheet
from khronika.cli.context import Settings, announce_signing, with_settings
from khronika.cli.examples import NOTE, SLUG, TITLE
from khronika.cli.files import read_limited
from khronika.cli.points import store_views
from khronika.domain.documents import Citation, FactDoc
from khronika.domain.errors import StoreError, ValidationError
from khronika.domain.events import stamp
from khronika.domain.parse import decode, sniff
from khronika.domain.sameness import VerdictKey, verdict_key
from khronika.projections.follower import Follower
from khronika.projections.reading import refresh
from khronika.projections.sameness import same_verdicts
from khronika.projections.views import ViewStore
from khronika.store import attest
from khronika.store import location as loc
from khronika.store.app import Chronicle
from khronika.store.errors import explain
from khronika.store.importer import (
    DEFAULT_BATCH,
    Importer,
    ImportReport,
    bundle_files,
    read_lines,
    store_copies,
)
from khronika.store.migrate import migrate as migrate_store

EXAMPLE = f"""\
A complete example, in a fresh store:

\b
  # 1. a store, a source and the entities the fact names
  khronika init
  khronika source add {SLUG} \\
      --title "{TITLE}" \\
      --publisher Worldcrunch --language en --published 2024-06-13/2024-07 \\
      --url https://worldcrunch.com/world-affairs/kazakhstan-separatists-russian/
  khronika entity add person tatyana-serebryakova \\
      --name "Tatyana Serebryakova" --alias "Татьяна Серебрякова" \\
      --alias "Tatiana Serebryakova" \\
      --note "{NOTE}"

\b
  # 2. the fact, as fact.toml
  id = "serebryakova-chatroulette-2021"
  kind = "statement"
  when = {{ edtf = "2021-09", wording = "in September 2021" }}
  summary = "On Chatroulette she asked a man in Russia to take Petropavlovsk."
  participants = [{{ entity = "tatyana-serebryakova", role = "speaker" }}]
  sources = [{{ source = "{SLUG}", locator = "para:6" }}]

\b
  # 3. append it (JSON works too: the same keys in an object)
  khronika append fact.toml
"""


_unchecked_option = click.option(
    "--unchecked",
    metavar="REASON",
    default="",
    help="Skip checking citations against stored copies; REASON is recorded.",
)
_source_option = click.option(
    "--source",
    "sources",
    multiple=True,
    required=True,
    metavar="SOURCE@LOCATOR",
    help="Citation that justifies it, e.g. worldcrunch-kz-separatism@para:6. "
    "Repeatable.",
)
_quote_option = click.option(
    "--quote", help="Short quote from the first --source that shows the point."
)
_reason_option = click.option("--reason", required=True, help="Why, in a sentence.")


@click.command()
@with_settings
def init(settings: Settings) -> None:
    """Create an empty store (SQLite by default).

    The store is --store, else $KHRONIKA_STORE, else ./khronika.db.
    A new store gets a signing key (KEY and KEY.pub, see `khronika
    checkpoint`). Running it on an existing store changes nothing; if that
    store's key files are missing, it says how to restore or rotate them.

    \b
    Example:
      khronika --store chronicle.db init
    """
    where = loc.describe(settings.location)
    existed = Chronicle.is_store(settings.location)
    app = settings.open(create=True)
    state = "already a khronika store" if existed else "created an empty store"
    click.echo(f"{where}: {state} (id {app.meta['store_id']})")
    key, made = attest.ensure_key(app, create=not existed)
    warning = attest.loose_key(key)
    if warning:
        click.echo(warning, err=True)
    click.echo(f"signing key: {key} ({'created' if made else 'exists'}; "
               f"publish {key.with_suffix('.pub')} for auditors)")  # fmt: skip
    if not existed:
        announce_signing(app, settings.user(getpass.getuser()))
    click.echo(
        "Next: `khronika demo` loads an example, `khronika append --help` "
        "shows how to write a fact."
    )


@click.command()
@with_settings
def demo(settings: Settings) -> None:
    """Load the bundled Kazakhstan dataset and show what to try next.

    Creates the store if need be. Loading twice adds nothing.

    \b
    Example:
      khronika demo && khronika log --limit 5
    """
    fresh = not Chronicle.is_store(settings.location)
    app = settings.open(create=True)
    if fresh:  # an existing store keeps its key, or its lack of one
        attest.ensure_key(app)
        announce_signing(app, settings.user("khronika-demo"))
    bundle = resources.files("khronika.data") / "kazakhstan-separatism"
    with resources.as_file(bundle) as path:
        report = _run_import(app, bundle_files(path), settings.user("khronika-demo"))
    _print_report(report, what="the Kazakhstan separatism dataset")
    click.echo(
        "\nTry next:\n"
        "  khronika log --limit 5                      the newest events\n"
        "  khronika log serebryakova-verdict-2023      one fact's history\n"
        "  khronika log tatyana-serebryakova           one entity's history\n"
        "  khronika append --help                      write a fact of your own"
    )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "json", "toml"]),
    default="auto",
    show_default=True,
    help="Document format; auto goes by the file name, then the content.",
)
@_unchecked_option
@with_settings
def append(settings: Settings, file: str, fmt: str, unchecked: str) -> None:
    """Append one fact from a JSON or TOML document (FILE, or - for stdin).

    A fact needs an id (a slug), a kind, a date (`when`, EDTF), a summary in
    your own words and at least one citation. Every source and entity it
    names must be in the store already: add them first.

    Kinds: statement, investigation, detention, charge, trial, verdict,
    sentence_change, law_amendment, publication, measurement, diplomatic,
    other. `when` is EDTF: 2024-06-06, 2024-06, 2023-21 (spring), 2023-24
    (winter, into 2024), 2023~ (about), 2021-09? (uncertain), 201X,
    2019/2021, ../2020.
    """
    data = read_limited(file, "FILE")
    doc = decode(data, FactDoc, sniff(data, file) if fmt == "auto" else fmt)  # type: ignore[arg-type]
    app = settings.open()
    event = app.append_fact(doc, settings.user(), unchecked)
    click.echo(f"recorded fact {doc.id} (event at {stamp(event.timestamp)})")
    key = verdict_key(doc)
    _warn_twins(app, [key] if key is not None else [])


append.help = inspect.cleandoc(append.help or "") + "\n\n" + EXAMPLE


@click.command(name="import")
@click.argument("path", type=click.Path(exists=True, allow_dash=True))
@click.option(
    "--batch-size",
    default=DEFAULT_BATCH,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Records per transaction; a failed batch writes nothing.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False),
    help="For a CSV file: the TOML mapping that says which column holds which field.",
)
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@_unchecked_option
@with_settings
def import_(
    settings: Settings,
    path: str,
    batch_size: int,
    mapping: str | None,
    dry_run: bool,
    unchecked: str,
) -> None:
    """Import sources, entities and facts from JSON Lines or a bundle.

    PATH is a .jsonl file (or - for stdin) with one record per line, each
    with "type": "source", "entity" or "fact", or a bundle directory holding
    sources.jsonl, entities.jsonl and facts.jsonl (read in that order),
    such as `khronika export` writes: its copies/ (archived copies named by
    their SHA-256) are stored too, and its "merge" and "retraction" records
    replay `entity merge` and `retract`.
    Records are written in batches, one transaction each. Records already
    in the store with the same content are skipped, so a second import of
    the same file adds nothing.

    A CSV file (a spreadsheet) imports with --mapping, a TOML file that
    names the column of each field; each row becomes a fact, and errors
    name the row and the column. With --dry-run, the first facts are
    shown as JSON.

    \b
    One record a line; "type" says which kind it is:
      {"type": "source", "id": "my-source", "title": "…", "publisher": "…",
       "url": "https://…", "published": "2024-06", "language": "en"}
      {"type": "entity", "id": "ann-smith", "kind": "person", "name": "Ann Smith"}
      {"type": "fact", "id": "ann-smith-verdict-2024", "kind": "verdict",
       "when": "2024-05", "summary": "…", "sources": [{"source": "my-source",
       "locator": "para:3"}]}

    \b
    Examples:
      khronika import data/kazakhstan-separatism/
      khronika import --dry-run new-facts.jsonl
      khronika import verdicts.csv --mapping verdicts.toml
    """
    sheet = spreadsheet.sheet(path, mapping)  # None for JSON Lines
    app = settings.open()
    files = [Path("-")] if path == "-" else bundle_files(Path(path))
    copies = frozenset() if dry_run else store_copies(app, Path(path))
    report = _run_import(
        app, files, settings.user(), batch_size, dry_run, unchecked, copies, sheet
    )
    if sheet is not None and dry_run:
        spreadsheet.show(sheet)
    _print_report(report, what=path, dry_run=dry_run)
    _warn_twins(app, report.verdicts)


def _warn_twins(app: Chronicle, keys: list[VerdictKey]) -> None:
    """Warn on stderr of each verdict written (or that a dry run would write)
    with the same defendants and date as another: likely one verdict twice.
    A served chronicle's writes are not looked at here."""
    if not keys or loc.is_remote(app.location):
        return
    views = store_views(app)
    try:
        views.check_format()
        refresh(views, app.recorder.max_notification_id() or 0, app.read_after)
        for twin in same_verdicts(views, keys):
            click.echo(
                f"khronika: warning: verdict {twin.fact} has the same defendants "
                f"and date ({twin.edtf}) as verdict {twin.other}; if it is the "
                f"same verdict, retract one (`khronika retract {twin.fact} …`)",
                err=True,
            )
    except StoreError:
        return  # views of an older format: `khronika upgrade` first
    finally:
        views.datastore.close()


def _run_import(
    app: Any,
    files: list[Path],
    user: str,
    batch_size: int = DEFAULT_BATCH,
    dry_run: bool = False,
    unchecked: str = "",
    copies: frozenset[str] = frozenset(),
    sheet: spreadsheet.Sheet | None = None,
) -> ImportReport:
    total = sum(f.stat().st_size for f in files if str(f) != "-")
    if dry_run:
        following: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    elif total < FOLLOW_FROM and all(str(f) != "-" for f in files):
        following = views_caught_up(app)  # sooner than a process starts
    else:
        following = views_following(app)
    with (
        following,  # outermost: the views are current once it ends
        progress_bar(total) as advance,
        contextlib.ExitStack() as stack,
    ):
        streams = [(f.name, stack.enter_context(_open(f))) for f in files]
        importer = Importer(app, user, batch_size, dry_run, advance, unchecked, copies)
        if sheet is None:
            report = importer.run(read_lines(streams))
        else:  # a CSV file, through its mapping
            report = sheet.run(importer, streams)
    return report


# bytes of input from which the views follow an import in a process of their
# own; below, they catch up after it, in less time than that process takes
# to start (some 0.3 s)
FOLLOW_FROM = 2 * 2**20


@contextlib.contextmanager
def views_caught_up(app: Any) -> Iterator[None]:
    """The views caught up once a bulk write ends well."""
    yield
    views_current(app)


def views_current(app: Any) -> None:
    """Catch the views up after a bulk write, so that a copy of the store
    made read-only next answers without lag. An older store's views are
    left to `khronika upgrade`, which reads will point to. A served
    chronicle's server keeps its own views current."""
    if loc.is_remote(app.location):
        return
    views = store_views(app)
    try:
        views.check_format()
    except StoreError:
        views.datastore.close()
        return
    try:
        _catch_up(app, views)
    finally:
        views.datastore.close()


def _catch_up(app: Any, views: ViewStore) -> None:
    head = app.recorder.max_notification_id() or 0
    with progress_bar(head - views.position(), "updating the views") as advance:
        refresh(views, head, app.read_after, advance)


@contextlib.contextmanager
def views_following(app: Any) -> Iterator[None]:
    """The views follow a bulk write in a process of their own
    (`projections.follower`) and are current once it ends. Views that hold
    no fact are loaded as a rebuild loads them: the indexes a load drops are
    built once, at the end. If the write fails, the follower stops where it
    is; the next read catches up."""
    if loc.is_remote(app.location):
        yield  # a served chronicle's server keeps its own views
        return
    views = store_views(app)
    try:
        views.check_format()
    except StoreError:  # an older store's: `khronika upgrade` first
        views.datastore.close()
        yield
        return
    try:
        views.begin_load()
        follower = Follower(app.location)
        try:
            yield
        except BaseException:
            follower.stop()
            raise
        follower.close()
        _catch_up(app, views)  # what it left, if it stopped early
    finally:
        views.build_indexes()  # this load's, or one cut short before
        views.datastore.close()


@contextlib.contextmanager
def _open(path: Path) -> Iterator[BinaryIO]:
    if str(path) == "-":
        yield sys.stdin.buffer
    else:
        with path.open("rb") as f:
            yield f


@contextlib.contextmanager
def progress_bar(total: int, what: str = "") -> Iterator[Any]:
    """A progress bar on a terminal; nothing otherwise.

    Of bytes imported, or with `what`, of events: "updating the views".
    """
    if total <= 0 or not sys.stderr.isatty():
        yield None
        return
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn() if what else DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(what or "importing", total=total)
        yield lambda done: progress.update(task, completed=done)


def _print_report(report: ImportReport, what: str, dry_run: bool = False) -> None:
    def counts(counter: Any) -> str:
        parts = [
            f"{counter[k]} {k}{'s' if counter[k] != 1 else ''}"
            for k in ("source", "entity", "fact", "merge", "retraction")
            if counter[k]
        ]
        return ", ".join(parts).replace("entitys", "entities") or "nothing"

    verb = "would add" if dry_run else "added"
    if not report.added and report.skipped:
        click.echo(f"{what}: nothing new ({counts(report.skipped)} already present)")
    else:
        line = f"{what}: {verb} {counts(report.added)}"
        if report.skipped:
            line += f"; skipped {counts(report.skipped)} already present"
        click.echo(line)


def _citations(sources: tuple[str, ...], quote: str | None) -> list[Citation]:
    citations = []
    for i, text in enumerate(sources):
        slug, sep, locator = text.partition("@")
        if not sep:
            raise click.BadParameter(
                f"'{text}': write SOURCE@LOCATOR, "
                "e.g. worldcrunch-kz-separatism@para:6",
                param_hint="--source",
            )
        data = json.dumps(
            {"source": slug, "locator": locator, "quote": quote if i == 0 else None}
        ).encode()
        try:
            citations.append(decode(data, Citation))
        except ValidationError as e:
            raise click.BadParameter(f"'{text}': {e}", param_hint="--source") from None
    return citations


def parse_assignments(assignments: tuple[str, ...]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for text in assignments:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"'{text}': write FIELD=VALUE", param_hint="--set")
        if name.strip() in changes:
            raise click.BadParameter(
                f"{name.strip()} is set twice; give each field once",
                param_hint="--set",
            )
        changes[name.strip()] = _value(value, name)
    return changes


def _value(text: str, name: str) -> Any:
    """Text as is; JSON where it starts like JSON ({, [ or "); null clears."""
    if text == "null":
        return None
    if text[:1] in '{["' and text:
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise click.BadParameter(
                f"{name}: not valid JSON: {e}", param_hint="--set"
            ) from None
        except RecursionError:
            raise click.BadParameter(
                f"{name}: the JSON is nested too deeply", param_hint="--set"
            ) from None
    return text


F = TypeVar("F", bound=Callable[..., Any])


def set_option(fields: str) -> Callable[[F], F]:
    """--set FIELD=VALUE, repeatable, for a correction of `fields`."""
    return click.option(
        "--set", "assignments", multiple=True, required=True,
        metavar="FIELD=VALUE", help=f"New value of a field: {fields}. Repeatable.",
    )  # fmt: skip


@click.command()
@click.argument("fact")
@set_option(
    "kind, when, summary, place, participants, details or sources. JSON for "
    "lists and tables; null clears place"
)
@_reason_option
@_source_option
@_quote_option
@_unchecked_option
@with_settings
def correct(
    settings: Settings,
    fact: str,
    assignments: tuple[str, ...],
    reason: str,
    sources: tuple[str, ...],
    quote: str | None,
    unchecked: str,
) -> None:
    """Correct fields of a fact, with a reason and a source.

    The correction is a new event: the old value stays in the history and
    `khronika log FACT` shows both. Its --source citations join the fact's
    sources, unless it sets `sources` itself.

    A new date written as plain EDTF (`--set when=2023-05-31`) keeps the
    `wording` and `anchor` the date had; to change those too, give `when`
    as JSON: --set 'when={"edtf": "2023-05-31", "wording": "on 31 May"}'.

    \b
    Example:
      khronika correct serebryakova-verdict-2023 --set when=2023-05-31 \\
          --reason "The court's own notice gives the 31st" \\
          --source worldcrunch-kz-separatism@para:6
    """
    app = settings.open()
    citations = _citations(sources, quote)
    changes = parse_assignments(assignments)
    event = app.correct(fact, changes, reason, citations, settings.user(), unchecked)
    click.echo(
        f"corrected {fact} (version {event.originator_version}, "
        f"{stamp(event.timestamp)})"
    )


@click.command()
@click.argument("fact")
@_reason_option
@_source_option
@_quote_option
@_unchecked_option
@with_settings
def retract(
    settings: Settings,
    fact: str,
    reason: str,
    sources: tuple[str, ...],
    quote: str | None,
    unchecked: str,
) -> None:
    """Retract a fact, with a reason and a source.

    The fact stays in the history, marked retracted from this moment on.

    \b
    Example:
      khronika retract astakhov-video-appeal-to-putin --reason "Misattributed" \\
          --source worldcrunch-kz-separatism@para:4
    """
    app = settings.open()
    citations = _citations(sources, quote)
    event = app.retract(fact, reason, citations, settings.user(), unchecked)
    click.echo(
        f"retracted {fact} (version {event.originator_version}, "
        f"{stamp(event.timestamp)})"
    )


@click.command()
@click.option(
    "--from",
    "source",
    required=True,
    metavar="PATH|URL",
    help="The store to copy from.",
)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="PATH|URL",
    help="An empty database or a new SQLite file to copy into.",
)
def migrate(source: str, target: str) -> None:
    """Copy a store across, e.g. from SQLite to PostgreSQL, losing nothing.

    Every event is copied byte for byte, in order, with its record time and
    recorder; archived copies too. The target takes the source's identity,
    so its Merkle root is the same and checkpoints signed for the source
    verify against it. The views rebuild on the target's first read.

    \b
    Example:
      khronika migrate --from khronika.db --to postgresql://me@localhost/chronicle
      khronika --store postgresql://me@localhost/chronicle verify --checkpoint cp.txt
    """
    with blaming(source):
        app = Chronicle(loc.resolve(source))
        total = app.recorder.max_notification_id() or 0
    with blaming(target), progress_bar(total) as advance:
        done = migrate_store(app, target, advance)
    size = done.store.tree_size()
    click.echo(f"copied {size} event{'s' * (size != 1)} from {loc.describe(source)} "
               f"to {loc.describe(target)}; the Merkle roots match")  # fmt: skip


@contextlib.contextmanager
def blaming(location: str) -> Iterator[None]:
    """A database error said of the store at `location` (not of --store)."""
    try:
        yield
    except (PersistenceError, sqlite3.Error) as e:
        raise click.ClickException(explain(e, location)) from e


COMMANDS = (init, demo, append, import_, correct, retract, migrate)
