"""`khronika export` and `khronika verify-release`: signed releases."""

from __future__ import annotations

import csv
import glob
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

import click
import msgspec
from rich.console import Console

from khronika.cli.audit import quorum_lines, signature_lines, witness_policy
from khronika.cli.context import Settings, with_settings
from khronika.cli.output import cell, echo, neutral
from khronika.cli.points import RecordTime, WorldDay, open_views
from khronika.cli.write import progress_bar
from khronika.domain.days import Day
from khronika.domain.documents import Merge
from khronika.domain.errors import KhronikaError
from khronika.projections import ftm, prov, timelinejs
from khronika.projections.queries import Point
from khronika.projections.release import (
    TABLES,
    Release,
    entity_rows,
    fact_rows,
    source_row,
)
from khronika.store import attest, files
from khronika.store import checkpoint as cp
from khronika.store import release as rel
from khronika.store.app import Chronicle

PEERS = {"ftm": ftm, "prov": prov, "timelinejs": timelinejs}
PARTS = ("bundle", "csv", *PEERS)
_encoder = msgspec.json.Encoder()


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--known-at", type=RecordTime(),
    help="Record time: the record as it stood then (default: now).",
)  # fmt: skip
@click.option(
    "--as-of", type=WorldDay(),
    help="World time: only facts that could have happened by DATE (and the "
    "verdicts they name).",
)  # fmt: skip
@click.option(
    "--format", "parts", multiple=True, type=click.Choice(PARTS),
    help="Write only these parts (repeatable; default: all).",
)  # fmt: skip
@click.option(
    "--events", is_flag=True,
    help="Also write events.jsonl: every stored event up to the cut, byte for "
    "byte, whose hashes rebuild the checkpoint's root.",
)  # fmt: skip
@click.option(
    "--bom", is_flag=True,
    help="Begin each csv/*.csv with a UTF-8 byte-order mark, so that Excel "
    "opens it as UTF-8 with a double click.",
)  # fmt: skip
@with_settings
def export(
    settings: Settings,
    directory: str,
    known_at: str | None,
    as_of: Day | None,
    parts: tuple[str, ...],
    events: bool,
    bom: bool,
) -> None:
    """Write a signed release of the record to DIRECTORY.

    \b
    A release holds:
      sources.jsonl, entities.jsonl, facts.jsonl   the bundle `import` reads
      copies/SHA256          the archived copies the sources name
      csv/*.csv              flat tables for spreadsheets
      ftm.json               FollowTheMoney entities (Aleph), one a line
      prov.json              W3C PROV-JSON of who recorded what from where
      timelinejs.json        a TimelineJS timeline
      checkpoint.txt         the signed checkpoint of the log at the cut
      MANIFEST               every file's SHA-256, the record time and the
                             checkpoint, signed with the store's key
    The bundle is the record as it stood at --known-at: corrections are
    folded into each document, retractions and merges follow as records of
    their own. `--events` adds the full history.

    DIRECTORY must not exist or be empty; the release is written beside it
    and moved into place whole, so a failed export leaves nothing (what one
    killed outright left beside it, .NAME.export-PID where NAME is the
    folder's own name, the next export of that name removes).

    \b
    Examples:
      khronika export release/
      khronika export release-2024/ --known-at 2024-12-31 --events
      khronika verify-release release/ --pubkey khronika.db.pub
    """
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise KhronikaError(f"{directory} is not a folder; choose a new directory")
    if target.exists() and any(target.iterdir()):
        raise click.UsageError(f"{directory} is not empty; choose a new directory")
    app = settings.open()
    signer = attest.signer(app)
    views = open_views(settings)
    if views.lag:
        raise KhronikaError(
            "the views are behind the log and this store is read-only here: "
            "a release would not match its checkpoint. Export from a copy you "
            "may write, or after someone who may write has read the store."
        )
    cut, size = rel.cut(app, known_at)
    point = Point(as_of=as_of, known_at=cut)
    chosen = set(parts or PARTS)
    parent = target.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _clear_killed(parent, target.name)
        scratch = parent / f".{target.name}.{SCRATCH}{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
    except OSError as e:
        raise KhronikaError(
            f"cannot write a release at {directory}: {e.strerror} ({e.filename})"
        ) from None
    for stop in (signal.SIGTERM, signal.SIGHUP):  # so that `finally` clears it
        if signal.getsignal(stop) is not signal.SIG_IGN:  # nohup's stays
            signal.signal(stop, _stop)
    try:
        counts: dict[str, int] = {}
        if chosen & {"bundle", "csv"}:
            release = Release(app, views, point)
            counts = _write(app, release, scratch, chosen, bom)
        for name, peer in PEERS.items():
            if name in chosen:
                with (
                    _status(peer.FILENAME),
                    (scratch / peer.FILENAME).open("wb") as out,
                ):
                    counts[peer.FILENAME] = peer.write(app, views, point, out)
        if events:
            with _status(rel.EVENTS), (scratch / rel.EVENTS).open("wb") as out:
                counts[rel.EVENTS] = rel.write_events(app, size, out)
        _sign(app, signer, scratch, point, size)
        if target.exists():
            target.rmdir()
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    echo(f"{directory}: the record at {cut}, log size {size}")
    if "facts" in counts:
        said = (_count_of(counts.pop(k), one) for k, one in BUNDLE.items())
        echo("  " + ", ".join(said))
    for name, n in counts.items():
        echo(f"  {name}: {n} {'line' if name == rel.EVENTS else 'item'}"
             + "s" * (n != 1))  # fmt: skip


