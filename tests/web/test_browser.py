"""The web pages in real headless Chromium (Debian's), driven by Playwright.

The server runs in a thread on a free loopback port over a demo store with
one hostile fact. Screenshots go to $KHRONIKA_SCREENSHOTS (default: a
temporary folder). Without Chromium these tests skip, except under CI=true,
where they fail: CI must run them.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner

from khronika.cli.main import cli
from khronika.domain.documents import Citation, FactDoc, SourceDoc
from khronika.store import checkpoint as cp
from khronika.store import signing
from khronika.store.app import Chronicle

pytestmark = pytest.mark.sqlite_only
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
HOSTILE = "hostile-summary"
CORRECTED = "potopa-verdict-2022"
COPIED, CITING = "stored-copy-source", "lawyer-speaks-2024"
QUOTE = "she was only joking"
COPY = ("A first paragraph, not cited.\n\nHer lawyer said   she was only joking,"
        " and would appeal.\nA third paragraph.\n")  # fmt: skip
NEW_SUMMARY = "A Petropavlovsk court convicted Evgenia and Elena Potopa."


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        why = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI: {why}", pytrace=False)
        pytest.skip(why)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    import uvicorn

    from khronika.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "k.db")
        config = Path(tmp) / "config"
        env = {"KHRONIKA_STORE": store, "KHRONIKA_KEY": str(Path(tmp) / "k.key"),
               "KHRONIKA_USER": "browser", "KHRONIKA_CONFIG": str(config)}  # fmt: skip
        assert CliRunner().invoke(cli, ["demo"], env=env).exit_code == 0
        app = Chronicle(store)
        signer = cp.load_signer(config / "maintainer.key")
        app.hand = signing.Hand("browser", signer)  # the first admin's key
        app.append_fact(msgspec.convert({
            "id": HOSTILE, "kind": "statement", "when": "2024-06",
            "summary": "<script>window.pwned = 1</script> said <b>nothing</b>",
            "participants": [{"entity": "tatyana-serebryakova", "role": "speaker"}],
            "sources": [{"source": "worldcrunch-kz-separatism", "locator": "para:1"}],
        }, FactDoc), "browser")  # fmt: skip
        app.add_source(msgspec.convert({
            "id": COPIED, "title": "A stored copy", "publisher": "khronika tests",
            "url": "https://example.org/copy", "published": "2024-01",
            "language": "en"}, SourceDoc), "browser", copy=COPY.encode())  # fmt: skip
        app.append_fact(msgspec.convert({
            "id": CITING, "kind": "statement", "when": "2024-01-02",
            "summary": "Serebryakova's lawyer spoke to a paper.",
            "participants": [{"entity": "tatyana-serebryakova", "role": "subject"}],
            "sources": [{"source": COPIED, "locator": "para:2", "quote": QUOTE}],
        }, FactDoc), "browser")  # fmt: skip
        app.correct(CORRECTED, {"summary": NEW_SUMMARY}, "a shorter summary",
                    [Citation(source="worldcrunch-kz-separatism", locator="para:8")],
                    "browser")  # fmt: skip
        app.close()
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(
            create_app(store, refresh_every=0.2), host="127.0.0.1", port=port,
            log_level="warning"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def shot(page: Any, name: str) -> None:
    folder = Path(os.environ.get("KHRONIKA_SCREENSHOTS", tempfile.gettempdir()))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def counted(page: Any) -> int:
    return int(page.locator("#count").inner_text().split()[0])


def test_the_timeline_draws_every_fact_and_sets_possible_ones_apart(
    page: Any, site: str
) -> None:
    page.goto(f"{site}/?as_of=2022-03")
    items = page.locator("svg#timeline .item")
    assert items.count() == counted(page) == page.locator("li.fact").count() > 10
    possible = page.locator(".item.point.possible, .item.bar.possible").first
    certain = page.locator(".item.point.certain").first
    fill = "el => getComputedStyle(el).fill"
    assert possible.evaluate(fill) == "rgb(255, 255, 255)"  # hollow
    assert certain.evaluate(fill) not in ("rgb(255, 255, 255)", "none")
    assert page.locator(".item.uncertain").count() > 0  # a '?' date is drawn
    assert page.locator("svg#timeline line.as-of").count() == 1
    shot(page, "timeline")


# Pairs of timeline labels whose boxes (as drawn) overlap, and labels not shown
OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('svg#timeline text.label')]
    .map(e => [e.textContent, e.getBoundingClientRect()]);
  const hidden = boxes.filter(([t, r]) => !t.trim() || r.width < 1).map(([t]) => t);
  const hits = [];
  boxes.forEach(([a, r], i) => boxes.slice(i + 1).forEach(([b, q]) => {
    if (r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom)
      hits.push([a, b]);
  }));
  return {hidden, hits};
}"""


