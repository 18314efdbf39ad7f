"""Uncertainty-aware statistics over verdicts and sentences.

A verdict counts as *certain* in a bucket when it surely falls there by the
as-of day; as *possible* when it may. A verdict whose dates span two years
counts as certain in neither and possible in both.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from typing import Any

import msgspec

from khronika.domain.days import OPEN_START_KEY, Day, from_key, year_of_key
from khronika.domain.errors import ValidationError
from khronika.projections import models as m
from khronika.projections.queries import Entities, Point, _in
from khronika.projections.views import ViewStore

DIMENSIONS = ("year", "charge", "place", "platform", "sentence-type", "lag")
TERMED = ("charge", "sentence-type")  # whose buckets summarise the terms
ACTS = ("statement", "publication")
ACTORS = ("speaker", "author", "organiser")
UNDATED = "undated"
MAX_YEARS = 1000  # a date spanning more years than this counts as undated


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    """Which facts a statistic counts: by charge (an article, LAW:ARTICLE, or
    a whole law), place and court (slugs, with what was merged into them),
    and kind (verdicts unless told; other kinds count by year or place)."""

    charges: list[str] = []
    places: list[str] = []
    courts: list[str] = []
    kinds: list[str] = []

    def sql(self, params: dict[str, Any]) -> str:
        where = [f"f.kind IN {_in('fk', self.kinds or ['verdict'], params)}"]
        if self.charges:
            named = _in("ch", self.charges, params)
            where.append(
                "EXISTS (SELECT 1 FROM view_charges c WHERE c.fact = f.fact "
                f"AND c.version = f.version AND (c.article IN {named} "
                f"OR c.law IN {named}))"
            )
        if self.places:
            where.append(f"f.place IN {_in('pl', self.places, params)}")
        if self.courts:
            where.append(
                "EXISTS (SELECT 1 FROM view_roles r WHERE r.fact = f.fact "
                "AND r.version = f.version AND r.role = 'court' "
                f"AND r.entity IN {_in('co', self.courts, params)})"
            )
        return " AND ".join(where)

    def shown(self) -> dict[str, list[str]]:
        named = {"charge": self.charges, "place": self.places,
                 "court": self.courts, "kind": self.kinds}  # fmt: skip
        return {k: v for k, v in named.items() if v}


# an item counted: its bucket keys, certain or possible, how many, the verdict,
# and its defendants as (slug, entity kind)
Item = tuple[list[str], str, int, str, list[tuple[str, str]]]


def stats(
    views: ViewStore, point: Point, by: str, filters: Filters | None = None
) -> m.Stats:
    filters = filters or Filters()
    if filters.kinds and filters.kinds != ["verdict"] and by not in ("year", "place"):
        raise ValidationError(
            "kind", f"statistics by {by} count verdicts; by year or place, any kind"
        )
    entities = Entities(views, point)
    params: dict[str, Any] = dict(point.params)
    where = (f"FROM view_facts f WHERE {point.where('f')} AND f.retracted = 0 "
             f"AND {filters.sql(params)}")  # fmt: skip
    result: dict[str, Any] = {
        "by": by,
        "as_of": point.as_of.isoformat() if point.as_of else None,
        "filters": filters.shown(),
    }
    if by == "lag":
        count = views.query(f"SELECT COUNT(*) AS n {where}", params)
        result["verdicts"] = count[0]["n"]
        result["lags"] = lags(views, point, entities)
        return m.typed(m.Stats, result)
    status = point.status("f")
    verdicts = [dict(r) for r in views.query(
        f"SELECT f.fact, f.place, {_year('f.earliest')} AS y0, "
        f"{_year('f.latest')} AS y1, {status} AS status {where} "
        "ORDER BY f.earliest, f.fact", params)]  # fmt: skip
    result["verdicts"] = len(verdicts)
    accused = _defendants(views, point, where, params)
    items: list[Item] = []
    terms: dict[str, list[int]] = {}
    if by in ("year", "place", "platform"):
        found = (
            _platforms(views, point, [v["fact"] for v in verdicts])
            if by == "platform" else {}
        )  # fmt: skip
        for v in verdicts:
            if by == "year":
                keys = _years(v, point.as_of)
            elif by == "place":
                keys = [entities.name(v["place"]) or "(no place)"]
            else:
                keys = sorted(entities.name(p) for p in found.get(v["fact"], ()))
                keys = keys or ["(none)"]
            items.append((keys, v["status"], 1, v["fact"], accused.get(v["fact"], [])))
    else:
        items, terms = _sentences(views, point, by, verdicts, where, params, accused)
    with_terms = by in TERMED
    buckets = _count(items, sure=by != "year", terms=terms, with_terms=with_terms)
    result["buckets"] = buckets
    result["counts"] = "defendants" if by == "sentence-type" else "verdicts"
    pairs = {(f, d) for f, who in accused.items() for d, _ in who}
    result["defendants"] = len(pairs)
    sums = ("certain", "possible", "verdicts", "defendants", "people", "groups")
    result["total"] = {"key": "total"} | {k: sum(b[k] for b in buckets) for k in sums}
    result["notes"] = _notes(by, result, accused)
    return m.typed(m.Stats, result)


def _defendants(
    views: ViewStore, point: Point, where: str, params: dict[str, Any]
) -> dict[str, list[tuple[str, str]]]:
    """Each counted verdict's defendants, as (slug, entity kind)."""
    rows = views.query(
        "SELECT r.fact, r.entity, e.kind FROM view_roles r "
        "JOIN view_facts f ON f.fact = r.fact AND f.version = r.version "
        "LEFT JOIN view_entities e ON e.entity = r.entity AND "
        f"{point.where('e', world=False)} "
        f"WHERE r.role = 'defendant' AND {point.where('r', facts='f')} "
        f"AND f.fact IN (SELECT f.fact {where}) ORDER BY r.fact, r.entity",
        params,
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        found.setdefault(r["fact"], []).append((r["entity"], r["kind"] or ""))
    return found


def _notes(
    by: str, result: dict[str, Any], accused: dict[str, list[tuple[str, str]]]
) -> list[str]:
    """Sentences that say where a total and its rows differ, and why."""
    total, notes = result["total"], []
    if total["verdicts"] != result["verdicts"]:
        why = {
            "year": "a verdict whose date may fall in several years counts in each",
            "charge": "a verdict on several charges counts under each",
            "platform": "a verdict tied to several platforms counts under each",
            "sentence-type": "a verdict whose defendants were sentenced "
            "differently counts in each row",
        }.get(by, "a verdict counts in each row it falls in")
        notes.append(
            f"{result['verdicts']} verdicts in all; the rows add up to "
            f"{total['verdicts']}: {why}."
        )
    if total["defendants"] != result["defendants"]:
        notes.append(
            f"{result['defendants']} defendants in all; the rows add up to "
            f"{total['defendants']}, as a defendant counts in each row that "
            "their verdict (or their sentences) fall in."
        )
    groups = sorted({d for who in accused.values() for d, k in who if k == "group"})
    if groups:
        are = "defendants are groups" if len(groups) != 1 else "defendant is a group"
        notes.append(
            f"{len(groups)} {are} whose size the record does not give: each "
            "counts as one defendant and as no people."
        )
    return notes


def _year(column: str) -> str:
    """SQL: the year part of a bounds key; the whole key beyond 0000-9999."""
    return (
        f"CASE WHEN substr({column}, 1, 1) BETWEEN '0' AND '9' "
        f"THEN substr({column}, 1, 4) ELSE {column} END"
    )


def _years(group: Any, as_of: Day | None) -> list[str]:
    """Every year a date can fall in: up to the as-of year, if one is given.

    An open end runs to the as-of year, or without one to this year (or the
    date's first year, if later). A date with an open start, or one spanning
    MAX_YEARS years or more, is counted "undated" rather than in every year
    it could be.
    """
    first, final = year_of_key(group["y0"]), year_of_key(group["y1"])
    if first is None:
        return [UNDATED]
    if final is None:  # an open end
        final = as_of.year if as_of else max(Day.today().year, first)
    elif as_of is not None:
        final = min(final, as_of.year)
    if final - first >= MAX_YEARS:
        return [UNDATED]
    return [year_label(y) for y in range(first, final + 1)]


def year_label(year: int) -> str:
    """A year as EDTF writes it: 0000, -0044, 2023, Y10000, Y-170000002."""
    if 0 <= year <= 9999:
        return f"{year:04d}"
    if -9999 <= year < 0:
        return f"-{-year:04d}"
    return f"Y{year}"


def _bucket_order(key: str) -> tuple[int, int, str]:
    """Years in numeric order (-1985 before 0000 before Y10000), others by name."""
    try:
        return (0, int(key.removeprefix("Y")), "")
    except ValueError:
        return (1, 0, key)


def _count(
    placed: Iterable[Item],
    sure: bool,
    terms: dict[str, list[int]],
    with_terms: bool = False,
) -> list[dict[str, Any]]:
    """Certain where the item surely lies in one bucket, possible otherwise.

    `sure`: an item in several buckets is in all of them (two charges), not
    in one of them we cannot tell (a date spanning two years). Each bucket
    also counts its verdicts, and their defendants: people and groups.
    """
    certain: Counter[str] = Counter()
    possible: Counter[str] = Counter()
    verdicts: dict[str, set[str]] = {}
    accused: dict[str, list[tuple[str, str]]] = {}
    for keys, status, n, verdict, defendants in placed:
        for key in keys:
            if status == "certain" and (sure or len(keys) == 1):
                certain[key] += n
            else:
                possible[key] += n
            verdicts.setdefault(key, set()).add(verdict)
            accused.setdefault(key, []).extend(defendants)
    buckets = []
    for key in sorted(set(certain) | set(possible), key=_bucket_order):
        who = accused.get(key, [])
        bucket: dict[str, Any] = {
            "key": key,
            "certain": certain[key],
            "possible": possible[key],
            "verdicts": len(verdicts.get(key, ())),
            "defendants": len(who),
            "people": sum(kind == "person" for _, kind in who),
            "groups": sum(kind == "group" for _, kind in who),
        }
        if with_terms:
            bucket |= _summary(terms.get(key, []))
        buckets.append(bucket)
    return buckets


def _summary(months: list[int]) -> dict[str, Any]:
    if not months:
        return {"terms": 0, "median": None, "mean": None, "min": None, "max": None}
    return {
        "terms": len(months),
        "median": statistics.median(months),
        "mean": round(statistics.fmean(months), 1),
        "min": min(months),
        "max": max(months),
    }


def _sentences(
    views: ViewStore,
    point: Point,
    by: str,
    verdicts: list[dict[str, Any]],
    where: str,
    params: dict[str, Any],
    accused: dict[str, list[tuple[str, str]]],
) -> tuple[list[Item], dict[str, list[int]]]:
    """By charge: one item per verdict; by type: one per defendant's sentence.

    Terms (months) are gathered per bucket from the defendants' sentences.
    """
    sentences = views.query(
        f"SELECT s.*, {point.status('s', 'f')} AS status FROM view_sentences s "
        "JOIN view_facts f ON f.fact = s.fact AND f.version = s.version "
        f"WHERE {point.where('s', facts='f')} AND f.fact IN (SELECT f.fact {where}) "
        "ORDER BY s.earliest, s.fact, s.defendant",
        params,
    )
    kinds = {d: k for who in accused.values() for d, k in who}
    keys_of: dict[str, list[str]] = {}
    if by == "charge":
        for c in views.query(
            "SELECT fact, article FROM view_charges c "
            f"WHERE {point.where('c', world=False)}",
            point.params,
        ):
            keys_of.setdefault(c["fact"], []).append(c["article"])
        for v in verdicts:
            keys_of.setdefault(v["fact"], ["(no charge recorded)"])
        placed: list[Item] = [
            (keys_of[v["fact"]], v["status"], 1, v["fact"], accused.get(v["fact"], []))
            for v in verdicts
        ]
    else:
        placed = [
            ([_type(s)], s["status"], 1, s["fact"],
             [(s["defendant"], kinds.get(s["defendant"], ""))])
            for s in sentences
        ]  # fmt: skip
    terms: dict[str, list[int]] = {}
    for s in sentences:
        keys = keys_of.get(s["fact"], []) if by == "charge" else [_type(s)]
        for key in keys:
            if s["term_months"] is not None:
                terms.setdefault(key, []).append(s["term_months"])
    return placed, terms


def _type(sentence: Any) -> str:
    if sentence["outcome"] != "convicted":
        return str(sentence["outcome"])
    return str(sentence["type"] or "(no sentence recorded)")


def _platforms(
    views: ViewStore, point: Point, verdicts: list[str]
) -> dict[str, set[str]]:
    """Platforms of the verdict itself or of its defendants' acts before it."""
    params: dict[str, Any] = dict(point.params)
    known = {a: point.where(a, world=False) for a in ("v", "a", "p", "e")}
    rows = views.query(
        "SELECT DISTINCT v.fact AS verdict, p.entity AS platform "
        "FROM view_roles v JOIN view_roles a ON a.entity = v.entity "
        "JOIN view_roles p ON p.fact = a.fact AND p.version = a.version "
        "JOIN view_entities e ON e.entity = p.entity AND e.kind = 'platform' "
        f"WHERE {known['v']} AND {known['a']} AND {known['p']} AND {known['e']} "
        "AND v.role = 'defendant' AND a.earliest <= v.latest "
        f"AND v.fact IN {_in('v', verdicts, params)}",
        params,
    )
    found: dict[str, set[str]] = {}
    for r in rows:
        found.setdefault(r["verdict"], set()).add(r["platform"])
    return found


def lags(views: ViewStore, point: Point, entities: Entities) -> dict[str, Any]:
    """Days from a defendant's last recorded act before a verdict to the verdict."""
    params: dict[str, Any] = dict(point.params)
    rows = views.query(
        "SELECT v.fact AS verdict, v.entity AS defendant, a.fact AS act, "
        "v.earliest AS v_early, v.latest AS v_late, "
        "a.earliest AS a_early, a.latest AS a_late "
        "FROM view_roles v JOIN view_facts vf ON vf.fact = v.fact "
        "AND vf.version = v.version AND vf.kind = 'verdict' "
        "JOIN view_roles a ON a.entity = v.entity AND a.fact != v.fact "
        "JOIN view_facts af ON af.fact = a.fact AND af.version = a.version "
        f"AND af.kind IN {_in('act', list(ACTS), params)} "
        f"WHERE {point.where('v', facts='vf')} AND {point.where('a', facts='af')} "
        f"AND v.role = 'defendant' AND a.role IN {_in('actor', list(ACTORS), params)} "
        f"AND a.latest <= v.latest AND a.earliest > '{OPEN_START_KEY}' "
        "ORDER BY v.fact, a.latest",
        params,
    )
    last: dict[tuple[str, str], Any] = {}
    for r in rows:  # keep each defendant's latest act before the verdict
        last[(r["verdict"], r["defendant"])] = r
    pairs = []
    for (verdict, defendant), r in sorted(last.items()):
        low = _days(r["a_late"], r["v_early"])
        high = _days(r["a_early"], r["v_late"])
        pairs.append({
            "verdict": verdict, "defendant": defendant,
            "name": entities.name(defendant), "act": r["act"],
            "days_min": max(low, 0), "days_max": high,
            "days_mid": (max(low, 0) + high) / 2,
        })  # fmt: skip
    mids = [p["days_mid"] for p in pairs]
    summary = {"pairs": len(pairs)}
    if mids:
        summary |= {"median_days": statistics.median(mids),
                    "min_days": min(mids), "max_days": max(mids)}  # fmt: skip
    return {"summary": summary, "pairs": pairs}


def _days(start: str, end: str) -> int:
    return from_key(end).ordinal() - from_key(start).ordinal()
