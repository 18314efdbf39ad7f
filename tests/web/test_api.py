"""The HTTP API through Starlette's test client, on SQLite and PostgreSQL.

Known answers are the CLI's (tests/cli/test_read_commands.py), and the API's
JSON is checked against the CLI's for the same question: one schema.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from click.testing import Result
from starlette.testclient import TestClient

from khronika.domain.documents import Citation
from khronika.store import attest
from khronika.store import checkpoint as cp
from khronika.store.app import Chronicle
from khronika.web.app import create_app

Run = Callable[..., Result]
PROBLEM = "application/problem+json"


def get(client: TestClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.text
    return response.json()


def cli_json(run: Run, *args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_serebryakova_serves_three_years(client: TestClient) -> None:
    person = get(client, "/api/person/Татьяна Серебрякова?as_of=2024-01-01")
    assert person["id"] == "tatyana-serebryakova"
    (sentence,) = person["sentences"]
    assert sentence["status"] == (
        "serving 3 years, prison, medium-security regime, since 2023-05-30"
    )


def test_three_verdicts_certainly_fell_in_2023(client: TestClient) -> None:
    years = {b["key"]: (b["certain"], b["possible"])
             for b in get(client, "/api/stats/year")["buckets"]}  # fmt: skip
    assert years["2023"] == (3, 0)


def test_potopa_verdict_is_only_possible_in_march_2022(client: TestClient) -> None:
    page = get(client, "/api/timeline?kind=verdict&as_of=2022-03-01")
    status = {f["id"]: f["status"] for f in page["facts"]}
    assert status["potopa-verdict-2022"] == "possible"
    certain = get(client, "/api/timeline?kind=verdict&as_of=2022-03-01&certain=true")
    assert "potopa-verdict-2022" not in [f["id"] for f in certain["facts"]]


@pytest.mark.parametrize(
    ("url", "args"),
    [
        ("/api/timeline?limit=1000", ("timeline",)),
        ("/api/timeline?kind=verdict&as_of=2022", ("timeline", "--kind", "verdict",
                                                   "--as-of", "2022")),
        ("/api/person/tatyana-serebryakova?as_of=2024",
         ("person", "tatyana-serebryakova", "--as-of", "2024")),
        ("/api/law/kz-criminal-code-2014", ("law", "kz-criminal-code-2014")),
        ("/api/stats/charge", ("stats", "--by", "charge")),
        ("/api/stats/lag", ("stats", "--by", "lag")),
        ("/api/facts/serebryakova-verdict-2023", ("fact", "serebryakova-verdict-2023")),
        ("/api/facts/serebryakova-verdict-2023/trace",
         ("trace", "serebryakova-verdict-2023")),
    ],
)  # fmt: skip
def test_the_api_answers_as_the_cli_does(
    client: TestClient, run: Run, url: str, args: tuple[str, ...]
) -> None:
    api, cli = get(client, url), cli_json(run, *args)
    if "facts" in api and "next" in api:  # the API pins later pages to a time
        assert api.pop("next") is None
        api["known_at"] = cli["known_at"]
    assert api == cli


def test_the_timeline_pages_with_a_cursor_that_stays_put(
    client: TestClient, store_path: str, make: Any
) -> None:
    everything = [f["id"] for f in get(client, "/api/timeline?limit=1000")["facts"]]
    first = get(client, "/api/timeline?limit=10")
    assert [f["id"] for f in first["facts"]] == everything[:10]
    app = Chronicle(store_path)  # a fact that sorts before the cursor
    app.hand = attest.load_hand()  # signs as the CLI would
    app.append_fact(make.fact(id="early-verdict", when="1900"), "tester")
    app.close()
    seen = [f["id"] for f in first["facts"]]
    cursor = first["next"]
    while cursor:  # the cursor alone: it carries the page's record time
        page = get(client, f"/api/timeline?limit=10&cursor={cursor}")
        assert page["known_at"] == first["known_at"]
        seen += [f["id"] for f in page["facts"]]
        cursor = page["next"]
    assert seen == everything
    clash = client.get(f"/api/timeline?cursor={first['next']}&known_at=2000-01-01")
    assert clash.status_code == 400 and "belongs to known_at" in clash.text
    bad = client.get("/api/timeline?cursor=nonsense")
    assert bad.status_code == 400
    assert bad.json()["parameter"] == "cursor"


def test_a_past_known_at_is_cached_for_good_and_revalidates(client: TestClient) -> None:
    past = get(client, "/api/status")["last_recorded_at"]
    earlier = past[:10]  # the start of that day: before the log's last event
    first = client.get(f"/api/timeline?known_at={earlier}T00:00:00Z")
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = client.get(f"/api/timeline?known_at={earlier}T00:00:00Z",
                       headers={"If-None-Match": first.headers["etag"]})  # fmt: skip
    assert again.status_code == 304 and again.content == b""
    now = client.get("/api/timeline")
    assert now.headers["cache-control"] == "no-cache"
    # a person's status without as_of is judged today: never cached for good
    verdict = get(client, "/api/facts/serebryakova-verdict-2023")["fact"]
    person = f"/api/person/tatyana-serebryakova?known_at={verdict['recorded_at']}"
    assert client.get(person).headers["cache-control"] == "no-cache"
    fixed = client.get(person + "&as_of=2024")
    assert fixed.headers["cache-control"].endswith("immutable")
    star = client.get("/api/timeline", headers={"If-None-Match": "*"})
    assert star.status_code == 304
    assert now.headers["etag"].startswith(f'"{now.headers["khronika-position"]}-')


def test_a_write_shows_up_without_any_read_command(
    client: TestClient, store_path: str, make: Any
) -> None:
    app = Chronicle(store_path)
    app.hand = attest.load_hand()  # signs as the CLI would
    app.append_fact(make.fact(id="new-verdict", when="2025-01-01"), "tester")
    app.close()
    caught_up(client)
    assert "new-verdict" in [f["id"] for f in get(client, "/api/timeline")["facts"]]


@pytest.mark.parametrize(
    ("url", "status", "detail"),
    [
        ("/api/facts/serebryakova-verdict", 404,
         "unknown fact 'serebryakova-verdict'; did you mean"),
        ("/api/person/nobody-at-all", 404, "unknown entity 'nobody-at-all'"),
        ("/api/stats/yeer", 404, "unknown statistic 'yeer'; did you mean 'year'?"),
        ("/api/timeline?as_of=2023-13", 400, "as_of: '2023-13' has month 13"),
        ("/api/timeline?known_at=yesterday", 400, "known_at: 'yesterday' is not"),
        ("/api/timeline?limit=0", 400, "limit: '0' is not a whole number from 1"),
        ("/api/timeline?kind=verdicts", 400, "kind: 'verdicts' is not one of"),
        ("/api/timeline?as_of=2023&as_of=2024", 400, "as_of: is given more than once"),
        ("/api/diff", 400, "from: is required"),
        ("/api/timeline?from=2024&to=2020", 400, "from: 2024-01-01 is after to"),
        ("/api/entities?kind=alien", 400, "kind: 'alien' is not one of"),
        ("/api/timeline?entity=serebryakova", 404, "unknown entity 'serebryakova'"),
        ("/api/nothing-here", 404, "no page or endpoint at /api/nothing-here"),
    ],
)  # fmt: skip
def test_errors_are_problem_documents_naming_the_parameter(
    client: TestClient, url: str, status: int, detail: str
) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and detail in problem["detail"]
    if status == 404 and "did you mean" in detail:
        assert problem["suggestions"]
    if "?" in url and status == 400 or "entity=" in url:
        assert problem["parameter"] == url.split("?")[1].split("=")[0].rstrip("s")


def test_an_unknown_parameter_is_ignored_and_named_in_a_header(
    client: TestClient,
) -> None:
    plain = client.get("/api/timeline?as_of=2022")
    tracked = client.get("/api/timeline?as_of=2022&utm_source=x&fbclid=y&as-of=1900"
                         "&utm_source=z&%E2%80%AEx=1")  # fmt: skip
    assert tracked.status_code == 200 and tracked.json() == plain.json()
    assert (
        tracked.headers["khronika-ignored"] == "utm_source, fbclid, as-of, %E2%80%AEx"
    )
    assert "khronika-ignored" not in plain.headers
    spec = get(client, "/api/openapi.json")
    for item in spec["paths"].values():
        assert "Khronika-Ignored" in item["get"]["responses"]["200"]["headers"]


@pytest.mark.parametrize(
    "path",
    ["/", "/facts/serebryakova-verdict-2023", "/person/tatyana-serebryakova",
     "/law/kz-criminal-code-2014", "/stats", "/diff", "/entities", "/sources",
     "/entities/petropavlovsk", "/sources/worldcrunch-kz-separatism"],
)  # fmt: skip
def test_every_page_takes_the_time_parameters_and_its_links_carry_them(
    client: TestClient, path: str
) -> None:
    axes = "as_of=2024&known_at=2100-01-01T00%3A00%3A00Z&certain=true"
    response = client.get(f"{path}?{axes}&utm_source=x&fbclid=y")
    assert response.status_code == 200, response.text
    for header in ("/", "/stats", "/entities", "/sources", "/diff"):
        assert f'href="{header}?{html.escape(axes)}"' in response.text
    assert "utm_source" not in response.text


def test_paging_links_keep_every_parameter_but_the_trackers(client: TestClient) -> None:
    page = client.get("/?as_of=2026&kind=verdict&kind=statement&certain=true"
                      "&limit=2&utm_source=x").text  # fmt: skip
    (found,) = re.findall(r'id="next" href="([^"]+)"', page)
    kept = parse_qs(urlsplit(html.unescape(found)).query)
    assert kept.keys() == {"as_of", "kind", "certain", "limit", "cursor", "known_at"}
    assert kept["kind"] == ["verdict", "statement"] and kept["limit"] == ["2"]
    person = client.get("/person/tatyana-serebryakova?as_of=2024&limit=1&fbclid=y")
    (more,) = re.findall(r'id="more" href="([^"]+)"', person.text)
    assert parse_qs(urlsplit(html.unescape(more)).query) == {
        "as_of": ["2024"], "limit": ["1"], "offset": ["1"]}  # fmt: skip


@pytest.mark.parametrize(
    ("url", "said", "unsaid"),
    [
        ("/facts/serebryakova-verdict-2023",
         ['Convicted under <a href="/law/kz-criminal-code-2014:180">Criminal Code '
          "of the Republic of Kazakhstan (2014), article 180</a> (Separatist "
          "activity)", "3 years in a medium-security prison",
          '<a href="/person/tatyana-serebryakova">Tatyana Serebryakova</a> '
          "(defendant)"],
         ["term months", ">tatyana-serebryakova<", "charges:"]),
        ("/facts/instagram-comment-verdict-2023",
         ["5 years, suspended, 5 years&#39; probation"], ["probation months"]),
        ("/facts/potopa-verdict-2022",
         ['<a href="/entities/petropavlovsk">Petropavlovsk</a>',
          "Petropavlovsk City Court</a> (court)"], [">petropavlovsk<"]),
        ("/facts/kz-criminal-code-separatism-amendment-2014",
         ["Amends <a", "Draft of the Criminal Code",
          "Public calls for separatism, up to 7 years"],
         ["penalties after", "max term"]),
        ("/facts/kz-criminal-code-2014-in-force",
         ["Amends <a", "Public calls for separatism, up to 7 years",
          "(1997), article 170</a>"], ["penalties after", "max term"]),
        ("/facts/kazimirchuk-release", ["Released after 7 years served"],
         ["served months"]),
        ("/law/kz-criminal-code-2014:180",
         ["<h1>Article 180: Separatist activity</h1>",
          "Article 180</a> (Separatist activity): Public calls for separatism, "
          "up to 7 years"], ["84 months", ">kz-criminal-code-2014:180<"]),
        ("/person/tatyana-serebryakova",
         ["(Separatist activity)"], ["(kz-criminal-code-2014:180)"]),
        ("/stats?by=charge", ["article 180</a> (Separatist activity)"],
         [">kz-criminal-code-2014:180<"]),
        ("/stats?by=sentence-type", ["penal colony"], ["penal_colony"]),
    ],
)  # fmt: skip
def test_pages_show_names_and_sentences_not_slugs_and_fields(
    client: TestClient, url: str, said: list[str], unsaid: list[str]
) -> None:
    page = client.get(url)
    assert page.status_code == 200, page.text
    for text in said:
        assert text in page.text
    for text in unsaid:
        assert text not in page.text


def caught_up(client: TestClient) -> None:
    """Wait for the server's own catch-up (every 0.05 s here)."""
    for _ in range(100):
        if get(client, "/api/status")["lag"] == 0:
            return
        time.sleep(0.05)
    pytest.fail("the server did not catch the views up")


