"""The API fuzzed from its own OpenAPI document: no 5xx, every error a problem.

Hypothesis draws, for every GET endpoint, path values and any subset of the
declared query parameters with values of every sort: dates and times in and
out of form, numbers, the declared choices, ids, and hostile text.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from khronika.cli.main import cli
from khronika.web.app import create_app
from khronika.web.openapi import document

SPEC = document()
SAMPLES = ["2023", "2023-05-30", "../2023", "2023-24", "-1985", "Y170000002", "201X",
           "2026-01-01T00:00:00Z", "tatyana-serebryakova", "serebryakova-verdict-2023",
           "kz-criminal-code-2014:180", "verdict", "year", "true", "0", "99999999999",
           "", " ", "%", "..", "/", "'; DROP TABLE view_facts; --",
           "<script>x</script>",
           "\u202e", "\x00", "é", "Татьяна"]  # fmt: skip
VALUES = st.one_of(st.sampled_from(SAMPLES), st.text(max_size=30),
                   st.integers(-10, 10**12).map(str))  # fmt: skip


@st.composite
def requests(draw: st.DrawFn) -> str:
    path, item = draw(st.sampled_from(sorted(SPEC["paths"].items())))
    params = item["get"]["parameters"]
    url = re.sub(r"{\w+}", lambda _: quote(draw(VALUES), safe=""), path)
    query = []
    for p in params:
        if p["in"] != "query" or not draw(st.booleans()):
            continue
        choices = p["schema"].get("enum") or p["schema"].get("items", {}).get("enum")
        value = draw(st.sampled_from(choices) if choices and draw(st.booleans())
                     else VALUES)  # fmt: skip
        query.append(f"{p['name']}={quote(value, safe='')}")
    if draw(st.integers(0, 9)) == 0:
        query.append(f"{quote(draw(VALUES), safe='')}=1")  # an unknown parameter
    return url + ("?" + "&".join(query) if query else "")


@pytest.fixture(scope="module")
def served() -> Iterator[TestClient]:
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "k.db")
        env = {"KHRONIKA_STORE": store, "KHRONIKA_KEY": str(Path(tmp) / "k.key"),
               "KHRONIKA_USER": "fuzz",
               "KHRONIKA_CONFIG": str(Path(tmp) / "config")}  # fmt: skip
        assert CliRunner().invoke(cli, ["demo"], env=env).exit_code == 0
        with TestClient(create_app(store)) as client:
            yield client


@pytest.mark.sqlite_only
@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(url=requests())
def test_no_request_from_the_document_fails_the_server(
    served: TestClient, url: str
) -> None:
    response = served.get(url)
    assert response.status_code < 500, (url, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", url
        problem: dict[str, Any] = response.json()
        assert problem["status"] == response.status_code and problem["detail"]