@pytest.mark.parametrize("lanes", ["kind", "person", "case"])
@pytest.mark.parametrize("as_of", ["2022-03", "2026"])
def test_every_timeline_item_has_a_label_that_overlaps_no_other(
    page: Any, site: str, lanes: str, as_of: str
) -> None:
    page.goto(f"{site}/?as_of={as_of}&lanes={lanes}")
    items = page.locator("svg#timeline a.fact-link")
    assert items.count() == counted(page) > 10
    assert page.locator("svg#timeline a.fact-link text.label").count() == items.count()
    assert page.evaluate(OVERLAPS) == {"hidden": [], "hits": []}
    names = page.locator("text.lane-name").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    if lanes == "person":
        assert "Tatyana Serebryakova" in names
    elif lanes == "case":
        assert any(n.startswith("Case of ") for n in names)
    else:
        assert "Verdict" in names and "Statement" in names
    if as_of == "2026":
        shot(page, f"timeline-by-{lanes}")


def test_a_one_day_fact_and_a_month_long_uncertain_fact_look_different(
    page: Any, site: str
) -> None:
    page.goto(f"{site}/?as_of=2026")
    day = page.locator(".item[data-fact='serebryakova-verdict-2023']")  # 2023-05-30
    month = page.locator(".item[data-fact='potopa-chatroulette-conversation-2021']")
    lasting = page.locator(".item[data-fact='serebryakova-investigation-2023']")
    assert day.evaluate("e => e.tagName") == "circle"
    assert month.evaluate("e => e.tagName") == lasting.evaluate("e => e.tagName")
    style = """e => { const s = getComputedStyle(e);
      return [s.fillOpacity, s.strokeDasharray, e.getBoundingClientRect().height]; }"""
    day_look, month_look, bar_look = (x.evaluate(style) for x in (day, month, lasting))
    assert day_look != month_look
    assert float(month_look[0]) < 0.5 < float(bar_look[0])  # faint, not solid
    assert month_look[1] not in ("none", "") and bar_look[1] in ("none", "")
    assert month_look[2] < bar_look[2]  # thinner than a duration's bar
    caps = page.locator("a.fact-link[data-fact='potopa-chatroulette-conversation-2021']"
                        " line.cap")  # fmt: skip
    assert caps.count() == 2  # an error bar's end caps: "somewhere in here"
    assert "on one day somewhere in this span" in month.locator(
        "xpath=.."
    ).get_attribute("aria-label")


def test_the_as_of_line_hides_no_item(page: Any, site: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 4000})  # all in view
    page.goto(f"{site}/?as_of=2022-03")
    first = page.evaluate("""() => { const all = [...document.querySelectorAll(
        'svg#timeline line.as-of, svg#timeline a.fact-link')];
        return all[0].tagName; }""")
    assert first == "line"  # drawn first, so under every item
    under = page.evaluate("""() => {
      const line = document.querySelector('svg#timeline line.as-of')
        .getBoundingClientRect();
      return [...document.querySelectorAll('svg#timeline .item')].filter(e => {
        const r = e.getBoundingClientRect(), x = line.left + line.width / 2;
        if (r.left > x || r.right < x) return false;
        const y = r.top + r.height / 2;
        return !e.closest('a').contains(document.elementFromPoint(x, y));
      }).map(e => e.dataset.fact);
    }""")
    assert under == []


