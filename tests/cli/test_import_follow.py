"""The views follow an import in a process of their own (projections.follower)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from khronika.cli import write
from khronika.cli.points import store_views
from khronika.domain.documents import EntityDoc
from khronika.projections import schema
from khronika.projections.follower import Follower
from khronika.projections.views import Views, ViewStore
from khronika.store.app import Chronicle
from khronika.store.importer import Importer, read_lines

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from workload import generate, write_facts  # noqa: E402

Run = Callable[..., Result]
CITE = [{"source": "src", "locator": "para:1"}]


def rows(views: ViewStore) -> dict[str, list[Any]]:
    """Every row of every view table, in the order of its primary key."""
    found = {}
    for table in schema.TABLES:
        order = ", ".join((*schema.PRIMARY[table], "recorded_from"))
        found[table] = [
            tuple(r) for r in views.query(f"SELECT * FROM {table} ORDER BY {order}")
        ]
    return found


@pytest.fixture(autouse=True)
def follow_any_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """The views follow every import here, however small its file."""
    monkeypatch.setattr(write, "FOLLOW_FROM", 0)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def test_an_import_leaves_the_views_as_a_rebuild_makes_them(
    run: Run, app: Chronicle, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    generate(first, 1200)
    write_facts(second, [f"more-{i}" for i in range(500)], seed=2)
    with second.open("a") as out:  # versions closed while following
        for fact in ("fact-3", "fact-40", "more-7"):
            retraction = {"type": "retraction", "fact": fact, "reason": "duplicate",
                          "sources": CITE}  # fmt: skip
            out.write(json.dumps(retraction) + "\n")
    ok(run("import", str(first), "--batch-size", "100"))  # into empty views: a load
    ok(run("import", str(second), "--batch-size", "70"))  # into views that hold facts
    views = store_views(app)
    assert views.position() == app.recorder.max_notification_id()
    assert schema.DEFERRED <= views.index_names()  # the load built them at its end
    followed = rows(views)
    assert len(followed["view_facts"]) == 1700 + 3
    retracted = "SELECT COUNT(*) AS n FROM view_facts WHERE retracted = 1"
    assert views.query(retracted)[0]["n"] == 3
    ok(run("projections", "rebuild"))
    assert rows(views) == followed
    views.datastore.close()


def test_a_failed_import_leaves_the_views_whole_and_its_follower_gone(
    run: Run, app: Chronicle, tmp_path: Path
) -> None:
    path = tmp_path / "facts.jsonl"
    generate(path, 600)
    with path.open("a") as out:
        out.write('{"type": "fact", "id": "bad", "kind": "nonsense"}\n')
    result = run("import", str(path), "--batch-size", "100")
    assert result.exit_code == 1 and "line 1103" in result.output, result.output
    views = store_views(app)
    assert schema.DEFERRED <= views.index_names()  # built though the import failed
    assert views.position() <= (app.recorder.max_notification_id() or 0)
    views.datastore.close()
    assert not followers()
    assert ok(run("timeline")).output.endswith("598 facts\n")  # the rest caught up


def test_the_follower_follows_writes_and_ends_with_its_input(
    app: Chronicle, store_path: str, tmp_path: Path
) -> None:
    follower = Follower(store_path)
    path = tmp_path / "facts.jsonl"
    generate(path, 300)
    with path.open("rb") as f:
        Importer(app, "tester", batch_size=50).run(read_lines([("f", f)]))
    assert follower.close() == 0  # once it has projected all there is
    views = store_views(app)
    assert views.position() == app.recorder.max_notification_id()
    views.datastore.close()


@pytest.mark.sqlite_only
def test_the_follower_starts_while_the_importer_writes(
    app: Chronicle, store_path: str, tmp_path: Path
) -> None:
    """It writes nothing on opening. It had created the views' tables and
    indexes there, so rebuilt those a load had just dropped, and met
    "database is locked" when the importer committed between its reading
    and its writing."""
    views = store_views(app)
    assert views.begin_load()  # the indexes a load builds at its end dropped
    writing = threading.Event()

    def write_and_write() -> None:
        with closing(sqlite3.connect(store_path, isolation_level=None)) as db:
            db.execute("CREATE TABLE IF NOT EXISTS scratch (n)")
            while not writing.is_set():  # commits, one after another
                db.execute("INSERT INTO scratch VALUES (1)")

    writer = threading.Thread(target=write_and_write)
    writer.start()
    try:
        follower = Follower(store_path)
        time.sleep(3)  # it opens the store and the views meanwhile
    finally:
        writing.set()
        writer.join()
    path = tmp_path / "facts.jsonl"
    generate(path, 100)
    with path.open("rb") as f:
        Importer(app, "tester").run(read_lines([("f", f)]))
    assert follower.close() == 0
    assert not schema.DEFERRED & views.index_names()  # still dropped
    views.datastore.close()


@pytest.mark.sqlite_only
def test_the_follower_of_an_importer_killed_outright_ends(tmp_path: Path) -> None:
    """Its input ends when the importer dies: it catches up and exits."""
    store = tmp_path / "k.db"
    Chronicle(str(store), create=True).close()
    script = (
        "import os, sys\n"
        "from khronika.projections.follower import Follower\n"
        "f = Follower(sys.argv[1])\n"
        "print(f._process.pid, flush=True)\n"
        "os._exit(0)\n"  # no close(): as if killed
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(store)], capture_output=True, text=True
    )
    pid = int(done.stdout)
    for _ in range(200):
        if not alive(pid):
            break
        time.sleep(0.05)
    assert not alive(pid)


def test_follow_projects_only_where_the_views_stand(app: Chronicle) -> None:
    views = store_views(app)
    views.catch_up(app.read_after)
    start = views.position()
    for name in ("ann", "bob", "cat"):
        app.register_entity(EntityDoc(id=name, kind="person", name=name), "tester")
    events = list(app.read_after(start))
    assert len(events) == 3
    assert not views.follow(events[0][0], events[1:])  # the views stand before
    assert views.position() == start
    assert views.follow(start, events)
    assert views.position() == events[-1][0]
    assert not views.follow(start, events)  # moved on: nothing done twice
    names = "SELECT entity FROM view_entities ORDER BY entity"
    assert [r["entity"] for r in views.query(names)][-3:] == ["ann", "bob", "cat"]
    views.datastore.close()


@pytest.mark.parametrize("store_kind", ["postgres"], indirect=True)
def test_the_follower_follows_a_log_with_gaps_in_its_positions(
    app: Chronicle, store_path: str, tmp_path: Path
) -> None:
    """PostgreSQL's positions skip what a rolled-back insert took (a killed
    import's): the follower had waited for the missing one for ever."""
    import psycopg

    follower = Follower(store_path)
    path = tmp_path / "facts.jsonl"
    generate(path, 100)
    with psycopg.connect(store_path, autocommit=True) as db:
        db.execute(
            "SELECT setval(pg_get_serial_sequence('khronika_events', "
            "'notification_id'), (SELECT MAX(notification_id) + 10 "
            "FROM khronika_events))"
        )
    with path.open("rb") as f:
        Importer(app, "tester", batch_size=50).run(read_lines([("f", f)]))
    positions = [position for position, _ in app.read_after(0)]
    assert any(b - a > 1 for a, b in pairwise(positions))  # a gap
    assert follower.close() == 0
    views = store_views(app)
    assert views.position() == app.recorder.max_notification_id()
    views.datastore.close()


