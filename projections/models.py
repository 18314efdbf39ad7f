"""The read models: one typed shape per answer, for the CLI's JSON and the API.

Both encode through these Structs (`typed`), so there is one schema, and
`khronika schema` and the OpenAPI document publish it. Stored documents
inside them (participants, citations, details) keep the domain's types;
data stored under looser rules still reads (`domain.lenient`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, Struct, UnsetType, field

from khronika.domain import lenient
from khronika.domain.documents import Article, Citation, Details, FactDoc, Participant
from khronika.store.attest import InclusionProof

T = TypeVar("T")
A = TypeVar("A", bound="Point")


class Model(Struct, kw_only=True):
    """Base of every read model."""


class Point(Model, kw_only=True):
    as_of: str | None = None
    known_at: str | None = None
    lag: int = 0  # log positions the views are behind (read-only stores)


class Dated(Model, kw_only=True):
    edtf: str
    label: str
    earliest: str
    latest: str
    approximate: bool
    uncertain: bool
    wording: str | None = None


class Fact(Model, kw_only=True):
    id: str
    kind: str
    when: Dated
    status: str | None  # certain, possible, later; None outside a point
    summary: str
    place: str | None
    participants: list[Participant]
    details: Details | None
    sources: list[Citation]
    version: int
    retracted: bool
    recorded_at: str
    recorded_by: str
    reason: str
    roles: list[str] | UnsetType = UNSET  # in a person's history
    recorded_key: str = ""  # the signer's "<key name>+<key id>"; "" if unsigned
    changes: list[FieldChange] | UnsetType = UNSET  # in a history: from the last


class Timeline(Point, kw_only=True):
    facts: list[Fact]
    next: str | None | UnsetType = UNSET  # the API's cursor to the next page


class FactHistory(Point, kw_only=True):
    fact: Fact
    history: list[Fact]


class SentenceState(Model, kw_only=True):
    fact: str
    version: int
    defendant: str
    outcome: str
    type: str | None
    term_months: int | None
    regime: str | None
    probation_months: int | None
    place: str | None
    earliest: str
    latest: str
    recorded_from: str
    recorded_to: str
    label: str
    uncertain: bool
    certainty: str  # certain or possible: the verdict's date at the point
    charges: list[str]
    sentence: str
    status: str


class SentenceChange(Model, kw_only=True):
    fact: str
    version: int
    defendant: str
    change: str
    verdict: str | None
    served_months: int | None
    earliest: str
    latest: str
    recorded_from: str
    recorded_to: str
    label: str
    uncertain: bool
    certainty: str


class Person(Point, kw_only=True):
    id: str
    kind: str
    name: str
    aliases: list[str]
    note: str | None
    merged: list[str]
    merged_into: str | None
    status_on: str
    facts: list[Fact]
    facts_total: int  # facts naming them, of which `facts` is a page
    sentences: list[SentenceState]
    sentence_changes: list[SentenceChange]


class LawPenalty(Model, kw_only=True):
    article: str | None  # a penalty may name no article (Penalty.article)
    conduct: str
    min_term_months: int | None
    max_term_months: int | None


class PossibleChange(Model, kw_only=True):
    id: str
    penalties: list[LawPenalty]


class InForce(Model, kw_only=True):
    penalties: list[LawPenalty]
    since: str | None
    certain: bool
    possibly: list[PossibleChange]
    # whether the law or article asked for was itself in force on the day; if
    # not, `penalties` are those that applied to its conduct instead (before
    # it took effect, or since it was replaced)
    applies: bool = True


class Amendment(Model, kw_only=True):
    id: str
    when: str
    earliest: str
    latest: str
    uncertain: bool
    status: str
    summary: str
    before: list[LawPenalty]
    after: list[LawPenalty]


class Law(Point, kw_only=True):
    id: str
    name: str
    article: str | None
    article_title: str | None
    articles: dict[str, str]
    in_force: InForce
    amendments: list[Amendment]


class Bucket(Model, kw_only=True):
    key: str
    certain: int  # of what the statistic counts (`Stats.counts`), surely here
    possible: int  # … and those that may be here
    verdicts: int = 0  # verdicts here, certainly or possibly
    defendants: int = 0  # defendants of those (by sentence type: theirs here)
    people: int = 0  # defendants who are people
    groups: int = 0  # defendants that are groups, of a size not recorded
    terms: int | UnsetType = UNSET  # by charge and by sentence type: months
    median: float | None | UnsetType = UNSET
    mean: float | None | UnsetType = UNSET
    min: int | None | UnsetType = UNSET
    max: int | None | UnsetType = UNSET


class LagPair(Model, kw_only=True):
    verdict: str
    defendant: str
    name: str
    act: str
    days_min: int
    days_max: int
    days_mid: float


class LagSummary(Model, kw_only=True):
    pairs: int
    median_days: float | UnsetType = UNSET
    min_days: float | UnsetType = UNSET
    max_days: float | UnsetType = UNSET


class Lags(Model, kw_only=True):
    summary: LagSummary
    pairs: list[LagPair]


class Stats(Point, kw_only=True):
    by: str
    verdicts: int  # distinct verdicts counted
    buckets: list[Bucket] | UnsetType = UNSET
    lags: Lags | UnsetType = UNSET
    counts: str = "verdicts"  # what `certain` and `possible` count
    defendants: int = 0  # distinct defendants of those verdicts
    total: Bucket | UnsetType = UNSET  # each column summed over the buckets
    filters: dict[str, list[str]] = {}  # the charges, places, courts, kinds
    notes: list[str] = []  # where a total and its rows differ, and why


class Change(Model, kw_only=True):
    change: str
    id: str
    kind: str
    from_version: int | None
    to_version: int
    recorded_at: str
    recorded_by: str
    reason: str
    summary: str
    recorded_key: str = ""  # the signer's "<key name>+<key id>"; "" if unsigned
    steps: list[Step] = []  # each version in between: by whom, what changed


class Diff(Model, kw_only=True):
    start: str = field(name="from")
    end: str = field(name="to")
    changes: list[Change]
    lag: int = 0


class EntityTrace(Model, kw_only=True):
    """`trace ENTITY`: every fact that names the entity, with its sources."""

    entity: str
    name: str
    known_at: str | None
    facts: list[Fact]


class TracedCitation(Model, kw_only=True):
    source: str
    title: str | None
    publisher: str | None
    url: str | None
    published: str | None
    locator: str
    quote: str | None
    verified: str
    unchecked_at_append: str | None
    copy_sha256: str | None
    copy_is_current: bool


class Proof(Model, kw_only=True):
    leaf_index: int
    tree_size: int
    root: str
    path: list[str]


class TracedEvent(Model, kw_only=True):
    position: int
    event: str
    version: int
    recorded_at: datetime
    recorded_by: str
    reason: str
    changes: dict[str, Any] | None
    key: str | None = None  # the signer's "<key name>+<key id>"; None if unsigned
    unchecked: str
    citations: list[TracedCitation]
    proof: Proof | UnsetType = UNSET


class Trace(Model, kw_only=True):
    id: str
    known_at: datetime | None
    fact: FactDoc
    version: int
    retracted: bool
    events: list[TracedEvent]


class Entity(Model, kw_only=True):
    id: str
    kind: str
    name: str
    aliases: list[str]
    note: str | None
    merged_into: str | None
    articles: list[Article]
    version: int
    recorded_at: str


class Entities(Point, kw_only=True):
    entities: list[Entity]


class FactRef(Model, kw_only=True):
    """A fact named in a list: what it is and when."""

    id: str
    kind: str
    when: str  # the EDTF date's label
    status: str | None


class OneEntity(Point, kw_only=True):
    entity: Entity
    facts: list[FactRef] = field(default_factory=list)  # every fact naming it


class Named(Model, kw_only=True):
    """What a page calls a slug: an entity by its name, or a law's article."""

    kind: str  # the entity's kind, or "article" for LAW:ARTICLE
    name: str  # "Tatyana Serebryakova"; "Criminal Code …, article 180"
    title: str | None = None  # an article's title ("Separatist activity")
    law: str | None = None  # an article's law (its slug)


