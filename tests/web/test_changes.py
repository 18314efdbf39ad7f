"""What changed: each version of a fact says which fields it changed, in the
API and on the page, and `diff` credits each version to its maintainer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import Result
from starlette.testclient import TestClient

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"
FACT = "serebryakova-verdict-2023"


def data(run: Run, *args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def history(client: TestClient, versions: int) -> list[Any]:
    """The fact's history once the served views hold `versions` versions."""
    for _ in range(100):
        found: list[Any] = client.get(f"/api/facts/{FACT}").json()["history"]
        if len(found) == versions:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the views never held {versions} versions")


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_each_version_says_what_it_changed_field_by_field(
    demo: Run, client: TestClient
) -> None:
    fixed = demo("correct", FACT, "--set", "when=2023-05-31", "--set",
                 "summary=Tatyana Serebryakova was convicted.", "--reason", "typo",
                 "--source", f"{SOURCE}@para:6")  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    first, second = history(client, 2)
    assert first["changes"] == []  # the first version changes nothing
    changes = {c["field"]: c for c in second["changes"]}
    assert set(changes) == {"when", "summary"}
    assert changes["when"]["before"]["edtf"] == "2023-05-30"
    assert changes["when"]["after"]["edtf"] == "2023-05-31"
    assert changes["summary"]["after"] == "Tatyana Serebryakova was convicted."
    page = client.get(f"/facts/{FACT}").text
    assert "What changed" in page and 'data-field="when"' in page
    assert "2023-05-30" in page and "2023-05-31" in page


def test_a_new_place_and_a_retraction_show_as_changes(
    demo: Run, client: TestClient
) -> None:
    fixed = demo("correct", FACT, "--set", "place=almaty", "--reason", "moved",
                 "--source", f"{SOURCE}@para:6")  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    retracted = demo("retract", FACT, "--reason", "test", "--source",
                     f"{SOURCE}@para:6")  # fmt: skip
    assert retracted.exit_code == 0, retracted.output
    versions = history(client, 3)
    place = {c["field"]: c for c in versions[1]["changes"]}["place"]
    assert (place["before"], place["after"]) == (None, "almaty")
    assert versions[2]["changes"] == [
        {"field": "retracted", "before": False, "after": True}
    ]
    page = client.get(f"/facts/{FACT}").text
    assert "Almaty" in page  # a place by its name


def test_diff_credits_each_version_to_the_maintainer_who_made_it(
    demo: Run, maintainer: Callable[..., Run]
) -> None:
    start = stamp(datetime.now(UTC))
    aigerim = maintainer("Aigerim")
    assert demo("correct", FACT, "--set", "when=2023-05-31", "--reason", "typo",
                "--source", f"{SOURCE}@para:6").exit_code == 0  # fmt: skip
    by_her = aigerim("correct", FACT, "--set", "summary=Convicted.", "--reason",
                     "shorter", "--source", f"{SOURCE}@para:6")  # fmt: skip
    assert by_her.exit_code == 0, by_her.output
    end = stamp(datetime.now(UTC) + timedelta(seconds=1))
    (change,) = data(demo, "diff", "--known-at", start, "--known-at", end)["changes"]
    assert change["recorded_by"] == "Aigerim"
    credited = [(s["version"], s["recorded_by"], [c["field"] for c in s["changes"]])
                for s in change["steps"]]  # fmt: skip
    assert credited == [(2, "tester", ["when"]), (3, "Aigerim", ["summary"])]
    table = demo("diff", "--known-at", start, "--known-at", end)
    assert "v2 by tester" in table.output.replace("\n", " ")
    assert "Aigerim" in table.output
