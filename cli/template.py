"""`khronika new KIND`: a commented template of a fact, ready to fill in.

Every list of allowed values comes from the document types themselves, so
a template cannot offer a value that `append` refuses.
"""

from __future__ import annotations

import textwrap
from typing import Any, Literal, get_args, get_origin, get_type_hints

import click

from khronika.cli.examples import SLUG
from khronika.domain.documents import (
    FACT_KINDS,
    Role,
    Sentence,
    SentenceChangeDetails,
    VerdictDetails,
)

PERSON = "tatyana-serebryakova"
LAW = "kz-criminal-code-2014"


def one_of(literal: Any) -> str:
    """'one of: a, b, c' for a Literal type (or an optional one)."""
    values = get_args(literal)
    if values and get_origin(values[0]) is Literal:  # Literal[...] | None
        values = get_args(values[0])
    listed = "one of: " + ", ".join(v for v in values if isinstance(v, str))
    return textwrap.fill(listed, 79, initial_indent="# ", subsequent_indent="#   ")


def _field(cls: type[Any], name: str) -> Any:
    return get_type_hints(cls)[name]


def details(kind: str) -> str:
    if kind == "verdict":
        return f"""
[details]
type = "verdict"
# LAW:ARTICLE, where LAW is a law entity that lists the article
charges = ["{LAW}:180"]
{one_of(_field(VerdictDetails, "outcome"))}
outcome = "convicted"

[[details.sentences]]     # one table per sentence; leave out if none
{one_of(_field(Sentence, "type"))}
type = "prison"
term_months = 36
{one_of(_field(Sentence, "regime"))}
regime = "medium"         # optional
# probation_months = 60   # for a suspended sentence: its probation period
# defendant = "{PERSON}"  # whom it is for; none: every defendant
"""
    if kind == "sentence_change":
        return f"""
[details]
type = "sentence_change"
{one_of(_field(SentenceChangeDetails, "change"))}
change = "release"
# verdict = "the-verdict-it-changes"
# served_months = 84      # how much of the term was served
"""
    if kind == "law_amendment":
        return f"""
[details]
type = "law_amendment"
law = "{LAW}"
articles = ["{LAW}:180"]

[[details.penalties_before]]
conduct = "Public calls for separatism"
article = "{LAW}:180"
max_term_months = 60

[[details.penalties_after]]
conduct = "Public calls for separatism"
article = "{LAW}:180"
max_term_months = 84
"""
    if kind == "measurement":
        return """
[details]
type = "measurement"
quantity = "ethnic Russians in Kazakhstan"
value = 3430000
unit = "people"
"""
    return ""


def template(kind: str) -> str:
    accused = kind in ("verdict", "trial", "charge", "sentence_change")
    role = "defendant" if accused else "speaker"
    return f"""# A fact of kind "{kind}". Fill it in, then: khronika append FILE.toml
# It may only name sources and entities already in the store (see `source add`
# and `entity add`); write every text in your own words.

id = "my-{kind.replace("_", "-")}"   # a slug: lower-case letters, digits, hyphens
kind = "{kind}"
# EDTF: 2024, 2024-05, 2024-05-30, 2024-21 (spring), 2024~ (about), 2024?
# (uncertain), 201X, 2023-12/2024-02, ../2024 (open start), -0044, Y170000002
when = {{ edtf = "2024-05-30", wording = "on May 30, 2024" }}
summary = "What happened, in your own words."
# place = "a-place-entity"   # optional: an entity of kind place

[[participants]]          # one table per participant
entity = "{PERSON}"
{one_of(Role)}
role = "{role}"

[[sources]]               # at least one: where the fact comes from
source = "{SLUG}"
locator = "para:6"        # para:N, page:N or chars:START-END
# quote = "…"             # the words, where the words spoken are the fact
{details(kind)}"""


@click.command(name="new")
@click.argument("kind", type=click.Choice(FACT_KINDS), metavar="KIND")
def new(kind: str) -> None:
    """Print a commented template of a fact of KIND, in TOML.

    Every allowed value of every list (roles, sentence types, regimes,
    outcomes, kinds of change) is written beside its field.

    \b
    Example:
      khronika new verdict > my-verdict.toml
    """
    click.echo(template(kind), nl=False)
