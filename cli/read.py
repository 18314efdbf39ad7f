"""Read commands: timeline, person, law, stats, fact, diff, projections."""

from __future__ import annotations

import getpass
import json
import textwrap
from typing import Any

import click
import msgspec

from khronika.cli.context import Settings, announce_signing, with_settings
from khronika.cli.output import citation_text, echo, emit, indented, sections, to_json
from khronika.cli.points import (
    RecordTime,
    WorldDay,
    open_views,
    point_options,
    store_views,
)
from khronika.domain.documents import FACT_KINDS
from khronika.domain.errors import KhronikaError, StoreError
from khronika.domain.events import recorder
from khronika.domain.parse import MAX_COUNT
from khronika.projections import check, datasette, queries, schema
from khronika.projections import models as m
from khronika.projections.law import law as law_state
from khronika.projections.person import person as person_history
from khronika.projections.queries import Entities, Point
from khronika.projections.search import search as search_views
from khronika.projections.stats import DIMENSIONS, TERMED, Filters
from khronika.projections.stats import stats as stats_of
from khronika.projections.views import ViewStore
from khronika.store import location as loc
from khronika.store.app import Chronicle

FORMATS = ("table", "json", "csv")
PAGING = (
    click.option(
        "--limit", type=click.IntRange(1, MAX_COUNT), help="Show at most N facts."
    ),
    click.option(
        "--offset",
        type=click.IntRange(0, MAX_COUNT),
        default=0,
        help="Skip the first N facts (with or without --limit).",
    ),
)


def plain(answer: Any) -> Any:
    """A read model as dicts and lists, for the table and CSV writers."""
    return msgspec.to_builtins(answer)


def _print_facts(facts: list[dict[str, Any]], point: Point) -> None:
    """Each fact as a heading line and its summary, wrapped to 80 columns."""
    for f in facts:
        marks = [", ".join(f["roles"])] if "roles" in f else []
        if point.as_of and f["status"] != "certain":
            marks.append("possible")
        mark = f"  [{'; '.join(marks)}]" if marks else ""
        heading = f"{f['when']['label']} · {f['kind']} · {f['id']}{mark}"
        echo(textwrap.fill(heading, 80, subsequent_indent="      "))
        echo(textwrap.fill(f["summary"], 78, initial_indent="    ",
                                 subsequent_indent="    "))  # fmt: skip
    echo(f"{len(facts)} fact{'s' * (len(facts) != 1)}")


# CSV columns, for the header of an empty answer
BUCKET_COLUMNS = tuple(f.encode_name for f in msgspec.structs.fields(m.Bucket))
LAG_COLUMNS = ("defendant", "act", "verdict", "days")
CHANGE_COLUMNS = tuple(f.encode_name for f in msgspec.structs.fields(m.Change))
# a fact's CSV row, as `_row` gives it
FACT_COLUMNS = ("id", "kind", "when", "label", "earliest", "latest", "status",
                "place", "summary", "version", "recorded_at", "participants",
                "sources")  # fmt: skip


def _row(fact: dict[str, Any]) -> dict[str, Any]:
    """A fact as one CSV row; participants and citations joined by "; "."""
    when = fact["when"]
    return dict(zip(FACT_COLUMNS, (
        fact["id"], fact["kind"], when["edtf"], when["label"], when["earliest"],
        when["latest"], fact["status"], fact["place"], fact["summary"],
        fact["version"], fact["recorded_at"],
        [f"{p['entity']} ({p['role']})" for p in fact["participants"]],
        [citation_text(c) for c in fact["sources"]],
    ), strict=True))  # fmt: skip


