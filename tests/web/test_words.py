"""Sentences and penalties as a reader says them, not as fields."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from khronika.domain.documents import Penalty, Sentence
from khronika.web.words import number, penalty, sentence


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"type": "penal_colony", "term_months": 36, "regime": "medium"},
         "3 years in a medium-security colony"),
        ({"type": "suspended", "term_months": 36, "regime": "medium",
          "probation_months": 60},
         "3 years in a medium-security colony, suspended, 5 years' probation"),
        ({"type": "suspended", "term_months": 18, "probation_months": 12},
         "1 year 6 months, suspended, 1 year's probation"),
        ({"type": "prison", "term_months": 36}, "3 years in prison"),
        ({"type": "prison", "term_months": 36, "regime": "high"},
         "3 years in a high-security prison"),
        ({"type": "penal_colony", "term_months": 12}, "1 year in a penal colony"),
        ({"type": "fine"}, "a fine"),
        ({"type": "restriction_of_freedom", "term_months": 24},
         "2 years' restriction of freedom"),
        ({"type": "probation", "term_months": 6}, "6 months' probation"),
        ({"type": "prison"}, "an unrecorded term in prison"),
    ],
)  # fmt: skip
def test_a_sentence_reads_as_a_sentence(fields: dict[str, Any], said: str) -> None:
    assert sentence(msgspec.convert(fields, Sentence)) == said


@pytest.mark.parametrize(
    ("low", "high", "said"),
    [(None, 84, "up to 7 years"), (24, 84, "2 years to 7 years"),
     (6, None, "at least 6 months"), (None, None, "")],
)  # fmt: skip
def test_a_penalty_says_its_term(low: int | None, high: int | None, said: str) -> None:
    found = Penalty(conduct="x", min_term_months=low, max_term_months=high)
    assert penalty(found) == said


def test_numbers_are_grouped_and_whole_ones_lose_their_point() -> None:
    assert [number(6230000.0), number(40.5)] == ["6,230,000", "40.5"]
