"""`khronika new KIND`: every template is a fact `append` accepts as it is."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from khronika.cli.examples import SLUG, TITLE
from khronika.domain.documents import FACT_KINDS, Role

Run = Callable[..., Result]


@pytest.mark.parametrize("kind", FACT_KINDS)
def test_each_template_appends_as_it_is(run: Run, tmp_path: Path, kind: str) -> None:
    assert run("demo").exit_code == 0
    added = run("source", "add", SLUG, "--title", TITLE, "--publisher", "Worldcrunch",
                "--url", "https://worldcrunch.com/a", "--published", "2024-06",
                "--language", "en")  # fmt: skip
    assert added.exit_code == 0, added.output
    result = run("new", kind)
    assert result.exit_code == 0
    tomllib.loads(result.output)  # valid TOML
    path = tmp_path / f"{kind}.toml"
    path.write_text(result.output)
    appended = run("append", str(path))
    assert appended.exit_code == 0, appended.output


def test_the_template_lists_every_role() -> None:
    from khronika.cli.template import template

    text = template("statement")
    assert all(role in text for role in Role.__args__)  # type: ignore[attr-defined]
