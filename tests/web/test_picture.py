"""The timeline picture's scale: far-off dates do not squash the others."""

from __future__ import annotations

from khronika.domain import edtf
from khronika.domain.days import Day
from khronika.domain.documents import Participant
from khronika.projections import models as m
from khronika.web.svg import CHAR, GAP, picture


def fact(slug: str, when: str, kind: str = "verdict", *who: str) -> m.Fact:
    dated = m.Dated(edtf=when, label=edtf.describe(when), earliest="", latest="",
                    approximate=False, uncertain=False)  # fmt: skip
    cast = [Participant(entity=w, role="defendant") for w in who]
    return m.Fact(id=slug, kind=kind, when=dated, status="certain",
                  summary="s", place=None, participants=cast, details=None,
                  sources=[], version=1, retracted=False, recorded_at="",
                  recorded_by="", reason="")  # fmt: skip


def test_a_date_in_year_170000002_is_cut_at_the_edge() -> None:
    facts = [fact(f"f{y}", str(y)) for y in range(1990, 2025)]
    facts.append(fact("far", "Y170000002"))
    drawn = picture(facts, None)
    bars = {b.id: b for b in drawn.items}
    assert bars["f1990"].x0 < 100 and bars["f2024"].x0 > 800  # the rest spread out
    assert "open-end" in bars["far"].classes  # cut at the edge, faded
    assert 1980 <= drawn.years[0] and drawn.years[1] <= 2040


def test_the_as_of_day_is_always_drawn() -> None:
    drawn = picture([fact("a", "2020"), fact("b", "2021")], Day(1900, 1, 1))
    assert drawn.as_of is not None and drawn.as_of >= 0
    assert drawn.years[0] <= 1900


def test_a_day_is_a_point_a_lasting_span_a_bar_and_an_uncertain_one_fuzzy() -> None:
    drawn = picture([fact("day", "2020-05-01"), fact("month", "2020-05"),
                     fact("guess", "2020-05-01~"), fact("unsure", "2019?"),
                     fact("probe", "2019-01/2020-03", "investigation"),
                     fact("between", "2019-01/2020-03")], None)  # fmt: skip
    shapes = {i.id: i.shape for i in drawn.items}
    fuzzy = {"month", "guess", "unsure", "between"}
    assert shapes == {"day": "point", "probe": "bar"} | dict.fromkeys(fuzzy, "fuzzy")


def test_labels_in_a_row_never_overlap_by_their_widest_advance() -> None:
    facts = [fact(f"f{i}", f"2020-01-{i + 1:02d}", "statement", f"person-{i}")
             for i in range(20)]  # fmt: skip
    drawn = picture(facts, None)
    spans: dict[float, list[tuple[float, float]]] = {}
    for i in drawn.items:
        wide = len(i.label) * CHAR
        left = i.label_x if i.anchor == "start" else i.label_x - wide
        spans.setdefault(i.y, []).append((left, left + wide))
    assert len(spans) > 1  # the crowded days went to rows of their own
    for row in spans.values():
        row.sort()
        assert all(a[1] + GAP <= b[0] for a, b in zip(row, row[1:], strict=False))


def test_lanes_by_kind_person_and_case() -> None:
    names = {"ann": m.Named(kind="person", name="Ann"),
             "bo": m.Named(kind="person", name="Bo"),
             "cy": m.Named(kind="person", name="Cy")}  # fmt: skip
    facts = [fact("a", "2020", "verdict", "ann", "bo"),
             fact("b", "2021", "statement", "bo"),
             fact("c", "2022", "statement", "cy"),
             fact("d", "2022", "other")]  # fmt: skip
    by_kind = [lane.name for lane in picture(facts, None, names).lanes]
    assert by_kind == ["Statement", "Verdict", "Event"]
    by_person = [
        lane.name for lane in picture(facts, None, names, lanes="person").lanes
    ]
    assert by_person == ["Ann", "Bo", "Cy", ""]
    by_case = [lane.name for lane in picture(facts, None, names, lanes="case").lanes]
    assert by_case == ["Case of Bo, Ann", "Case of Cy", ""]
    label = next(i.label for i in picture(facts, None, names).items if i.id == "a")
    assert label == "Verdict: Ann, Bo"


def test_a_zoom_draws_only_its_period() -> None:
    drawn = picture([fact("a", "2000"), fact("b", "2020")], None,
                    start=Day(2019, 1, 1), end=Day(2021, 12, 31))  # fmt: skip
    assert drawn.years == (2019, 2021)
    assert "open-start" in next(i for i in drawn.items if i.id == "a").classes
