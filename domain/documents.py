"""The documents maintainers write: sources, entities and facts.

These Structs are the input contract of `khronika append` and `khronika import`,
and they are also what the stored events carry. A field that is added later
gets a default; a field never changes type.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from khronika.domain.text import (
    CONTROL,
    MULTI_LINE_REQUIRED,
    MULTI_LINE_RULE,
    NAME_MAX,
    ONE_LINE,
    ONE_LINE_REQUIRED,
    ONE_LINE_RULE,
)

# Every pattern ends in \Z, not $: msgspec uses re.search, and $ also
# matches before a final newline, so "an-id\n" would pass as "an-id".
SLUG_MAX = 120
Slug = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9][a-z0-9-]*\Z",
        max_length=SLUG_MAX,
        description=f"a slug: lower-case letters a-z, digits and hyphens, starting "
        f"with a letter or digit, at most {SLUG_MAX} characters",
    ),
]
ArticleRef = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9][a-z0-9-]*:[A-Za-z0-9][A-Za-z0-9.-]*\Z",
        max_length=160,
        description="LAW-SLUG:ARTICLE, such as kz-criminal-code-2014:180",
    ),
]
Text = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=4000,
        pattern=MULTI_LINE_REQUIRED,
        description=f"{MULTI_LINE_RULE}, not blank, at most 4000 characters",
    ),
]
Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=NAME_MAX,
        pattern=ONE_LINE_REQUIRED,
        description=f"{ONE_LINE_RULE}, not blank, at most {NAME_MAX} characters",
    ),
]
Quote = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=500,
        pattern=ONE_LINE_REQUIRED,
        description=f"{ONE_LINE_RULE}, not blank, at most 500 characters",
    ),
]
DateText = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=ONE_LINE_REQUIRED,
        description="an EDTF date on one line, at most 100 characters",
    ),
]
Locator = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(para|page|chars):[0-9]+(-[0-9]+)?\Z",
        max_length=60,
        description="para:N, page:N or chars:START-END (ASCII digits)",
    ),
]
Months = Annotated[int, msgspec.Meta(ge=0, le=1200)]

FactKind = Literal[
    "statement",
    "investigation",
    "detention",
    "charge",
    "trial",
    "verdict",
    "sentence_change",
    "law_amendment",
    "publication",
    "measurement",
    "diplomatic",
    "other",
]
FACT_KINDS: tuple[str, ...] = FactKind.__args__  # type: ignore[attr-defined]

EntityKind = Literal[
    "person", "group", "organisation", "court", "place", "law", "platform"
]
ENTITY_KINDS: tuple[str, ...] = EntityKind.__args__  # type: ignore[attr-defined]

Role = Literal[
    "defendant",
    "speaker",
    "author",
    "addressee",
    "court",
    "prosecutor",
    "investigator",
    "organiser",
    "subject",
    "victim",
    "witness",
    "publisher",
    "platform",
    "official",
    "other",
]


class Doc(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every document: immutable, keyword-only, strict about keys."""


class Citation(Doc, frozen=True):
    """Where a claim comes from: a source, a place in it, and maybe its words."""

    source: Slug
    locator: Locator
    quote: Quote | None = None


class When(Doc, frozen=True):
    """An EDTF date, with the original wording and what it was resolved against."""

    edtf: DateText
    wording: Name | None = None
    anchor: DateText | None = None


class Participant(Doc, frozen=True):
    """An entity taking part in a fact, in a role."""

    entity: Slug
    role: Role


class Sentence(Doc, frozen=True):
    """A punishment. `defendant` names whom it is for; none means every one."""

    type: Literal[
        "prison",
        "penal_colony",
        "suspended",
        "fine",
        "restriction_of_freedom",
        "probation",
        "other",
    ]
    term_months: Months | None = None
    regime: (
        Literal["general", "medium", "high", "special", "colony_settlement"] | None
    ) = None
    probation_months: Months | None = None
    defendant: Slug | None = None


class Penalty(Doc, frozen=True):
    """What a law allows for some conduct."""

    conduct: Name
    article: ArticleRef | None = None
    max_term_months: Months | None = None
    min_term_months: Months | None = None


class VerdictDetails(Doc, frozen=True, tag="verdict"):
    charges: list[ArticleRef] = []
    outcome: Literal["convicted", "acquitted", "dismissed", "other"] = "convicted"
    sentences: list[Sentence] = []


class SentenceChangeDetails(Doc, frozen=True, tag="sentence_change"):
    change: Literal["appeal", "release", "pardon", "parole", "amnesty", "other"]
    verdict: Slug | None = None
    served_months: Months | None = None
    new_sentence: Sentence | None = None


class LawAmendmentDetails(Doc, frozen=True, tag="law_amendment"):
    law: Slug
    articles: list[ArticleRef] = []
    penalties_before: list[Penalty] = []
    penalties_after: list[Penalty] = []


class MeasurementDetails(Doc, frozen=True, tag="measurement"):
    quantity: Name
    value: float  # finite: rules.check_fact refuses nan and infinities
    unit: Annotated[
        str,
        msgspec.Meta(
            max_length=40,
            pattern=ONE_LINE,
            description=f"{ONE_LINE_RULE}, at most 40 characters",
        ),
    ] = ""


Details = (
    VerdictDetails | SentenceChangeDetails | LawAmendmentDetails | MeasurementDetails
)


class SourceDoc(Doc, frozen=True, tag="source"):
    id: Slug
    title: Name
    publisher: Name
    url: Annotated[
        str,
        msgspec.Meta(
            pattern=rf"^https?://[^\s{CONTROL}]+\Z",
            max_length=2000,
            description="an http:// or https:// URL without spaces or control "
            "characters, at most 2000 characters",
        ),
    ]
    published: DateText
    language: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*\Z",
            max_length=35,
            description="a language code such as en, ru or kk-Cyrl",
        ),
    ]
    sha256: (
        Annotated[
            str,
            msgspec.Meta(
                pattern=r"^[0-9a-f]{64}\Z",
                description="64 lower-case hexadecimal digits",
            ),
        ]
        | None
    ) = None


class Article(Doc, frozen=True):
    """An article of a law entity, such as 180 of a criminal code."""

    number: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*\Z",
            max_length=40,
            description="letters, digits, dots and hyphens, such as 180 or 174.1",
        ),
    ]
    title: Name


class EntityDoc(Doc, frozen=True, tag="entity"):
    id: Slug
    kind: EntityKind
    name: Name
    aliases: list[Name] = []
    note: Text | None = None
    articles: list[Article] = []


class FactDoc(Doc, frozen=True, tag="fact"):
    id: Slug
    kind: FactKind
    when: DateText | When
    summary: Text
    sources: list[Citation]
    place: Slug | None = None
    participants: list[Participant] = []
    details: Details | None = None

    @property
    def date(self) -> When:
        """`when` as a When, whichever way it was written."""
        return When(edtf=self.when) if isinstance(self.when, str) else self.when


class Merge(Doc, frozen=True, tag="merge"):
    """In a bundle: `entity` is the same as `into` (what `entity merge` records)."""

    entity: Slug
    into: Slug
    reason: str


class Retraction(Doc, frozen=True, tag="retraction"):
    """In a bundle: the fact no longer stands (what `retract` records)."""

    fact: Slug
    reason: str
    sources: list[Citation]


Record = SourceDoc | EntityDoc | FactDoc | Merge | Retraction


def differs(old: Doc, new: Doc) -> list[str]:
    """The fields in which two documents of one type differ."""
    return [
        name
        for name in old.__struct_fields__
        if getattr(old, name) != getattr(new, name)
    ]