@click.command()
@click.option(
    "--person",
    "people",
    multiple=True,
    metavar="ID",
    help="Only facts a person or group took part in (slug, name or alias).",
)
@click.option(
    "--entity",
    "others",
    multiple=True,
    metavar="ID",
    help="Only facts naming this entity, of any kind.",
)
@click.option("--kind", "kinds", multiple=True, type=click.Choice(FACT_KINDS))
@click.option("--place", "places", multiple=True, metavar="ID")
@click.option(
    "--from",
    "start",
    type=WorldDay(first=True),
    help="Facts that may end on or after DATE (2023 means 2023-01-01).",
)
@click.option(
    "--to", "end", type=WorldDay(), help="Facts that may start on or before DATE."
)
@click.option(
    "--search",
    help="Text in the summary (case-insensitive for ASCII; % and _ are "
    "themselves), at most 300 characters.",
)
@PAGING[0]
@PAGING[1]
@point_options(*FORMATS)
@with_settings
def timeline(settings: Settings, people: tuple[str, ...], others: tuple[str, ...],
             kinds: tuple[str, ...], places: tuple[str, ...], start: Any, end: Any,
             search: str | None, limit: int | None, offset: int, point: Point,
             fmt: str) -> None:  # fmt: skip
    """Facts in world-time order, with uncertain dates shown as such.

    Ordered by earliest possible day, then latest. `2023-21` shows as
    "spring 2023"; with --as-of, facts that straddle the day are marked
    possible.

    \b
    Examples:
      khronika timeline --kind verdict
      khronika timeline --person tatyana-serebryakova --as-of 2023-01-01
      khronika timeline --known-at 2026-01-01 --format json
    """
    views = open_views(settings)
    entities = Entities(views, point)
    chosen: list[str] = []
    for ident in people:
        chosen += entities.members(
            entities.resolve(ident, ("person", "group"))["entity"]
        )
    for ident in others:
        chosen += entities.members(entities.resolve(ident)["entity"])
    where = [m for i in places for m in entities.members(entities.resolve(i)["entity"])]
    facts = queries.timeline(
        views, point, entities=chosen or None, kinds=list(kinds) or None,
        places=where or None, start=start, end=end, text=search, limit=limit,
        offset=offset,
    )  # fmt: skip
    if fmt == "json":
        echo(to_json(m.Timeline(**point.header(views.lag), facts=facts)))
    elif fmt == "csv":
        emit([_row(f) for f in plain(facts)], "csv", columns=FACT_COLUMNS)
    else:
        _print_facts(plain(facts), point)


@click.command()
@click.argument("text")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, help="Show at most N."
)
@point_options(*FORMATS)
@with_settings
def search(settings: Settings, text: str, limit: int, point: Point,
           fmt: str) -> None:  # fmt: skip
    """Find facts, entities and sources by their words, best first.

    Facts by summary, date wording and quotes; entities by name and alias
    (in any script: a fact is found through the entities it names); sources
    by title and publisher. Case and diacritics do not matter, in Cyrillic
    and Kazakh letters as in Latin; each word matches the start of a word.
    The words found are marked «like this».

    \b
    Examples:
      khronika search Серебрякова
      khronika search "separatism verdict" --as-of 2023 --format json
    """
    found = search_views(open_views(settings), point, text, limit)
    if fmt == "json":
        echo(to_json(found))
        return
    rows = [
        {"kind": h.kind, "id": h.id, "score": h.score, "field": h.field,
         "snippet": _marked(h) if fmt == "table" else h.snippet}
        | ({"status": h.status or ""} if point.as_of else {})
        for h in found.hits
    ]  # fmt: skip
    columns = ["kind", "id", "score", "field", "snippet"]
    emit(rows, fmt, columns=columns + ["status"] * bool(point.as_of))


def _marked(hit: m.Hit) -> str:
    """The snippet with each word found in «»."""
    text, done = hit.snippet, 0
    parts = []
    for a, b in hit.marks:
        parts += [text[done:a], "«", text[a:b], "»"]
        done = b
    return "".join(parts) + text[done:]


@click.command()
@click.argument("ident", metavar="ID")
@PAGING[0]
@PAGING[1]
@point_options(*FORMATS)
@with_settings
def person(settings: Settings, ident: str, limit: int | None, offset: int,
           point: Point, fmt: str) -> None:  # fmt: skip
    """A person's or group's history: roles, charges, sentences and status.

    The status is judged on the --as-of day (default: today), for example
    "serving 3 years, prison, medium-security regime, since 2023-05-30".

    \b
    Examples:
      khronika person tatyana-serebryakova
      khronika person "Vyacheslav Zuderman" --as-of 2024-01-01
    """
    views = open_views(settings)
    answer = person_history(views, ident, point, limit=limit, offset=offset)
    answer = m.at(answer, **point.header(views.lag))
    if fmt == "json":
        echo(to_json(answer))
        return
    history = plain(answer)
    facts = history["facts"]
    if fmt == "csv":
        emit(
            sections(
                sentence=history["sentences"],
                fact=[_row(f) | {"roles": f["roles"]} for f in facts],
            ),
            "csv",
        )
        return
    echo(f"{history['name']} ({history['kind']}, {history['id']})")
    if history["aliases"]:
        echo(indented(", ".join(history["aliases"]), "Also: "))
    if history["note"]:
        echo(indented(history["note"], ""))
    if history["merged"]:
        echo("Merged in: " + ", ".join(history["merged"]))
    if history["sentences"]:
        echo(f"\nSentences, as of {history['status_on']}:")
        for s in history["sentences"]:
            charges = ", ".join(s["charges"]) or "charges not recorded"
            echo(indented(f"{s['fact']} ({charges})", f"  {s['label']}  "))
            echo(indented(s["status"], "    "))
    echo()
    _print_facts(facts, point)