def test_a_retracted_facts_page_says_so_by_whom_and_why(
    client: TestClient, store_path: str
) -> None:
    app = Chronicle(store_path)
    app.hand = attest.load_hand()  # signs as the CLI would: "tester"
    cited = [Citation(source="worldcrunch-kz-separatism", locator="para:6")]
    app.retract("serebryakova-verdict-2023", "The court's date was misread",
                cited, "auditor")  # fmt: skip
    app.close()
    caught_up(client)
    page = client.get("/facts/serebryakova-verdict-2023?as_of=2024").text
    assert '<span id="status">retracted</span>' in page
    assert "status: certain" not in page and ">certain<" not in page
    (notice,) = re.findall(r'<p class="notice" id="retracted">(.*?)</p>', page)
    said = r" by tester \(key [0-9a-f]{8}\): The court&#39;s date was misread\."
    assert re.search(said, notice)


def test_the_person_page_marks_possible_facts_and_says_each_sentence_once(
    client: TestClient,
) -> None:
    page = client.get("/person/elena-potopa?as_of=2022-03").text
    found = re.findall(r'<li class="fact (\w+)" data-fact="([\w-]+)">(.*?)</li>',
                       page, re.S)  # fmt: skip
    items = {fact: (status, text) for status, fact, text in found}
    status, text = items["potopa-verdict-2022"]
    assert status == "possible" and '<span class="badge">possible</span>' in text
    status, text = items["potopa-chatroulette-conversation-2021"]
    assert status == "certain" and "badge" not in text
    later = client.get("/person/tatyana-serebryakova?as_of=2024").text
    assert later.count("3 years, prison, medium-security regime") == 1
    assert "badge" not in later


