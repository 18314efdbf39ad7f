"""Checking that nobody rewrote the log: events, tree, checkpoints, copies.

The events and the tree are checked a range of leaves at a time
(khronika.store.verify_range): in this process for a small log, and for a
large one also in worker processes, one per further core, each with its own
read-only connection. This process takes ranges from the front of the log
and the workers from the back, so none waits for another to start; the
ranges' subtree roots are then combined, in order, into the nodes above
them, each stored one (every 8th level: a hash of a tlog-tiles tile) compared
with its recomputed hash. The first finding by position is
the one a single pass would name. Memory stays within a block of leaves per
process and a few hashes per range, whatever the size of the log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from eventsourcing.persistence import OperationalError

from khronika.domain.errors import StoreError
from khronika.domain.events import SourceAdded, SourceCopyAttached
from khronika.store import copies, integrity, merkle
from khronika.store import location as loc
from khronika.store.app import Chronicle
from khronika.store.attest import origin
from khronika.store.checkpoint import Checkpoint
from khronika.store.ledger import MAGIC, TILES_TABLE
from khronika.store.signing import Signatures, check_seals
from khronika.store.verify_range import (
    BLOCK,
    Finding,
    Node,
    Outcome,
    Reader,
    Source,
    Task,
    Tree,
    check,
    open_reader,
    push,
    receive,
    send,
)

__all__ = ["Finding", "verify"]

PREFIX = b"\x00" + MAGIC  # every leaf's hash input begins so
# leaves; below, a worker costs more than it saves (it starts in some 50 ms,
# and in some 350 ms when it imports psycopg)
PARALLEL_FROM = {"sqlite": 1 << 15, "postgres": 1 << 16}
RANGES_PER_PROCESS = 4  # so that a process that started late still gets a share


def verify(
    app: Chronicle,
    checkpoints: Sequence[Checkpoint] = (),
    on_progress: Callable[[int], None] | None = None,
    *,
    processes: int | None = None,
    span: int | None = None,
    seen: list[Signatures] | None = None,
) -> list[Finding]:
    """Recompute every leaf from the stored events and compare; [] if all holds.

    `processes` (this one included) defaults to the cores for a large log and
    1 for a small one; `span`, the leaves of a range (a power of two), to a
    share of the log fit for that many processes. `seen` gets who signed.
    """
    damaged = integrity.damage(app.location)
    if damaged is not None:
        raise StoreError(
            f"{loc.describe(app.location)}: the store file is damaged: {damaged}. "
            "Restore it from a backup, or import a release into a new store; "
            "do not write to it meanwhile"
        )
    size = app.store.tree_size()
    if processes is None:
        backend = "postgres" if loc.is_postgres(app.location) else "sqlite"
        processes = (os.cpu_count() or 1) if size >= PARALLEL_FROM[backend] else 1
    processes = max(processes, 1)
    if span is None:
        share = max(size // (processes * RANGES_PER_PROCESS), 1)
        span = max(BLOCK, 1 << (share.bit_length() - 1)) if processes > 1 else 0
        span = span or 1 << max(size - 1, 1).bit_length()  # one range
    if span < 1 or span & (span - 1):
        raise ValueError(f"a range's leaves must be a power of two, not {span}")
    source = _source(app)
    try:
        reader = open_reader(source)
        try:
            found = _log(reader, source, size, span, processes, on_progress)
        finally:
            reader.close()
    except _driver_errors(source) as e:  # as eventsourcing says it, to the CLI
        raise OperationalError(str(e)) from e
    if found is not None:
        return [found]
    signed = signatures(app)
    if seen is not None:
        seen.append(signed)
    if signed.finding is not None:
        return [signed.finding]
    findings: list[Finding] = []
    for checkpoint in checkpoints:
        findings += _origin(app, checkpoint) or _against(app, checkpoint, size)
    findings += _copies(app)
    return findings


def signatures(app: Chronicle) -> Signatures:
    """Every event's seal, checked against the registry as it stood then."""
    rows = (
        (n.id, n.topic, n.originator_version, n.state)
        for page in app.pages()
        for n in page
    )
    return check_seals(origin(app), rows)


def _source(app: Chronicle) -> Source:
    """Where the workers read the store this app opened, read-only."""
    events = app.store.events_table_name
    if loc.is_postgres(app.location):
        datastore: Any = app.store.datastore  # eventsourcing's PostgresDatastore
        keywords = datastore.pool.kwargs  # dbname, host, port, user, password
        return Source(
            events,
            TILES_TABLE,
            PREFIX,
            postgres={k: v for k, v in keywords.items() if isinstance(v, str | int)},
            schema=datastore.schema,
            text_ids=datastore.originator_id_type == "text",
        )
    uri = loc.reading(app.location)
    if not uri.startswith("file:"):
        uri = f"file:{quote(str(Path(uri).resolve()))}?mode=ro"
    elif "mode" not in parse_qs(urlsplit(uri).query):
        uri += ("&" if "?" in uri else "?") + "mode=ro"
    return Source(events, TILES_TABLE, PREFIX, sqlite=uri)


def _driver_errors(source: Source) -> tuple[type[Exception], ...]:
    """psycopg's errors for a PostgreSQL store; sqlite3's need no wrapping."""
    if not source.postgres:
        return ()
    import psycopg

    return (psycopg.Error,)


