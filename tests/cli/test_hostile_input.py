"""Hostile arguments on every command: one clear line, non-zero exit, no
traceback, and nothing written."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronika.cli.main import cli
from khronika.domain.events import FactRetracted
from khronika.store.app import Chronicle

FACT = "serebryakova-verdict-2023"
CITE = "worldcrunch-kz-separatism@para:5"
Invoke = Callable[..., Result]


def _invoke(*args: str, input: str | bytes | None = None) -> Result:
    """Run the CLI catching everything, so a traceback is a failed assertion."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)


def _clean(result: Result) -> None:
    """The command failed with a message, not with an exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (1, 2), result.output
    assert "Error:" in result.output


@pytest.fixture
def store(seeded: Chronicle, store_path: str, make: Any, tmp_path: Path) -> str:
    """The seeded store with one fact and a signed checkpoint file."""
    path = tmp_path / "fact.json"
    data = make.fact_data()
    data.pop("details")
    path.write_text(json.dumps(data))
    assert _invoke("append", str(path)).exit_code == 0
    assert _invoke("key", "rotate", "--reason", "its first key").exit_code == 0
    assert _invoke("checkpoint", "--out", str(tmp_path / "cp.txt")).exit_code == 0
    return store_path


def _fact_file(tmp_path: Path, make: Any, **changes: Any) -> str:
    data = make.fact_data(**changes)
    data.pop("details")
    path = tmp_path / "new.json"
    path.write_text(json.dumps(data))
    return str(path)


def _retract(reason: str) -> list[str]:
    return ["retract", FACT, "--reason", reason, "--source", CITE]


def _correct(*sets: str, reason: str = "r") -> list[str]:
    args = ["correct", FACT, "--reason", reason, "--source", CITE]
    for s in sets:
        args += ["--set", s]
    return args


# (arguments, part of the message); {tmp} is the test's directory.
CASES: dict[str, tuple[list[str], str]] = {
    "newline in --reason": (_retract("wrong\nevent 99  fact x"), "must be one line"),
    "escape in --reason": (_retract("wrong \x1b[2J"), "holds U+001B"),
    "blank --reason": (_retract("   "), "reason"),
    "long --reason": (_retract("x" * 1001), "at most 1000"),
    "bidi in --reason": (_retract("\u202ewrong"), "holds U+202E"),
    "newline in --as": (["--as", "ann\nevent 1", *_retract("r")], "must be one line"),
    "blank --as": (["--as", "", *_retract("r")], "--as"),
    "spaces --as": (["--as", "  ", *_retract("r")], "is blank"),
    "escape in --as": (["--as", "\x1b]0;x\x07", *_retract("r")], "holds U+001B"),
    "long --as": (["--as", "a" * 101, *_retract("r")], "at most 100"),
    "newline in --unchecked": (
        [*_retract("r"), "--unchecked", "a\nb"],
        "must be one line",
    ),
    "blank --unchecked": ([*_retract("r"), "--unchecked", " "], "is blank"),
    "escape in --quote": ([*_retract("r"), "--quote", "a\x9b2J"], "quote"),
    "newline in --quote": ([*_retract("r"), "--quote", "a\nb"], "quote"),
    "newline in a locator": (
        ["retract", FACT, "--reason", "r", "--source", CITE + "\n"],
        "locator",
    ),
    "blank summary": (_correct("summary=   "), "summary"),
    "escape in summary": (_correct("summary=a\x1b[2Jb"), "summary"),
    "nan measurement": (
        _correct(
            "kind=measurement",
            'details={"type": "measurement", "quantity": "q", "value": NaN}',
        ),
        "details.value: must be a finite number",
    ),
    "deep JSON in --set": (_correct("participants=" + "[" * 100_000), "too deeply"),
    "newline in an alias": (
        ["entity", "alias", "tatyana-serebryakova", "T\nS"],
        "must be one line",
    ),
    "bidi in an alias": (
        ["entity", "alias", "tatyana-serebryakova", "\u202eavokayrbereS"],
        "holds U+202E",
    ),
    "long alias": (["entity", "alias", "tatyana-serebryakova", "a" * 301], "300"),
    "blank alias": (["entity", "alias", "tatyana-serebryakova", " "], "is blank"),
    "escape in a new name": (
        ["entity", "rename", "tatyana-serebryakova", "T\x1b[31mS"],
        "holds U+001B",
    ),
    "newline in a rename reason": (
        ["entity", "rename", "tatyana-serebryakova", "T S", "--reason", "a\nb"],
        "must be one line",
    ),
    "empty merge reason": (
        [
            "entity",
            "merge",
            "tatyana-serebryakova",
            "kz-criminal-code-2014",
            "--reason",
            "",
        ],
        "reason: is blank",
    ),  # fmt: skip
    "id with a trailing newline": (
        ["entity", "add", "person", "andrei-astakhov\n", "--name", "A"],
        "id",
    ),
    "escape in an entity name": (
        ["entity", "add", "person", "andrei-astakhov", "--name", "A\x1b[2J"],
        "name",
    ),
    "newline in a name": (
        ["entity", "add", "person", "andrei-astakhov", "--name", "A\nB"],
        "name",
    ),
    "control in a source title": (
        [
            "source",
            "add",
            "s2",
            "--title",
            "t\x07",
            "--publisher",
            "p",
            "--url",
            "https://x.org/",
            "--published",
            "2024",
        ],
        "title",
    ),  # fmt: skip
    "newline after a URL": (
        [
            "source",
            "add",
            "s2",
            "--title",
            "t",
            "--publisher",
            "p",
            "--url",
            "https://x.org/\n",
            "--published",
            "2024",
        ],
        "url",
    ),  # fmt: skip
    "escape in a URL": (
        [
            "source",
            "add",
            "s2",
            "--title",
            "t",
            "--publisher",
            "p",
            "--url",
            "https://x.org/\x1b]8;;",
            "--published",
            "2024",
        ],
        "url",
    ),  # fmt: skip
    "newline after a language": (
        [
            "source",
            "add",
            "s2",
            "--title",
            "t",
            "--publisher",
            "p",
            "--url",
            "https://x.org/",
            "--published",
            "2024",
            "--language",
            "en\n",
        ],
        "language",
    ),  # fmt: skip
    "known-at before year 1 in UTC": (
        ["timeline", "--known-at", "0001-01-01T00:00:00+01:00"],
        "outside the calendar",
    ),
    "known-at after 9999 in UTC": (
        ["timeline", "--known-at", "9999-12-31T23:59:59-01:00"],
        "outside the calendar",
    ),
    "known-at on fact": (
        ["fact", FACT, "--known-at", "0001-01-01T00:00:00+01:00"],
        "outside the calendar",
    ),
    "limit 2**70": (["timeline", "--limit", str(2**70)], "--limit"),
    "offset 2**70": (["timeline", "--offset", str(2**70)], "--offset"),
    "log limit 2**70": (["log", "--limit", str(2**70)], "--limit"),
    "superscript position": (
        ["prove", "\u00b2", "--checkpoint", "{tmp}/cp.txt"],
        "unknown fact",
    ),
    "huge position": (
        ["prove", str(2**70), "--checkpoint", "{tmp}/cp.txt"],
        "unknown event at position",
    ),
    "endless document": (["append", "/dev/zero"], "larger than 1,000,000 bytes"),
    "endless import line": (["import", "/dev/zero"], "longer than 1,000,000 bytes"),
    "endless stdin": (["append", "-"], "larger than 1,000,000 bytes"),
}
STDIN = {"endless stdin": b"{" + b" " * 1_000_001}


@pytest.mark.parametrize("case", CASES)
def test_hostile_arguments_are_refused_cleanly_and_write_nothing(
    case: str, store: str, make: Any, tmp_path: Path
) -> None:
    args, message = CASES[case]
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    before = make.dump(store)
    result = _invoke(*args, input=STDIN.get(case))
    _clean(result)
    assert message in result.output, result.output
    assert make.dump(store) == before


def test_an_id_with_a_trailing_newline_is_not_a_second_fact(
    store: str, make: Any, tmp_path: Path
) -> None:
    before = make.dump(store)
    path = _fact_file(tmp_path, make, id=FACT + "\n", summary="Acquitted.")
    result = _invoke("append", path)
    _clean(result)
    assert "id:" in result.output
    assert make.dump(store) == before


def test_offset_without_limit_skips_facts(
    store: str, make: Any, tmp_path: Path
) -> None:
    second = _fact_file(tmp_path, make, id="later-verdict", when="2024-01-01")
    assert _invoke("append", second).exit_code == 0
    everything = json.loads(_invoke("timeline", "--format", "json").output)
    skipped = json.loads(
        _invoke("timeline", "--offset", "1", "--format", "json").output
    )
    assert [f["id"] for f in everything["facts"]] == [FACT, "later-verdict"]
    assert [f["id"] for f in skipped["facts"]] == ["later-verdict"]


def test_multi_line_text_in_the_log_never_starts_a_line_of_its_own(
    store: str, make: Any, tmp_path: Path
) -> None:
    """A store written by an older version may hold a reason with newlines;
    a summary may hold them today. Neither can pass for an entry."""
    app = Chronicle(store)
    fact = app.history("fact", FACT)[-1][1]
    forged = "Misread.\nevent 99  fact forged  v1  FactRecorded\nRecorded: x"
    event = FactRetracted(
        originator_id=fact.originator_id, originator_version=2,
        timestamp=fact.timestamp, recorded_by="older\nevent 98  fact by",
        slug=FACT, reason=forged, sources=[],
    )  # fmt: skip
    app.save(event)  # as an older version could have, unchecked
    app.close()
    path = _fact_file(tmp_path, make, id="multi-line", summary="One.\nevent 97  x")
    assert _invoke("append", path).exit_code == 0
    output = _invoke("log", "--oldest-first").output
    entries = [line for line in output.splitlines() if line.startswith("event ")]
    assert len(entries) == len(make.dump(store)) - 1  # every event, no more
    assert all(" forged " not in e and "97" not in e for e in entries)
    assert "\n          event 99  fact forged" in output
    assert "\n          event 97  x" in output


# ---- every command, every parameter, hostile values ----
HOSTILE = [
    "", " ", "\n", "x\n", "\x1b[2J", "\x1b]0;t\x07", "\u202e", "\x9b", "\x00",
    "\u00b2", str(2**70), "-" + str(2**70), "-1", "0", "nan", "[" * 5000,
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "../", "/dev/zero",
    "a" * 5000, "[/b]", "%s%n", "'; DROP TABLE stored_events; --",
]  # fmt: skip
# Valid values too, so that calls get past the first check to the later ones.
VALID = [FACT, "tatyana-serebryakova", "worldcrunch-kz-separatism", CITE, "r",
         "summary=New.", "2023", "1"]  # fmt: skip
SKIP_COMMANDS = {"demo", "init", "migrate", "serve"}  # serve runs until stopped;
# its parameters are fuzzed through the API (tests/web/test_fuzz.py)
FILES = {"file": "fact.json", "path": "fact.json"}  # they make stores where told


def _commands(group: click.Group, prefix: list[str]) -> Iterator[tuple[list[str], Any]]:
    for name, command in sorted(group.commands.items()):
        if name in SKIP_COMMANDS:
            continue
        if isinstance(command, click.Group):
            yield from _commands(command, [*prefix, name])
        else:
            yield [*prefix, name], command


COMMANDS = list(_commands(cli, []))


@st.composite
def _hostile_calls(draw: st.DrawFn) -> list[str]:
    path, command = draw(st.sampled_from(COMMANDS))
    args = list(path)
    for param in command.params:
        if isinstance(param.type, click.Path):
            # Unreadable and unwritable paths are issue 9's "store-opening
            # faults" and audit work, tested there; given here, they would
            # only fail this test until that work is merged.
            if param.required:
                args += [] if isinstance(param, click.Argument) else [param.opts[0]]
                args.append(str(FILES.get(param.name or "", "missing.txt")))
            continue
        if not param.required and not draw(st.booleans()):
            continue
        count = param.nargs if param.nargs > 0 else 1
        if isinstance(param, click.Option):
            if param.is_flag:
                args.append(param.opts[0])
                continue
            args.append(param.opts[0])
        args += [draw(st.sampled_from(HOSTILE + VALID)) for _ in range(count)]
    return args


@pytest.mark.sqlite_only  # argument handling is the same on both; and the
# PostgreSQL pool's threads draw on `random`, which hypothesis refuses
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(args=_hostile_calls())
def test_no_command_prints_a_traceback_for_hostile_arguments(
    store: str, args: list[str]
) -> None:
    result = _invoke(*args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args!r}: {type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize("padded", ["2023 ", " 2023", "2023\u00a0", "2023\u3000"])
def test_a_date_with_white_space_around_it_is_refused_naming_its_field(
    padded: str, store: str, make: Any, tmp_path: Path
) -> None:
    """As a trailing newline is: the padding would be stored as written."""
    anchored = {"edtf": "2023", "wording": "that year", "anchor": padded}
    cases: list[tuple[str, Callable[[], list[str]]]] = [
        ("when", lambda: ["append", _fact_file(tmp_path, make, id="x", when=padded)]),
        ("when.anchor",
         lambda: ["append", _fact_file(tmp_path, make, id="x", when=anchored)]),
        ("when", lambda: _correct(f"when={padded}")),
        ("published", lambda: ["source", "add", "s2", "--title", "t", "--publisher",
                               "p", "--url", "https://x.org/", "--published",
                               padded]),
    ]  # fmt: skip
    before = make.dump(store)
    for field, args in cases:
        result = _invoke(*args())
        _clean(result)
        assert f"{field}: '2023' has white space around it" in result.output
        assert make.dump(store) == before


DEEP = "[" * 100_000 + "]" * 100_000


def _deep(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text('{"type": "fact", "id": ' + DEEP + "}\n")
    (tmp_path / "deep.toml").write_text("a = " + DEEP + "\n")
    (tmp_path / "rows.csv").write_text("x,y\n1,2\n")


def _folder_for_facts(tmp_path: Path) -> None:
    (tmp_path / "bundle" / "facts.jsonl").mkdir(parents=True)
    (tmp_path / "bundle" / "sources.jsonl").write_text("")


# (arguments, set-up, the one line of the message)
FAULTS: dict[str, tuple[list[str], Callable[[Path], None], str]] = {
    "deeply nested document": (
        ["append", "{tmp}/deep.json"], _deep, "document: is nested more than 64 deep"),
    "deeply nested import line": (
        ["import", "{tmp}/deep.json"], _deep,
        "deep.json line 1: document: is nested more than 64 deep"),
    "deeply nested mapping": (
        ["import", "{tmp}/rows.csv", "--mapping", "{tmp}/deep.toml"], _deep,
        "deep.toml: is nested too deeply"),
    "facts.jsonl a folder": (
        ["import", "{tmp}/bundle"], _folder_for_facts,
        "bundle/facts.jsonl: is not a file: a bundle's parts are JSON Lines files"),
    "export onto a device": (
        ["export", "/dev/null"], lambda _: None,
        "/dev/null is not a folder; choose a new directory"),
    "search not UTF-8": (
        ["timeline", "--search", b"\xff".decode("utf-8", "surrogateescape")],
        lambda _: None, "search: holds U+DCFF at position 1"),
    "search of 100,000 characters": (
        ["timeline", "--search", "x" * 100_000], lambda _: None,
        "search: is 100000 characters long; at most 300 allowed"),
}  # fmt: skip


@pytest.mark.parametrize("case", FAULTS)
def test_faults_give_one_line_and_exit_1(
    case: str, store: str, make: Any, tmp_path: Path
) -> None:
    args, setup, message = FAULTS[case]
    setup(tmp_path)
    before = make.dump(store)
    result = _invoke(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    _clean(result)
    assert result.exit_code == 1
    first, *rest = result.output.splitlines()
    assert first.startswith("Error: ") and message in first, result.output
    assert not rest or case == "deeply nested import line", result.output
    assert make.dump(store) == before


@pytest.mark.parametrize("text", ["50%", "a_b"])
def test_search_takes_percent_and_underscore_as_themselves(
    store: str, make: Any, tmp_path: Path, text: str
) -> None:
    path = _fact_file(tmp_path, make, id="literal", summary=f"It rose by {text}.")
    assert _invoke("append", path).exit_code == 0
    other = _fact_file(tmp_path, make, id="other", summary="It rose by 500 and ab.")
    assert _invoke("append", other).exit_code == 0
    found = json.loads(_invoke("timeline", "--search", text, "--format", "json").output)
    assert [f["id"] for f in found["facts"]] == ["literal"]
    assert [f["id"] for f in json.loads(_invoke(
        "timeline", "--search", text[0] + "%" + text[-1], "--format", "json"
    ).output)["facts"]] == []  # fmt: skip


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (OSError(28, "No space left on device", "out/facts.jsonl"),
         "Error: No space left on device (out/facts.jsonl)"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
         "Error: text that is not UTF-8: 'utf-8' codec can't decode byte 0xff"),
        (RecursionError("maximum recursion depth exceeded"),
         "Error: input nested too deeply to read"),
    ],
)  # fmt: skip
def test_the_cli_boundary_turns_unforeseen_faults_into_one_line(
    store: str, monkeypatch: pytest.MonkeyPatch, error: Exception, line: str
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr("khronika.projections.queries.timeline", fail)
    result = _invoke("timeline")
    _clean(result)
    assert result.exit_code == 1
    assert result.output.startswith(line) and result.output.count("\n") == 1


def _special(tmp_path: Path, name: str) -> str:
    """A FIFO, or a sparse file larger than every cap, named `name`."""
    path = tmp_path / name
    if name == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "wb") as f:
            f.truncate(100_000_001)
    return str(path)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("/dev/zero", "is a device, not a regular file"),
     ("fifo", "is a FIFO, not a regular file"),
     ("huge", "is larger than 100,000,000 bytes, the most a archived copy may be")],
)  # fmt: skip
def test_an_archived_copy_is_read_only_from_a_regular_file_within_its_cap(
    store: str, make: Any, tmp_path: Path, name: str, problem: str
) -> None:
    path = name if name.startswith("/") else _special(tmp_path, name)
    before = make.dump(store)
    for args in (
        ["source", "attach", "worldcrunch-kz-separatism", path],
        ["source", "add", "s2", "--title", "t", "--publisher", "p", "--url",
         "https://x.org/", "--published", "2024", "--file", path],
    ):  # fmt: skip
        result = _invoke(*args)
        _clean(result)
        assert result.output == f"Error: archived copy {path} {problem}\n"
    assert make.dump(store) == before


@pytest.mark.parametrize("name", ["/dev/zero", "fifo", "huge"])
def test_a_private_key_is_read_only_from_a_small_regular_file(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    path = name if name.startswith("/") else _special(tmp_path, name)
    monkeypatch.setenv("KHRONIKA_KEY", path)
    result = _invoke("checkpoint")
    _clean(result)
    *warnings, line = result.output.splitlines()  # a warning on its mode first
    assert line.startswith(f"Error: private key {path} is ")
    assert all(w.startswith("warning: ") for w in warnings)


WRITTEN = [["checkpoint"], ["prove", "serebryakova-verdict-2023", "--checkpoint"]]


@pytest.mark.parametrize("command", WRITTEN, ids=["checkpoint", "proof"])
def test_a_file_written_onto_a_full_disk_is_not_left_behind(
    demo: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    """The disk fills as the file is synced: neither a part of it nor the
    scratch file stays, and the file written before is kept whole."""
    cp = tmp_path / "cp.txt"
    assert demo("checkpoint", "--out", str(cp)).exit_code == 0
    if command[-1] == "--checkpoint":
        command = [*command, str(cp)]
    out = tmp_path / "out.txt"
    assert demo(*command, "--out", str(out)).exit_code == 0
    before = out.read_bytes()

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    result = demo(*command, "--out", str(out))
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write the ")
    assert result.output.endswith(f" to {out}: No space left on device\n")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if "out.txt" in p.name) == [
        "out.txt"
    ]


def test_a_file_written_through_a_link_keeps_the_link_and_a_file_its_mode(
    demo: Callable[..., Result], tmp_path: Path
) -> None:
    published = tmp_path / "pub"
    published.mkdir()
    link = tmp_path / "cp.txt"
    link.symlink_to(published / "real.txt")
    assert demo("checkpoint", "--out", str(link)).exit_code == 0
    assert link.is_symlink() and (published / "real.txt").read_text().count("\n") > 3
    kept = tmp_path / "private.txt"
    kept.write_text("old")
    kept.chmod(0o600)
    assert demo("checkpoint", "--out", str(kept)).exit_code == 0
    assert kept.stat().st_mode & 0o777 == 0o600 and kept.read_text() != "old"