def test_an_entity_page_gives_every_name_and_the_facts_naming_it(
    client: TestClient,
) -> None:
    page = client.get("/entities/Петропавловск?as_of=2022").text
    assert "<h1>Petropavlovsk</h1>" in page
    assert "<li>Petropavl</li><li>Петропавловск</li>" in page
    facts = re.findall(r'data-fact="([\w-]+)"><a href="([^"]+)"', page)
    assert [f for f, _ in facts] == [
        "serebryakova-chatroulette-conversation-2021",
        "potopa-chatroulette-conversation-2021", "potopa-verdict-2022",
        "petropavlovsk-court-publishes-potopa-case-2022"]  # fmt: skip
    assert all(href.endswith("?as_of=2022") for _, href in facts)
    missing = client.get("/entities/petropavlovskk")
    assert missing.status_code == 404 and "petropavlovsk" in missing.text


def test_a_source_page_gives_its_copy_its_citations_and_its_versions(
    client: TestClient, store_path: str
) -> None:
    app = Chronicle(store_path)
    app.hand = attest.load_hand()  # signs as the CLI would
    app.correct_source("worldcrunch-kz-separatism", {"publisher": "Worldcrunch.com"},
                       "the masthead's name", "tester")  # fmt: skip
    app.close()
    caught_up(client)
    page = client.get("/sources/worldcrunch-kz-separatism").text
    assert "Worldcrunch.com · published" in page
    (copy,) = re.findall(r'<p id="copy">(.*?)</p>', page, re.S)
    assert "740cb412<wbr>0f803476" in copy and "not stored here" in copy
    assert "Cited by 59 passages" in page
    cited = re.findall(r'<li><a href="/facts/([\w-]+)">(.*?)</a>, paragraph (\d+)',
                       page)  # fmt: skip
    assert len(cited) == 59  # in the source's order
    assert [int(n) for *_, n in cited] == sorted(int(n) for *_, n in cited)
    verdict = 'Verdict, <span class="nw">2023-05-30</span>'
    assert ("serebryakova-verdict-2023", verdict, "6") in cited
    versions = re.findall(r'<td data-label="Publisher">([^<]+)</td>', page)
    assert versions == ["Worldcrunch", "Worldcrunch.com"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("url", ["/api/timeline", "/api/facts/x", "/", "/facts/x"])
def test_nothing_but_get_is_allowed(client: TestClient, method: str, url: str) -> None:
    response = client.request(method, url)
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "GET" in response.headers["allow"]


def test_entities_and_sources_list_and_one(client: TestClient) -> None:
    entities = get(client, "/api/entities?kind=law")["entities"]
    assert "kz-criminal-code-2014" in [e["id"] for e in entities]
    one = get(client, "/api/entities/Татьяна Серебрякова")["entity"]
    assert one["id"] == "tatyana-serebryakova"
    sources = get(client, "/api/sources")["sources"]
    assert [s["id"] for s in sources] == [
        "adilet-k1400000226",
        "worldcrunch-kz-separatism",
    ]
    assert get(client, "/api/sources/worldcrunch-kz-separatism")["source"]["publisher"]


def test_checkpoint_and_inclusion_proof_verify(client: TestClient) -> None:
    head = get(client, "/api/checkpoint")
    assert head["note"] is not None and head["size"] == 117
    note = quote(head["note"])
    proofs = get(
        client, f"/api/facts/serebryakova-verdict-2023/proof?checkpoint={note}"
    )
    assert len(proofs) == 1  # the fact's one event
    at = cp.parse(head["note"])
    for proof in attest.read_proofs(json.dumps(proofs).encode(), "proofs"):
        assert "is in the log of size 117" in attest.check_proof(proof, [at])
    tampered = head["note"].replace(head["root"], "A" * 43 + "=")
    refused = client.get(f"/api/facts/serebryakova-verdict-2023/proof?checkpoint="
                         f"{quote(tampered)}")  # fmt: skip
    assert refused.status_code == 400


def test_the_openapi_document_lists_every_endpoint(client: TestClient) -> None:
    spec = get(client, "/api/openapi.json")
    assert spec["openapi"].startswith("3.")
    assert {
        "/api/timeline",
        "/api/facts/{id}",
        "/api/facts/{id}/trace",
        "/api/person/{id}",
        "/api/law/{id}",
        "/api/stats/{by}",
        "/api/diff",
        "/api/entities",
        "/api/sources",
        "/api/checkpoint",
    } <= set(spec["paths"])


@pytest.mark.sqlite_only
def test_a_read_only_store_is_served_with_its_lag(
    run: Run, store_path: str, make: Any
) -> None:
    assert run("demo").exit_code == 0
    app = Chronicle(store_path)
    app.hand = attest.load_hand()  # signs as the CLI would
    app.append_fact(make.fact(id="late-verdict", when="2024-01-01"), "tester")
    app.close()
    path = Path(store_path)
    path.chmod(0o444)
    try:
        with TestClient(create_app(store_path, refresh_every=0.05)) as client:
            time.sleep(0.2)  # the refresher may not write
            response = client.get("/api/timeline")
            assert response.headers["khronika-lag"] == "1"
            assert response.json()["lag"] == 1
            assert "late-verdict" not in [f["id"] for f in response.json()["facts"]]
            page = client.get("/")
            assert "1 log position behind the events" in page.text
    finally:
        path.chmod(0o644)


def test_a_persons_facts_page_with_limit_and_offset(client: TestClient) -> None:
    url = "/api/person/tatyana-serebryakova"
    whole = get(client, url)
    pages = [get(client, f"{url}?limit=1&offset={i}") for i in range(4)]
    assert [p["facts_total"] for p in pages] == [4, 4, 4, 4]
    assert [f for p in pages for f in p["facts"]] == whole["facts"]
    page = client.get("/person/tatyana-serebryakova?limit=1")
    assert "(1 of 4)" in page.text and 'id="more"' in page.text
