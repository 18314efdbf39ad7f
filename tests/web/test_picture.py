"""The timeline picture's scale: far-off dates do not squash the others."""

from __future__ import annotations

from khronika.domain import edtf
from khronika.domain.days import Day
from khronika.projections import models as m
from khronika.web.svg import picture


def fact(slug: str, when: str) -> m.Fact:
    dated = m.Dated(edtf=when, label=edtf.describe(when), earliest="", latest="",
                    approximate=False, uncertain=False)  # fmt: skip
    return m.Fact(id=slug, kind="verdict", when=dated, status="certain",
                  summary="s", place=None, participants=[], details=None,
                  sources=[], version=1, retracted=False, recorded_at="",
                  recorded_by="", reason="")  # fmt: skip


def test_a_date_in_year_170000002_is_cut_at_the_edge() -> None:
    facts = [fact(f"f{y}", str(y)) for y in range(1990, 2025)]
    facts.append(fact("far", "Y170000002"))
    drawn = picture(facts, None)
    bars = {b.id: b for b in drawn.bars}
    assert bars["f1990"].x < 100 and bars["f2024"].x > 800  # the rest spread out
    assert "open-end" in bars["far"].classes  # cut at the edge, faded
    assert 1980 <= drawn.years[0] and drawn.years[1] <= 2040


def test_the_as_of_day_is_always_drawn() -> None:
    drawn = picture([fact("a", "2020"), fact("b", "2021")], Day(1900, 1, 1))
    assert drawn.as_of is not None and drawn.as_of >= 0
    assert drawn.years[0] <= 1900
