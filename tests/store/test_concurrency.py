"""Concurrent writers and killed imports, on SQLite and on PostgreSQL.

The commands run as real processes (`python -m khronika`, or
concurrency_worker.py where they must start at one moment, read a stale
state or be killed inside a batch), against one store, and the store is
then checked whole: every fact once, the Merkle log sound (`verify`), and
the views equal to a replay of the events.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from khronika.domain.aggregates import Fact, project
from khronika.domain.documents import Citation
from khronika.domain.errors import ConflictError
from khronika.domain.events import (
    Event,
    FactCorrected,
    FactRecorded,
    MaintainerEvent,
)
from khronika.store import attest, signing
from khronika.store import checkpoint as cp
from khronika.store.app import Chronicle
from khronika.store.verify import verify

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from workload import write_catalogue, write_facts  # noqa: E402

WORKER = Path(__file__).with_name("concurrency_worker.py")
SOURCE = "worldcrunch-kz-separatism"
CITE = [Citation(source=SOURCE, locator="para:5")]
TIMEOUT = 300.0  # seconds any one command may take before the test fails


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store location that does not exist yet: a SQLite path or a fresh DB."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_db"))
    return str(tmp_path / "concurrent.db")


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; any still running at the end are killed."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.returncode is None:
            process.kill()
            process.communicate(timeout=TIMEOUT)


def child_env() -> dict[str, str]:
    return os.environ | {"KHRONIKA_USER": "tester"}


def khronika(store: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`khronika --store STORE ARGS...` in a new process, to its end."""
    return subprocess.run(
        [sys.executable, "-m", "khronika", "--store", store, *args],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=TIMEOUT,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stderr}"
    return result.stdout