@click.command(name="law")
@click.argument("ident", metavar="LAW[:ARTICLE]")
@point_options(*FORMATS)
@with_settings
def law(settings: Settings, ident: str, point: Point, fmt: str) -> None:
    """The penalties a law or article set on a day, and the amendments behind them.

    \b
    Examples:
      khronika law kz-criminal-code-2014:180 --as-of 2014-01-01
      khronika law kz-criminal-code-2014 --as-of 2015-01-01
    """
    views = open_views(settings)
    answer = m.at(law_state(views, ident, point), **point.header(views.lag))
    if fmt == "json":
        echo(to_json(answer))
        return
    state = plain(answer)
    force = state["in_force"]
    if fmt == "csv":
        now = {"amendment": force["since"], "certain": force["certain"]}
        rows = sections(
            in_force=[now | p for p in force["penalties"]],
            possibly=[{"amendment": a["id"]} | p
                      for a in force["possibly"] for p in a["penalties"]],
            amendment=[{"amendment": a["id"], "when": a["when"], "side": side} | p
                       for a in state["amendments"] for side in ("before", "after")
                       for p in a[side]],
        )  # fmt: skip
        emit(rows, "csv")
        return
    title = state["name"] + (
        f", article {state['article'].split(':')[1]} ({state['article_title']})"
        if state["article"]
        else ""
    )
    echo(indented(title, ""))
    day = state["as_of"] or "today"
    on_day = f"on {day}" if state["as_of"] else day
    since = (
        f" (since {force['since']})" if force["since"] else " (before any amendment)"
    )
    asked = state["article"] or state["id"]
    if not force["penalties"]:
        echo(f"\nNo penalty of {asked} is recorded {on_day}.")
    elif force["applies"]:
        echo(f"\nIn force on {day}{since}:")
    elif force["since"]:
        echo("\n" + indented(f"{asked} no longer applied {on_day}; since "
                             f"{force['since']}:", ""))  # fmt: skip
    else:
        echo("\n" + indented(f"{asked} had not taken effect {on_day}; until then:", ""))
    for p in force["penalties"]:
        echo(indented(_penalty(p), "  "))
    for possible in force["possibly"]:
        echo(f"  possibly changed by {possible['id']} to:")
        for p in possible["penalties"]:
            echo(indented(_penalty(p), "    "))
    echo("\nAmendments:")
    for a in state["amendments"]:
        echo(f"  {a['when']}  {a['id']}")
        for side in ("before", "after"):
            for p in a[side]:
                echo(indented(_penalty(p), f"    {side:<7}"))


def _penalty(p: dict[str, Any]) -> str:
    limit = p["max_term_months"]
    text = str(p["conduct"])
    if limit is not None:
        text += (
            f": up to {limit // 12} years"
            if limit % 12 == 0
            else f": up to {limit} months"
        )
    if p["article"]:
        text += f" [{p['article']}]"
    return text


