"""One schema: the CLI's JSON and the API's answers validate against it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from click.testing import Result
from starlette.testclient import TestClient

Run = Callable[..., Result]
COMMANDS = [
    ("timeline", ["timeline", "--as-of", "2022"]),
    ("fact", ["fact", "serebryakova-verdict-2023"]),
    ("trace", ["trace", "serebryakova-verdict-2023"]),
    ("trace-entity", ["trace", "tatyana-serebryakova"]),
    ("person", ["person", "tatyana-serebryakova", "--as-of", "2024"]),
    ("law", ["law", "kz-criminal-code-2014:180"]),
    *[("stats", ["stats", "--by", by]) for by in
      ("year", "charge", "place", "platform", "sentence-type", "lag")],
    ("diff", ["diff", "--known-at", "2000-01-01", "--known-at", "2100-01-01"]),
]  # fmt: skip


def checker(run: Run, name: str) -> Any:
    schema = json.loads(run("schema").stdout)
    answer = {"$ref": schema["answers"][name]["$ref"], "$defs": schema["$defs"]}
    return jsonschema.Draft202012Validator(answer)


@pytest.mark.parametrize(("name", "args"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_read_commands_json_meets_the_published_schema(
    client: TestClient, run: Run, name: str, args: list[str]
) -> None:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    checker(run, name).validate(json.loads(result.stdout))


def test_the_api_answers_meet_their_openapi_schemas(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    urls = {
        "/api/timeline": "/api/timeline?as_of=2022",
        "/api/facts/{id}": "/api/facts/serebryakova-verdict-2023",
        "/api/facts/{id}/trace": "/api/facts/serebryakova-verdict-2023/trace",
        "/api/person/{id}": "/api/person/tatyana-serebryakova",
        "/api/law/{id}": "/api/law/kz-criminal-code-2014",
        "/api/stats/{by}": "/api/stats/lag",
        "/api/diff": "/api/diff?from=2000-01-01",
        "/api/entities": "/api/entities",
        "/api/entities/{id}": "/api/entities/tatyana-serebryakova",
        "/api/sources": "/api/sources",
        "/api/sources/{id}": "/api/sources/worldcrunch-kz-separatism",
        "/api/checkpoint": "/api/checkpoint",
        "/api/status": "/api/status",
    }
    for path, url in urls.items():
        ok = spec["paths"][path]["get"]["responses"]["200"]
        schema = ok["content"]["application/json"]["schema"]
        document = {**schema, "components": spec["components"]}
        jsonschema.Draft202012Validator(document).validate(client.get(url).json())


def test_a_wrong_shape_fails_the_schema(run: Run, client: TestClient) -> None:
    """The check can fail: a fact without its `when` does not pass."""
    result = run("timeline", "--format", "json")
    answer = json.loads(result.stdout)
    del answer["facts"][0]["when"]
    with pytest.raises(jsonschema.ValidationError, match="'when' is a required"):
        checker(run, "timeline").validate(answer)
