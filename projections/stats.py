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

from khronika.domain.days import OPEN_START_KEY, Day, from_key, year_of_key
from khronika.projections import models as m
from khronika.projections.queries import Entities, Point, _in
from khronika.projections.views import ViewStore

DIMENSIONS = ("year", "charge", "place", "platform", "sentence-type", "lag")
TERMED = ("charge", "sentence-type")  # whose buckets summarise the terms
ACTS = ("statement", "publication")
ACTORS = ("speaker", "author", "organiser")
Placed = tuple[list[str], str, int]  # bucket keys, certain or possible, how many
UNDATED = "undated"
MAX_YEARS = 1000  # a date spanning more years than this counts as undated


def stats(views: ViewStore, point: Point, by: str) -> m.Stats:
    entities = Entities(views, point)
    where = (f"FROM view_facts f WHERE {point.where('f')} AND f.retracted = 0 "
             "AND f.kind = 'verdict'")  # fmt: skip
    result: dict[str, Any] = {
        "by": by,
        "as_of": point.as_of.isoformat() if point.as_of else None,
    }
    if by == "lag":
        count = views.query(f"SELECT COUNT(*) AS n {where}", point.params)
        result["verdicts"] = count[0]["n"]
        result["lags"] = lags(views, point, entities)
        return m.typed(m.Stats, result)
    status = point.status("f")
    placed: list[Placed] = []
    terms: dict[str, list[int]] = {}
    if by in ("year", "place"):  # counted in SQL, by group
        columns = (
            f"{_year('f.earliest')} AS y0, {_year('f.latest')} AS y1"
            if by == "year" else "f.place AS place"
        )  # fmt: skip
        groups = views.query(
            f"SELECT {columns}, {status} AS status, COUNT(*) AS n {where} "
            f"GROUP BY {'y0, y1' if by == 'year' else 'place'}, status",
            point.params,
        )
        for g in groups:
            keys = _years(g, point.as_of) if by == "year" else [
                entities.name(g["place"]) or "(no place)"]  # fmt: skip
            placed.append((keys, g["status"], g["n"]))
        result["verdicts"] = sum(g["n"] for g in groups)
    else:
        verdicts = [dict(r) for r in views.query(
            f"SELECT f.fact, {status} AS status {where} ORDER BY f.earliest",
            point.params)]  # fmt: skip
        result["verdicts"] = len(verdicts)
        if by == "platform":
            found = _platforms(views, point, [v["fact"] for v in verdicts])
            placed = [
                (sorted(entities.name(p) for p in found.get(v["fact"], ()))
                 or ["(none)"], v["status"], 1)
                for v in verdicts
            ]  # fmt: skip
        else:
            placed, terms = _sentences(views, point, by, verdicts)
    with_terms = by in TERMED
    result["buckets"] = _count(
        placed, sure=by != "year", terms=terms, with_terms=with_terms
    )
    return m.typed(m.Stats, result)


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
    placed: Iterable[Placed],
    sure: bool,
    terms: dict[str, list[int]],
    with_terms: bool = False,
) -> list[dict[str, Any]]:
    """Certain where the item surely lies in one bucket, possible otherwise.

    `sure`: an item in several buckets is in all of them (two charges), not
    in one of them we cannot tell (a date spanning two years).
    """
    certain: Counter[str] = Counter()
    possible: Counter[str] = Counter()
    for keys, status, n in placed:
        for key in keys:
            if status == "certain" and (sure or len(keys) == 1):
                certain[key] += n
            else:
                possible[key] += n
    buckets = []
    for key in sorted(set(certain) | set(possible), key=_bucket_order):
        bucket: dict[str, Any] = {
            "key": key,
            "certain": certain[key],
            "possible": possible[key],
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
    views: ViewStore, point: Point, by: str, verdicts: list[dict[str, Any]]
) -> tuple[list[Placed], dict[str, list[int]]]:
    """By charge: one item per verdict; by type: one per defendant's sentence.

    Terms (months) are gathered per bucket from the defendants' sentences.
    """
    sentences = views.query(
        f"SELECT s.*, {point.status('s', 'f')} AS status FROM view_sentences s "
        "JOIN view_facts f ON f.fact = s.fact AND f.version = s.version "
        f"WHERE {point.where('s', facts='f')} ORDER BY s.earliest",
        point.params,
    )
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
        placed = [(keys_of[v["fact"]], v["status"], 1) for v in verdicts]
    else:
        placed = [([_type(s)], s["status"], 1) for s in sentences]
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
