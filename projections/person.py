"""A person's or group's history: facts with roles, charges, sentences, status."""

from __future__ import annotations

from typing import Any

import msgspec

from khronika.domain.days import Day, from_key, shown
from khronika.domain.documents import LawAmendmentDetails, VerdictDetails
from khronika.projections import models as m
from khronika.projections import schema
from khronika.projections.queries import Entities, Point, _in, named_page, timeline
from khronika.projections.views import ViewStore

ROLES_BY_FACT = schema.index_name("view_roles", ("fact", "recorded_to"))
PAGE_IDS = 1000  # fact ids a query may list (PostgreSQL takes 65,535 values)
CUSTODIAL = ("prison", "penal_colony", "restriction_of_freedom", "other")
RELEASES = {"release": "released", "pardon": "pardoned", "parole": "paroled",
            "amnesty": "amnestied"}  # fmt: skip


def term(months: int | None) -> str:
    if months is None:
        return "an unrecorded term"
    years, rest = divmod(months, 12)
    parts = [f"{years} year{'s' * (years != 1)}"] if years else []
    if rest or not parts:
        parts.append(f"{rest} month{'s' * (rest != 1)}")
    return " ".join(parts)


def describe(s: dict[str, Any]) -> str:
    """'3 years, penal colony, medium-security regime', and so on."""
    if s["outcome"] != "convicted":
        return str(s["outcome"])
    if s["type"] is None:
        return "convicted, no sentence recorded"
    kind = s["type"].replace("_", " ")
    text = kind if kind == "fine" else f"{term(s['term_months'])}, {kind}"
    if s["regime"]:
        text += f", {s['regime'].replace('_', ' ')}-security regime"
    if s["probation_months"]:
        text += f", {term(s['probation_months'])} probation"
    return text


def status(s: dict[str, Any], changes: list[dict[str, Any]], day: Day) -> str:
    """Where this sentence stood on `day`, judged by the verdict's bounds.

    What is claimed follows the sentence type: prison and colony terms are
    served, a suspended sentence runs its probation, a fine is imposed.
    "Served" needs a recorded release or full term; otherwise the term
    "would end by" its latest day. A verdict whose date is uncertain (`?`,
    `%`) makes every state only possible.
    """
    text = _state(s, changes, day)
    if s["uncertain"] and not text.startswith("possibly"):
        return f"possibly {text} (the verdict's date {s['label']} is uncertain)"
    return text


def _state(s: dict[str, Any], changes: list[dict[str, Any]], day: Day) -> str:
    start, start_late = from_key(s["earliest"]), from_key(s["latest"])
    if day < start_late:
        return f"possibly sentenced by then (verdict {s['label']})"
    if s["outcome"] != "convicted" or s["type"] is None:
        return describe(s) + f" on {s['label']}"
    for change in changes:
        if change["verdict"] in (None, s["fact"]) and change["change"] in RELEASES:
            if from_key(change["latest"]) <= day:
                done = RELEASES[change["change"]]
                maybe = "possibly " if change["uncertain"] else ""
                return f"{maybe}{done} ({change['label']}) from {describe(s)}"
    if s["type"] == "fine":
        return f"{describe(s)}, imposed on {s['label']}"
    if s["type"] in ("suspended", "probation"):
        return _probation(s, start, start_late, day)
    if s["term_months"] is None:
        return f"{describe(s)}, since {s['label']}"
    end = start.plus_months(s["term_months"])
    end_late = start_late.plus_months(s["term_months"])
    verb = "serving" if s["type"] in CUSTODIAL else "under"
    if day < end:
        return f"{verb} {describe(s)}, since {s['label']}"
    if day < end_late:
        return f"possibly still {verb} {describe(s)} (ends {end} to {end_late})"
    for change in changes:
        full = change["served_months"]
        if change["verdict"] in (None, s["fact"]) and full == s["term_months"]:
            if from_key(change["latest"]) <= day:
                return f"served {describe(s)} (full term recorded, {change['fact']})"
    return f"{describe(s)}; the term would end by {end_late}"


