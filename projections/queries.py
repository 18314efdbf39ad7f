"""Reading the views at a point on both time axes."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from khronika.domain import lenient, names
from khronika.domain.days import OPEN_END_KEY, Day, shown
from khronika.domain.documents import FactDoc
from khronika.domain.errors import NotFoundError, ValidationError
from khronika.domain.parse import MAX_COUNT
from khronika.domain.text import check_line
from khronika.projections import models as m
from khronika.projections import schema
from khronika.projections.changes import steps, with_changes
from khronika.projections.schema import NOW
from khronika.projections.views import ViewStore

FAR = OPEN_END_KEY  # as of no day: every fact
SEARCH_MAX = 300  # characters of a timeline search, one line like a name
LIKE_SPECIAL = re.compile(r"[\\%_]")  # searched for as themselves, escaped
LATER = "later"  # a fact's status at an as-of day before its earliest day


class Point(msgspec.Struct, frozen=True, kw_only=True):
    """Where on the two axes to read: world day and record time."""

    as_of: Day | None = None
    known_at: str | None = None  # ISO 8601 UTC, as the views store it
    certain: bool = False  # drop facts only possibly before as_of

    def header(self, lag: int) -> dict[str, Any]:
        """The fields every answer at a point starts with (a `models.Point`)."""
        day = self.as_of.isoformat() if self.as_of else None
        return {"as_of": day, "known_at": self.known_at, "lag": lag}

    @property
    def params(self) -> dict[str, str]:
        day = self.as_of.key() if self.as_of else FAR
        return {"k": self.known_at or NOW, "d": day}

    def where(self, alias: str, world: bool = True, facts: str = "") -> str:
        """SQL for rows known at k and (if `world`) possibly before d.

        With `certain`, only rows surely before d: `facts` names the
        view_facts alias that says whether the date is uncertain (default
        `alias` itself).
        """
        a = f"{alias}." if alias else ""
        sql = f"{a}recorded_from <= :k AND :k < {a}recorded_to"
        if world:
            sql += f" AND {a}earliest <= :d"
            if self.certain:
                sql += f" AND {_certain(alias, facts or alias)}"
        return sql

    def status(self, alias: str, facts: str = "") -> str:
        """'certain' or 'possible' at d; `facts` as in `where`."""
        return (
            f"CASE WHEN {_certain(alias, facts or alias)} "
            "THEN 'certain' ELSE 'possible' END"
        )


def _certain(alias: str, facts: str) -> str:
    """Surely before d: the latest day is, and the date is not uncertain.

    A date qualified with `?` or `%` (anywhere) keeps its bounds, but the
    source does not know it: such a fact is possible wherever its bounds
    allow and never certain.
    """
    return f"{alias}.latest <= :d AND {facts}.uncertain = 0"


class Entities:
    """The entities as the record knew them at a record time."""

    def __init__(self, views: ViewStore, point: Point) -> None:
        rows = views.query(
            f"SELECT * FROM view_entities WHERE {point.where('', world=False)}",
            point.params,
        )
        self.rows: dict[str, sqlite3.Row] = {r["entity"]: r for r in rows}

    def name(self, slug: str | None) -> str:
        row = self.rows.get(slug or "")
        return row["name"] if row else (slug or "")

    def resolve(self, ident: str, kinds: tuple[str, ...] = ()) -> sqlite3.Row:
        """By slug, name or alias, case-insensitively; did-you-mean on a miss."""
        row = self.rows.get(ident.casefold())
        if row is not None and (not kinds or row["kind"] in kinds):
            return row  # a slug is the one sure name (names.resolve): no index
        entries = (
            (slug, [row["name"], *msgspec.json.decode(row["aliases"])])
            for slug, row in self.rows.items()
            if not kinds or row["kind"] in kinds
        )
        what = " or ".join(kinds) if kinds else "entity"
        return self.rows[names.resolve(ident, names.index(entries), what)]

    def members(self, slug: str) -> list[str]:
        """The entity and every entity merged into it, at any depth."""
        found, frontier = {slug}, [slug]
        while frontier:
            into = frontier.pop()
            for other, row in self.rows.items():
                if row["merged_into"] == into and other not in found:
                    found.add(other)
                    frontier.append(other)
        return sorted(found)


def _in(name: str, values: list[str], params: dict[str, Any]) -> str:
    keys = []
    for i, value in enumerate(values):
        params[f"{name}{i}"] = value
        keys.append(f":{name}{i}")
    return f"({', '.join(keys) or 'NULL'})"  # IN () is an error in PostgreSQL


def timeline(
    views: ViewStore,
    point: Point,
    *,
    entities: list[str] | None = None,
    kinds: list[str] | None = None,
    places: list[str] | None = None,
    start: Day | None = None,
    end: Day | None = None,
    text: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: tuple[str, str, str] | None = None,
    counted: Callable[[int], None] | None = None,
) -> list[m.Fact]:
    """Facts in world-time order: earliest day, then latest day.

    `after` is a keyset cursor, the (earliest, latest, fact) keys of the last
    fact of the page before: pages stay put while facts are appended.
    `counted`, if given, is told how many facts match in all, page aside,
    where the query counts them at no extra cost: when it looks the facts of
    `entities` up by id, reading them all to sort them anyway.

    A page of facts looked up by id is read in two steps: the keys of all
    of them, sorted and counted from the index alone (BY_FACT covers them),
    then the whole rows of the page's versions only (`_page_rows`).
    """
    if start and end and start > end:
        raise ValidationError(
            "from", f"{start.isoformat()} is after to ({end.isoformat()})"
        )
    params: dict[str, Any] = dict(point.params)
    named, by_fact = "", False
    if entities:
        kinds_of = _kinds(views, entities, params)
        listed = _in("entity", entities, params)
        ways = _ways(point, listed, kinds_of)
        named = _names(ways, listed, kinds_of)
        by_fact = "place" not in kinds_of and _few_named(views, ways, params)
    if by_fact:
        index = schema.BY_FACT
    else:
        index = schema.RECORDED_BY if _few(views, point) else schema.TIMELINE_ORDER
    total = ", COUNT(*) OVER () AS total" if counted and by_fact else ""
    keys = by_fact and limit is not None and limit <= PAGE_ROWS
    select = "f.fact, f.version" if keys else f"f.*, {point.status('f')} AS status"
    sql = [f"SELECT {select}{total} FROM view_facts f{views.indexed_by(index)}",
           f"WHERE {point.where('f')} AND f.retracted = 0"]  # fmt: skip
    if kinds:
        sql.append(f"AND f.kind IN {_in('kind', kinds, params)}")
    if places:
        sql.append(f"AND f.place IN {_in('place', places, params)}")
    if start:
        sql.append("AND f.latest >= :start")
        params["start"] = start.key()
    if end:
        sql.append("AND f.earliest <= :end")
        params["end"] = end.key()
    if text:
        check_line("search", text, SEARCH_MAX, required=False)
        sql.append("AND f.summary LIKE :text ESCAPE '\\'")
        params["text"] = "%" + LIKE_SPECIAL.sub(r"\\\g<0>", text) + "%"
    if named:
        sql.append(f"AND {named}")
    if after:
        sql.append("AND (f.earliest, f.latest, f.fact) > (:after0, :after1, :after2)")
        params |= {f"after{i}": key for i, key in enumerate(after)}
    sql.append("ORDER BY f.earliest, f.latest, f.fact")
    if limit is not None or offset:  # an --offset alone skips, too
        sql.append("LIMIT :limit OFFSET :offset")
        params |= {"limit": MAX_COUNT if limit is None else limit, "offset": offset}
    rows = views.query(" ".join(sql), params)
    if total and rows and counted is not None:
        counted(int(rows[0]["total"]))
    if keys:
        rows = _page_rows(views, point, rows)
    return [fact_json(row) for row in rows]


PAGE_ROWS = 1000  # facts a page reads in two steps, their ids bound in the
# second (PostgreSQL takes 65,535 values); a longer page reads in one


def _page_rows(views: ViewStore, point: Point, keys: list[Any]) -> list[Any]:
    """The whole rows of the fact versions `keys` names, in its order.

    By (fact, version), not by the point again: these are the very versions
    the keys were sorted and counted by, though a correction recorded since
    made another version the current one.
    """
    if not keys:
        return []
    params: dict[str, Any] = dict(point.params)
    facts = _in("fact", [key["fact"] for key in keys], params)
    rows = views.query(
        f"SELECT f.*, {point.status('f')} AS status FROM view_facts f "
        f"WHERE f.fact IN {facts}",
        params,
    )
    found = {(row["fact"], row["version"]): row for row in rows}
    return [found[key["fact"], key["version"]] for key in keys]


def named_page(
    views: ViewStore, point: Point, entities: list[str], limit: int | None, offset: int
) -> tuple[list[m.Fact], int]:
    """A page of the facts naming `entities`, and how many there are in
    all: counted by the page's own query where it can (`counted`), else
    apart."""
    totals: list[int] = []
    page = timeline(views, point, entities=entities, limit=limit, offset=offset,
                    counted=totals.append)  # fmt: skip
    return page, totals[0] if totals else count_facts(views, point, entities)


FEW = 20_000  # facts recorded by a time, below which a page reads them all


def _few(views: ViewStore, point: Point) -> bool:
    """Whether fewer than FEW fact versions were recorded by `point`'s known_at.

    Then a page reads those through the index on record time and sorts them:
    walking the timeline's order instead would pass every fact recorded
    later (all of them, for a time before the first). Otherwise enough are
    in sight that walking the timeline's order soon fills a page.
    """
    rows = views.query(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM view_facts"
        f"{views.indexed_by(schema.RECORDED_BY)} WHERE recorded_from <= :k "
        f"LIMIT {FEW}) AS recorded",
        point.params,
    )
    return int(rows[0]["n"]) < FEW


def _few_named(views: ViewStore, ways: str, params: dict[str, Any]) -> bool:
    """Whether fewer than FEW rows name the entities (`ways`, from _ways).

    Then a page looks each of their facts up by its id and sorts them:
    walking the timeline's order instead would pass every other fact, some
    hundred for each of a person's among a million.
    """
    rows = views.query(
        f"SELECT COUNT(*) AS n FROM ({ways} LIMIT {FEW}) AS named", params
    )
    return int(rows[0]["n"]) < FEW


def facts_by_slug(
    views: ViewStore, select: str, where: str, params: dict[str, Any], page: int
) -> Iterator[Any]:
    """Rows of `SELECT {select} FROM view_facts f … WHERE {where}` in slug
    order, read `page` at a time (keyset: memory does not grow)."""
    after = ""
    while True:
        rows = views.query(
            f"SELECT {select} WHERE {where} AND f.fact > :after "
            f"ORDER BY f.fact LIMIT {page}",
            params | {"after": after},
        )
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1]["fact"]


def count_facts(views: ViewStore, point: Point, entities: list[str]) -> int:
    """How many facts name one of `entities` at `point` (a person's total)."""
    params: dict[str, Any] = dict(point.params)
    kinds = _kinds(views, entities, params)
    listed = _in("entity", entities, params)
    names = _names(_ways(point, listed, kinds), listed, kinds)
    rows = views.query(
        f"SELECT COUNT(*) AS n FROM view_facts f WHERE {point.where('f')} "
        f"AND f.retracted = 0 AND {names}",
        params,
    )
    return int(rows[0]["n"])


def _kinds(views: ViewStore, entities: list[str], params: dict[str, Any]) -> set[str]:
    """The kinds of `entities` (person, place, law, …)."""
    rows = views.query("SELECT DISTINCT kind FROM view_entities WHERE entity IN "
                       f"{_in('e', entities, params)}", params)  # fmt: skip
    return {r["kind"] for r in rows}


def _names(ways: str, entities: str, kinds: set[str]) -> str:
    """SQL: fact f names one of `entities`, in any way a fact can: by one of
    `ways` (from `_ways`), or, for a place, as the fact's place."""
    found = f"f.fact IN ({ways})"
    return f"(f.place IN {entities} OR {found})" if "place" in kinds else found


def _ways(point: Point, entities: str, kinds: set[str]) -> str:
    """SQL: the facts that name one of `entities` other than as their place.

    As a participant; a law also as the law an amendment changes or the law
    of an article a verdict convicts under. Only the ways open to the
    entities' kinds are asked, so that a person's facts stay an indexed
    lookup.
    """
    known = {a: point.where(a, world=False) for a in ("r", "p", "c")}
    ways = [f"SELECT r.fact FROM view_roles r WHERE {known['r']} "
            f"AND r.entity IN {entities}"]  # fmt: skip
    if "law" in kinds:
        ways += [
            f"SELECT p.fact FROM view_penalties p WHERE {known['p']} "
            f"AND p.law IN {entities}",
            f"SELECT c.fact FROM view_charges c WHERE {known['c']} "
            f"AND c.law IN {entities}",
        ]
    return " UNION ".join(ways)


def fact_json(row: sqlite3.Row) -> m.Fact:
    """One fact version in the stable shape of every read command."""
    doc = lenient.decode_json(row["doc"].encode(), FactDoc)
    return m.Fact(
        id=row["fact"],
        kind=row["kind"],
        when=m.Dated(
            edtf=row["edtf"],
            label=row["label"],
            earliest=shown(row["earliest"]),
            latest=shown(row["latest"]),
            approximate=bool(row["approximate"]),
            uncertain=bool(row["uncertain"]),
            wording=row["wording"],
        ),
        status=row["status"] if "status" in row.keys() else None,
        summary=row["summary"],
        place=row["place"],
        participants=doc.participants,
        details=doc.details,
        sources=doc.sources,
        version=row["version"],
        retracted=bool(row["retracted"]),
        recorded_at=row["recorded_from"],
        recorded_by=row["recorded_by"],
        recorded_key=row["recorded_key"],
        reason=row["reason"],
    )


def fact_history(views: ViewStore, slug: str, point: Point) -> list[m.Fact]:
    """Every version of a fact recorded by `known_at`, oldest first."""
    status = point.status("view_facts")
    rows = views.query(
        f"SELECT *, CASE WHEN earliest > :d THEN '{LATER}' ELSE {status} END "
        "AS status FROM view_facts WHERE fact = :slug AND recorded_from <= :k "
        "ORDER BY version",
        point.params | {"slug": slug},
    )
    return with_changes(rows, [fact_json(row) for row in rows])


def unknown_fact(views: ViewStore, slug: str) -> NotFoundError:
    """The error for a fact the views do not hold, with what may explain it."""
    note = ""
    if views.lag:
        note = (
            f"it may be in the {views.lag} events the views have not caught up "
            "with: the store is read-only here; `trace` reads the events"
        )
    return NotFoundError("fact", slug, names.suggest(slug, near_facts(views, slug)),
                         note=note)  # fmt: skip


NEAR = 50  # fact ids a miss compares itself with
PREFIX_MAX = 64  # characters of a mistyped id tried as a prefix


def near_facts(views: ViewStore, slug: str) -> list[str]:
    """Up to NEAR fact ids sharing a long prefix with `slug`, by index.

    Prefixes are tried from the longest down to half of `slug`, longer ones'
    ids first; each try is a range of the index on `fact`, so a miss costs
    some milliseconds at any size, where comparing with every id cost seconds.
    """
    wanted = slug.casefold()[:PREFIX_MAX]
    found: dict[str, None] = {}
    for end in range(len(wanted), 0, -1):
        prefix = wanted[:end]
        rows = views.query(
            "SELECT DISTINCT fact FROM view_facts WHERE fact >= ? AND fact < ? "
            f"ORDER BY fact LIMIT {NEAR}",
            [prefix, prefix + "\U0010ffff"],
        )
        found.update((r["fact"], None) for r in rows)
        if len(found) >= NEAR or (found and end <= len(wanted) // 2):
            break
    return list(found)[:NEAR]


def diff(views: ViewStore, before: str, after: str) -> list[m.Change]:
    """Facts added, corrected or retracted between two record times, each
    version in between credited to whoever recorded it (`steps`).

    A fact added inside the window is credited to the maintainer who added
    it, at the time they did, though it was corrected or retracted since
    (its `change` says so, and its `reason` is the last one given)."""
    old = {r["fact"]: r for r in _facts_at(views, before)}
    changes: list[m.Change] = []
    for slug, row in sorted(
        ((r["fact"], r) for r in _facts_at(views, after)),
        key=lambda item: item[1]["recorded_from"],
    ):
        was = old.get(slug)
        if was is not None and was["version"] == row["version"]:
            continue
        by = row
        if was is None:
            later = ", retracted" if row["retracted"] else ", corrected"
            change = "added" + (later if row["version"] > 1 else "")
            by = _first_version(views, slug) if row["version"] > 1 else row
        elif row["retracted"] and not was["retracted"]:
            change = "retracted"
        else:
            change = "corrected"
        changes.append(m.Change(
            change=change, id=slug, kind=row["kind"],
            from_version=was["version"] if was is not None else None,
            to_version=row["version"], recorded_at=by["recorded_from"],
            recorded_by=by["recorded_by"], recorded_key=by["recorded_key"],
            reason=row["reason"], summary=row["summary"],
            steps=steps(views, slug, was["version"] if was is not None else None,
                        after),
        ))  # fmt: skip
    return changes


def _first_version(views: ViewStore, slug: str) -> Any:
    (row,) = views.query(
        "SELECT recorded_from, recorded_by, recorded_key FROM view_facts "
        "WHERE fact = :f AND version = 1",
        {"f": slug},
    )
    return row


def _facts_at(views: ViewStore, known_at: str) -> list[sqlite3.Row]:
    return views.query(
        "SELECT * FROM view_facts WHERE recorded_from <= :k AND :k < recorded_to",
        {"k": known_at},
    )
