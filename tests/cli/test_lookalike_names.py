"""Names that look the same: normalised when stored, lookalikes warned about."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from click.testing import Result

from khronika.domain.aggregates import Entity
from khronika.store.app import Chronicle

Run = Callable[..., Result]


@pytest.fixture
def tatyana(run: Run) -> Run:
    assert run("init").exit_code == 0
    added = run("entity", "add", "person", "tatyana-serebryakova",
                "--name", "Tatyana Serebryakova")  # fmt: skip
    assert added.exit_code == 0, added.output
    return run


@pytest.mark.parametrize(
    "name",
    [
        "Tatyana  Serebryakova",
        " Tatyana Serebryakova",
        "Tatyana\u00a0Serebryakova",
        "Tatyana\u3000Serebryakova",
        "Tatyana Sere\u200bbryakova",
        "Tatyana Sere\u00adbryakova",
    ],
)
def test_a_name_that_differs_only_in_spacing_or_invisibles_is_the_same_name(
    tatyana: Run, name: str
) -> None:
    result = tatyana("entity", "add", "person", "t-serebryakova", "--name", name)
    assert result.exit_code == 1
    assert "already names 'tatyana-serebryakova'" in result.output


def test_nfd_and_nfc_are_the_same_name(run: Run, store_path: str) -> None:
    assert run("init").exit_code == 0
    nfd = unicodedata.normalize("NFD", "Zhanar Ábdi")
    assert run("entity", "add", "person", "zhanar", "--name", nfd).exit_code == 0
    nfc = unicodedata.normalize("NFC", "Zhanar Ábdi")
    again = run("entity", "add", "person", "zhanar-abdi", "--name", nfc)
    assert "already names 'zhanar'" in again.output
    assert Chronicle(store_path).get(Entity, "zhanar").doc.name == nfc


def test_names_and_aliases_are_stored_normalised(tatyana: Run, store_path: str) -> None:
    alias = " Татьяна\u00a0\u00a0Серебрякова\u200d "
    assert tatyana("entity", "alias", "tatyana-serebryakova", alias).exit_code == 0
    doc = Chronicle(store_path).get(Entity, "tatyana-serebryakova").doc
    assert doc.aliases == ["Татьяна Серебрякова"]


@pytest.mark.parametrize(
    "name",
    [
        "T\u0430tyana Serebryakova",  # a Cyrillic а
        "Tatyana S\u0435r\u0435bryakova",  # Cyrillic е
        "\uff34atyana Serebryakova",  # a fullwidth Ｔ
    ],
)
def test_a_lookalike_name_is_taken_with_a_warning_pointing_to_entity_alias(
    tatyana: Run, name: str
) -> None:
    result = tatyana("entity", "add", "person", "t-serebryakova", "--name", name)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"khronika: warning: '{name}' looks like 'Tatyana Serebryakova', a name "
        "of 'tatyana-serebryakova' (lookalike letters: Cyrillic or Greek for "
        "Latin, fullwidth forms); if they are the same, record it as an alias "
        f"instead: `khronika entity alias tatyana-serebryakova '{name}'`\n"
    )


def test_a_different_name_gets_no_warning(tatyana: Run) -> None:
    result = tatyana("entity", "add", "person", "aigerim", "--name", "Aigerim Tleuzhan")
    assert (result.exit_code, result.stderr) == (0, "")