@click.command()
@click.option(
    "--by",
    type=click.Choice(DIMENSIONS),
    default="year",
    show_default=True,
    help="Bucket verdicts by year, charge, place or platform; "
    "sentences by type; or the lag from act to verdict.",
)
@click.option(
    "--charge",
    "charges",
    multiple=True,
    metavar="ARTICLE",
    help="Only verdicts on this charge: LAW:ARTICLE, or a law.",
)
@click.option(
    "--place", "places", multiple=True, metavar="ID", help="Only facts at this place."
)
@click.option(
    "--court",
    "courts",
    multiple=True,
    metavar="ID",
    help="Only verdicts of this court.",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(FACT_KINDS),
    help="Count facts of this kind (default: verdicts); by year or place.",
)
@point_options(*FORMATS)
@with_settings
def stats(settings: Settings, by: str, charges: tuple[str, ...],
          places: tuple[str, ...], courts: tuple[str, ...], kinds: tuple[str, ...],
          point: Point, fmt: str) -> None:  # fmt: skip
    """Verdict and sentence statistics that keep uncertain dates honest.

    Each bucket counts the verdicts certainly in it and those possibly in
    it: a verdict dated "2022-01/2022-06" is certain in 2022, one dated
    "2023-12/2024-02" is possible in both years. By sentence type the
    certain and possible columns count defendants. Every row also counts
    its verdicts and their defendants, people and groups (a group's size is
    not recorded, so it counts as one defendant and no people); a total row
    sums each column, and a note says where a total over all verdicts
    differs from the rows' sum. By charge and by sentence type, terms
    (months) are summarised: count, median, mean, minimum and maximum.

    \b
    Examples:
      khronika stats --by year
      khronika stats --by year --charge kz-criminal-code-2014:180
      khronika stats --by sentence-type --place petropavlovsk
      khronika stats --by lag --format json
    """
    views = open_views(settings)
    entities = Entities(views, point)

    def slugs(idents: tuple[str, ...]) -> list[str]:
        return [
            m for i in idents for m in entities.members(entities.resolve(i)["entity"])
        ]

    filters = Filters(
        charges=[c if ":" in c else entities.resolve(c)["entity"] for c in charges],
        places=slugs(places), courts=slugs(courts), kinds=list(kinds),
    )  # fmt: skip
    answer = m.at(stats_of(views, point, by, filters), **point.header(views.lag))
    if fmt == "json":
        echo(to_json(answer))
        return
    result = plain(answer)
    rows = result["lags"]["pairs"] if by == "lag" else result["buckets"]
    if by == "lag":
        rows = [dict(zip(LAG_COLUMNS, (r["name"], r["act"], r["verdict"],
                                       f"{r['days_min']}–{r['days_max']}"),
                         strict=True)) for r in rows]  # fmt: skip
    elif rows:  # a total row under rows to total
        rows = [*rows, result["total"] | _blank_terms(by)]
    columns = BUCKET_COLUMNS if by in TERMED else BUCKET_COLUMNS[:7]  # no terms
    if fmt == "table" and by != "lag":  # two tables, to fit 80 columns
        counted = [{k: r[k] for k in BUCKET_COLUMNS[:5]} for r in rows]
        emit(counted, fmt, title=f"certain and possible count {result['counts']}")
        rest = ("key", *BUCKET_COLUMNS[5:7], *(BUCKET_COLUMNS[7:] * (by in TERMED)))
        title = "the defendants" + (", and their terms in months" * (by in TERMED))
        emit([{k: r[k] for k in rest} for r in rows], fmt, title=title)
    else:
        emit(rows, fmt, columns=LAG_COLUMNS if by == "lag" else columns)
    if fmt == "table" and by == "lag":
        summary = result["lags"]["summary"]
        if summary["pairs"]:
            echo(f"median {summary['median_days']:.0f} days over "
                       f"{summary['pairs']} act–verdict pairs")  # fmt: skip
    elif fmt == "table":
        for note in result["notes"]:
            echo(textwrap.fill(note, 80))


def _blank_terms(by: str) -> dict[str, Any]:
    """The total row's term columns, left empty: a median does not add up."""
    if by not in TERMED:
        return {}
    return dict.fromkeys(("terms", "median", "mean", "min", "max"))