SCRATCH = "export-"  # .NAME.export-PID: the release being written


def _clear_killed(parent: Path, name: str) -> None:
    """Remove what an export of `name` killed midway (SIGKILL, a power cut)
    left: a scratch folder whose process is gone. Whether it is gone is
    asked of this machine: two machines exporting one name into a shared
    folder at once are not told apart."""
    for old in parent.glob(f".{glob.escape(name)}.{SCRATCH}*"):
        pid = old.name.rpartition(SCRATCH)[2]
        if old.is_symlink() or not old.is_dir() or not pid.isdigit():
            continue  # not a folder an export made
        if len(pid) < 10 and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
            echo(f"removed {old}, left by an export that was stopped", err=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


BUNDLE = {"sources": "source", "entities": "entity", "facts": "fact"}


def _count_of(n: int, one: str) -> str:
    return f"{n} {one if n == 1 else one + 's'}".replace("entitys", "entities")


@contextmanager
def _status(name: str) -> Iterator[None]:
    """A spinner naming the file being written, on a terminal."""
    if not sys.stderr.isatty():
        yield
        return
    with Console(stderr=True).status(f"writing {name}", spinner="line"):
        yield


def _write(
    app: Chronicle, release: Release, folder: Path, parts: set[str], bom: bool
) -> dict[str, int]:
    counts = dict.fromkeys(BUNDLE, 0)
    with ExitStack() as stack:
        jsonl = _Files(stack, folder, "bundle" in parts)
        tables = _Tables(stack, folder / "csv", bom) if "csv" in parts else None
        for source in release.sources():
            counts["sources"] += 1
            jsonl.write("sources.jsonl", source)
            if tables:
                tables.row(*source_row(source))
            if source.sha256 and "bundle" in parts:
                _copy(app, source.sha256, folder / "copies")
        merges: list[Merge] = []
        for doc, into in release.entities():
            counts["entities"] += 1
            jsonl.write("entities.jsonl", doc)
            merge = release.merge(doc.id, into) if into else None
            if merge:
                merges.append(merge)
            if tables:
                for row in entity_rows(doc, merge):
                    tables.row(*row)
        for merge in merges:
            jsonl.write("entities.jsonl", merge)
        total = _count(release) if sys.stderr.isatty() else 0  # for the bar
        with progress_bar(total, "exporting facts") as advance:
            for record in release.facts():
                counts["facts"] += 1
                jsonl.write_raw("facts.jsonl", record.raw)
                if record.retraction:
                    jsonl.write("facts.jsonl", record.retraction)
                if tables:
                    for row in fact_rows(record):
                        tables.row(*row)
                if advance and counts["facts"] % 1000 == 0:
                    advance(counts["facts"])
    return counts


def _copy(app: Chronicle, sha256: str, folder: Path) -> None:
    """The archived copy into the release, if the store has it."""
    content = app.store.get_copy(sha256)
    if content is not None:
        folder.mkdir(exist_ok=True)
        (folder / sha256).write_bytes(content)


def _count(release: Release) -> int:
    point = release.point
    rows = release.views.query(
        f"SELECT COUNT(*) AS n FROM view_facts f WHERE {point.where('f')}",
        point.params,
    )
    return int(rows[0]["n"])


class _Files:
    """JSON Lines files, opened on first use."""

    def __init__(self, stack: ExitStack, folder: Path, enabled: bool) -> None:
        self.stack, self.folder, self.enabled = stack, folder, enabled
        self.files: dict[str, BinaryIO] = {}

    def write(self, name: str, doc: msgspec.Struct) -> None:
        self.write_raw(name, _encoder.encode(doc))

    def write_raw(self, name: str, line: bytes) -> None:
        if not self.enabled:
            return
        if name not in self.files:
            self.files[name] = self.stack.enter_context((self.folder / name).open("wb"))
        self.files[name].write(line + b"\n")


class _Tables:
    """One CSV file a table, each with its header, all written as rows come;
    each cell neutralised, as every CSV khronika writes."""

    def __init__(self, stack: ExitStack, folder: Path, bom: bool) -> None:
        folder.mkdir()
        encoding = "utf-8-sig" if bom else "utf-8"
        self.writers: dict[str, Any] = {}
        for table, columns in TABLES.items():
            f: IO[str] = stack.enter_context(
                (folder / f"{table}.csv").open("w", newline="", encoding=encoding)
            )
            self.writers[table] = csv.writer(f)
            self.writers[table].writerow([neutral(name) for name, _ in columns])

    def row(self, table: str, values: tuple[Any, ...]) -> None:
        self.writers[table].writerow([neutral(cell(v)) for v in values])


def _sign(
    app: Chronicle, signer: cp.Signer, folder: Path, point: Point, size: int
) -> None:
    """checkpoint.txt at `size`, then the MANIFEST of every file, both signed."""
    note = attest.checkpoint(app, size, signer)
    kept = attest.latest(app)  # the latest kept, cosigned by witnesses perhaps
    if kept is not None and cp.parse(kept).size == size:
        note = kept
    (folder / "checkpoint.txt").write_text(note, encoding="utf-8")
    head = cp.parse(note)
    files = [
        rel.file_of(folder, path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]
    manifest = rel.Manifest(
        origin=head.origin,
        known_at=point.known_at or "",
        as_of=point.as_of.isoformat() if point.as_of else None,
        size=size,
        root=head.root,
        files=files,
    )
    (folder / rel.MANIFEST).write_text(rel.sign(manifest, signer), encoding="utf-8")


@click.command(name="verify-release")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--pubkey", required=True, type=click.Path(exists=True, dir_okay=False),
    help="The verifier key (.pub) of the store that signed the release.",
)  # fmt: skip
@click.option(
    "--in-store", is_flag=True,
    help="Also check that the release's checkpoint is in the log of the store "
    "(--store).",
)  # fmt: skip
@click.option(
    "--proof", type=click.Path(exists=True, dir_okay=False),
    help="With --checkpoint: a consistency proof (`khronika prove "
    "--consistency DIR/checkpoint.txt LATER`) that the release's log is a "
    "prefix of a later checkpoint's.",
)  # fmt: skip
@click.option(
    "--checkpoint", "later", type=click.Path(exists=True, dir_okay=False),
    help="A later signed checkpoint of the same store, for --proof.",
)  # fmt: skip
@witness_policy
@with_settings
def verify_release(
    settings: Settings,
    directory: str,
    pubkey: str,
    in_store: bool,
    proof: str | None,
    later: str | None,
    witness_keys: tuple[str, ...],
    quorum: int | None,
) -> None:
    """Check a release offline: its signature, every file's hash, its events.

    Verifies the MANIFEST's signature with --pubkey, that every file in the
    release is listed with its SHA-256 and size and nothing else is there,
    that checkpoint.txt is the MANIFEST's checkpoint, and, if the release
    has events.jsonl, that those events hash to the checkpoint's root. With
    --in-store, the store's log must begin with the release's; with --proof
    and --checkpoint, a later checkpoint's log must.

    \b
    Examples:
      khronika verify-release release/ --pubkey khronika.db.pub
      khronika prove --consistency release/checkpoint.txt cp.txt --out p.json
      khronika verify-release release/ --pubkey khronika.db.pub \\
          --proof p.json --checkpoint cp.txt
    """
    if (proof is None) != (later is None):
        raise click.UsageError("--proof and --checkpoint go together")
    folder = Path(directory)
    verifier = cp.load_verifier(Path(pubkey))
    manifest = rel.read(_text(folder, rel.MANIFEST, files.MANIFEST_MAX), verifier)
    rel.check_files(folder, manifest)
    note = _text(folder, "checkpoint.txt", files.NOTE_MAX)
    head = _checkpoint(note, verifier)
    cosigned = quorum_lines([("checkpoint.txt", note)], witness_keys, quorum)
    if (head.origin, head.size, head.root) != (
        manifest.origin, manifest.size, manifest.root,
    ):  # fmt: skip
        raise rel.ReleaseError("checkpoint.txt is not the MANIFEST's checkpoint")
    said = [f"{len(manifest.files)} files match the signed MANIFEST", *cosigned]
    if (folder / rel.EVENTS).exists():
        if rel.events_root(folder / rel.EVENTS) != (manifest.size, manifest.root):
            raise rel.ReleaseError(
                f"{rel.EVENTS} does not hash to the checkpoint's root: the events "
                "were altered, or are not the log's first events"
            )
        said.append(f"its {manifest.size} events hash to the checkpoint's root")
        signed = rel.events_signatures(folder / rel.EVENTS, manifest.origin)
        if signed.finding is not None:
            raise rel.ReleaseError(f"{rel.EVENTS}: {signed.finding}")
        said += signature_lines(signed)
    if in_store:
        attest.check_head(settings.open(), head)
        said.append("the store's log begins with the release's")
    if proof and later:
        note = files.read_text(Path(later), files.NOTE_MAX, "checkpoint")
        newer = _checkpoint(note, verifier, later)
        data = files.read_capped(Path(proof), files.PROOF_MAX, "proof")
        for item in attest.read_proofs(data, proof):
            if not isinstance(item, attest.ConsistencyProof) or (
                item.old_size, item.new_size) != (head.size, newer.size):  # fmt: skip
                raise rel.ReleaseError(
                    f"{proof} is not a proof that the release's log (size "
                    f"{head.size}) is a prefix of {later}'s (size {newer.size}); "
                    f"make one with `khronika prove --consistency "
                    f"{directory}/checkpoint.txt {later}`"
                )
            said.append(attest.check_proof(item, [head, newer]))
    echo(f"release {directory} verified (record at {manifest.known_at}):")
    for line in said:
        echo(f"  ok: {line}")


def _checkpoint(
    note: str, verifier: cp.Verifier, name: str = "checkpoint.txt"
) -> cp.Checkpoint:
    try:
        return cp.verify(note, verifier)
    except cp.CheckpointError as e:
        raise rel.ReleaseError(f"{name}: {e}") from None


def _text(folder: Path, name: str, cap: int) -> str:
    """A file of the release, read as text: a regular file (never through a
    symlink, a FIFO or a device) of at most `cap` bytes."""
    path = folder / name
    if not os.path.lexists(path):
        raise rel.ReleaseError(f"{name}: missing from the release")
    try:
        return files.read_text(path, cap, name, follow=False)
    except files.FileError as e:
        raise rel.ReleaseError(str(e)) from None
