"""decode: nesting is bounded before a decoder recurses into it."""

from __future__ import annotations

import json

import pytest

from khronika.domain.documents import FactDoc
from khronika.domain.errors import ValidationError
from khronika.domain.parse import MAX_DEPTH, decode


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_json_nested_past_the_limit_is_refused_before_decoding(depth: int) -> None:
    data = b'{"id": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(ValidationError, match=f"nested more than {MAX_DEPTH} deep"):
        decode(data, FactDoc)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    summary = '\\"[' + "[{" * 500  # an escaped quote first: still in the string
    data = json.dumps({"id": "x", "summary": summary}).encode()
    with pytest.raises(ValidationError) as refused:
        decode(data, FactDoc)  # refused for its missing fields, not its depth
    assert "nested" not in str(refused.value)
