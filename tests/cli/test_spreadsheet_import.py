"""Spreadsheets in: the example CSV imports through its mapping, and every bad
cell is refused naming its row and column, with the store left unchanged."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]

EXAMPLES = Path(__file__).parents[2] / "examples"
CSV = str(EXAMPLES / "verdicts.csv")
MAPPING = str(EXAMPLES / "verdicts.toml")


def example_rows() -> list[list[str]]:
    with open(CSV, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows: list[list[str]]) -> str:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path)


def changed(path: Path, number: int, column: str, value: str) -> str:
    """The example with the cell of spreadsheet row `number` set to `value`."""
    rows = example_rows()
    rows[number - 1][rows[0].index(column)] = value
    return write_csv(path, rows)


def verdict_ids(run: Run) -> set[str]:
    result = run("timeline", "--kind", "verdict", "--format", "json")
    assert result.exit_code == 0, result.output
    return {fact["id"] for fact in json.loads(result.output)["facts"]}


EXAMPLE_IDS = {row[0] for row in example_rows()[1:]}
HEADER = Path(CSV).read_bytes().split(b"\n")[0] + b"\n"


def test_the_example_imports_through_its_mapping_and_shows_in_the_timeline(
    demo: Run, make: Any, store_path: str
) -> None:
    assert not EXAMPLE_IDS & verdict_ids(demo)  # new ids, none of the dataset's
    result = demo("import", CSV, "--mapping", MAPPING)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{CSV}: added 8 facts\n"
    # the rows restate the dataset's verdicts: each twin is named on stderr
    assert (
        "verdict verdict-list-serebryakova-2023 has the same defendants and date "
        "(2023-05-30) as verdict serebryakova-verdict-2023" in result.stderr
    )
    assert EXAMPLE_IDS <= verdict_ids(demo)
    shown = demo("fact", "verdict-list-astakhov-2024", "--format", "json")
    fact = json.loads(shown.output)["fact"]
    assert fact["place"] == "konaev"  # "Konaev" in the sheet, resolved
    assert fact["participants"] == [{"entity": "andrei-astakhov", "role": "defendant"}]
    assert fact["details"]["charges"] == ["kz-criminal-code-2014:174"]
    assert fact["details"]["sentences"][0]["type"] == "penal_colony"

    before = make.dump(store_path)
    again = demo("import", CSV, "--mapping", MAPPING)
    assert again.exit_code == 0, again.output
    assert again.output == f"{CSV}: nothing new (8 facts already present)\n"
    assert make.dump(store_path) == before


def test_a_dry_run_shows_the_first_facts_and_writes_nothing(
    demo: Run, make: Any, store_path: str
) -> None:
    before = make.dump(store_path)
    result = demo("import", CSV, "--mapping", MAPPING, "--dry-run")
    assert result.exit_code == 0, result.output
    assert make.dump(store_path) == before
    decoder = json.JSONDecoder()
    text, shown = result.stdout, []
    while text.startswith("{"):
        doc, end = decoder.raw_decode(text)
        shown.append(doc)
        text = text[end:].lstrip("\n")
    assert [d["id"] for d in shown] == [r[0] for r in example_rows()[1:4]]
    assert shown[0]["participants"] == [
        {"entity": "viktor-kazimirchuk", "role": "defendant"}
    ]
    assert "quote" not in shown[0]["sources"][0]  # empty fields are left out
    assert text == f"{CSV}: would add 8 facts\n"
    assert "as verdict serebryakova-verdict-2023" in result.stderr  # shown, too


# (spreadsheet row, column, new cell, the problem); the header is row 1
BAD_CELLS = {
    "bad date": (3, "date", "2023-02-30", "'2023-02-30' is not a real day"),
    "date not EDTF": (4, "date", "May 30, 2023", "'May 30, 2023'"),
    "unknown entity": (
        5,
        "defendant",
        "Tatyana Serebryakovaa",
        "unknown entity 'Tatyana Serebryakovaa'; did you mean 'tatyana-serebryakova'?",
    ),
    "unknown place": (6, "court_city", "Petropavl0vsk", "unknown entity"),
    "bad number": (
        2,
        "months",
        "ten",
        "'ten' is not a whole number of months (such as 36)",
    ),
    "number out of range": (2, "months", "5000", "expected `int` <= 1200"),
    "unknown sentence type": (7, "sentence", "jail", "'jail' is not allowed; one of"),
    "unknown regime": (5, "regime", "strict", "'strict' is not allowed; one of"),
    "unknown outcome": (8, "outcome", "guilty", "'guilty' is not allowed; one of"),
    "unknown article": (
        8,
        "articles",
        "999",
        "unknown article 'kz-criminal-code-2014:999'; did you mean",
    ),
    "unknown source": (9, "source", "worldcrunch", "unknown source 'worldcrunch'"),
    "bad locator": (9, "locator", "p. 4", "must be para:N, page:N"),
    "empty summary": (6, "summary", "", "is empty; every fact needs its summary"),
    "id taken by another fact": (
        2,
        "case_id",
        "astakhov-verdict-2024",
        "fact 'astakhov-verdict-2024' exists already with other values",
    ),
}


@pytest.mark.parametrize("case", BAD_CELLS)
def test_a_bad_cell_names_row_and_column_and_the_store_is_unchanged(
    case: str, demo: Run, make: Any, store_path: str, tmp_path: Path
) -> None:
    number, column, value, problem = BAD_CELLS[case]
    sheet = changed(tmp_path / "bad.csv", number, column, value)
    before = make.dump(store_path)
    result = demo("import", sheet, "--mapping", MAPPING)
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: bad.csv row {number}, column '{column}': {problem}"
    ), result.output
    assert "This batch was not written." in result.output
    assert "Traceback" not in result.output
    assert make.dump(store_path) == before


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            ('kind = "verdict"', 'kind_column = "kind"'),
            "Error: bad.csv row 1, column 'kind': is not in the header, but the "
            "mapping names it (kind_column)",
        ),
        (
            ('role = "court"', 'role_column = "court_role"'),
            "Error: bad.csv row 1, column 'court_role': is not in the header",
        ),
        (
            ('"months"', '"term"'),
            "Error: bad.csv row 1, column 'term': is not in the header, but the "
            "mapping names it (columns.term_months); the header has 'case_id'",
        ),
    ],
)
def test_a_column_missing_from_the_sheet_is_refused_and_the_store_is_unchanged(
    mapping: tuple[str, str],
    message: str,
    demo: Run,
    make: Any,
    store_path: str,
    tmp_path: Path,
) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text(Path(MAPPING).read_text("utf-8").replace(*mapping), "utf-8")
    sheet = write_csv(tmp_path / "bad.csv", example_rows())
    before = make.dump(store_path)
    result = demo("import", sheet, "--mapping", str(toml))
    assert result.exit_code == 1
    assert result.output.startswith(message), result.output
    assert make.dump(store_path) == before


@pytest.mark.parametrize(
    ("kind", "role", "message"),
    [
        ("verdikt", "court", "column 'kind': 'verdikt' is not allowed; one of:"),
        ("verdict", "judge", "column 'court_role': 'judge' is not allowed; one of:"),
    ],
)
def test_an_unknown_kind_or_role_in_a_cell_is_refused(
    kind: str,
    role: str,
    message: str,
    demo: Run,
    make: Any,
    store_path: str,
    tmp_path: Path,
) -> None:
    text = Path(MAPPING).read_text("utf-8").replace('kind = "verdict"', "")
    text = text.replace('role = "court"', 'role_column = "court_role"')
    toml = tmp_path / "m.toml"
    toml.write_text('kind_column = "kind"\n' + text, "utf-8")
    rows = [[*row, "kind", "court_role"] for row in example_rows()[:1]]
    rows += [[*row, "verdict", "court"] for row in example_rows()[1:]]
    rows[3][-2:] = [kind, role]  # spreadsheet row 4, which names a court
    sheet = write_csv(tmp_path / "bad.csv", rows)
    before = make.dump(store_path)
    result = demo("import", sheet, "--mapping", str(toml))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: bad.csv row 4, {message}"), result.output
    assert make.dump(store_path) == before


@pytest.mark.sqlite_only  # batching is the Importer's, tested on both stores
def test_a_failed_batch_writes_none_of_its_rows(demo: Run, tmp_path: Path) -> None:
    sheet = changed(tmp_path / "bad.csv", 7, "months", "ten")
    result = demo("import", sheet, "--mapping", MAPPING, "--batch-size", "3")
    assert result.exit_code == 1
    assert "1 earlier batch(es) with 3 new record(s) are in the store" in result.output
    imported = verdict_ids(demo) & EXAMPLE_IDS
    assert imported == {row[0] for row in example_rows()[1:4]}


@pytest.mark.sqlite_only  # the command line is checked before any store opens
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [CSV],
            "verdicts.csv is a CSV file: pass --mapping MAPPING.toml to say which "
            "column holds which field",
        ),
        (
            [str(EXAMPLES / "verdicts.toml"), "--mapping", MAPPING],
            "Invalid value for --mapping: reads a CSV file (FILE.csv, or - for "
            "stdin), not ",
        ),
    ],
)
def test_a_csv_needs_a_mapping_and_a_mapping_needs_a_csv(
    args: list[str], message: str, run: Run, store_path: str
) -> None:
    result = run("import", *args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Error: bad.csv: is empty: row 1 must name the columns"),
        (HEADER + b"\xff\n", "Error: bad.csv row 2: is not UTF-8 (byte 0xff)"),
        (HEADER + b'x,"y\n', "Error: bad.csv row 2: is not valid CSV: "),
    ],
)
def test_a_file_that_is_not_a_utf8_csv_is_refused(
    content: bytes, message: str, demo: Run, tmp_path: Path
) -> None:
    sheet = tmp_path / "bad.csv"
    sheet.write_bytes(content)
    result = demo("import", str(sheet), "--mapping", MAPPING)
    assert result.exit_code == 1
    assert result.output.startswith(message), result.output


@pytest.mark.sqlite_only
def test_a_bad_mapping_names_the_key(demo: Run, tmp_path: Path) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text(Path(MAPPING).read_text("utf-8").replace("regime =", "regim ="))
    result = demo("import", CSV, "--mapping", str(toml))
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: m.toml: columns.regim: unknown key; the keys here: id, when,"
    )
