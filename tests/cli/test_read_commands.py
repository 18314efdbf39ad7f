"""The read side through the CLI, checked against answers read from the article."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"


def data(run: Run, *args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def buckets(run: Run, *args: str) -> dict[str, tuple[int, int]]:
    return {
        b["key"]: (b["certain"], b["possible"])
        for b in data(run, "stats", *args)["buckets"]
    }


# -- known answers, checked by hand against the article ----------------------


def test_serebryakova_serves_three_years_medium_security_from_may_2023(
    demo: Run,
) -> None:
    person = data(demo, "person", "Татьяна Серебрякова", "--as-of", "2024-01-01")
    assert person["id"] == "tatyana-serebryakova"
    (sentence,) = person["sentences"]
    assert (sentence["type"], sentence["term_months"], sentence["regime"]) == (
        "prison",
        36,
        "medium",
    )
    assert sentence["charges"] == ["kz-criminal-code-2014:180"]
    assert sentence["status"] == (
        "serving 3 years, prison, medium-security regime, since 2023-05-30"
    )


def test_three_verdicts_certainly_fell_in_2023(demo: Run) -> None:
    years = buckets(demo, "--by", "year")
    assert years["2023"] == (3, 0)  # Serebryakova, People's Council, Instagram
    assert years["2022"] == (1, 0)  # the Potopa couple, January to June 2022
    assert years["2024"] == (2, 0)  # Astakhov and the Ust-Kamenogorsk pair


def test_before_the_2014_code_took_effect_only_calls_for_forcible_change_were_crimes(
    demo: Run,
) -> None:
    before = data(demo, "law", "kz-criminal-code-2014:180", "--as-of", "2014-01-01")
    (penalty,) = before["in_force"]["penalties"]
    assert penalty["article"] == "kz-criminal-code-1997:170"
    assert "forcible change" in penalty["conduct"]
    assert before["in_force"]["applies"] is False  # the 2014 code: not yet
    after = data(demo, "law", "kz-criminal-code-2014:180", "--as-of", "2015-01-01")
    assert [p["max_term_months"] for p in after["in_force"]["penalties"]] == [
        84,
        120,
        180,
    ]
    assert after["in_force"]["since"] == "kz-criminal-code-2014-in-force"
    assert after["in_force"]["applies"] is True


def test_adopted_in_july_2014_the_code_was_not_in_force_until_2015(
    demo: Run,
) -> None:
    """April 2014 amended the bill; the code was adopted on 3 July 2014 and
    took effect on 1 January 2015."""
    text = demo("law", "kz-criminal-code-2014:180", "--as-of", "2014-06-01").output
    assert "in force" not in text.lower()
    assert "kz-criminal-code-2014:180 had not taken effect on 2014-06-01" in text
    autumn = data(demo, "law", "kz-criminal-code-2014:180", "--as-of", "2014-12-31")
    assert autumn["in_force"]["since"] is None
    assert autumn["in_force"]["applies"] is False
    draft = data(demo, "fact", "kz-criminal-code-separatism-amendment-2014")["fact"]
    assert draft["details"]["law"] == "kz-criminal-code-2014-draft"
    adopted = data(demo, "fact", "kz-criminal-code-2014-adopted")["fact"]
    assert adopted["when"]["edtf"] == "2014-07-03"
    assert [c["source"] for c in adopted["sources"]] == ["adilet-k1400000226"]
    took_effect = data(demo, "fact", "kz-criminal-code-2014-in-force")["fact"]
    assert took_effect["when"]["edtf"] == "2015-01-01"
    assert "adilet-k1400000226" in {c["source"] for c in took_effect["sources"]}


def test_the_1997_article_shows_its_penalty_and_what_replaced_it(demo: Run) -> None:
    then = data(demo, "law", "kz-criminal-code-1997:170", "--as-of", "2010")
    (penalty,) = then["in_force"]["penalties"]
    assert penalty["article"] == "kz-criminal-code-1997:170"
    assert then["in_force"]["applies"] is True
    (amendment,) = then["amendments"]
    assert amendment["id"] == "kz-criminal-code-2014-in-force"
    now = demo("law", "kz-criminal-code-1997:170").output
    assert "kz-criminal-code-1997:170 no longer applied today; since" in now
    assert "before Calls for a forcible change of the state's territory" in now
    assert "after  Public calls for separatism: up to 7 years" in now


def test_during_april_2014_the_draft_penalties_are_only_possible(demo: Run) -> None:
    mid = data(demo, "law", "kz-criminal-code-2014-draft", "--as-of", "2014-04-15")
    assert not mid["in_force"]["certain"]
    assert mid["in_force"]["since"] is None
    assert len(mid["in_force"]["possibly"][0]["penalties"]) == 3
    text = demo("law", "kz-criminal-code-2014-draft", "--as-of", "2014-04-15").output
    assert "possibly changed by kz-criminal-code-separatism-amendment-2014" in text
    certain = demo(
        "law", "kz-criminal-code-2014-draft", "--as-of", "2014-04-15", "--certain"
    )
    assert certain.exit_code == 0
    assert "possibly" not in certain.output
    as_json = data(demo, "law", "kz-criminal-code-2014-draft", "--as-of",
                   "2014-04-15", "--certain")  # fmt: skip
    assert as_json["in_force"]["possibly"] == [] and as_json["amendments"] == []


def test_astakhov_three_years_penal_colony_for_inciting_discord(demo: Run) -> None:
    person = data(demo, "person", "andrei-astakhov", "--as-of", "2024-07-01")
    (sentence,) = person["sentences"]
    assert sentence["earliest"] == sentence["latest"] == "2024-06-06"
    assert (sentence["type"], sentence["term_months"]) == ("penal_colony", 36)
    assert sentence["charges"] == ["kz-criminal-code-2014:174"]


def test_zuderman_nine_years_and_his_followers_seven(demo: Run) -> None:
    zuderman = data(demo, "person", "vyacheslav-zuderman")["sentences"]
    followers = data(demo, "person", "peoples-council-of-workers-followers")
    assert [s["term_months"] for s in zuderman] == [108]
    assert [s["term_months"] for s in followers["sentences"]] == [84]
    assert followers["kind"] == "group"


def test_kazimirchuk_released_after_seven_of_eighteen_years(demo: Run) -> None:
    person = data(demo, "person", "viktor-kazimirchuk", "--as-of", "2010-01-01")
    (sentence,) = person["sentences"]
    assert sentence["term_months"] == 216
    assert sentence["status"].startswith("released (about 2006)")
    assert person["sentence_changes"][0]["served_months"] == 84


def test_seven_verdicts_from_1999_to_june_2024(demo: Run) -> None:
    verdicts = data(demo, "timeline", "--kind", "verdict")["facts"]
    assert len(verdicts) == 7
    assert verdicts[0]["id"] == "rus-organisation-verdict"
    assert verdicts[-1]["id"] == "ust-kamenogorsk-separatism-verdict-2024"


def test_the_timeline_opens_with_the_1996_kokshetau_uprising(demo: Run) -> None:
    facts = data(demo, "timeline")["facts"]
    undated_start = [f["id"] for f in facts if f["when"]["earliest"] == ".."]
    assert [f["id"] for f in facts[: len(undated_start)]] == undated_start
    events = [f for f in facts[len(undated_start) :] if f["kind"] != "measurement"]
    assert facts[len(undated_start)]["id"] == "ethnic-russians-number-1989"
    first = events[0]
    assert (first["id"], first["when"]["label"]) == (
        "kokshetau-cossack-uprising-1996",
        "1996",
    )


def test_potopa_verdict_is_only_possible_in_march_2022(demo: Run) -> None:
    facts = data(demo, "timeline", "--kind", "verdict", "--as-of", "2022-03-01")
    status = {f["id"]: f["status"] for f in facts["facts"]}
    assert status["potopa-verdict-2022"] == "possible"
    assert status["rus-organisation-verdict"] == "certain"
    certain = data(demo, "timeline", "--kind", "verdict", "--as-of", "2022-03-01",
                   "--certain")  # fmt: skip
    assert [f["id"] for f in certain["facts"]] == ["rus-organisation-verdict"]


def test_three_verdicts_came_out_of_chatroulette(demo: Run) -> None:
    platforms = buckets(demo, "--by", "platform")
    assert platforms["Chatroulette"] == (3, 0)
    assert platforms["Instagram"] == (1, 0)


def test_one_suspended_sentence_of_five_years(demo: Run) -> None:
    types = {
        b["key"]: b for b in data(demo, "stats", "--by", "sentence-type")["buckets"]
    }
    assert (types["suspended"]["certain"], types["suspended"]["median"]) == (1, 60)
    assert types["penal_colony"]["max"] == 36


def test_russians_halved_from_1989_to_2022(demo: Run) -> None:
    facts = data(demo, "timeline", "--kind", "measurement", "--search", "million")
    values = {f["when"]["edtf"]: f["details"]["value"] for f in facts["facts"]}
    assert values == {"1989": 6_230_000, "2022-01": 3_430_000}


def test_lag_from_serebryakova_chat_to_verdict_is_about_twenty_months(
    demo: Run,
) -> None:
    lags = data(demo, "stats", "--by", "lag")["lags"]["pairs"]
    pair = next(p for p in lags if p["defendant"] == "tatyana-serebryakova")
    assert pair["act"] == "serebryakova-chatroulette-conversation-2021"
    assert (pair["days_min"], pair["days_max"]) == (607, 636)


# -- the two time axes ---------------------------------------------------------


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_correction_after_demo_is_visible_now_and_invisible_known_at_before(
    demo: Run,
) -> None:
    before = now()
    fact = "serebryakova-verdict-2023"
    result = demo("correct", fact, "--set", "when=2023-05-31", "--reason", "typo",
                  "--source", f"{SOURCE}@para:6")  # fmt: skip
    assert result.exit_code == 0, result.output
    current = data(demo, "fact", fact)["fact"]
    old = data(demo, "fact", fact, "--known-at", before)["fact"]
    assert (current["when"]["edtf"], current["version"]) == ("2023-05-31", 2)
    assert (old["when"]["edtf"], old["version"]) == ("2023-05-30", 1)
    text = demo("fact", fact).output
    assert "v2 " in text and "corrected by tester (key " in text and "): typo" in text


def test_retraction_after_demo_hides_the_fact_now_but_not_before(demo: Run) -> None:
    before = now()
    fact = "astakhov-verdict-2024"
    result = demo("retract", fact, "--reason", "test", "--source", f"{SOURCE}@para:4")
    assert result.exit_code == 0
    ids_now = {f["id"] for f in data(demo, "timeline")["facts"]}
    ids_then = {f["id"] for f in data(demo, "timeline", "--known-at", before)["facts"]}
    assert fact not in ids_now and fact in ids_then
    assert data(demo, "fact", fact)["fact"]["retracted"] is True


def test_facts_appended_later_do_not_exist_known_at_before(
    demo: Run, tmp_path: Path
) -> None:
    before = now()
    path = tmp_path / "f.json"
    path.write_text(json.dumps({
        "id": "new-fact", "kind": "other", "when": "2023-24",
        "summary": "A winter fact.",
        "sources": [{"source": SOURCE, "locator": "para:2"}],
    }))  # fmt: skip
    assert demo("append", str(path)).exit_code == 0
    assert "new-fact" in {f["id"] for f in data(demo, "timeline")["facts"]}
    old = data(demo, "timeline", "--known-at", before)["facts"]
    assert "new-fact" not in {f["id"] for f in old}


def test_diff_lists_what_changed_between_two_record_times(demo: Run) -> None:
    start = now()
    demo("correct", "serebryakova-verdict-2023", "--set", "when=2023-05-31",
         "--reason", "typo", "--source", f"{SOURCE}@para:6")  # fmt: skip
    demo("retract", "astakhov-verdict-2024", "--reason", "test", "--source",
         f"{SOURCE}@para:4")  # fmt: skip
    end = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    changes = data(demo, "diff", "--known-at", start, "--known-at", end)["changes"]
    assert [(c["change"], c["id"]) for c in changes] == [
        ("corrected", "serebryakova-verdict-2023"),
        ("retracted", "astakhov-verdict-2024"),
    ]
    assert changes[0]["reason"] == "typo" and changes[0]["recorded_by"] == "tester"


def test_views_stay_current_after_import_without_a_rebuild(
    demo: Run, tmp_path: Path
) -> None:
    assert len(data(demo, "timeline")["facts"]) == 50
    path = tmp_path / "more.jsonl"
    path.write_text(json.dumps({
        "type": "fact", "id": "imported-fact", "kind": "other", "when": "2024",
        "summary": "Imported.", "sources": [{"source": SOURCE, "locator": "para:2"}],
    }) + "\n")  # fmt: skip
    assert demo("import", str(path)).exit_code == 0
    assert len(data(demo, "timeline")["facts"]) == 51
    status = demo("projections", "status").output
    assert "lag: 0 events" in status


def test_rebuild_gives_the_same_views(demo: Run) -> None:
    before = demo("timeline", "--format", "csv").output
    assert (
        demo("projections", "rebuild").output == "rebuilt the views from 117 events\n"
    )
    assert demo("timeline", "--format", "csv").output == before


# -- input errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["person", "kazimirchuk"], "unknown entity 'kazimirchuk'; did you mean "
         "'viktor-kazimirchuk'?"),
        (["law", "kz-criminal-code-2014:181"], "unknown article "
         "'kz-criminal-code-2014:181'; did you mean 'kz-criminal-code-2014:174', "
         "'kz-criminal-code-2014:180'?"),
        (["fact", "serebryakova-verdict"], "unknown fact 'serebryakova-verdict'; "
         "did you mean 'serebryakova-verdict-2023', "),
        (["law", "tatyana-serebryakova"], "unknown law 'tatyana-serebryakova'"),
    ],
)  # fmt: skip
def test_unknown_ids_get_suggestions(demo: Run, args: list[str], message: str) -> None:
    result = demo(*args)
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["timeline", "--as-of", "2023-02-30"], "'2023-02-30' is not a real day"),
        (["timeline", "--known-at", "yesterday"], "'yesterday' is not an ISO 8601"),
        (["diff", "--known-at", "2026-01-01"], "give exactly two times"),
    ],
)
def test_bad_time_options_exit_2(demo: Run, args: list[str], message: str) -> None:
    result = demo(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_timeline_text_fits_80_columns(demo: Run) -> None:
    out = demo("timeline", "--person", "tatyana-serebryakova").output
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.splitlines()[0].startswith("September 2021 · statement · ")
    assert out.splitlines()[-1] == "4 facts"


@pytest.mark.parametrize("store_kind", ["postgres"], indirect=True)
def test_a_postgres_store_leaves_no_file_beside_it(demo: Run, tmp_path: Path) -> None:
    assert demo("timeline", "--limit", "1").exit_code == 0
    assert demo("checkpoint").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config",  # the maintainer's own folder ($KHRONIKA_CONFIG), set by the tests
        "khronika.key",
        "khronika.pub",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["law", "kz-criminal-code-2014:180", "--as-of", "2015-01-01"],
        ["person", "tatyana-serebryakova", "--as-of", "2024-01-01"],
        ["fact", "serebryakova-verdict-2023"],
        ["stats", "--by", "charge"],
        ["entity", "list", "--kind", "law"],
        ["entity", "show", "tatyana-serebryakova"],
        ["source", "list"],
        ["source", "show", "worldcrunch-kz-separatism"],
        *[["new", kind] for kind in ("verdict", "sentence_change", "statement")],
    ],
)
def test_text_output_fits_80_columns(demo: Run, args: list[str]) -> None:
    out = demo(*args).output
    assert out and max(len(line) for line in out.splitlines()) <= 80, out


def test_a_place_is_found_by_entity_in_timeline_and_person(demo: Run) -> None:
    ids = ["astakhov-video-appeal-to-putin", "astakhov-verdict-2024"]
    found = data(demo, "timeline", "--entity", "konaev")["facts"]
    assert [f["id"] for f in found] == ids
    facts = data(demo, "person", "Qonaev")["facts"]
    assert [(f["id"], f["roles"]) for f in facts] == [(i, ["place"]) for i in ids]


def test_a_law_is_found_by_entity_through_charges_and_amendments(demo: Run) -> None:
    found = data(demo, "timeline", "--entity", "kz-criminal-code-2014")["facts"]
    kinds = {f["kind"] for f in found}
    assert kinds == {"verdict", "law_amendment", "other"}  # "other": its adoption
    facts = data(demo, "person", "kz-criminal-code-2014")["facts"]
    roles = {tuple(f["roles"]) for f in facts}
    assert roles == {("law applied",), ("law amended", "subject"), ("subject",)}


def test_instagram_suspended_sentence_runs_its_five_year_probation(demo: Run) -> None:
    def status(day: str) -> str:
        person = data(demo, "person", "instagram-comment-defendant-2023",
                      "--as-of", day)  # fmt: skip
        (sentence,) = person["sentences"]
        assert (sentence["type"], sentence["probation_months"]) == ("suspended", 60)
        return str(sentence["status"])

    assert status("2025-01-01") == (
        "under probation: 5 years, suspended, 5 years probation, since December 2023"
    )
    assert status("2028-12-15").startswith("possibly still under probation")
    assert status("2029-01-01") == (
        "probation ended by 2028-12-31: 5 years, suspended, 5 years probation"
    )


@pytest.mark.parametrize(
    ("day", "status"),
    [("2021-12-31", "later"), ("2022-03-01", "possible"), ("2022-06-30", "certain")],
)
def test_fact_status_follows_as_of(demo: Run, day: str, status: str) -> None:
    found = data(demo, "fact", "potopa-verdict-2022", "--as-of", day)
    assert found["fact"]["status"] == status


def test_fact_certain_refuses_a_fact_only_possible_on_the_day(demo: Run) -> None:
    result = demo("fact", "potopa-verdict-2022", "--as-of", "2022-03-01", "--certain")
    assert result.exit_code == 1
    assert "not certain on 2022-03-01 (status: possible" in result.output
    ok = demo("fact", "potopa-verdict-2022", "--as-of", "2022-07-01", "--certain")
    assert ok.exit_code == 0
    assert "Status:   certain on 2022-07-01" in ok.output


def test_a_penalty_that_names_no_article_is_shown_as_such(demo: Run) -> None:
    """Penalty.article is optional; the law's answer says null, not a crash."""
    amendment = {
        "type": "fact", "id": "calls-penalty-2025", "kind": "law_amendment",
        "when": "2025-01", "summary": "Calls to separatism became punishable.",
        "sources": [{"source": SOURCE, "locator": "para:3"}],
        "details": {
            "type": "law_amendment", "law": "kz-criminal-code-2014",
            "penalties_before": [{"conduct": "calls", "max_term_months": 60}],
            "penalties_after": [{"conduct": "calls", "max_term_months": 84,
                                 "article": "kz-criminal-code-2014:180"}],
        },
    }  # fmt: skip
    assert demo("append", "-", input=json.dumps(amendment)).exit_code == 0
    law = data(demo, "law", "kz-criminal-code-2014", "--as-of", "2025-12")
    (found,) = [a for a in law["amendments"] if a["id"] == "calls-penalty-2025"]
    assert found["before"] == [
        {
            "article": None,
            "conduct": "calls",
            "min_term_months": None,
            "max_term_months": 60,
        }
    ]
    assert demo("law", "kz-criminal-code-2014", "--as-of", "2025-12").exit_code == 0


@pytest.mark.parametrize("no_color", ["", "1"])
def test_no_color_turns_off_every_colour(demo: Run, no_color: str) -> None:
    from click.testing import CliRunner

    from khronika.cli.main import cli

    result = CliRunner().invoke(
        cli, ["log", "-n", "1"], color=True, env={"NO_COLOR": no_color}
    )
    assert result.exit_code == 0, result.output
    assert ("\x1b[" in result.output) == (not no_color)  # empty NO_COLOR: colour