@click.command()
@click.argument("fact_id", metavar="FACT")
@point_options(*FORMATS)
@with_settings
def fact(settings: Settings, fact_id: str, point: Point, fmt: str) -> None:
    """One fact: how it stands now (or at --known-at), and its history.

    With --as-of, the status says whether the fact had certainly happened by
    that day ("certain"), may have ("possible"), or had surely not yet
    ("later"). With --certain, a fact that was not certain by then is an
    error (exit 1).

    \b
    Examples:
      khronika fact serebryakova-verdict-2023
      khronika fact serebryakova-verdict-2023 --known-at 2026-01-01 --format json
      khronika fact potopa-verdict-2022 --as-of 2022-03-01 --certain
    """
    views = open_views(settings)
    history = queries.fact_history(views, fact_id, point)
    if not history:
        raise _unknown_fact(views, fact_id)
    if point.certain and history[-1].status != "certain":
        day = point.as_of.isoformat() if point.as_of else "today"
        raise click.ClickException(
            f"{fact_id}: not certain on {day} (status: {history[-1].status}, "
            f"dated {history[-1].when.label}); leave out --certain to see it"
        )
    if fmt == "json":
        header = point.header(views.lag)
        echo(to_json(m.FactHistory(**header, fact=history[-1], history=history)))
        return
    history = plain(history)
    current = history[-1]
    if fmt == "csv":
        emit(
            [
                _row(v)
                | {
                    "retracted": v["retracted"],
                    "reason": v["reason"],
                    "recorded_by": v["recorded_by"],
                    "recorded_key": v["recorded_key"],
                }
                for v in history
            ],
            "csv",
        )
        return
    when = current["when"]
    state = "RETRACTED" if current["retracted"] else f"version {current['version']}"
    echo(f"{current['id']}  ({current['kind']}, {state})")
    echo(
        _wrap("When:", f"{when['label']}  [{when['earliest']} to {when['latest']}]"
              + (f'  "{when["wording"]}"' if when["wording"] else ""))
    )  # fmt: skip
    if point.as_of:
        echo(f"Status:   {current['status']} on {point.as_of.isoformat()}")
    echo(_wrap("Summary:", current["summary"]))
    if current["place"]:
        echo(f"Place:    {current['place']}")
    for p in current["participants"]:
        echo(f"Who:      {p['entity']} ({p['role']})")
    if current["details"]:
        details = {k: v for k, v in current["details"].items() if v not in (None, [])}
        echo(_wrap("Details:", json.dumps(details, ensure_ascii=False)))
    for c in current["sources"]:
        quote = f' "{c["quote"]}"' if c.get("quote") else ""
        echo(f"Source:   {c['source']}@{c['locator']}{quote}")
    echo("\nHistory:")
    for v in history:
        what = "retracted" if v["retracted"] else ("recorded" if v["version"] == 1
                                                   else "corrected")  # fmt: skip
        reason = f": {v['reason']}" if v["reason"] else ""
        who = recorder(v["recorded_by"], v["recorded_key"])
        line = f"v{v['version']} {v['recorded_at']} {what} by {who}{reason}"
        echo(textwrap.fill(line, 80, initial_indent="  ", subsequent_indent="    "))


def _wrap(label: str, text: str) -> str:
    return textwrap.fill(text, 80, initial_indent=f"{label:<10}",
                         subsequent_indent=" " * 10)  # fmt: skip


def _unknown_fact(views: ViewStore, slug: str) -> KhronikaError:
    return queries.unknown_fact(views, slug)


@click.command()
@click.option(
    "--known-at",
    "times",
    type=RecordTime(),
    multiple=True,
    required=True,
    metavar="TIMESTAMP",
    help="Give it twice: the earlier and the later time.",
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True
)
@with_settings
def diff(settings: Settings, times: tuple[str, ...], fmt: str) -> None:
    """Facts added, corrected or retracted between two record times.

    Like a release diff: what a reader of the record at the first time
    would find changed at the second.

    \b
    Example:
      khronika diff --known-at 2026-11-01 --known-at 2026-11-24T18:00:00Z
    """
    if len(times) != 2:
        raise click.BadParameter("give exactly two times", param_hint="--known-at")
    before, after = sorted(times)
    views = open_views(settings)
    found = queries.diff(views, before, after)
    if fmt == "json":
        echo(to_json(m.Diff(start=before, end=after, changes=found, lag=views.lag)))
        return
    changes = plain(found)
    rows = [c | {"steps": _credits(c["steps"])} for c in changes] if fmt == "csv" else [
        {"change": c["change"], "id": c["id"], "by": _credits(c["steps"]),
         "reason": c["reason"] or c["summary"]} for c in changes]  # fmt: skip
    emit(rows, fmt, columns=CHANGE_COLUMNS)
    if fmt == "table":
        echo(f"{len(changes)} change{'s' * (len(changes) != 1)} "
                   f"from {before} to {after}")  # fmt: skip


