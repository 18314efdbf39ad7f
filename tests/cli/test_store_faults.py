"""Damaged, foreign or unreachable stores: one clear line, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from khronika.cli.main import cli

Run = Callable[..., Result]
COMMANDS = [["timeline"], ["verify"], ["log"], ["init"], ["append", "-"]]


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--as", "tester", *args], input=input)


def clean_error(result: Result, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_of_random_bytes_is_not_a_khronika_store(
    tmp_path: Path, command: list[str]
) -> None:
    store = tmp_path / "random.db"
    store.write_bytes(os.urandom(20_000))
    before = store.read_bytes()
    fact = '{"id": "x", "kind": "other", "when": "2024", "summary": "s", '
    fact += '"sources": [{"source": "s", "locator": "para:1"}]}'
    result = invoke("--store", str(store), *command, input=fact)
    clean_error(result, "not a khronika store, or the store is damaged")
    assert store.read_bytes() == before


@pytest.mark.parametrize("command", COMMANDS[:4])
def test_a_store_truncated_to_half_is_damaged(
    tmp_path: Path, command: list[str]
) -> None:
    store = tmp_path / "k.db"
    assert invoke("--store", str(store), "demo").exit_code == 0
    with closing(sqlite3.connect(store)) as db:  # every page in the file itself,
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as in a copy of it
    with store.open("r+b") as f:
        f.truncate(store.stat().st_size // 2)
    result = invoke("--store", str(store), *command)
    clean_error(result, "store is damaged", "khronika verify")


def test_init_refuses_an_sqlite_database_that_is_not_a_store(tmp_path: Path) -> None:
    other = tmp_path / "notes.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text)")
    before = other.read_bytes()
    result = invoke("--store", str(other), "init")
    clean_error(result, "an SQLite database that is not a khronika store",
                "choose another path")  # fmt: skip
    assert other.read_bytes() == before
    empty = tmp_path / "empty.db"
    empty.touch()
    assert invoke("--store", str(empty), "init").exit_code == 0  # empty is fine


def test_init_where_the_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    result = invoke("--store", str(tmp_path / "a-file" / "k.db"), "init")
    clean_error(result, "a-file is a file, not a folder")


def test_an_empty_store_option_is_an_error(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    result = invoke("--store", "", "init")
    clean_error(result, "--store: is empty")
    assert not (tmp_path / "khronika.db").exists()


@pytest.mark.parametrize("reserved", ["/", "?", "#", "@"])
def test_a_password_with_reserved_characters_never_leaks(reserved: str) -> None:
    url = f"postgresql://ann:zq{reserved}xk7@localhost:5432/chronicle"
    result = invoke("--store", url, "timeline")
    clean_error(result, "percent-encode them", "postgresql://ann@localhost")
    assert "zq" not in result.output and "xk7" not in result.output


def test_a_bad_port_is_a_clear_error() -> None:
    result = invoke("--store", "postgresql://ann:zqxk7@localhost:99999/db", "log")
    clean_error(result, "the port is not a number from 1 to 65535")
    assert "zqxk7" not in result.output


def test_a_server_that_does_not_answer_fails_within_seconds() -> None:
    with socket_closed_port() as port:
        started = time.monotonic()
        result = invoke("--store", f"postgresql://ann:pw@127.0.0.1:{port}/db", "log")
        elapsed = time.monotonic() - started
    clean_error(result, f"nothing listens at 127.0.0.1:{port} (connection refused)")
    assert elapsed < 3  # at once: a refused connection is not retried


class socket_closed_port:
    """A loopback port that nothing listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def immutable_folder(tmp_path: Path) -> Iterator[Path]:
    """A store in a folder nobody, root included, may change (chattr +i)."""
    import subprocess

    folder = tmp_path / "frozen"
    assert invoke("--store", str(folder / "k.db"), "demo").exit_code == 0
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("chattr +i is not allowed here")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize(
    "command", [["entity", "add", "place", "xx", "--name", "XX"], ["log", "-n", "1"]]
)
def test_a_read_only_folder_without_wal_files_is_one_clear_line(
    immutable_folder: Path, command: list[str]
) -> None:
    store = immutable_folder / "k.db"
    before = store.read_bytes()
    result = invoke("--store", str(store), *command)
    clean_error(result, f"{store}: cannot open the store")
    assert store.read_bytes() == before