class Source(Model, kw_only=True):
    id: str
    title: str
    publisher: str
    url: str
    published: str
    language: str
    sha256: str | None
    version: int
    recorded_at: str


class Sources(Point, kw_only=True):
    sources: list[Source]


class Citing(Model, kw_only=True):
    """A fact version's citation of a source."""

    fact: str
    version: int
    locator: str
    quote: str | None


class OneSource(Point, kw_only=True):
    source: Source
    copy_bytes: int | None = None  # the stored copy's size; None if not stored
    cited_by: list[Citing] = field(default_factory=list)  # facts as they stand


class Checkpoint(Model, kw_only=True):
    origin: str
    size: int
    root: str
    note: str | None


class Status(Model, kw_only=True):
    head: int
    position: int
    lag: int
    last_recorded_at: str | None


Proofs = list[InclusionProof]
MODELS: tuple[Any, ...] = (
    Timeline, FactHistory, Trace, EntityTrace, Person, Law, Stats, Diff, Entities,
    OneEntity,
    Sources, OneSource, Checkpoint, Status, InclusionProof,
)  # fmt: skip


def at(answer: A, as_of: str | None, known_at: str | None, lag: int) -> A:
    """`answer`, saying where on the two axes it was read and how far behind."""
    return msgspec.structs.replace(answer, as_of=as_of, known_at=known_at, lag=lag)