def followers() -> list[int]:
    """Processes of this test's that run a follower."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            status = (entry / "status").read_text()
        except OSError:
            continue
        parent = next(
            (int(s.split()[1]) for s in status.splitlines() if s.startswith("PPid:")),
            0,
        )
        if b"khronika.projections.follower" in line and parent == os.getpid():
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@pytest.mark.sqlite_only
def test_a_load_cut_short_is_finished_by_the_next_catch_up(
    run: Run, app: Chronicle, store_path: str, tmp_path: Path
) -> None:
    """A load leaves the full-text and label tables to its end; if it is
    killed first, the next catch-up fills them, though a writer that opened
    the views meanwhile made their triggers again."""
    path = tmp_path / "facts.jsonl"
    generate(path, 300)
    with path.open("rb") as f:
        Importer(app, "tester").run(read_lines([("f", f)]))
    views = store_views(app)
    assert views.begin_load()
    assert views.follow(views.position(), list(app.read_after(views.position())))
    found = "SELECT COUNT(*) AS n FROM view_facts_fts WHERE view_facts_fts MATCH ?"
    labels = "SELECT COUNT(*) AS n FROM facts"
    assert views.query(found, ['"generated"'])[0]["n"] == 0
    assert views.query(labels)[0]["n"] == 0
    Views(store_path).datastore.close()  # a writer opens them: CREATE TRIGGER
    assert views.catch_up(app.read_after) == 0  # nothing to project: it finishes
    assert views.query(found, ['"generated"'])[0]["n"] == 300
    assert views.query(labels)[0]["n"] == 300
    assert schema.DEFERRED <= views.index_names()
    finished = rows(views)
    ok(run("projections", "rebuild"))
    assert rows(views) == finished
    assert views.query(found, ['"generated"'])[0]["n"] == 300
    views.datastore.close()
