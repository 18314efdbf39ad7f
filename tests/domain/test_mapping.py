"""Spreadsheet rows as facts: the mapping, and errors that name row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from khronika.domain import mapping
from khronika.domain import names as names_
from khronika.domain.documents import Citation, Participant, When
from khronika.domain.errors import (
    DuplicateError,
    KhronikaError,
    NotFoundError,
    ValidationError,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "verdicts.toml"
WHERE = "verdicts.csv row 4"

MAPPING = """
kind = "verdict"
[columns]
id = "case_id"
when = "date"
wording = "as_written"
summary = "summary"
place = "city"
source = "source"
locator = "locator"
quote = "quote"
charges = "articles"
sentence_type = "sentence"
term_months = "months"
regime = "regime"
[[participants]]
column = "defendant"
role = "defendant"
[[participants]]
column = "court"
role = "court"
[options]
law = "kz-criminal-code-2014"
"""


def row(**changes: str) -> dict[str, str]:
    cells = {
        "case_id": "serebryakova-verdict-2023",
        "date": "2023-05-30",
        "as_written": "",
        "summary": "Three years for separatism.",
        "city": "",
        "source": "worldcrunch-kz-separatism",
        "locator": "para:6",
        "quote": "",
        "articles": "180",
        "sentence": "prison",
        "months": "36",
        "regime": "medium",
        "defendant": "tatyana-serebryakova",
        "court": "",
    }
    return cells | changes


def fact(
    text: str = MAPPING,
    names: names_.Names | None = None,
    cells: dict[str, str] | None = None,
    **more: str,
) -> mapping.Mapped:
    """The fact of row() with `cells` and `more` changed, through `text`."""
    cells = row(**(cells or {}), **more)
    return mapping.fact(mapping.load(text, "m.toml"), WHERE, cells, names)


def test_the_example_mapping_loads() -> None:
    loaded = mapping.load(EXAMPLE.read_text("utf-8"), EXAMPLE.name)
    assert loaded.kind == "verdict"
    assert loaded.columns.term_months == "months"
    assert [p.role for p in loaded.participants] == ["defendant", "court"]


def test_a_row_becomes_a_verdict_with_its_charges_and_sentence() -> None:
    doc = fact().doc
    assert doc.id == "serebryakova-verdict-2023"
    assert doc.when == "2023-05-30"
    assert doc.participants == [
        Participant(entity="tatyana-serebryakova", role="defendant")
    ]
    assert doc.sources == [
        Citation(source="worldcrunch-kz-separatism", locator="para:6")
    ]
    assert doc.details is not None
    assert doc.details.charges == ["kz-criminal-code-2014:180"]  # type: ignore[union-attr]
    sentence = doc.details.sentences[0]  # type: ignore[union-attr]
    assert (sentence.type, sentence.term_months, sentence.regime) == (
        "prison",
        36,
        "medium",
    )


def test_several_values_split_and_the_quote_goes_with_the_first_locator() -> None:
    doc = fact(
        locator="para:6; para:7",
        quote="only joking",
        defendant="a-one;b-two",
        articles="180;kz-criminal-code-1997:170",
    ).doc
    assert [c.locator for c in doc.sources] == ["para:6", "para:7"]
    assert [c.quote for c in doc.sources] == ["only joking", None]
    assert [p.entity for p in doc.participants] == ["a-one", "b-two"]
    assert doc.details.charges == [  # type: ignore[union-attr]
        "kz-criminal-code-2014:180",
        "kz-criminal-code-1997:170",
    ]


def test_wording_makes_the_date_a_table_and_empty_cells_are_left_out() -> None:
    doc = fact(as_written="in late May", sentence="", months="", regime="").doc
    assert doc.when == When(edtf="2023-05-30", wording="in late May")
    assert doc.details.sentences == []  # type: ignore[union-attr]
    assert doc.place is None


def test_names_and_aliases_resolve_to_slugs_given_the_catalogue() -> None:
    names = names_.index(
        [
            ("tatyana-serebryakova", ["Tatyana Serebryakova", "Татьяна Серебрякова"]),
            ("petropavlovsk", ["Petropavlovsk"]),
        ]
    )
    doc = fact(names=names, defendant="Татьяна Серебрякова", city="PETROPAVLOVSK").doc
    assert doc.participants[0].entity == "tatyana-serebryakova"
    assert doc.place == "petropavlovsk"


def test_an_unknown_name_suggests_close_ones_and_names_the_column() -> None:
    names = names_.index([("tatyana-serebryakova", ["Tatyana Serebryakova"])])
    with pytest.raises(mapping.CellError) as raised:
        fact(names=names, defendant="Tatyana Serebryakovaa")
    assert str(raised.value) == (
        "verdicts.csv row 4, column 'defendant': unknown entity "
        "'Tatyana Serebryakovaa'; did you mean 'tatyana-serebryakova'?"
    )


KIND_COLUMN = MAPPING.replace('kind = "verdict"', 'kind_column = "kind"').replace(
    'role = "court"', 'role_column = "court_role"'
)

BAD_CELLS = {
    "impossible day": (
        {"date": "2023-02-30"},
        "column 'date': '2023-02-30' is not a real day (February 2023 has 28 days)",
    ),
    "not EDTF": ({"date": "30 May 2023"}, "column 'date': "),
    "a word for a number": (
        {"months": "ten"},
        "column 'months': 'ten' is not a whole number of months (such as 36)",
    ),
    "negative number": ({"months": "-3"}, "column 'months': '-3' is not a whole"),
    "too long a term": ({"months": "1201"}, "column 'months': expected `int` <= 1200"),
    "unknown sentence type": (
        {"sentence": "jail"},
        "column 'sentence': 'jail' is not allowed; one of: fine, other, ",
    ),
    "a term without a type": (
        {"sentence": ""},
        "column 'sentence': is empty, but the row gives a sentence's term months",
    ),
    "unknown regime": ({"regime": "strict"}, "column 'regime': 'strict' is not"),
    "no id": ({"case_id": " "}, "column 'case_id': is empty; every fact needs its id"),
    "id not a slug": ({"case_id": "Case_1"}, "column 'case_id': must be a slug"),
    "bad locator": ({"locator": "p. 6"}, "column 'locator': must be para:N"),
    "entity not a slug": (
        {"defendant": "Tatyana"},
        "column 'defendant': must be a slug",
    ),
    "listed twice": (
        {"defendant": "a-one;a-one"},
        "column 'defendant': 'a-one' is listed twice as defendant",
    ),
}


@pytest.mark.parametrize("case", BAD_CELLS)
def test_a_bad_cell_is_refused_naming_the_row_and_the_column(case: str) -> None:
    cells, message = BAD_CELLS[case]
    with pytest.raises(mapping.CellError) as raised:
        fact(cells=cells)
    assert str(raised.value).startswith(f"{WHERE}, {message}")


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            {"kind": "verdikt"},
            "column 'kind': 'verdikt' is not allowed; one of: charge, detention",
        ),
        ({"kind": ""}, "column 'kind': is empty; every fact needs its kind"),
        (
            {"kind": "statement", "sentence": "", "months": "", "regime": ""},
            "column 'articles': holds '180', but a fact of kind 'statement' has no "
            "charges",
        ),
        ({"kind": "verdict", "court_role": "judge"}, None),  # no court: no role
        (
            {"kind": "verdict", "court": "a-court", "court_role": "judge"},
            "column 'court_role': 'judge' is not allowed; one of: ",
        ),
        (
            {"kind": "verdict", "court": "a-court", "court_role": ""},
            "column 'court_role': is empty; every fact needs its role",
        ),
    ],
)
def test_kind_and_role_may_come_from_columns(
    cells: dict[str, str], message: str | None
) -> None:
    cells = {"kind": "verdict", "court_role": "court"} | cells
    if message is None:
        assert fact(KIND_COLUMN, cells=cells).doc.kind == "verdict"
        return
    with pytest.raises(mapping.CellError, match=f"^{WHERE}, {message}"):
        fact(KIND_COLUMN, cells=cells)


def test_a_statement_row_has_no_details() -> None:
    cells = {"kind": "statement", "court_role": "court", "articles": ""}
    cells |= {"sentence": "", "months": "", "regime": ""}
    doc = fact(KIND_COLUMN, cells=cells).doc
    assert (doc.kind, doc.details) == ("statement", None)


BAD_MAPPINGS = {
    "unknown key": (
        MAPPING.replace('regime = "regime"', 'regim = "regime"'),
        "m.toml: columns.regim: unknown key; the keys here: id, when, summary",
    ),
    "unknown top key": ("kinds = 1\n" + MAPPING, "m.toml: kinds: unknown key"),
    "unknown participant key": (
        MAPPING.replace('role = "court"', 'role = "court"\nrol = "x"'),
        "m.toml: participants[1].rol: unknown key; the keys here: column, role",
    ),
    "unknown role": (
        MAPPING.replace('role = "court"', 'role = "judge"'),
        "m.toml: participants[1].role: 'judge' is not allowed; one of: ",
    ),
    "unknown kind": (
        MAPPING.replace('"verdict"', '"verdikt"'),
        "m.toml: kind: 'verdikt' is not allowed",
    ),
    "required column missing": (
        MAPPING.replace('id = "case_id"', ""),
        "m.toml: columns.id: is required",
    ),
    "neither kind nor kind_column": (
        MAPPING.replace('kind = "verdict"', ""),
        "m.toml: kind: give either kind",
    ),
    "both kind and kind_column": (
        'kind_column = "kind"\n' + MAPPING,
        "m.toml: kind: give either kind",
    ),
    "both role and role_column": (
        MAPPING.replace('role = "court"', 'role = "court"\nrole_column = "r"'),
        "m.toml: participants[1]: give either role",
    ),
    "term without a sentence type": (
        MAPPING.replace('sentence_type = "sentence"', ""),
        "m.toml: columns.sentence_type: is needed too",
    ),
    "separator is the delimiter": (
        MAPPING + 'separator = ","\n',
        "m.toml: options.separator: ',' is also the delimiter",
    ),
    "separator of two characters": (
        MAPPING + 'separator = ";;"\n',
        "m.toml: options.separator: must be one character",
    ),
    "column not a string": (
        MAPPING.replace('id = "case_id"', "id = 1"),
        "m.toml: columns.id: expected `str`, got `int`",
    ),
    "not TOML": ("kind = \n", "m.toml: is not valid TOML: "),
}


@pytest.mark.parametrize("case", BAD_MAPPINGS)
def test_a_bad_mapping_is_refused_naming_the_key(case: str) -> None:
    text, message = BAD_MAPPINGS[case]
    with pytest.raises(ValidationError) as raised:
        mapping.load(text, "m.toml")
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            [c for c in row() if c != "months"],
            "verdicts.csv row 1, column 'months': is not in the header, but the "
            "mapping names it (columns.term_months); the header has 'case_id'",
        ),
        ([*row(), "date"], "verdicts.csv row 1, column 'date': appears twice"),
    ],
)
def test_the_header_must_hold_every_column_the_mapping_names(
    header: list[str], message: str
) -> None:
    loaded = mapping.load(MAPPING, "m.toml")
    with pytest.raises(mapping.CellError) as raised:
        mapping.check_header(loaded, header, "verdicts.csv row 1")
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            NotFoundError("entity", "x", ["y"], field="participants[1].entity"),
            "verdicts.csv row 4, column 'court': unknown entity 'x'; did you mean 'y'?",
        ),
        (
            NotFoundError("article", "kz:9", field="details.charges[0]"),
            "verdicts.csv row 4, column 'articles': unknown article 'kz:9'",
        ),
        (
            ValidationError("sources[0].quote", "not found in the copy"),
            "verdicts.csv row 4, column 'quote': not found in the copy",
        ),
        (
            DuplicateError.taken("fact", "a-fact", ["summary"]),
            "verdicts.csv row 4, column 'case_id': fact 'a-fact' exists already",
        ),
        (KhronikaError("no field"), None),
    ],
)
def test_an_error_about_a_field_is_located_at_its_column(
    error: KhronikaError, message: str | None
) -> None:
    mapped = fact(court="a-court", quote="q")
    cell = mapping.locate(error, WHERE, mapped.columns)
    if message is None:
        assert cell is None
    else:
        assert cell is not None and str(cell).startswith(message)