def start_worker(
    spawned: list[subprocess.Popen[str]],
    tmp_path: Path,
    name: str,
    go: Path,
    args: Sequence[str],
    *options: str,
    config: str | None = None,
) -> tuple[subprocess.Popen[str], Path]:
    """A worker that runs `khronika ARGS` once `go` exists; and its ready file.

    `config` is the maintainer's configuration folder, if not the test's."""
    ready = tmp_path / f"{name}.ready"
    process = subprocess.Popen(
        [sys.executable, str(WORKER), "--ready", str(ready), "--go", str(go),
         *options, "--", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env() | ({"KHRONIKA_CONFIG": config} if config else {}),
    )  # fmt: skip
    spawned.append(process)
    return process, ready


def wait_ready(workers: Sequence[tuple[subprocess.Popen[str], Path]]) -> None:
    """Until every worker has imported khronika and is waiting for `go`."""
    deadline = time.monotonic() + 120
    while not all(ready.exists() for _, ready in workers):
        for process, _ in workers:
            if process.poll() is not None:
                out, err = process.communicate(timeout=TIMEOUT)
                pytest.fail(f"worker {process.args!r} ended early:\n{out}\n{err}")
        assert time.monotonic() < deadline, "workers not ready within 120 s"
        time.sleep(0.01)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Wait for the process (bounded); its exit code, stdout and stderr."""
    out, err = process.communicate(timeout=TIMEOUT)
    return process.returncode, out, err


# ---- reading the store back ----


def recorded_facts(store: str) -> list[str]:
    """The slug of every FactRecorded event, in log order."""
    app = Chronicle(store)
    try:
        return [event.slug for _, event in app.read_events(FactRecorded)]
    finally:
        app.close()


def findings(store: str) -> list[str]:
    app = Chronicle(store)
    try:
        return [str(f) for f in verify(app)]
    finally:
        app.close()


def replayed_fact_versions(store: str) -> list[tuple[str, int]]:
    """(id, version) of every fact, by folding all the events from the first."""
    streams: dict[UUID, list[Event]] = defaultdict(list)
    app = Chronicle(store)
    try:
        for _, event in app.read_after(0):
            if not isinstance(event, MaintainerEvent):  # the registry
                streams[event.originator_id].append(event)
    finally:
        app.close()
    states = [project(None, events) for events in streams.values()]
    return sorted((s.doc.id, s.version) for s in states if isinstance(s, Fact))


def seed_one_fact(store: str, make: Any, maintainers: Sequence[str] = ()) -> str:
    """A new store with a source, a person, the code and one fact; its slug.

    The store's first admin is "tester"; each of `maintainers` is registered
    too, with a key in the configuration folder $KHRONIKA_CONFIG-NAME.
    """
    app = Chronicle(store, create=True)
    attest.ensure_key(app)
    attest.begin_signing(app, "tester")
    app.hand = attest.load_hand()
    for name in maintainers:
        key = signing.new_key(name, Path(f"{os.environ['KHRONIKA_CONFIG']}-{name}")
                              / "maintainer.key")  # fmt: skip
        app.add_maintainer(name, cp.load_verifier(key.with_suffix(".pub")), "admin")
    try:
        app.add_source(make.source(), "tester")
        app.register_entity(make.entity("tatyana-serebryakova"), "tester")
        law = make.entity(
            "kz-criminal-code-2014",
            "law",
            articles=[{"number": "180", "title": "Separatist activity"}],
        )
        app.register_entity(law, "tester")
        slug: str = app.append_fact(make.fact(), "ann").slug
        return slug
    finally:
        app.close()


# ---- 1. four processes append at once ----

WRITERS = 4
PER_WRITER = 5_000


@pytest.mark.slow
def test_four_processes_importing_at_once_store_every_fact_once(
    store_url: str, tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    catalogue = tmp_path / "catalogue.jsonl"
    write_catalogue(catalogue)
    ok(khronika(store_url, "init"))
    ok(khronika(store_url, "import", str(catalogue)))
    files, expected = [], []
    for w in range(WRITERS):
        ids = [f"w{w}-fact-{i}" for i in range(PER_WRITER)]
        files.append(tmp_path / f"facts-{w}.jsonl")
        write_facts(files[-1], ids, seed=w)
        expected += ids

    go = tmp_path / "go"
    workers = [
        start_worker(spawned, tmp_path, f"writer-{w}", go,
                     ["--store", store_url, "import", str(file)])
        for w, file in enumerate(files)
    ]  # fmt: skip
    wait_ready(workers)
    go.touch()
    for process, _ in workers:
        code, out, err = finish(process)
        assert code == 0, f"{process.args!r} exited {code}:\n{out}\n{err}"
        assert f"added {PER_WRITER} facts" in out

    counts = Counter(recorded_facts(store_url))
    assert len(counts) == WRITERS * PER_WRITER
    assert set(counts) == set(expected)
    assert [slug for slug, n in counts.items() if n != 1] == []
    assert findings(store_url) == []
    replayed = replayed_fact_versions(store_url)
    assert len(replayed) == WRITERS * PER_WRITER
    timeline = json.loads(ok(khronika(store_url, "timeline", "--format", "json")))
    viewed = sorted((f["id"], f["version"]) for f in timeline["facts"])
    assert len(viewed) == WRITERS * PER_WRITER
    assert viewed == replayed


# ---- 1b. the views, read while others write and by several readers at once ----


def import_facts(store: str, tmp_path: Path, ids: Sequence[str]) -> None:
    """A new store with the catalogue and these facts, by the CLI."""
    catalogue, facts = tmp_path / "catalogue.jsonl", tmp_path / "facts.jsonl"
    write_catalogue(catalogue)
    write_facts(facts, ids, seed=7)
    ok(khronika(store, "init"))
    ok(khronika(store, "import", str(catalogue)))
    if ids:
        ok(khronika(store, "import", str(facts)))


@pytest.mark.slow
def test_views_caught_up_while_two_processes_import_miss_no_fact(
    store_url: str, tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    """A reader brings the views up to date again and again mid-import."""
    import_facts(store_url, tmp_path, ["before-0"])
    go = tmp_path / "go"
    workers = []
    for w in range(2):
        file = tmp_path / f"facts-{w}.jsonl"
        write_facts(file, [f"w{w}-fact-{i}" for i in range(PER_WRITER)], seed=w)
        workers.append(
            start_worker(spawned, tmp_path, f"writer-{w}", go,
                         ["--store", store_url, "import", str(file)])
        )  # fmt: skip
    wait_ready(workers)
    go.touch()
    reads = 0
    while reads < 20 and any(p.poll() is None for p, _ in workers):
        ok(khronika(store_url, "timeline", "--format", "json", "--limit", "1"))
        reads += 1
    for process, _ in workers:
        code, out, err = finish(process)
        assert code == 0, f"{process.args!r} exited {code}:\n{out}\n{err}"

    replayed = replayed_fact_versions(store_url)
    assert len(replayed) == 1 + 2 * PER_WRITER
    timeline = json.loads(ok(khronika(store_url, "timeline", "--format", "json")))
    assert sorted((f["id"], f["version"]) for f in timeline["facts"]) == replayed


READERS = 3


def read_at_once(
    store: str, tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> list[tuple[int, str, str]]:
    """`khronika timeline --format json` in READERS processes at one moment."""
    go = tmp_path / "go"
    workers = [
        start_worker(spawned, tmp_path, f"reader-{r}", go,
                     ["--store", store, "timeline", "--format", "json"])
        for r in range(READERS)
    ]  # fmt: skip
    wait_ready(workers)
    go.touch()
    return [finish(process) for process, _ in workers]


def test_readers_creating_the_views_at_once_all_succeed(
    store_url: str, tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    """The first reads of a new store each find the views missing."""
    import_facts(store_url, tmp_path, [f"fact-{i}" for i in range(100)])
    results = read_at_once(store_url, tmp_path, spawned)
    assert [code for code, _, _ in results] == [0] * READERS, [
        err for _, _, err in results
    ]
    replayed = replayed_fact_versions(store_url)
    for _, out, _ in results:
        facts = json.loads(out)["facts"]
        assert sorted((f["id"], f["version"]) for f in facts) == replayed


@pytest.mark.slow
def test_readers_bringing_the_views_up_to_date_at_once_all_succeed(
    store_url: str, tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    """The first reads after an import each catch the views up, concurrently."""
    import_facts(store_url, tmp_path, [])
    ok(khronika(store_url, "timeline", "--limit", "1"))  # the views exist
    facts = tmp_path / "more.jsonl"
    write_facts(facts, [f"fact-{i}" for i in range(5_000)], seed=8)
    ok(khronika(store_url, "import", str(facts)))
    results = read_at_once(store_url, tmp_path, spawned)
    assert [code for code, _, _ in results] == [0] * READERS, [
        err for _, _, err in results
    ]
    replayed = replayed_fact_versions(store_url)
    assert len(replayed) == 5_000
    for _, out, _ in results:
        listed = json.loads(out)["facts"]
        assert sorted((f["id"], f["version"]) for f in listed) == replayed


# ---- 2. two maintainers correct the same fact at once ----


def test_two_corrections_of_one_version_one_wins_the_other_conflicts(
    store_url: str, make: Any
) -> None:
    slug = seed_one_fact(store_url, make, ["ann", "bob"])
    ann, bob = Chronicle(store_url), Chronicle(store_url)
    for app, name in ((ann, "ann"), (bob, "bob")):
        config = Path(f"{os.environ['KHRONIKA_CONFIG']}-{name}")
        app.hand = signing.Hand(name, cp.load_signer(config / "maintainer.key"))
    try:
        stale = bob.get(Fact, slug)
        assert ann.get(Fact, slug).version == stale.version == 1
        ann.correct(slug, {"summary": "By ann."}, "r", CITE, "ann")
        bob.get = lambda cls, slug: stale  # type: ignore[method-assign,assignment,return-value]
        with pytest.raises(ConflictError, match=r"now at version 2\)") as lost:
            bob.correct(slug, {"summary": "By bob."}, "r", CITE, "bob")
        assert lost.value.current_version == 2
        history = [event for _, event in ann.history("fact", slug)]
    finally:
        ann.close()
        bob.close()
    assert [type(e) for e in history] == [FactRecorded, FactCorrected]
    assert [e.originator_version for e in history] == [1, 2]
    assert isinstance(history[1], FactCorrected)
    assert history[1].changes == {"summary": "By ann."}
    assert history[1].recorded_by == "ann"
    assert findings(store_url) == []


def test_two_processes_correcting_one_version_at_once_one_exits_1(
    store_url: str, make: Any, tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    slug = seed_one_fact(store_url, make, ["ann", "bob"])
    go = tmp_path / "go"
    workers = {
        name: start_worker(
            spawned, tmp_path, name, go,
            ["--store", store_url, "correct", slug,
             "--set", f"summary=By {name}.", "--reason", f"{name} checked it",
             "--source", f"{SOURCE}@para:5"],
            "--stale-store", store_url, "--stale-fact", slug,
            config=f"{os.environ['KHRONIKA_CONFIG']}-{name}",
        )
        for name in ("ann", "bob")
    }  # fmt: skip
    wait_ready(list(workers.values()))
    go.touch()
    results = {name: finish(process) for name, (process, _) in workers.items()}

    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 1], results
    (winner,) = [name for name, (code, _, _) in results.items() if code == 0]
    (_, _, err) = next(r for r in results.values() if r[0] == 1)
    assert "was changed by someone else" in err
    assert "now at version 2)" in err
    app = Chronicle(store_url)
    try:
        history = [event for _, event in app.history("fact", slug)]
    finally:
        app.close()
    assert [e.originator_version for e in history] == [1, 2]
    assert isinstance(history[1], FactCorrected)
    assert history[1].changes == {"summary": f"By {winner}."}
    assert history[1].recorded_by == winner
    assert findings(store_url) == []


# ---- 3. SIGKILL during a bulk import, 20 times ----

KILL_FACTS = 20_000
KILL_BATCH = 500
KILL_ROUNDS = 20


def wait_for_mark(
    process: subprocess.Popen[str], marks: Path, mark: str, within: float
) -> None:
    """Until `mark` starts a line of `marks` or the process has ended."""
    deadline = time.monotonic() + within
    while process.poll() is None and time.monotonic() < deadline:
        if marks.exists() and any(
            line.startswith(mark) for line in marks.read_text().splitlines()
        ):
            return
        time.sleep(0.001)


@pytest.mark.slow
def test_an_import_killed_twenty_times_leaves_whole_batches_in_file_order(
    store_url: str, tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    """Each kill lands at a random point, mostly while a batch is written.

    A round kills the import either after a random delay from its start
    (0.05-0.5 s: start-up, skipping what is there, the first batches) or a
    random 0-50 ms after its 1st, 2nd or 3rd new batch began to be written
    (inside or just after that batch's transaction). Rounds resume where
    the last left off, as a maintainer would.
    """
    catalogue, facts = tmp_path / "catalogue.jsonl", tmp_path / "facts.jsonl"
    write_catalogue(catalogue)
    ids = [f"fact-{i}" for i in range(KILL_FACTS)]
    write_facts(facts, ids, seed=3)
    ok(khronika(store_url, "init"))
    ok(khronika(store_url, "import", str(catalogue)))

    rng = random.Random(20240613)
    command = ["--store", store_url, "import", str(facts),
               "--batch-size", str(KILL_BATCH)]  # fmt: skip
    inside = 0  # kills that came between a batch's "begin" and "end" marks
    for n in range(KILL_ROUNDS):
        marks, go = tmp_path / f"marks-{n}", tmp_path / f"go-{n}"
        batch, delay = rng.randint(0, 3), rng.uniform(0.0, 0.05)
        if batch == 0:
            delay = rng.uniform(0.05, 0.5)
        worker = start_worker(
            spawned, tmp_path, f"import-{n}", go, command, "--marks", str(marks)
        )
        process = worker[0]
        wait_ready([worker])
        go.touch()
        if batch:
            wait_for_mark(process, marks, f"begin {batch} ", within=TIMEOUT)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        code, out, err = finish(process)
        assert code in (-signal.SIGKILL, 0), f"round {n} exited {code}:\n{err}"
        lines = marks.read_text().splitlines() if marks.exists() else []
        if lines and lines[-1].startswith("begin"):
            inside += 1

        present = recorded_facts(store_url)
        count = len(present)
        assert count % KILL_BATCH == 0 or count == KILL_FACTS, (
            f"round {n}: {count} facts stored, not whole batches of {KILL_BATCH}"
        )
        assert present == ids[:count], f"round {n}: not the file's first {count}"
        assert findings(store_url) == [], f"round {n}"
    stored = len(recorded_facts(store_url))
    print(f"{inside} of {KILL_ROUNDS} kills mid-batch; the imports stored {stored}")

    ok(khronika(store_url, "import", str(facts), "--batch-size", str(KILL_BATCH)))
    counts = Counter(recorded_facts(store_url))
    assert len(counts) == KILL_FACTS
    assert set(counts) == set(ids)
    assert [slug for slug, n in counts.items() if n != 1] == []
    assert findings(store_url) == []
