"""Exports for peer tools: FollowTheMoney, W3C PROV-JSON and TimelineJS.

Each is checked by the peer's own code: FtM's model and its `ftm validate`,
the `prov` package's PROV-JSON reader, and a JSON Schema of TimelineJS's
documented format (https://timeline.knightlab.com/docs/json-format.html).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import prov
import pytest
from click.testing import Result
from followthemoney import model
from followthemoney.exc import InvalidData
from lxml import etree

from khronika.domain.days import Day
from khronika.domain.documents import Citation, FactDoc
from khronika.projections import ftm, timelinejs
from khronika.projections import prov as provenance
from khronika.projections.queries import Point, timeline
from khronika.projections.views import ViewStore, open_views
from khronika.store.app import Chronicle
from khronika.store.location import environment

SOURCE = "worldcrunch-kz-separatism"
Run = Callable[..., Result]
Opened = tuple[Chronicle, ViewStore]


@pytest.fixture
def demo_store(demo: Run, store_path: str) -> Iterator[Opened]:
    """The bundled dataset, its events and its views (current)."""
    app = Chronicle(store_path)
    yield app, open_views(environment(store_path), create=False)
    app.close()


def fact(**fields: Any) -> FactDoc:
    return msgspec.convert({
        "kind": "statement", "summary": "Said something.",
        "sources": [{"source": SOURCE, "locator": "para:1"}],
        "participants": [{"entity": "tatyana-serebryakova", "role": "speaker"}],
    } | fields, FactDoc)  # fmt: skip


@pytest.fixture
def small(seeded: Chronicle, make: Any, hand_of: Any) -> Opened:
    """A verdict in spring 2023 corrected by another maintainer, a retracted
    fact, and approximate, uncertain, open, BCE and far-future dates."""
    app = seeded
    ann, bob = hand_of(app, "ann"), hand_of(app, "bob")
    app.hand = ann
    app.register_entity(make.entity("kz-court", "court", name="City Court"), "ann")
    app.register_entity(make.entity("petropavlovsk", "place"), "ann")
    verdict = make.fact_data(
        when={"edtf": "2023-21", "wording": "last spring"},
        place="petropavlovsk",
        sources=[{"source": SOURCE, "locator": "para:5", "quote": "three years"}],
        participants=[{"entity": "tatyana-serebryakova", "role": "defendant"},
                      {"entity": "kz-court", "role": "court"}],
    )  # fmt: skip
    app.append_fact(msgspec.convert(verdict, FactDoc), "ann")
    for slug, when in [("about", "2024-06~"), ("unsure", "2015?"),
                       ("caesar", "-0044-03-15"), ("far", "Y170000002"),
                       ("before", "../2024-06"), ("gone", "2020")]:  # fmt: skip
        app.append_fact(fact(id=slug, when=when), "ann")
    evidence = [Citation(source=SOURCE, locator="para:6", quote="medium")]
    app.hand = bob
    app.correct(
        "serebryakova-verdict-2023",
        {"summary": "A court sentenced her to three years in a medium colony."},
        "the regime was missing",
        evidence,
        "bob",
    )
    app.retract("gone", "it did not happen", [Citation(source=SOURCE,
                locator="para:2")], "carol")  # fmt: skip
    views = open_views(environment(app.location))
    views.catch_up(app.read_after)
    return app, views


def export(module: Any, opened: Opened, point: Point | None = None) -> bytes:
    out = io.BytesIO()
    count = module.write(*opened, point or Point(), out)
    assert isinstance(count, int) and count > 0
    return out.getvalue()


# ---- FollowTheMoney ----


def ftm_problems(data: dict[str, Any]) -> list[str]:
    """Why FtM's model would not take `data` exactly as written."""
    try:
        proxy = model.get_proxy(data, cleaned=False)
    except InvalidData as e:
        return [str(e)]
    problems = [f"{data['id']}: unknown property {name}"
                for name in data["properties"]
                if name not in proxy.schema.properties]  # fmt: skip
    for prop, value in proxy.itervalues():
        if prop.type.clean(value) != value:
            problems.append(f"{data['id']}: {prop.name} {value!r} is not clean")
    if proxy.to_dict()["properties"] != data["properties"]:
        problems.append(f"{data['id']}: FtM drops some values")
    problems += [f"{data['id']}: no {name}" for name in proxy.schema.required
                 if not proxy.get(name)]  # fmt: skip
    return problems


