"""Spreadsheet rows as facts: a mapping names the column of each field.

A mapping is a small TOML document (see examples/verdicts.toml); `fact` turns
one row, given as column -> cell, into a FactDoc checked like any other
document, and every error names the row and the column. Pure: the caller reads
the files and hands over their text.
"""

from __future__ import annotations

import re
import tomllib
from typing import Annotated, Any

import msgspec

from khronika.domain import names as names_
from khronika.domain.documents import FACT_KINDS, FactDoc, FactKind, Role, Slug
from khronika.domain.errors import (
    DuplicateError,
    KhronikaError,
    NotFoundError,
    ValidationError,
)
from khronika.domain.parse import field_error
from khronika.domain.rules import check_fact

Column = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=200, description="a column's header"),
]
Char = Annotated[
    str,
    msgspec.Meta(
        pattern=r'^[^"\r\n]\Z', description="one character, not a quote or newline"
    ),
]


class _Table(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A table of the mapping: immutable, strict about keys."""


class Columns(_Table, frozen=True):
    """Which column holds each field of a fact; all but five are optional."""

    id: Column
    when: Column  # EDTF
    summary: Column
    source: Column  # a source's slug
    locator: Column  # para:N; several split by the separator, one citation each
    wording: Column | None = None  # the date as the source words it
    anchor: Column | None = None  # the date `wording` was resolved against
    quote: Column | None = None  # goes with the first locator
    place: Column | None = None
    charges: Column | None = None  # LAW:ARTICLE, or ARTICLE with options.law
    outcome: Column | None = None
    sentence_type: Column | None = None
    term_months: Column | None = None
    regime: Column | None = None
    probation_months: Column | None = None

    def verdict_only(self) -> list[str]:
        """The columns of fields that only a verdict has."""
        named = [self.charges, self.outcome, self.sentence_type, self.term_months]
        return [c for c in [*named, self.regime, self.probation_months] if c]


class ParticipantColumn(_Table, frozen=True):
    """A column of entities (several split by the separator) in one role."""

    column: Column
    role: Role | None = None  # the same role on every row,
    role_column: Column | None = None  # or the column that holds it


class Options(_Table, frozen=True):
    delimiter: Char = ","  # between cells
    separator: Char = ";"  # between several values in one cell
    law: Slug | None = None  # a charge without "LAW:" is of this law


class Mapping(_Table, frozen=True):
    """Which column holds which field of a fact."""

    columns: Columns
    kind: FactKind | None = None  # one kind for every row,
    kind_column: Column | None = None  # or the column that holds it
    participants: list[ParticipantColumn] = []
    options: Options = msgspec.field(default_factory=Options)

    def used(self) -> list[tuple[str, str]]:
        """(key in the mapping, column) for every column the mapping names."""
        keys = [("kind_column", self.kind_column)]
        keys += [(f"columns.{f}", getattr(self.columns, f)) for f in _COLUMN_KEYS]
        for i, p in enumerate(self.participants):
            keys += [(f"participants[{i}].column", p.column)]
            keys += [(f"participants[{i}].role_column", p.role_column)]
        return [(key, column) for key, column in keys if column is not None]


_COLUMN_KEYS: tuple[str, ...] = Columns.__struct_fields__
_TABLES: dict[str, type[_Table]] = {
    "": Mapping,
    "columns": Columns,
    "participants": ParticipantColumn,
    "options": Options,
}
_UNKNOWN = re.compile(r"^object contains unknown field `(?P<key>.*)`$", re.S)


class CellError(ValidationError):
    """A cell that does not make a valid fact, naming its row and column."""

    def __init__(self, where: str, column: str, problem: str) -> None:
        self.where = where
        self.column = column
        super().__init__(f"{where}, column '{column}'", problem)


class Mapped(msgspec.Struct, frozen=True):
    """A row's fact, and the column each of its fields came from."""

    doc: FactDoc
    columns: dict[str, str]  # document field (participants[0].entity) -> column


def load(text: str, name: str) -> Mapping:
    """The mapping in TOML `text` (from the file `name`); errors name the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValidationError(name, f"is not valid TOML: {e}") from None
    except RecursionError:
        raise ValidationError(name, "is nested too deeply") from None
    try:
        mapping = msgspec.convert(data, Mapping)
    except msgspec.ValidationError as e:
        raise _key_error(field_error(e, cls=Mapping), name) from None
    _check(mapping, name)
    return mapping


def _key_error(error: ValidationError, name: str) -> ValidationError:
    """An unknown key said as the key's path, with the keys that table takes."""
    unknown = _UNKNOWN.match(error.problem)
    if unknown is None:
        return ValidationError(f"{name}: {error.field}", error.problem)
    table = re.sub(r"\[\d+\]", "", error.field)
    keys = ", ".join(_TABLES[table].__struct_fields__) if table in _TABLES else ""
    path = f"{error.field}.{unknown['key']}".lstrip(".")
    return ValidationError(f"{name}: {path}", f"unknown key; the keys here: {keys}")


def _check(mapping: Mapping, name: str) -> None:
    """The rules that span keys: one of each pair, distinct separators."""
    if (mapping.kind is None) == (mapping.kind_column is None):
        raise ValidationError(
            f"{name}: kind",
            "give either kind (the same kind on every row) or kind_column "
            "(the column that holds it)",
        )
    for i, p in enumerate(mapping.participants):
        if (p.role is None) == (p.role_column is None):
            raise ValidationError(
                f"{name}: participants[{i}]",
                f"give either role (the same role on every row) or role_column "
                f"(the column that holds it) for column '{p.column}'",
            )
    c = mapping.columns
    if c.sentence_type is None and (c.term_months or c.regime or c.probation_months):
        raise ValidationError(
            f"{name}: columns.sentence_type",
            "is needed too: a sentence's term, regime or probation needs its type",
        )
    if mapping.options.delimiter == mapping.options.separator:
        raise ValidationError(
            f"{name}: options.separator",
            f"'{mapping.options.separator}' is also the delimiter between cells; "
            "choose another",
        )


def check_header(mapping: Mapping, header: list[str], where: str) -> None:
    """Every column the mapping names is in the header, and only once."""
    for column in header:
        if header.count(column) > 1:
            raise CellError(where, column, "appears twice in the header")
    for key, column in mapping.used():
        if column not in header:
            listed = ", ".join(f"'{c}'" for c in header)
            raise CellError(
                where,
                column,
                f"is not in the header, but the mapping names it ({key}); "
                f"the header has {listed}",
            )


def fact(
    mapping: Mapping,
    where: str,
    cells: dict[str, str],
    names: names_.Names | None = None,
) -> Mapped:
    """The fact of one row, checked as a document; CellError names the column.

    With `names` (the store's slugs, names and aliases), an entity's cell may
    hold its name or an alias too; without, it must hold the slug.
    """
    row = _Row(mapping, where, cells, names)
    data = row.document()
    try:
        doc = msgspec.convert(data, FactDoc)
        check_fact(doc)
    except msgspec.ValidationError as e:
        raise row.located(field_error(e, cls=FactDoc)) from None
    except ValidationError as e:
        raise row.located(e) from None
    return Mapped(doc=doc, columns=row.fields)


def locate(
    error: KhronikaError, where: str, columns: dict[str, str]
) -> CellError | None:
    """An error about a mapped fact's field, as one about its row and column;
    None if the error names no field that came from a column."""
    field = error.field if isinstance(error, ValidationError | NotFoundError) else ""
    if isinstance(error, DuplicateError):
        field = "id"
    column = column_of(columns, field)
    if column is None:
        return None
    text = str(error)
    problem = text.removeprefix(f"{field}: ") if field != "id" else text
    return CellError(where, column, problem)


def column_of(columns: dict[str, str], field: str) -> str | None:
    """The column of `field`, else of the nearest field that holds it."""
    while field:
        if field in columns:
            return columns[field]
        field = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", field)
    return None


class _Row:
    """One row being turned into a fact document, noting each field's column."""

    def __init__(
        self,
        mapping: Mapping,
        where: str,
        cells: dict[str, str],
        names: names_.Names | None,
    ) -> None:
        self.mapping = mapping
        self.where = where
        self.cells = cells
        self.names = names
        self.fields: dict[str, str] = {}

    def error(self, column: str, problem: str) -> CellError:
        return CellError(self.where, column, problem)

    def located(self, error: ValidationError) -> ValidationError:
        column = column_of(self.fields, error.field)
        return error if column is None else self.error(column, error.problem)

    def cell(self, field: str, column: str | None) -> str:
        """The cell's text, stripped ("" if blank), noting the field's column."""
        if column is None:
            return ""
        if field:
            self.fields[field] = column
        return (self.cells.get(column) or "").strip()

    def required(self, field: str, column: str) -> str:
        text = self.cell(field, column)
        if not text:
            raise self.error(column, f"is empty; every fact needs its {field}")
        return text

    def split(self, column: str) -> list[str]:
        text = self.cell("", column)
        sep = self.mapping.options.separator
        return [part.strip() for part in text.split(sep) if part.strip()]

    def document(self) -> dict[str, Any]:
        c = self.mapping.columns
        kind = self.kind()
        data: dict[str, Any] = {
            "type": "fact",
            "id": self.required("id", c.id),
            "kind": kind,
            "when": self.when(),
            "summary": self.required("summary", c.summary),
            "sources": self.sources(),
            "participants": self.participants(),
        }
        if c.place is not None and (place := self.cell("place", c.place)):
            data["place"] = self.entity(place, c.place)
        if kind == "verdict":
            data["details"] = self.verdict()
        else:
            self.refuse_verdict_cells(kind)
        return data

    def kind(self) -> str:
        if self.mapping.kind is not None:
            return self.mapping.kind
        column = self.mapping.kind_column
        assert column is not None  # load() checks one of the two is given
        kind = self.required("kind", column)
        if kind not in FACT_KINDS:
            allowed = ", ".join(sorted(FACT_KINDS))
            raise self.error(column, f"'{kind}' is not allowed; one of: {allowed}")
        return kind

    def when(self) -> str | dict[str, str]:
        c = self.mapping.columns
        edtf = self.required("when", c.when)
        self.fields["when.edtf"] = c.when
        extra = {
            key: text
            for key, column in (("wording", c.wording), ("anchor", c.anchor))
            if (text := self.cell(f"when.{key}", column))
        }
        return {"edtf": edtf, **extra} if extra else edtf

    def sources(self) -> list[dict[str, str]]:
        c = self.mapping.columns
        source = self.required("source", c.source)
        self.required("locator", c.locator)
        quote = self.cell("sources[0].quote", c.quote)
        citations = []
        for i, locator in enumerate(self.split(c.locator)):
            self.fields[f"sources[{i}].source"] = c.source
            self.fields[f"sources[{i}].locator"] = c.locator
            citation = {"source": source, "locator": locator}
            citations.append(citation | ({"quote": quote} if quote and not i else {}))
        self.fields["sources"] = c.locator
        return citations

    def participants(self) -> list[dict[str, str]]:
        found: list[dict[str, str]] = []
        for p in self.mapping.participants:
            entities = self.split(p.column)
            role = p.role or self.role(p.role_column, bool(entities))
            for text in entities:
                i = len(found)
                self.fields[f"participants[{i}]"] = p.column
                self.fields[f"participants[{i}].entity"] = p.column
                self.fields[f"participants[{i}].role"] = p.role_column or p.column
                found.append({"entity": self.entity(text, p.column), "role": role})
        return found

    def role(self, column: str | None, needed: bool) -> str:
        assert column is not None  # load() checks one of role, role_column
        return self.required("role", column) if needed else ""

    def entity(self, text: str, column: str) -> str:
        """The slug `text` names: itself without `names`, else resolved."""
        if self.names is None:
            return text
        try:
            return names_.resolve(text, self.names)
        except NotFoundError as e:
            raise self.error(column, str(e)) from None
        except KhronikaError as e:  # a name that several entities answer to
            raise self.error(column, str(e)) from None

    def verdict(self) -> dict[str, Any]:
        c = self.mapping.columns
        details: dict[str, Any] = {"type": "verdict"}
        if c.charges is not None:
            details["charges"] = [self.charge(x) for x in self.split(c.charges)]
            self.fields["details.charges"] = c.charges
        if outcome := self.cell("details.outcome", c.outcome):
            details["outcome"] = outcome
        sentence = self.sentence()
        if sentence:
            details["sentences"] = [sentence]
        return details

    def charge(self, text: str) -> str:
        law = self.mapping.options.law
        return f"{law}:{text}" if law and ":" not in text else text

    def sentence(self) -> dict[str, Any]:
        c = self.mapping.columns
        at = "details.sentences[0]"
        sentence: dict[str, Any] = {
            "type": self.cell(f"{at}.type", c.sentence_type),
            "term_months": self.months(f"{at}.term_months", c.term_months),
            "regime": self.cell(f"{at}.regime", c.regime),
            "probation_months": self.months(
                f"{at}.probation_months", c.probation_months
            ),
        }
        given = {k: v for k, v in sentence.items() if v not in ("", None)}
        if given and "type" not in given:
            assert c.sentence_type is not None  # load() checks it is named
            raise self.error(
                c.sentence_type,
                "is empty, but the row gives a sentence's "
                + ", ".join(k.replace("_", " ") for k in given)
                + "; name the sentence type",
            )
        return given

    def months(self, field: str, column: str | None) -> int | None:
        text = self.cell(field, column)
        if not text:
            return None
        assert column is not None
        if not re.fullmatch(r"[0-9]{1,6}", text):
            raise self.error(
                column, f"'{text}' is not a whole number of months (such as 36)"
            )
        return int(text)

    def refuse_verdict_cells(self, kind: str) -> None:
        for column in self.mapping.columns.verdict_only():
            if text := self.cell("", column):
                raise self.error(
                    column,
                    f"holds '{text}', but a fact of kind '{kind}' has no charges, "
                    "outcome or sentence (only a verdict has); leave it empty",
                )
