"""Names that look the same: normalised when stored, lookalikes warned about."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from khronika.domain import names
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


def test_an_import_compares_each_new_name_with_an_index_not_every_name(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Comparing each new name with every name read 500 entities' names
    125,000 times; a skeleton index reads each once, and looks one up."""
    assert run("init").exit_code == 0
    people = [{"type": "entity", "id": f"p{i}", "kind": "person",
               "name": f"Person {i}"} for i in range(500)]  # fmt: skip
    people.append({"type": "entity", "id": "lookalike", "kind": "person",
                   "name": "P\u0435rson 7"})  # a Cyrillic е  # fmt: skip
    bundle = tmp_path / "people.jsonl"
    bundle.write_text("".join(json.dumps(p) + "\n" for p in people))
    calls = 0
    skeleton = names.skeleton

    def counted(name: str) -> str:
        nonlocal calls
        calls += 1
        return skeleton(name)

    monkeypatch.setattr(names, "skeleton", counted)
    result = run("import", str(bundle))
    assert result.exit_code == 0, result.output
    assert calls <= 3 * len(people)
    assert "'P\u0435rson 7' looks like 'Person 7', a name of 'p7'" in result.stderr