def typed(model: type[T], data: Any) -> T:
    """`data` (built by a projection) as its read model; a wrong shape fails."""
    return lenient.convert(data, model)


def schema(ref: str = "#/components/schemas/{name}") -> dict[str, Any]:
    """The JSON Schema of every read model, as components to refer to."""
    _, components = msgspec.json.schema_components(MODELS, ref_template=ref)
    return components


ANSWERS = {
    "timeline": Timeline, "fact": FactHistory, "trace": Trace,
    "trace-entity": EntityTrace, "person": Person,
    "law": Law, "stats": Stats, "diff": Diff, "entities": Entities,
    "entity": OneEntity, "sources": Sources, "source": OneSource,
    "checkpoint": Checkpoint, "status": Status,
}  # fmt: skip


def json_schema() -> dict[str, Any]:
    """One JSON Schema document: every answer, by command, and its parts."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "khronika read models",
        "description": "The JSON of every read command (--format json) and of "
        "the HTTP API: one schema for both.",
        "answers": {  # by command; validate one with {"$ref": …, "$defs": …}
            name: {"$ref": f"#/$defs/{model.__name__}"}
            for name, model in ANSWERS.items()
        },
        "$defs": schema("#/$defs/{name}"),
    }


class Hit(Model, kw_only=True):
    """One record a search found: a fact, an entity or a source."""

    kind: str  # fact, entity or source
    id: str
    title: str  # a fact's date and kind; an entity's name; a source's title
    score: float  # higher first; the same on SQLite and PostgreSQL
    field: str  # where the words were found: summary, wording, quote, name,
    # alias, title, publisher, or (a fact) "names", through an entity it names
    snippet: str  # the text around the words found
    marks: list[tuple[int, int]]  # [start, end) of each word found in snippet
    status: str | None = None  # a fact's: certain or possible at as_of
    via: str | None = None  # a fact found through this entity (its slug)


class Search(Point, kw_only=True):
    query: str
    hits: list[Hit]


class FieldChange(Model, kw_only=True):
    """One field of a fact as one version changed it from the version before.

    For a list (participants, sources), `before` holds the entries taken
    out and `after` those put in; otherwise the old and the new value.
    """

    field: str  # when, summary, place, participants, details, sources, retracted
    before: Any = None
    after: Any = None


class Step(Model, kw_only=True):
    """One version between two record times: who made it, and what changed."""

    version: int
    recorded_at: str
    recorded_by: str
    recorded_key: str = ""
    reason: str = ""
    changes: list[FieldChange] = []