def ftm_validate(path: Path) -> list[str]:
    """`ftm validate` on a file: its failure, or what it changed or dropped."""
    ftm_cli = shutil.which("ftm", path=str(Path(sys.executable).parent))
    assert ftm_cli is not None, "followthemoney's `ftm` command is not installed"
    cleaned = path.with_suffix(".validated.json")
    done = subprocess.run(
        [ftm_cli, "validate", "-i", str(path), "-o", str(cleaned)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return [f"ftm validate exited {done.returncode}: "
                f"{done.stderr.strip().splitlines()[-1]}"]  # fmt: skip
    wrote = [json.loads(line) for line in path.read_text().splitlines()]
    read = [json.loads(line) for line in cleaned.read_text().splitlines()]
    if len(wrote) != len(read):
        return [f"ftm validate wrote {len(read)} of {len(wrote)} entities"]
    key = ("id", "schema", "properties")
    return [f"ftm validate changed {a['id']}: {b}"
            for a, b in zip(wrote, read, strict=True)
            if [a[k] for k in key] != [b[k] for k in key]]  # fmt: skip


def ftm_run(command: str, source: Path, *args: str) -> list[dict[str, Any]]:
    """The entities `ftm COMMAND -i SOURCE ARGS…` writes (it must exit 0)."""
    ftm_cli = shutil.which("ftm", path=str(Path(sys.executable).parent))
    assert ftm_cli is not None, "followthemoney's `ftm` command is not installed"
    out = source.with_suffix(f".{command}.json")
    done = subprocess.run(
        [ftm_cli, command, "-i", str(source), "-o", str(out), *args],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def entities(data: bytes) -> dict[str, dict[str, Any]]:
    found = [json.loads(line) for line in data.decode().splitlines()]
    by_id = {e["id"]: e for e in found}
    assert len(by_id) == len(found), "ids are unique"
    return by_id


def test_ftm_export_of_the_demo_is_valid_in_ftm_model_and_cli(
    demo_store: Opened, tmp_path: Path
) -> None:
    data = export(ftm, demo_store)
    found = entities(data)
    problems = [p for e in found.values() for p in ftm_problems(e)]
    assert problems == []
    for e in found.values():  # every reference resolves, to an allowed schema
        schema = model.schemata[e["schema"]]
        for name, values in e["properties"].items():
            prop = schema.properties[name]
            if prop.type.name == "entity" and prop.range is not None:
                for ref in values:
                    target = model.schemata[found[ref]["schema"]]
                    assert target.is_a(prop.range), ref
    path = tmp_path / ftm.FILENAME
    path.write_bytes(data)
    assert ftm_validate(path) == []
    schemata = {e["schema"] for e in found.values()}
    assert {"Person", "Organization", "PublicBody", "LegalEntity", "Address",
            "Article", "CourtCase", "CourtCaseParty", "Sanction", "Event",
            "Documentation"} <= schemata  # fmt: skip
    facts = timeline(demo_store[1], Point())
    assert {f"khronika-fact-{f.id}" for f in facts} <= found.keys()


def test_ftm_sign_and_aggregate_keep_every_entity_of_the_demo(
    demo_store: Opened, tmp_path: Path
) -> None:
    """FtM reads an id's last `.` as a signature: `ftm sign` (as Aleph does
    on upload) must give each entity its own id, and `ftm aggregate` must
    merge none of them."""
    found = entities(export(ftm, demo_store))
    path = tmp_path / ftm.FILENAME
    path.write_text("".join(json.dumps(e) + "\n" for e in found.values()))
    signed = ftm_run("sign", path, "-s", "a-dataset")
    assert len({e["id"] for e in signed}) == len(found)
    assert [e["id"].rpartition(".")[0] for e in signed] == list(found)
    signed_path = tmp_path / "signed.json"
    signed_path.write_text("".join(json.dumps(e) + "\n" for e in signed))
    merged = ftm_run("aggregate", signed_path)  # it writes the plain ids back
    assert len(merged) == len(found)
    assert {e["id"] for e in merged} == found.keys()


@pytest.mark.parametrize(
    ("kind", "slugs", "plain"),
    [
        ("fact", ("a-b",), "khronika-fact-a-b"),
        ("party", ("a", "b-c", "defendant"), "khronika-party-a-X-b-c-X-defendant"),
        ("fact", ("ends-",), None),  # FtM ids end in a letter or digit
        ("fact", ("x" * 200,), None),  # longer than FtM's 200 characters
    ],
)
def test_ftm_ids_are_valid_have_no_dot_and_keep_the_parts_apart(
    kind: str, slugs: tuple[str, ...], plain: str | None
) -> None:
    made = ftm.ftm_id(kind, *slugs)
    assert "." not in made
    assert model.get_proxy({"id": made, "schema": "Person"}).id == made
    assert made == plain if plain else made.startswith(f"khronika-{kind}-H")
    assert ftm.ftm_id("party", "a-X-b", "c") != ftm.ftm_id("party", "a", "b-c")


def test_ftm_dates_the_verdict_known_only_between_two_years(
    demo_store: Opened,
) -> None:
    found = entities(export(ftm, demo_store))
    case_id = "khronika-fact-rus-organisation-verdict"
    case = found[case_id]["properties"]
    assert (case["fileDate"], case["closeDate"]) == (["1999-01-01"], ["2006-12-31"])
    (sanction,) = [e["properties"] for e in found.values()
                   if e["properties"].get("recordId") == [case_id]]  # fmt: skip
    assert sanction["duration"] == ["216"]


def test_ftm_validate_fails_on_a_broken_file(tmp_path: Path) -> None:
    good = {"id": "khronika-entity-x", "schema": "Person",
            "properties": {"name": ["X"]}}  # fmt: skip
    broken = [
        {**good, "schema": "Nobody"},  # no such schema: ftm validate exits 1
        {**good, "properties": {"name": ["X"], "nosuch": ["y"]}},  # dropped
        {**good, "properties": {"name": ["X"], "birthDate": ["2023-21"]}},
    ]
    for i, entity in enumerate([good, *broken]):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps(entity) + "\n")
        assert bool(ftm_validate(path)) == (i > 0), entity
        assert bool(ftm_problems(entity)) == (i > 0), entity
    path.write_text("not json\n")
    assert ftm_validate(path)


def test_ftm_maps_a_verdict_to_a_case_with_parties_and_a_sanction(
    small: Opened, tmp_path: Path
) -> None:
    data = export(ftm, small)
    found = entities(data)
    assert [p for e in found.values() for p in ftm_problems(e)] == []
    path = tmp_path / ftm.FILENAME
    path.write_bytes(data)
    assert ftm_validate(path) == []
    case = found["khronika-fact-serebryakova-verdict-2023"]
    assert case["schema"] == "CourtCase"
    props = case["properties"]
    assert props["closeDate"] == ["2023"]  # spring 2023: some time in 2023
    assert props["notes"] == ["When: spring 2023; EDTF 2023-21"]
    assert props["summary"] == [
        "A court sentenced her to three years in a medium colony."
    ]  # the correction, as the record stands
    assert props["court"] == ["City Court"]
    assert props["addressEntity"] == ["khronika-entity-petropavlovsk"]
    assert props["category"] == [
        "Kz Criminal Code 2014, article 180: Separatist activity"
    ]
    parties = {(e["properties"]["party"][0], e["properties"]["role"][0])
               for e in found.values() if e["schema"] == "CourtCaseParty"}  # fmt: skip
    assert parties == {("khronika-entity-tatyana-serebryakova", "defendant"),
                       ("khronika-entity-kz-court", "court")}  # fmt: skip
    (sanction,) = [e for e in found.values() if e["schema"] == "Sanction"]
    assert sanction["properties"]["entity"] == ["khronika-entity-tatyana-serebryakova"]
    sentence = sanction["properties"]
    assert sentence["provisions"] == ["prison, 36 months, medium regime"]
    # a court's sentence, not a designation on a sanctions list
    assert "program" not in sentence and "programId" not in sentence
    assert sentence["authority"] == ["City Court"]
    assert sentence["duration"] == ["36"]  # months
    assert sentence["recordId"] == [case["id"]]
    assert sentence["description"] == [
        "Sentenced by City Court in the case: A court sentenced her to three "
        "years in a medium colony."
    ]
    cites = [e["properties"] for e in found.values() if e["schema"] == "Documentation"]
    assert {"document": [f"khronika-source-{SOURCE}"],
            "entity": ["khronika-fact-serebryakova-verdict-2023"],
            "role": ["para:5"], "summary": ["three years"]} in cites  # fmt: skip
    events = {k: e["properties"] for k, e in found.items() if e["schema"] == "Event"}
    assert "khronika-fact-gone" not in found  # retracted
    assert events["khronika-fact-about"]["date"] == ["2024"]  # May-July 2024
    assert events["khronika-fact-caesar"].keys().isdisjoint({"date", "startDate"})
    assert events["khronika-fact-before"]["endDate"] == ["2024-06-30"]
    assert "khronika-entity-kz-criminal-code-2014" not in found  # no FtM law


def test_ftm_export_reads_at_the_point(small: Opened) -> None:
    as_of_2016 = entities(export(ftm, small, Point(as_of=Day(2016, 12, 31))))
    facts = {k for k in as_of_2016 if k.startswith("khronika-fact-")}
    # possibly by then: an open start too
    assert facts == {f"khronika-fact-{f}" for f in ("caesar", "unsure", "before")}


# ---- PROV-JSON ----


def prov_document(data: bytes, tmp_path: Path) -> Any:
    path = tmp_path / provenance.FILENAME
    path.write_bytes(data)
    return prov.read(str(path), format="json")


# The W3C PROV-XML schema (https://www.w3.org/ns/prov.xsd and the files it
# includes), as the `prov` package vendors it unmodified but for one relative
# schemaLocation (its prov/tests/schemas/README.md says where each came from).
PROV_XSD = Path(prov.__file__).parent / "tests" / "schemas" / "prov.xsd"


def prov_xml_problems(document: Any) -> list[str]:
    """What the W3C PROV-XML schema finds wrong in the `prov` package's
    PROV-XML of `document`."""
    schema = etree.XMLSchema(etree.parse(str(PROV_XSD)))
    xml = etree.fromstring(document.serialize(format="xml").encode())
    if schema.validate(xml):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def agents(document: Any) -> dict[str, tuple[str, str]]:
    """Each maintainer agent's label (their name): its id and its key."""
    found = {}
    for a in document.get_records(prov.model.ProvAgent):
        (label,) = a.get_attribute("prov:label")
        (key,) = a.get_attribute("khronika:key")
        found[str(label)] = (str(a.identifier), str(key))
    return found


def agent(document: Any, name: str) -> str:
    """The id of `name`'s agent, which is the id of the key that signed."""
    ident, key = agents(document)[name]
    assert key.startswith(f"{name}+")
    assert ident == "chronicle:maintainer." + key.split("+")[1]
    return ident


def relations(document: Any, kind: str) -> set[tuple[str, ...]]:
    """The (first, second) formal attributes of every `kind` relation."""
    return {
        tuple(str(value) for _, value in record.formal_attributes[:2])
        for record in document.get_records()
        if type(record).__name__ == kind
    }


def test_prov_export_of_the_demo_loads_with_the_prov_package(
    demo_store: Opened, tmp_path: Path
) -> None:
    out = io.BytesIO()
    count = provenance.write(*demo_store, Point(), out)
    document = prov_document(out.getvalue(), tmp_path)
    records = list(document.get_records())
    assert len(records) == count
    facts = timeline(demo_store[1], Point())
    entities = {str(r.identifier) for r in records if r.is_element()}
    assert {f"chronicle:fact.{f.id}.v{f.version}" for f in facts} <= entities
    assert document.get_provn().startswith("document")  # it serialises back
    again = prov.model.ProvDocument.deserialize(
        content=document.serialize(format="json"), format="json"
    )
    assert again == document


@pytest.mark.parametrize("store", ["demo_store", "small"])
def test_prov_xml_of_the_demo_and_of_hard_cases_passes_the_w3c_schema(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    opened: Opened = request.getfixturevalue(store)
    document = prov_document(export(provenance, opened), tmp_path)
    assert prov_xml_problems(document) == []


def test_prov_xml_schema_check_refuses_an_id_that_is_no_qname(tmp_path: Path) -> None:
    document = prov.model.ProvDocument()
    document.add_namespace("khronika", provenance.NAMESPACE)
    document.entity("khronika:fact/x/v2")
    (problem,) = prov_xml_problems(document)
    assert "is not a valid value of the atomic type 'xs:QName'" in problem


@pytest.mark.parametrize(
    ("parts", "local"),
    [
        (("fact", "a-b"), "fact.a-b"),
        (("maintainer", "named", "Ann Lee"), "maintainer.named.Ann_20_Lee"),
        (("maintainer", "named", "a%2Fb_c"), "maintainer.named.a_25_2Fb_5F_c"),
        (("source", "s", "page", "1.2"), "source.s.page.1_2E_2"),
    ],
)
def test_prov_ids_are_qnames_and_keep_their_parts_apart(
    parts: tuple[str, ...], local: str
) -> None:
    made = provenance.ident(*parts)
    assert made == f"chronicle:{local}"
    assert etree.QName("urn:x", local).localname == local  # an NCName


def test_prov_names_the_store_so_two_chronicles_facts_stay_apart(
    small: Opened,
) -> None:
    prefixes = json.loads(export(provenance, small))["prefix"]
    assert prefixes["khronika"] == "urn:khronika:"  # the vocabulary
    # the ids': this store's identity, a UUID no other chronicle has
    assert prefixes["chronicle"] == f"urn:khronika:{small[0].meta['store_id']}:"


def test_prov_links_a_correction_as_a_revision_by_its_recorder(
    small: Opened, tmp_path: Path
) -> None:
    document = prov_document(export(provenance, small), tmp_path)
    v1 = "chronicle:fact.serebryakova-verdict-2023.v1"
    v2 = "chronicle:fact.serebryakova-verdict-2023.v2"
    revisions = {
        tuple(str(v) for _, v in r.formal_attributes[:2])
        for r in document.get_records(prov.model.ProvDerivation)
        if "prov:Revision" in {str(v) for v in r.get_asserted_types()}
    }
    assert revisions == {(v2, v1)}
    ann, bob = agent(document, "ann"), agent(document, "bob")
    assert (v2, bob) in relations(document, "ProvAttribution")
    assert (v1, ann) in relations(document, "ProvAttribution")
    (correction,) = [
        a for a in document.get_records(prov.model.ProvActivity)
        if "khronika:FactCorrected" in {str(t) for t in a.get_asserted_types()}
    ]  # fmt: skip
    activity = str(correction.identifier)
    assert (activity, bob) in relations(document, "ProvAssociation")
    assert (v2, activity) in relations(document, "ProvGeneration")
    assert correction.get_startTime() == correction.get_endTime()
    # the correction used its evidence; the version derives from source and passage
    passage = f"chronicle:source.{SOURCE}.para.6"
    used = relations(document, "ProvUsage")
    assert any(a == activity and e.startswith(passage) for a, e in used)
    derived = relations(document, "ProvDerivation")
    assert (v2, f"chronicle:source.{SOURCE}") in derived
    para5 = f"chronicle:source.{SOURCE}.para.5"
    quoted = [str(r.identifier) for r in document.get_records(prov.model.ProvEntity)
              if str(r.identifier).startswith(para5)]  # fmt: skip
    assert len(quoted) == 1 and (v1, quoted[0]) in derived
    (quote,) = document.get_record(quoted[0])[0].get_attribute("prov:value")
    assert quote == "three years"
    # the retraction invalidated the last version of the retracted fact
    assert ("chronicle:fact.gone.v1",) == tuple(
        e for e, _ in relations(document, "ProvInvalidation")
    )


def test_prov_known_before_the_correction_has_one_version(
    small: Opened, tmp_path: Path
) -> None:
    app, views = small
    rows = views.query(
        "SELECT recorded_from FROM view_facts WHERE fact = :f AND version = 1",
        {"f": "serebryakova-verdict-2023"},
    )
    point = Point(known_at=rows[0]["recorded_from"])
    document = prov_document(export(provenance, small, point), tmp_path)
    versions = {str(r.identifier) for r in document.get_records(prov.model.ProvEntity)
                if ".v" in str(r.identifier)}  # fmt: skip
    assert "chronicle:fact.serebryakova-verdict-2023.v1" in versions
    assert "chronicle:fact.serebryakova-verdict-2023.v2" not in versions
    assert "bob" not in agents(document)


# ---- TimelineJS ----

DATE = {
    "type": "object",
    "required": ["year"],
    "properties": {
        "year": {"type": "integer"},
        "month": {"type": "integer", "minimum": 1, "maximum": 12},
        "day": {"type": "integer", "minimum": 1, "maximum": 31},
        "hour": {"type": "integer"},
        "minute": {"type": "integer"},
        "second": {"type": "integer"},
        "millisecond": {"type": "integer"},
        "display_date": {"type": "string"},
    },
    "additionalProperties": False,
}
TEXT = {
    "type": "object",
    "properties": {"headline": {"type": "string"}, "text": {"type": "string"}},
    "additionalProperties": False,
}
SLIDE = {
    "type": "object",
    "properties": {
        "start_date": DATE,
        "end_date": DATE,
        "text": TEXT,
        "media": {"type": "object", "required": ["url"]},
        "group": {"type": "string"},
        "display_date": {"type": "string"},
        "background": {"type": "object"},
        "autolink": {"type": "boolean"},
        "unique_id": {"type": "string"},
    },
    "additionalProperties": False,
}
# The documented shape: https://timeline.knightlab.com/docs/json-format.html
TIMELINEJS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {"type": "array", "items": SLIDE | {"required": ["start_date"]}},
        "title": SLIDE,
        "eras": {
            "type": "array",
            "items": {"type": "object", "required": ["start_date", "end_date"]},
        },
        "scale": {"enum": ["human", "cosmological"]},
    },
    "additionalProperties": False,
}


def test_timelinejs_export_of_the_demo_has_the_documented_shape(
    demo_store: Opened,
) -> None:
    data = json.loads(export(timelinejs, demo_store))
    jsonschema.Draft202012Validator.check_schema(TIMELINEJS)
    jsonschema.validate(data, TIMELINEJS)
    facts = timeline(demo_store[1], Point())
    assert [e["unique_id"] for e in data["events"]] == [f.id for f in facts]
    assert data["scale"] == "human"
    slide = next(
        e for e in data["events"] if e["unique_id"] == "serebryakova-verdict-2023"
    )
    assert slide["start_date"] == {"year": 2023, "month": 5, "day": 30,
                                   "display_date": "2023-05-30"}  # fmt: skip
    assert "end_date" not in slide


def test_timelinejs_dates_come_from_the_bounds_and_read_as_the_label(
    small: Opened,
) -> None:
    out = io.BytesIO()
    assert timelinejs.write(*small, Point(), out) == 6  # not the retracted one
    data = json.loads(out.getvalue())
    jsonschema.validate(data, TIMELINEJS)
    by_id = {e["unique_id"]: e for e in data["events"]}
    spring = by_id["serebryakova-verdict-2023"]
    assert spring["display_date"] == "spring 2023"
    assert spring["start_date"] == {"year": 2023, "month": 3, "day": 1,
                                    "display_date": "spring 2023"}  # fmt: skip
    assert spring["end_date"] == {"year": 2023, "month": 5, "day": 31}
    assert spring["group"] == "verdict"
    assert spring["text"]["headline"] == (
        "A court sentenced her to three years in a medium colony."
    )
    assert "“last spring”" in spring["text"]["text"]
    assert "(approximate)" in by_id["about"]["text"]["text"]
    assert by_id["about"]["start_date"]["month"] == 5  # about June: May-July
    assert "(uncertain)" in by_id["unsure"]["text"]["text"]
    assert "(approximate)" not in by_id["unsure"]["text"]["text"]
    assert by_id["caesar"]["start_date"] == {"year": -44, "month": 3, "day": 15,
                                             "display_date": "-0044-03-15"}  # fmt: skip
    before = by_id["before"]  # open start: placed at its latest day
    assert before["start_date"] == {"year": 2024, "month": 6, "day": 30,
                                    "display_date": "until June 2024"}  # fmt: skip
    assert "end_date" not in before
    assert by_id["far"]["start_date"]["year"] == 170000002
    assert data["scale"] == "cosmological"  # JavaScript's Date stops at 275760


def test_timelinejs_escapes_markup_in_stored_text(seeded: Chronicle) -> None:
    seeded.append_fact(fact(id="tag", when="2020", summary="<b>bold</b> & co"), "a")
    views = open_views(environment(seeded.location))
    views.catch_up(seeded.read_after)
    data = json.loads(export(timelinejs, (seeded, views)))
    (slide,) = data["events"]
    assert slide["text"]["headline"] == "&lt;b&gt;bold&lt;/b&gt; &amp; co"
    assert "<b>" not in slide["text"]["text"]


def test_every_fact_pages_through_the_whole_timeline(demo_store: Opened) -> None:
    _, views = demo_store
    point = timelinejs.pinned(views, Point())
    assert point.known_at is not None
    paged = [f.id for f in timelinejs.every_fact(views, point, page=4)]
    assert paged == [f.id for f in timeline(views, Point())]