def _probation(s: dict[str, Any], start: Day, start_late: Day, day: Day) -> str:
    """A suspended sentence: under probation until the probation period ends."""
    months = s["probation_months"]
    if months is None and s["type"] == "probation":
        months = s["term_months"]
    if months is None:
        return f"{describe(s)}, since {s['label']} (probation period not recorded)"
    end, end_late = start.plus_months(months), start_late.plus_months(months)
    if day < end:
        return f"under probation: {describe(s)}, since {s['label']}"
    if day < end_late:
        ends = f"(ends {end} to {end_late})"
        return f"possibly still under probation: {describe(s)} {ends}"
    return f"probation ended by {end_late}: {describe(s)}"


def person(
    views: ViewStore,
    ident: str,
    point: Point,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> m.Person:
    """A person's or group's history; `limit` and `offset` page its facts.

    The sentences and their changes are always whole: a status needs them.
    """
    entities = Entities(views, point)
    row = entities.resolve(ident)
    members = entities.members(row["entity"])
    params: dict[str, Any] = dict(point.params)
    who = _in("who", members, params)
    paged = limit is not None or offset > 0
    if paged:
        page, total = named_page(views, point, members, limit, offset)
    else:
        page = timeline(views, point, entities=members)
        total = len(page)
    roles: dict[str, set[str]] = {}  # fact -> the entity's roles in it
    by_id = len(page) <= PAGE_IDS  # the page's facts, else all the entity's
    index = views.indexed_by(ROLES_BY_FACT) if by_id else ""
    sql = (f"SELECT fact, role FROM view_roles r{index} WHERE "
           f"{point.where('r', world=False)} AND r.entity IN {who}")  # fmt: skip
    if by_id:
        sql += f" AND r.fact IN {_in('page', [f.id for f in page], params)}"
    for r in views.query(sql, params):
        roles.setdefault(r["fact"], set()).add(r["role"])
    facts = [
        msgspec.structs.replace(fact, roles=sorted(
            roles.get(fact.id, set()) | _other_names(fact, members)))
        for fact in page
    ]  # fmt: skip
    sentences = _rows(views, "view_sentences", "defendant", who, point, params)
    changes = _rows(views, "view_changes", "defendant", who, point, params)
    charges = _charges(views, point, [s["fact"] for s in sentences])
    day = point.as_of or Day.today()
    for s in sentences:
        s["charges"] = charges.get(s["fact"], [])
        s["sentence"] = describe(s)
        s["status"] = status(s, changes, day)
    for r in sentences + changes:  # compared as keys, shown as days
        r["earliest"], r["latest"] = shown(r["earliest"]), shown(r["latest"])
        r["uncertain"] = bool(r["uncertain"])
    return m.typed(
        m.Person,
        {
            "id": row["entity"],
            "kind": row["kind"],
            "name": row["name"],
            "aliases": msgspec.json.decode(row["aliases"]),
            "note": row["note"],
            "merged": [other for other in members if other != row["entity"]],
            "merged_into": row["merged_into"],
            "status_on": day.isoformat(),
            "facts": facts,
            "facts_total": total,
            "sentences": sentences,
            "sentence_changes": changes,
        },
    )


def _other_names(fact: m.Fact, members: list[str]) -> set[str]:
    """How a fact names the entity other than as a participant."""
    found = {"place"} if fact.place in members else set()
    details = fact.details
    if isinstance(details, LawAmendmentDetails) and details.law in members:
        found.add("law amended")
    if isinstance(details, VerdictDetails):
        if {c.partition(":")[0] for c in details.charges} & set(members):
            found.add("law applied")
    return found


def _rows(
    views: ViewStore, table: str, column: str, who: str, point: Point, params: Any
) -> list[dict[str, Any]]:
    rows = views.query(
        f"SELECT t.*, f.label, f.uncertain, {point.status('t', 'f')} AS certainty "
        f"FROM {table} t JOIN view_facts f "
        "ON f.fact = t.fact AND f.version = t.version "
        f"WHERE {point.where('t', facts='f')} AND t.{column} IN {who} "
        "ORDER BY t.earliest",
        params,
    )
    return [dict(r) for r in rows]


def _charges(views: ViewStore, point: Point, facts: list[str]) -> dict[str, list[str]]:
    params: dict[str, Any] = dict(point.params)
    rows = views.query(
        "SELECT fact, article FROM view_charges c WHERE "
        f"{point.where('c', world=False)} AND c.fact IN {_in('f', facts, params)}",
        params,
    )
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r["fact"], []).append(r["article"])
    return found
