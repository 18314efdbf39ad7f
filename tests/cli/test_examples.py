"""The README's and --help's examples agree with the bundled dataset.

The dataset numbers an article's paragraphs as the non-empty lines of its
text, the "Analysis" label being the first (README, "The first dataset").
An example that cites a dataset fact cites a paragraph the fact cites; the
source is named by its recorded title; a fresh-store example does not take a
slug the demo needs.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import Result

from khronika.cli.main import cli

Run = Callable[..., Result]
README = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
ARTICLE = "worldcrunch-kz-separatism"


def bundle(name: str) -> list[dict[str, Any]]:
    path = resources.files("khronika.data") / "kazakhstan-separatism" / name
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


FACTS = {f["id"]: f for f in bundle("facts.jsonl")}
SOURCE = next(s for s in bundle("sources.jsonl") if s["id"] == ARTICLE)


def helps(group: click.Group) -> Iterator[str]:
    """Every command's help and every option's, as `--help` shows them."""
    for command in group.commands.values():
        yield command.help or ""
        yield from (getattr(p, "help", None) or "" for p in command.params)
        if isinstance(command, click.Group):
            yield from helps(command)


TEXTS = [README, *helps(cli)]


def examples() -> Iterator[tuple[str, str]]:
    """(fact, paragraph) for each `correct|retract FACT … --source ARTICLE@para:N`."""
    for text in TEXTS:
        joined = text.replace("\\\n", " ")
        for line in joined.splitlines():
            found = re.search(r"khronika (?:correct|retract) (\S+)", line)
            for para in re.findall(rf"{ARTICLE}@(para:\d+)", line):
                if found:
                    yield found.group(1), para


EXAMPLES = sorted(set(examples()))


def test_the_examples_are_found() -> None:
    assert ("serebryakova-verdict-2023", "para:6") in EXAMPLES
    assert len({fact for fact, _ in EXAMPLES}) >= 2


@pytest.mark.parametrize(("fact", "para"), EXAMPLES)
def test_an_example_cites_a_paragraph_its_fact_cites(fact: str, para: str) -> None:
    assert fact in FACTS, f"{fact} is not in the dataset"
    cited = {c["locator"] for c in FACTS[fact]["sources"]}
    assert para in cited, f"{fact} cites {sorted(cited)}, the example {para}"


def test_a_loose_citation_example_names_the_paragraph_of_serebryakovas_remark() -> None:
    """The `--source` help cites her remark: paragraph 6."""
    conversation = FACTS["serebryakova-chatroulette-conversation-2021"]
    assert [c["locator"] for c in conversation["sources"]] == ["para:6"]
    loose = {
        para
        for text in TEXTS
        for para in re.findall(rf"e\.g\. {ARTICLE}@(para:\d+)", text)
    }
    assert loose == {"para:6"}


def test_every_example_title_is_the_datasets_title() -> None:
    titles = {t for text in TEXTS for t in re.findall(r'--title "([^"]*)"', text)}
    assert titles == {SOURCE["title"]}


def fresh_store_block() -> tuple[list[list[str]], str]:
    """The README's fresh-store commands and its fact.toml."""
    section = README.split("### Writing a fact in a fresh store", 1)[1]
    shell, toml = re.findall(r"```(?:sh|toml)\n(.*?)```", section, re.S)[:2]
    commands = [shlex.split(c) for c in shell.replace("\\\n", " ").splitlines()]
    return [c[1:] for c in commands if c and c[0] == "khronika"], toml


def test_the_fresh_store_example_uses_a_source_slug_of_its_own() -> None:
    commands, _ = fresh_store_block()
    added = [c[2] for c in commands if c[:2] == ["source", "add"]]
    assert added and ARTICLE not in added


def test_the_demo_loads_after_the_fresh_store_example(run: Run, tmp_path: Path) -> None:
    commands, toml = fresh_store_block()
    for command in commands:
        result = run(*command)
        assert result.exit_code == 0, (command, result.output)
    fact = tmp_path / "fact.toml"
    fact.write_text(toml, "utf-8")
    appended = run("append", str(fact))
    assert appended.exit_code == 0, appended.output
    demo = run("demo")
    assert demo.exit_code == 0, demo.output
    assert demo.output.startswith("the Kazakhstan separatism dataset: added 2 sources")