class _Ranges:
    """The ranges still to check and the outcomes so far, shared by threads."""

    def __init__(self, size: int, span: int) -> None:
        self.size, self.span = size, span
        self.pending = deque(range(0, max(size, 1), span))
        self.outcomes: dict[int, Outcome] = {}
        self.checked = 0
        self.lock = threading.Lock()

    def take(self, *, front: bool) -> Task | None:
        with self.lock:
            if not self.pending:
                return None
            start = self.pending.popleft() if front else self.pending.pop()
        block = min(BLOCK, self.span)
        return Task(start, min(start + self.span, self.size), self.size, block)

    def done(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes[outcome.start] = outcome
            self.checked += outcome.checked
            if outcome.finding is not None or outcome.error is not None:
                while self.pending and self.pending[-1] > outcome.start:
                    self.pending.pop()  # a finding after this one is not wanted


def _log(
    reader: Reader,
    source: Source,
    size: int,
    span: int,
    processes: int,
    on_progress: Callable[[int], None] | None,
) -> Finding | None:
    """The first finding in the events and the tree, by position; None if none."""
    ranges = _Ranges(size, span)
    workers = [
        threading.Thread(target=_work, args=(ranges, source), daemon=True)
        for _ in range(min(processes, len(ranges.pending)) - 1)
    ]
    for worker in workers:
        worker.start()
    while (task := ranges.take(front=True)) is not None:
        progress = _after(ranges.checked, on_progress)
        ranges.done(check(reader, task, progress))
    for worker in workers:
        worker.join()
    if on_progress is not None:
        on_progress(ranges.checked)
    stack: list[Node] = []
    with reader.snapshot():
        tree = Tree(reader, size)
        for start in range(0, max(size, 1), span):
            outcome = ranges.outcomes[start]  # all are there up to a finding
            if outcome.error is not None:
                raise StoreError(f"verify: a worker process failed: {outcome.error}")
            offset = start
            for level, h in outcome.roots:
                found = push(stack, (level, offset >> level, h), tree)
                if found is not None:
                    return found
                offset += 1 << level
            if outcome.finding is not None:
                return outcome.finding
    return None


def _after(
    before: int, on_progress: Callable[[int], None] | None
) -> Callable[[int], None] | None:
    """Progress within a range, as progress in the whole log."""
    if on_progress is None:
        return None
    return lambda n: on_progress(before + n)


def _work(ranges: _Ranges, source: Source) -> None:
    """Feed ranges from the back to one worker process, until none is left."""
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "khronika.store.verify_range"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError:
        return  # no worker, then: this process checks every range itself
    with process:
        assert process.stdin is not None and process.stdout is not None
        task, failed = None, ""
        try:
            send(process.stdin, source)
            while (task := ranges.take(front=False)) is not None:
                send(process.stdin, task)
                outcome = receive(process.stdout, Outcome)
                if outcome is None:
                    raise OSError("it stopped")
                ranges.done(outcome)
        except OSError as e:
            failed = str(e)
        _, stderr = process.communicate()  # ends its input: it exits
        if failed and task is not None:
            said = stderr.decode(errors="replace").strip().splitlines()
            ranges.done(Outcome(task.start, 0, [], error=said[-1] if said else failed))


def _against(app: Chronicle, checkpoint: Checkpoint, size: int) -> list[Finding]:
    if checkpoint.size > size:
        return [Finding(f"checkpoint of {checkpoint.timestamp:%Y-%m-%dT%H:%M:%SZ} "
                        f"covers {checkpoint.size} events, but the log has only "
                        f"{size}: it was truncated", size + 1)]  # fmt: skip
    # every stored node of the first `size` leaves was just found to hold
    if merkle.root(checkpoint.size, app.store.node) != checkpoint.root:
        return [Finding(f"the first {checkpoint.size} events do not hash to the "
                        f"root of the checkpoint of "
                        f"{checkpoint.timestamp:%Y-%m-%dT%H:%M:%SZ}: the log "
                        "was rewritten")]  # fmt: skip
    return []


def _origin(app: Chronicle, checkpoint: Checkpoint) -> list[Finding]:
    mine = origin(app)
    if checkpoint.origin == mine:
        return []
    return [Finding(f"the checkpoint of {checkpoint.timestamp:%Y-%m-%dT%H:%M:%SZ} "
                    f"is for {checkpoint.origin}, but this store is {mine}: it is "
                    "another store's checkpoint, or this store's id "
                    "(khronika_meta.store_id) was changed")]  # fmt: skip


def _copies(app: Chronicle) -> list[Finding]:
    findings = [
        Finding(
            f"archived copy sha256:{sha256} was replaced: its bytes hash to "
            f"sha256:{found}"
        )  # fmt: skip
        for sha256 in app.store.copy_hashes()
        if (found := copies.hash_stored(app.store, sha256)) not in (sha256, None)
    ]
    named: dict[str, str] = {}  # every copy an event stored, with its source
    for _, event in app.read_events(SourceAdded, SourceCopyAttached):
        if isinstance(event, SourceCopyAttached):
            named.setdefault(event.sha256, event.slug)
        elif (
            isinstance(event, SourceAdded) and event.copy_stored and event.doc.sha256
        ):  # else a hash, no copy yet
            named.setdefault(event.doc.sha256, event.slug)
    for sha256, slug in named.items():
        if app.store.copy_size(sha256) is None:
            findings.append(Finding(
                f"source '{slug}' names the archived copy sha256:{sha256}, but "
                "the store has no copy by that hash: it was deleted or replaced"
            ))  # fmt: skip
    return findings