def test_the_timeline_zooms_into_a_period_and_keeps_its_lanes(
    page: Any, site: str
) -> None:
    page.goto(f"{site}/?as_of=2024&lanes=person")
    with page.expect_navigation():
        page.click("svg#timeline a.zoom-link:has-text('2020')")
    assert "from=2020" in page.url and "lanes=person" in page.url
    years = [int(t) for t in page.locator("text.tick-label").evaluate_all(
        "els => els.map(e => e.textContent)"
    )]  # fmt: skip
    assert years and min(years) >= 2020 and max(years) <= 2024
    assert counted(page) == page.locator("svg#timeline .item").count() > 0
    with page.expect_navigation():
        page.click("#follow")  # around the as-of line
    assert "from=2022" in page.url and "to=2026" in page.url


def test_every_timeline_item_is_a_link_reached_by_keyboard(
    page: Any, site: str
) -> None:
    page.goto(f"{site}/?as_of=2022-03")
    links = page.locator("svg#timeline a.fact-link")
    hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    facts = page.locator("li.fact").evaluate_all("els => els.map(e => e.dataset.fact)")
    assert [h.split("?")[0] for h in hrefs] == [f"/facts/{f}" for f in facts] or sorted(
        h.split("?")[0] for h in hrefs
    ) == sorted(f"/facts/{f}" for f in facts)
    page.focus("svg#timeline a.fact-link >> nth=0")
    reached = set()
    for _ in range(links.count()):
        reached.add(page.evaluate("document.activeElement.dataset.fact"))
        page.keyboard.press("Tab")
    assert reached == set(facts)
    page.focus("svg#timeline a.fact-link >> nth=0")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/facts/" in page.url


def test_moving_as_of_changes_the_picture_and_the_count(page: Any, site: str) -> None:
    page.goto(f"{site}/?as_of=2026")
    before = counted(page)
    page.fill("#as_of", "2015")
    with page.expect_navigation():
        page.click("button[type=submit]")
    after = counted(page)
    assert after < before
    assert page.locator("svg#timeline .item").count() == after
    assert "as_of=2015" in page.url
    with page.expect_navigation():  # the slider, through the page's script
        page.eval_on_selector("#as_of_year", "el => { el.value = '2000';"
                              " el.dispatchEvent(new Event('change')); }")  # fmt: skip
    assert "as_of=2000" in page.url
    assert counted(page) < after


def test_every_header_link_works_after_choosing_a_date(page: Any, site: str) -> None:
    page.goto(f"{site}/?utm_source=newsletter&fbclid=x")
    page.fill("#as_of", "2022-03")
    page.check("input[name=certain]")
    with page.expect_navigation():
        page.click("button[type=submit]")
    names = page.locator("header nav a").all_inner_texts()
    assert names[:5] == ["Timeline", "Statistics", "Entities", "Sources", "Changes"]
    for name in names[:5]:
        with page.expect_navigation() as went:
            page.click(f"header nav a:text-is('{name}')")
        assert went.value.status == 200, (name, page.url)
        assert page.locator("#error").count() == 0, (name, page.url)
        assert "as_of=2022-03" in page.url and "certain=true" in page.url, name
    with page.expect_navigation() as went:  # a form keeps the axes it does not show
        page.fill("input[name=from]", "2000-01-01")
        page.click("button[type=submit]")
    assert went.value.status == 200 and "as_of=2022-03" in page.url


def test_known_at_before_the_demo_shows_an_empty_record(page: Any, site: str) -> None:
    page.goto(f"{site}/")
    page.fill("#known_at", "2000-01-01")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert counted(page) == 0
    assert page.locator("svg#timeline .item").count() == 0


def test_a_fact_opens_to_its_trace(page: Any, site: str) -> None:
    page.goto(f"{site}/?as_of=2024")
    with page.expect_navigation():
        page.click("a.fact-link[data-fact='serebryakova-verdict-2023']")
    assert "/facts/serebryakova-verdict-2023" in page.url
    assert "as_of=2024" in page.url  # the link keeps the axes
    trace = page.locator("#trace")
    assert "paragraph 6" in trace.inner_text()
    assert "FactRecorded" in trace.inner_text()
    # who recorded it, proven: the maintainer's registered name and key id
    assert re.search(r"recorded .* by browser \(key [0-9a-f]{8}\)", trace.inner_text())
    sha = page.locator("code.sha").first.inner_text()
    assert len(sha) == 64 and set(sha) <= set("0123456789abcdef")
    shot(page, "fact")