def _credits(steps: list[dict[str, Any]]) -> str:
    """Each version in a diff, credited: "v2 by Ann (key …): summary, place"."""
    said = []
    for s in steps:
        fields = ", ".join(c["field"] for c in s["changes"])
        who = recorder(s["recorded_by"], s["recorded_key"])
        said.append(f"v{s['version']} by {who}" + (f": {fields}" if fields else ""))
    return "; ".join(said)


@click.group()
def projections() -> None:
    """The read-side views: their position in the log, and rebuilding them."""


@projections.command(name="status")
@with_settings
def projections_status(settings: Settings) -> None:
    """Show the views' position in the event log and how far behind they are.

    Read commands catch up on their own; this only reports.

    \b
    Example:
      khronika projections status
    """
    views = store_views(settings.open())
    with views.snapshot() as snapshot:  # one moment, under a live writer too
        head, position = snapshot.head(), snapshot.position()
        problem = check.position_problem(snapshot)
        lag = snapshot.after(position)
    if problem is not None:
        raise click.ClickException(problem)
    echo(
        f"last event in the log: position {head}\n"
        f"views at position: {position}\n"
        f"lag: {lag} event{'s' * (lag != 1)}"
    )


@projections.command(name="metadata")
@with_settings
def projections_metadata(settings: Settings) -> None:
    """Print Datasette's metadata for the views (titles, labels, facets).

    The database is named as Datasette names it, by the SQLite file's name.

    \b
    Example:
      khronika projections metadata > metadata.json
      datasette khronika.db -m metadata.json
    """
    if not loc.is_sqlite(settings.location):
        raise click.ClickException("Datasette reads SQLite files only")
    name = loc.sqlite_file(settings.location).name.removesuffix(".db")
    click.echo(msgspec.json.format(msgspec.json.encode(datasette.metadata(name))))


@projections.command(name="rebuild")
@with_settings
def projections_rebuild(settings: Settings) -> None:
    """Rebuild every view from the first event, with a progress bar.

    \b
    Example:
      khronika projections rebuild
    """
    rebuild_views(settings)


@click.command()
@with_settings
def upgrade(settings: Settings) -> None:
    """Bring a store made by an older version up to this one's views.

    Read commands never create or change tables: a store whose views are
    missing or of an older format is refused with a pointer here. This
    drops the views and rebuilds them from the events, which it never
    changes (a rebuild, as `khronika projections rebuild`). Views already
    of this version's format are left as they are. A store made before
    writes were signed gets its first admin: you, with your maintainer key
    (made now if you have none), registered by an event signed with the
    store's key; its older events stay as they were, and `verify` counts
    them as unsigned. A store whose Merkle tree is kept as one row per
    node has it converted into tlog-tiles hash tiles first, a batch of
    leaves at a time with its progress on stderr; stopped midway, it
    resumes where it stopped when run again. Roots do not change, so old
    checkpoints and proofs still verify.

    \b
    Example:
      khronika upgrade
    """
    app = settings.open()
    convert_tree(app)
    if app.registry().began is None:  # made before writes were signed
        announce_signing(app, settings.user(getpass.getuser()))
    try:
        store_views(app).check_format()
    except StoreError:
        rebuild_views(settings)
        return
    echo(f"nothing to upgrade: the views are of format {schema.FORMAT}, this "
         "version's (`khronika projections rebuild` rebuilds them anyway)")  # fmt: skip


def convert_tree(app: Chronicle) -> None:
    """The tree of one row per node, into tiles; progress on stderr."""

    def progress(done: int, total: int) -> None:
        click.echo(f"converting the Merkle tree to tiles: {done:,} of {total:,} "
                   "leaves", err=True)  # fmt: skip

    total = app.convert_tree(progress)
    if total >= 0:
        echo(f"converted the Merkle tree of {total} leaves to tiles; its root "
             "is the same")  # fmt: skip


def rebuild_views(settings: Settings) -> None:
    import sys

    from rich.progress import Progress

    app = settings.open()
    views = store_views(app, create=True)
    total = app.recorder.max_notification_id() or 0
    if sys.stderr.isatty() and total:
        with Progress(transient=True) as bar:
            task = bar.add_task("rebuilding", total=total)
            done = views.rebuild(app.read_after,
                                 lambda n: bar.update(task, completed=n))  # fmt: skip
    else:
        done = views.rebuild(app.read_after)
    echo(f"rebuilt the views from {done} event{'s' * (done != 1)}")


COMMANDS = (timeline, search, person, law, stats, fact, diff, projections, upgrade)
