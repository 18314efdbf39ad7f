"""A verdict recorded twice (same defendants, same date) goes in, with a warning."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"


def verdict(slug: str, **changes: Any) -> dict[str, Any]:
    """Serebryakova's verdict of 30 May 2023, again, under another id."""
    return {
        "type": "fact", "id": slug, "kind": "verdict", "when": "2023-05-30",
        "summary": "Tatyana Serebryakova was sentenced to three years.",
        "sources": [{"source": SOURCE, "locator": "para:6"}],
        "participants": [{"entity": "tatyana-serebryakova", "role": "defendant"}],
        "details": {"type": "verdict", "outcome": "convicted"},
    } | changes  # fmt: skip


def warning(fact: str, other: str) -> str:
    return (
        f"khronika: warning: verdict {fact} has the same defendants and date "
        f"(2023-05-30) as verdict {other}"
    )


def test_append_takes_a_verdict_recorded_twice_with_a_warning(demo: Run) -> None:
    added = demo("append", "-", input=json.dumps(verdict("serebryakova-again")))
    assert added.exit_code == 0, added.output
    assert "recorded fact serebryakova-again" in added.stdout
    assert warning("serebryakova-again", "serebryakova-verdict-2023") in added.stderr


@pytest.mark.parametrize(
    "changes",
    [
        {"when": "2023-05-31"},  # another day
        {"kind": "charge", "details": None},  # not a verdict
        {"participants": [{"entity": "tatyana-serebryakova", "role": "defendant"},
                          {"entity": "viktor-kazimirchuk", "role": "defendant"}]},
    ],
)  # fmt: skip
def test_a_different_verdict_goes_in_without_a_warning(
    demo: Run, changes: dict[str, Any]
) -> None:
    document = verdict("another") | changes
    document = {k: v for k, v in document.items() if v is not None}
    added = demo("append", "-", input=json.dumps(document))
    assert added.exit_code == 0, added.output
    assert "warning" not in added.stderr


def test_import_dry_run_shows_the_twins_and_writes_nothing(
    demo: Run, tmp_path: Path
) -> None:
    path = tmp_path / "twice.jsonl"
    lines = [verdict("first-copy"), verdict("second-copy")]
    path.write_text("".join(json.dumps(v) + "\n" for v in lines))
    dry = demo("import", "--dry-run", str(path))
    assert dry.exit_code == 0, dry.output
    assert "would add 2 facts" in dry.stdout
    assert warning("first-copy", "serebryakova-verdict-2023") in dry.stderr
    assert warning("second-copy", "first-copy") in dry.stderr
    assert warning("second-copy", "serebryakova-verdict-2023") in dry.stderr
    timeline = json.loads(demo("timeline", "--format", "json").stdout)["facts"]
    assert "first-copy" not in {f["id"] for f in timeline}
    done = demo("import", str(path))
    assert done.exit_code == 0
    assert warning("first-copy", "serebryakova-verdict-2023") in done.stderr
    assert done.stderr.count("khronika: warning: verdict") == 3  # each pair once