def test_searching_serebryakova_in_cyrillic_finds_her_facts(
    page: Any, site: str
) -> None:
    page.goto(f"{site}/?as_of=2024")
    with page.expect_navigation():
        page.click("header nav a:text-is('Search')")
    assert "as_of=2024" in page.url
    page.fill("#q", "Серебрякова")
    with page.expect_navigation():
        page.click("form[role=search] button[type=submit]")
    hits = page.locator("li.hit")
    ids = hits.evaluate_all("els => els.map(e => e.dataset.id)")
    assert ids[0] == "tatyana-serebryakova"
    assert {"serebryakova-verdict-2023", "serebryakova-investigation-2023"} <= set(ids)
    marks = page.locator("li.hit mark").all_inner_texts()
    assert marks and set(marks) == {"Серебрякова"}
    with page.expect_navigation():
        page.click("li.hit[data-id='serebryakova-verdict-2023'] a")
    assert "/facts/serebryakova-verdict-2023" in page.url and "as_of=2024" in page.url
    page.goto(f"{site}/search?q=pwned")  # stored markup in a snippet stays text
    assert "<script>" in page.locator("li.hit").first.inner_text()
    assert page.evaluate("window.pwned") is None


def test_a_corrected_fact_shows_what_changed(page: Any, site: str) -> None:
    page.goto(f"{site}/facts/{CORRECTED}")
    second = page.locator("#history tr.version[data-version='2']")
    assert second.locator("dt.field").all_inner_texts()[0] == "Summary"
    assert second.locator("dd ins").first.inner_text() == NEW_SUMMARY
    assert "Potopa" in second.locator("dd del").first.inner_text()  # the old one
    assert "a shorter summary" in second.inner_text()
    assert "first recorded" in page.locator(
        "#history tr.version[data-version='1']").inner_text()  # fmt: skip
    shot(page, "fact-corrected")
    page.goto(f"{site}/diff?from=2000-01-01")
    step = page.locator(f"li.change[data-fact='{CORRECTED}'] li.step").last
    assert "by browser" in step.inner_text() and "summary" in step.inner_text()


def test_the_source_page_highlights_the_passage_a_fact_cites(
    page: Any, site: str
) -> None:
    page.goto(f"{site}/sources/{COPIED}?as_of=2024")
    with page.expect_navigation():
        page.click("#read-copy")
    assert f"/sources/{COPIED}/copy" in page.url and "as_of=2024" in page.url
    (mark,) = page.locator("mark.cited").all()
    assert " ".join(mark.inner_text().split()) == QUOTE
    assert page.locator("#para-2 mark.cited").count() == 1  # in its paragraph
    assert page.locator("#para-1 mark, #para-3 mark").count() == 0
    fill = mark.evaluate("e => getComputedStyle(e).backgroundColor")
    assert fill not in ("rgba(0, 0, 0, 0)", "transparent")  # it shows
    shot(page, "copy")
    with page.expect_navigation():
        page.click(f"#para-2 a[data-fact='{CITING}']")
    assert f"/facts/{CITING}" in page.url
    passage = page.locator("blockquote.cited-passage")
    assert " ".join(passage.locator("mark").inner_text().split()) == QUOTE
    assert "Her lawyer said" in passage.inner_text()  # the passage around it


def test_stored_markup_shows_as_text_and_never_runs(page: Any, site: str) -> None:
    page.goto(f"{site}/facts/{HOSTILE}")
    assert "<script>window.pwned = 1</script>" in page.locator("#summary").inner_text()
    assert page.evaluate("window.pwned") is None
    assert page.locator("#summary b").count() == 0
    page.goto(f"{site}/?search=pwned")
    assert "<script>" in page.locator("li.fact").first.inner_text()
    assert page.evaluate("window.pwned") is None


PAGES = ["/?as_of=2022", "/facts/serebryakova-verdict-2023",
         "/facts/kz-criminal-code-separatism-amendment-2014",
         "/person/tatyana-serebryakova", "/law/kz-criminal-code-2014",
         "/law/kz-criminal-code-2014:180", "/stats", "/stats?by=lag",
         "/diff?from=2000-01-01", "/entities", "/entities/petropavlovsk",
         "/sources", "/sources/worldcrunch-kz-separatism",
         "/search?q=Серебрякова", "/facts/potopa-verdict-2022",
         f"/sources/{COPIED}/copy", f"/facts/{CITING}"]  # fmt: skip
