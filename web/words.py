"""Stored values as a reader says them: sentences, penalties, numbers.

Slugs become names in the templates (`macros.html`, from the `Named` read
model); what is phrased here is the rest: "3 years in a medium-security
colony, suspended, 5 years' probation" rather than "term months 36".
"""

from __future__ import annotations

import msgspec

from khronika.domain.documents import Details, Penalty, Sentence
from khronika.projections.models import LawPenalty
from khronika.projections.person import term

REGIMES = {
    "general": "general-regime",
    "medium": "medium-security",
    "high": "high-security",
    "special": "special-regime",
    "colony_settlement": "settlement",
}
OUTCOMES = {
    "convicted": "Convicted",
    "acquitted": "Acquitted",
    "dismissed": "Case dismissed",
    "other": "Other outcome",
}
CHANGES = {
    "appeal": "Appeal",
    "release": "Released",
    "pardon": "Pardoned",
    "parole": "Paroled",
    "amnesty": "Amnestied",
    "other": "Sentence changed",
}


def possessive(months: int | None) -> str:
    """ "5 years'", "1 year's": a term before the noun it measures."""
    words = term(months)
    return words + ("'" if words.endswith("s") else "'s")


def sentence(s: Sentence) -> str:
    """'3 years in a medium-security colony, suspended, 5 years' probation'."""
    regime = REGIMES.get(s.regime or "")
    if s.type == "fine":
        text = "a fine"
    elif s.type == "restriction_of_freedom":
        text = f"{possessive(s.term_months)} restriction of freedom"
    elif s.type == "probation":
        text = f"{possessive(s.term_months)} probation"
    elif s.type == "prison":
        text = f"{term(s.term_months)} in {f'a {regime} ' if regime else ''}prison"
    elif s.type in ("penal_colony", "suspended") and regime:
        text = f"{term(s.term_months)} in a {regime} colony"
    elif s.type == "penal_colony":
        text = f"{term(s.term_months)} in a penal colony"
    else:  # suspended without a regime, or another kind
        text = term(s.term_months)
    if s.type == "suspended":
        text += ", suspended"
    elif s.type == "other":
        text += " (another kind of sentence)"
    if s.probation_months:
        text += f", {possessive(s.probation_months)} probation"
    return text


def penalty(p: Penalty | LawPenalty) -> str:
    """'up to 7 years', '2 years to 7 years', 'at least 2 years', or ''."""
    low, high = p.min_term_months, p.max_term_months
    if low and high:
        return f"{term(low)} to {term(high)}"
    if high:
        return f"up to {term(high)}"
    if low:
        return f"at least {term(low)}"
    return ""


def number(value: float) -> str:
    """6230000.0 as '6,230,000'; 40.5 as '40.5'."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,}"


LOCATORS = {"para": "paragraph", "page": "page", "chars": "characters"}


def locator(text: str) -> str:
    """'para:6' as 'paragraph 6', 'chars:10-20' as 'characters 10–20'."""
    kind, _, where = text.partition(":")
    return f"{LOCATORS.get(kind, kind)} {where.replace('-', '–')}"


def in_order(text: str) -> tuple[str, int]:
    """A locator's sort key: by kind, then by its (first) number."""
    kind, _, where = text.partition(":")
    first = where.partition("-")[0]
    return kind, int(first) if first.isdigit() else 0


def tag_of(details: Details) -> str:
    """The kind of a fact's details: "verdict", "law_amendment", …"""
    return str(type(details).__struct_config__.tag)


def page_of(slug: str, kind: str) -> str:
    """The page of what a slug names: a law's or an article's state, a
    person's or a group's history and sentences, or another entity's page."""
    if kind in ("law", "article"):
        return f"/law/{slug}"
    return f"/person/{slug}" if kind in ("person", "group") else f"/entities/{slug}"


FIELD_WORDS = {
    "when": "Date",
    "summary": "Summary",
    "place": "Place",
    "participants": "Who",
    "details": "Details",
    "sources": "Sources",
    "retracted": "Retracted",
}


def changed_value(field: str, value: object, names: dict[str, str]) -> str:
    """A field's old or new value (`models.FieldChange`) as a reader says it;
    `names` gives entities' names by slug."""
    if value is None or value == []:
        return "none"
    if field == "when" and isinstance(value, dict):
        wording = value.get("wording")
        return str(value.get("edtf")) + (f" (“{wording}”)" if wording else "")
    if field == "place" and isinstance(value, str):
        return names.get(value, value)
    if field == "retracted":
        return "yes" if value else "no"
    if field == "participants" and isinstance(value, list):
        return "; ".join(
            f"{names.get(p['entity'], p['entity'])} ({p['role']})" for p in value
        )
    if field == "sources" and isinstance(value, list):
        return "; ".join(
            f"{c['source']}, {locator(c['locator'])}"
            + (f": “{c['quote']}”" if c.get("quote") else "")
            for c in value
        )
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()
