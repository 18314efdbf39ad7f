"""One search across facts, entities and sources: the CLI, the API and both
databases give the same ranked answer."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from khronika.cli.main import cli
from khronika.projections.text import KAZAKH, fold, searchable, words
from khronika.web.app import create_app

Run = Callable[..., Result]
QUERIES = ["Серебрякова", "СЕРЕБРЯКОВА", "serebryakova", "Tatyana Serebr",
           "separatism", "Петропавловск", "Федоров", "Фёдоров",
           "ust kamenogorsk verdict", "Worldcrunch", "chatroulette"]  # fmt: skip
POINTS = [{}, {"as_of": "2022"}, {"as_of": "2023-06", "certain": "true"},
          {"known_at": "2000-01-01"}]  # fmt: skip


def ranked(answer: dict[str, Any]) -> list[tuple[str, str, float, str]]:
    return [(h["kind"], h["id"], h["score"], h["snippet"]) for h in answer["hits"]]


def cli_search(run: Run, query: str, point: dict[str, str], *store: str) -> Any:
    flags = [f"--{k.replace('_', '-')}" + ("" if k == "certain" else f"={v}")
             for k, v in point.items()]  # fmt: skip
    result = run(*store, "search", query, "--limit", "100", *flags,
                 "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_fold_drops_case_and_diacritics_in_latin_cyrillic_and_kazakh() -> None:
    assert fold("ҚАЗАҚСТАН") == fold("қазақстан") == "казакстан"
    assert fold("Әлем Ғалым Ұлы Үй Өзен Һ Ің") == "алем галым улы уи озен х ин"
    assert fold("Фёдоров") == fold("ФЕДОРОВ") == "федоров"
    assert fold("Élan Ünal") == "elan unal"
    assert words("Ust-Kamenogorsk's «verdict»") == [
        "ust",
        "kamenogorsk",
        "s",
        "verdict",
    ]
    assert searchable("A b", None, "Ç") == "a b c"
    assert searchable("x" * 5000) == "x" * 200  # a lexeme's size is bounded


def test_serebryakova_in_cyrillic_finds_her_facts_through_her_alias(
    demo: Run,
) -> None:
    found = cli_search(demo, "Серебрякова", {})
    ids = [h["id"] for h in found["hits"]]
    assert ids[0] == "tatyana-serebryakova"
    assert {"serebryakova-verdict-2023", "serebryakova-investigation-2023",
            "serebryakova-chatroulette-conversation-2021"} <= set(ids)  # fmt: skip
    verdict = next(h for h in found["hits"] if h["id"] == "serebryakova-verdict-2023")
    assert verdict["field"] == "names" and verdict["via"] == "tatyana-serebryakova"
    (a, b), *_ = verdict["marks"]
    assert verdict["snippet"][a:b] == "Серебрякова"


def test_search_is_ranked_case_and_diacritic_insensitive(demo: Run) -> None:
    assert ranked(cli_search(demo, "СЕРЕБРЯКОВА", {})) == ranked(
        cli_search(demo, "серебрякова", {})
    )
    assert ranked(cli_search(demo, "Фёдоров", {})) == ranked(
        cli_search(demo, "федоров", {})
    )
    scores = [h["score"] for h in cli_search(demo, "separatism", {})["hits"]]
    assert scores == sorted(scores, reverse=True) and len(scores) > 3


def test_a_kazakh_alias_is_found_in_any_case_and_by_its_russian_letters(
    demo: Run,
) -> None:
    assert demo("entity", "alias", "almaty", "Алматы қаласы").exit_code == 0
    for query in ("ҚАЛАСЫ", "каласы", "Алматы Қала"):
        ids = [h["id"] for h in cli_search(demo, query, {})["hits"]]
        assert ids[0] == "almaty", query


def test_search_finds_sources_by_title_and_facts_by_quote(demo: Run) -> None:
    kinds = {h["kind"] for h in cli_search(demo, "Worldcrunch", {})["hits"]}
    assert "source" in kinds
    quoted = cli_search(demo, "Sooner or later", {})["hits"]
    assert quoted[0]["id"] == "instagram-lenin-monument-comment"
    assert quoted[0]["field"] == "quote"


def test_search_honours_as_of_and_known_at(demo: Run) -> None:
    everything = {h["id"] for h in cli_search(demo, "verdict", {})["hits"]}
    in_2022 = {h["id"] for h in cli_search(demo, "verdict", {"as_of": "2022"})["hits"]}
    assert "ust-kamenogorsk-separatism-verdict-2024" in everything - in_2022
    assert cli_search(demo, "verdict", {"known_at": "2000-01-01"})["hits"] == []


def test_the_table_marks_the_words_found(demo: Run) -> None:
    result = demo("search", "Серебрякова", "--limit", "1")
    assert result.exit_code == 0
    assert "«Серебрякова»" in result.output and "tatyana-serebryakova" in result.output


def test_api_search_answers_as_the_cli(demo: Run, client: TestClient) -> None:
    for query in QUERIES[:4]:
        for point in POINTS:
            url = "/api/search?" + urlencode({"q": query, "limit": 100} | point)
            response = client.get(url)
            assert response.status_code == 200, response.text
            assert ranked(response.json()) == ranked(cli_search(demo, query, point))
    assert client.get("/api/search").status_code == 400
    assert client.get("/api/search?q=%20-%20").status_code == 400


@pytest.mark.sqlite_only
def test_sqlite_and_postgresql_give_the_same_ranked_results(
    postgres_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    sqlite = str(tmp_path / "s.db")
    for i, store in enumerate((sqlite, postgres_db)):
        monkeypatch.setenv("KHRONIKA_KEY", str(tmp_path / f"store{i}.key"))
        result = run("--store", store, "demo")
        assert result.exit_code == 0, result.output
    answers: dict[str, list[Any]] = {}
    for store in (sqlite, postgres_db):
        answers[store] = [
            ranked(cli_search(run, q, p, "--store", store))
            for q in QUERIES
            for p in POINTS
        ]
        with TestClient(create_app(store)) as client:
            served = [
                ranked(
                    client.get(
                        "/api/search?" + urlencode({"q": q, "limit": 100} | p)
                    ).json()
                )  # fmt: skip
                for q in QUERIES
                for p in POINTS
            ]
        assert served == answers[store]
    assert answers[sqlite] == answers[postgres_db]
    assert sum(len(a) for a in answers[sqlite]) > 50  # they found things
    whole_record = answers[sqlite][:: len(POINTS)]  # each query, at no point
    assert all(whole_record), QUERIES


def test_folding_is_the_same_for_every_character_as_by_its_definition() -> None:
    """fold's fast paths against the definition: decompose, drop combining
    marks, then read Kazakh letters as Russian ones."""

    def defined(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        bare = "".join(c for c in decomposed if not unicodedata.combining(c))
        return bare.translate(KAZAKH)

    everything = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for start in range(0, len(everything), 4096):
        chunk = "".join(everything[start : start + 4096])
        assert fold(chunk) == defined(chunk)
    for text in ("Ұлттық Серебрякова Élan", "plain ASCII, Mixed Case", "Ёлка ǅ ﬁ"):
        assert fold(text) == defined(text)