# Elements that reach past the viewport's right edge (or its left); the
# timeline's picture scrolls sideways inside its figure, which must fit
WIDER = """() => [...document.querySelectorAll('body *')].filter(e => {
  if (e.closest('figure.picture') && !e.matches('figure.picture')) return false;
  const r = e.getBoundingClientRect();
  return r.width > 0 && (r.left < -0.5 || r.right > innerWidth + 0.5);
}).map(e => e.outerHTML.slice(0, 80))"""
# Runs of letters or digits drawn on more than one line: a word split inside
# (a line may break at a space, "/", "–" or a hyphen, but not one between
# digits: "2024-06-13" is one word)
SPLIT = """() => {
  const split = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const text = walk.currentNode;
    if (text.parentElement.closest('svg, script, select')) continue;
    for (const m of text.data.matchAll(/(?:[^\\s\\/\u2013-]|(?<=\\d)-(?=\\d))+/g)) {
      const range = document.createRange();
      range.setStart(text, m.index);
      range.setEnd(text, m.index + m[0].length);
      const lines = new Set([...range.getClientRects()]
        .filter(r => r.width > 0).map(r => Math.round(r.bottom)));
      if (lines.size > 1) split.push(m[0]);
    }
  }
  return split;
}"""


@pytest.mark.parametrize("path", PAGES)
def test_pages_fit_a_360_pixel_screen(browser: Any, site: str, path: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(site + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate(WIDER) == [], path
    if path.startswith("/?"):
        picture = page.locator("figure.picture")
        scroll = "e => [e.scrollWidth, e.clientWidth, getComputedStyle(e).overflowX]"
        inner, outer, overflow = picture.evaluate(scroll)
        assert inner > outer and overflow == "auto"  # the picture scrolls, readable
        size = page.locator("text.label").first.evaluate(
            "e => e.getBoundingClientRect().height")  # fmt: skip
        assert size >= 7  # a label is drawn at least 7 px high
        shot(page, "timeline-360")
    context.close()


@pytest.mark.parametrize("width", [400, 1280])
@pytest.mark.parametrize("path", PAGES)
def test_no_word_or_number_is_split_across_lines(
    browser: Any, site: str, path: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(site + path)
    assert page.evaluate(SPLIT) == [], (path, width)
    context.close()


AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# every page, the timeline's lanes and zoom, the statistics' dimensions
AUDITED = [*PAGES, "/?as_of=2026&lanes=person", "/?as_of=2026&lanes=case",
           "/?from=2020&to=2024", "/stats?by=sentence-type", "/stats?by=charge",
           "/search", "/diff", f"/sources/{COPIED}", "/facts/no-such-fact"]  # fmt: skip


def _axe() -> str:
    if not AXE.exists():
        why = "axe-core is not installed (npm ci --prefix tests/web/axe)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI: {why}", pytrace=False)
        pytest.skip(why)
    return AXE.read_text()


@pytest.mark.parametrize("width", [1280, 360])
@pytest.mark.parametrize("path", AUDITED)
def test_axe_finds_no_serious_or_critical_violation(
    browser: Any, site: str, path: str, width: int
) -> None:
    script = _axe()
    # the pages' Content-Security-Policy allows only their own scripts
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  bypass_csp=True)  # fmt: skip
    page = context.new_page()
    page.goto(site + path)
    page.add_script_tag(content=script)
    found = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ['violations']});
      return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => [v.id, v.impact, v.nodes.slice(0, 3).map(n => n.target.join(' '))]);
    }""")
    context.close()
    assert found == [], (path, width)


def test_tables_become_stacked_rows_on_a_small_screen(browser: Any, site: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{site}/sources")
    cell = page.locator("td[data-label=Publisher]").first
    assert cell.evaluate("el => getComputedStyle(el).display") == "block"
    label = "el => getComputedStyle(el, '::before').content"
    assert cell.evaluate(label) == '"Publisher: "'
    assert page.locator("thead").first.is_hidden()
    context.close()


def test_every_page_reads_without_javascript(browser: Any, site: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site}/?as_of=2023")
    assert counted(page) == page.locator("li.fact").count() > 0
    assert "serebryakova" in page.content()
    context.close()
