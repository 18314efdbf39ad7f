"""The auditor's commands: trace (and, with the Merkle log, proofs)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from khronika.cli.context import Settings, with_settings
from khronika.cli.output import citation_text, echo, emit, indented, to_json
from khronika.cli.points import RecordTime, open_views, store_views
from khronika.domain.errors import KhronikaError, NotFoundError, StoreError
from khronika.domain.events import recorder, stamp
from khronika.projections import check, points
from khronika.projections.models import EntityTrace
from khronika.projections.queries import Entities, Point, timeline
from khronika.store import attest, files
from khronika.store import checkpoint as cp
from khronika.store import witness as wit
from khronika.store.audit import trace_fact
from khronika.store.signing import Signatures
from khronika.store.verify import verify as run_verify

FORMATS = ("table", "json", "csv")


F = TypeVar("F", bound=Callable[..., Any])


@click.command()
@click.argument("ident", metavar="FACT|ENTITY")
@click.option(
    "--known-at",
    type=RecordTime(),
    help="What an auditor would have seen at TIMESTAMP.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)  # fmt: skip
@with_settings
def trace(settings: Settings, ident: str, known_at: str | None, fmt: str) -> None:
    """Trace a fact to its events, recorders, sources and passages.

    For a fact: how it stands, then every event in its history with its
    record time, recorder and reason, and each citation with the source's
    title, publisher, URL and date, the locator and quote, and whether the
    quote was verified against the stored copy (and that copy's hash).
    For an entity: every fact that names it, with the sources behind each.

    \b
    Examples:
      khronika trace serebryakova-verdict-2023
      khronika trace tatyana-serebryakova
      khronika trace serebryakova-verdict-2023 --known-at 2026-01-01 --format json
    """
    app = settings.open()
    if app.exists("fact", ident):
        moment = None
        if known_at is not None:
            moment = points.moment(known_at)
        answer = trace_fact(app, ident, moment)
        if fmt == "json":
            echo(to_json(answer))
            return
        result = msgspec.to_builtins(answer, builtin_types=(datetime,))
        if fmt == "csv":
            emit(_fact_rows(result), "csv")
        else:
            _print_fact(result)
        return
    views = open_views(settings)
    point = Point(known_at=known_at)
    try:
        entity = Entities(views, point).resolve(ident)
    except NotFoundError as e:
        raise NotFoundError("fact or entity", ident, e.suggestions) from None
    members = Entities(views, point).members(entity["entity"])
    found = timeline(views, point, entities=members)
    found += [f for f in timeline(views, point, places=members) if f not in found]
    if fmt == "json":
        echo(to_json(EntityTrace(entity=entity["entity"], name=entity["name"],
                                 known_at=known_at, facts=found)))  # fmt: skip
        return
    facts = msgspec.to_builtins(found)
    if fmt == "csv":
        columns = ("id", "kind", "when", "label", "sources")
        rows = [dict(zip(columns, (f["id"], f["kind"], f["when"]["edtf"],
                                   f["when"]["label"],
                                   [citation_text(c) for c in f["sources"]]),
                         strict=True)) for f in facts]  # fmt: skip
        emit(rows, "csv", columns=columns)
        return
    echo(f"{entity['name']} ({entity['kind']}, {entity['entity']}): "
               f"{len(facts)} fact{'s' * (len(facts) != 1)}")  # fmt: skip
    for f in facts:
        echo(f"\n{f['when']['label']} · {f['kind']} · {f['id']}")
        for c in f["sources"]:
            quote = f' "{c["quote"]}"' if c.get("quote") else ""
            echo(f"    {c['source']}@{c['locator']}{quote}")


def _fact_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per citation of each event (an event without one has a row
    with empty citation columns)."""
    rows = []
    for event in result["events"]:
        proof = event.get("proof") or {}
        head = {
            "id": result["id"], "position": event["position"],
            "event": event["event"], "version": event["version"],
            "recorded_at": stamp(event["recorded_at"]),
            "recorded_by": event["recorded_by"], "key": event["key"],
            "reason": event["reason"],
            "changes": json.dumps(event["changes"], ensure_ascii=False)
            if event["changes"] else None,
            "unchecked": event["unchecked"],
        }  # fmt: skip
        blank = dict.fromkeys(CITATION_COLUMNS)
        for c in event["citations"] or [blank]:
            rows.append(head | {k: c[k] for k in CITATION_COLUMNS}
                        | {"leaf_index": proof.get("leaf_index"),
                           "tree_size": proof.get("tree_size"),
                           "root": proof.get("root")})  # fmt: skip
    return rows


CITATION_COLUMNS = (
    "source", "title", "publisher", "url", "published", "locator", "quote",
    "verified", "unchecked_at_append", "copy_sha256", "copy_is_current",
)  # fmt: skip


def _print_fact(result: dict[str, Any]) -> None:
    fact = result["fact"]
    state = "RETRACTED" if result["retracted"] else f"version {result['version']}"
    echo(f"{result['id']}  ({fact['kind']}, {state})")
    when = fact["when"] if isinstance(fact["when"], str) else fact["when"]["edtf"]
    echo(f"When:     {when}")
    echo(textwrap.fill(fact["summary"], 80, initial_indent="Summary:  ",
                             subsequent_indent=" " * 10))  # fmt: skip
    for event in result["events"]:
        echo(
            f"\nevent {event['position']}  v{event['version']}  {event['event']}  "
            f"{stamp(event['recorded_at'])}",
            fg="yellow",
        )
        echo(
            f"  recorded by {recorder(event['recorded_by'], event['key'])}",
            fg="yellow",
        )
        if event["reason"]:
            echo(indented(event["reason"], "  Reason:    "))
        for name, value in (event["changes"] or {}).items():
            echo(indented(f"{name} = {to_json(value)}", "  Set:       "))
        if event["unchecked"]:
            echo(indented(event["unchecked"], "  Unchecked: "))
        for c in event["citations"]:
            echo(indented(c["title"], "  Source:    "))
            echo(indented(f"{c['publisher']}, {c['published']}", " " * 13))
            echo(f"             {c['url']}")  # one line, whole, to copy
            quote = f'  "{c["quote"]}"' if c["quote"] else ""
            echo(indented(f"{c['locator']}{quote}", "  Passage:   "))
            sha = c["copy_sha256"]
            if c["verified"] == "no stored copy" and sha:
                note = f"the source names sha256:{sha}; attach it to check"
            else:
                note = f"copy sha256:{sha}" if sha else "no copy"
                if sha and not c["copy_is_current"]:
                    note += ", the copy current when this was written; replaced since"
            echo(indented(f"{c['verified']} ({note})", "  Checked:   "))
        if "proof" in event:
            proof = event["proof"]
            echo(f"  In log:    leaf {proof['leaf_index']} of "
                       f"{proof['tree_size']}, root {proof['root']}, "
                       f"{len(proof['path'])}-hash path")  # fmt: skip


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the checkpoint to this file instead of stdout.",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="URL",
    help="A witness (`khronika witness serve`) to cosign it. Repeatable.",
)
@with_settings
def checkpoint(settings: Settings, out: str | None, witnesses: tuple[str, ...]) -> None:
    """Sign the log's current size and Merkle root with the store's key.

    Publish the note where you cannot rewrite it (a newsletter, a public
    repository, another organisation's archive): `verify` and
    `verify-proof` then prove the log behind it was never rewritten. The
    store keeps it as its latest checkpoint, which `serve` serves at
    /checkpoint. With --witness, each witness checks that the log only grew
    since the last checkpoint it cosigned and adds its cosignature
    (C2SP tlog-witness); one that refuses is named, and the others' count.

    \b
    Examples:
      khronika checkpoint --out checkpoints/2026-11-24.txt
      khronika checkpoint --witness https://witness.example.org/w1
    """
    app = settings.open()
    warning = attest.loose_key(attest.key_path(app))
    if warning:
        echo(warning, err=True)
    note = attest.checkpoint(app)
    refused = []
    for url in witnesses:
        try:
            note += wit.collect(url, note, attest.proof_from(app, cp.parse(note).size))
        except wit.WitnessError as e:
            refused.append(str(e))
    attest.publish(app, note)
    for problem in refused:
        echo(f"warning: {problem}", err=True)
    if out is None:
        echo(note, nl=False)
    else:
        _write(out, note, "checkpoint")
        parsed = cp.parse(note)
        echo(f"checkpoint of {parsed.size} events written to {out}")
    if witnesses and len(refused) == len(witnesses):
        raise KhronikaError("no witness cosigned this checkpoint")


def witness_policy(f: F) -> F:
    """--witness-key and --quorum: the cosignatures a checkpoint must carry."""
    f = click.option(
        "--quorum", type=click.IntRange(0), metavar="N",
        help="How many of the --witness-key witnesses must have cosigned "
        "(default: 1 if any is given).",
    )(f)  # fmt: skip
    return click.option(
        "--witness-key", "witness_keys", multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        help="A witness's public key (.pub) whose cosignature counts. Repeatable.",
    )(f)  # fmt: skip


def quorum_lines(
    notes: Sequence[tuple[str, str]], key_files: tuple[str, ...], quorum: int | None
) -> list[str]:
    """Which witnesses cosigned each note; KhronikaError below the quorum."""
    keys = [wit.load_key(_read(k, "witness key")) for k in key_files]
    need = (1 if keys else 0) if quorum is None else quorum
    if need > len(keys):
        raise click.UsageError(f"--quorum {need} needs as many --witness-key files")
    lines = []
    for label, note in notes:
        signed = wit.cosigned_by(note, keys)
        names = ", ".join(k.name for k in signed) or "no witness given"
        counted = f"{len(signed)} of {len(keys)}"
        if len(signed) < need:
            raise KhronikaError(
                f"{label} is cosigned by {counted} witnesses ({names}); the "
                f"quorum is {need}: it does not hold"
            )
        if keys:
            lines.append(
                f"{label}: cosigned by {names} ({counted}; quorum {need} holds)"
            )
    return lines


@click.command()
@click.argument("target", required=False, metavar="FACT|POSITION")
@click.option(
    "--checkpoint",
    "head",
    type=click.Path(exists=True, dir_okay=False),
    help="Prove inclusion in the log this checkpoint signed.",
)
@click.option(
    "--consistency",
    nargs=2,
    type=click.Path(exists=True, dir_okay=False),
    metavar="OLD NEW",
    help="Prove OLD's log is a prefix of NEW's.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the proof (JSON) to this file instead of stdout.",
)
@witness_policy
@with_settings
def prove(settings: Settings, target: str | None, head: str | None,
          consistency: tuple[str, str] | None, out: str | None,
          witness_keys: tuple[str, ...], quorum: int | None) -> None:  # fmt: skip
    """Print Merkle proofs an auditor can check offline with `verify-proof`.

    With FACT (or an event's log position) and --checkpoint: inclusion
    proofs of each of the fact's events in the checkpoint's log, with the
    events themselves. With --consistency OLD NEW: a proof that the log
    signed in OLD is a prefix of the one signed in NEW.

    \b
    Examples:
      khronika prove serebryakova-verdict-2023 --checkpoint cp.txt --out proof.json
      khronika prove --consistency cp-old.txt cp-new.txt --out consistency.json
    """
    if not consistency and not (target and head):
        raise click.UsageError("give FACT (or POSITION) and --checkpoint, "
                               "or --consistency OLD NEW")  # fmt: skip
    used = list(consistency) if consistency else [head] if head else []
    notes = [(p, _read(p, "checkpoint")) for p in used if p]
    for line in quorum_lines(notes, witness_keys, quorum):
        echo(line, err=True)
    app = settings.open()
    if consistency:
        old, new = (_checkpoint(p) for p in consistency)
        result: Any = attest.consistency(app, old, new)
    else:
        assert target and head
        result = attest.inclusion(app, target, _checkpoint(head))
    text = to_json(result)
    if out is None:
        echo(text)
    else:
        _write(out, text + "\n", "proof")
        count = len(result) if isinstance(result, list) else 1
        echo(f"{count} proof{'s' * (count != 1)} written to {out}")


@click.command()
@click.option(
    "--checkpoint",
    "heads",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A published checkpoint the log must still agree with. Repeatable.",
)
@click.option(
    "--pubkey",
    type=click.Path(exists=True, dir_okay=False),
    help="Verifier key for the checkpoints (default: the store's .pub).",
)
@click.option(
    "--views",
    "views_too",
    is_flag=True,
    help="Also replay the log into a scratch copy of the views and compare "
    "them row by row (slower: a full rebuild's work).",
)
@witness_policy
@with_settings
def verify(
    settings: Settings,
    heads: tuple[str, ...],
    pubkey: str | None,
    views_too: bool,
    witness_keys: tuple[str, ...],
    quorum: int | None,
) -> None:
    """Recompute every leaf from the stored events and check the whole log.

    Checks that every event is in the Merkle tree unchanged and in order,
    that nothing was added behind the tree's back or removed, that the tree
    agrees with every given checkpoint, and that archived copies still hash
    to their names. Exit 0 when all holds; 1 naming the first broken event
    (stream, version, log position) otherwise. The views' tracking position
    is always checked; --views also compares every view row with a replay.

    \b
    Examples:
      khronika verify
      khronika verify --checkpoint checkpoints/2026-11-24.txt
      khronika verify --views
      khronika verify --witness-key w1.pub --witness-key w2.pub --quorum 2

    With --witness-key, each checkpoint (or, without --checkpoint, the
    store's latest) must carry cosignatures of at least --quorum of those
    witnesses; it says which witnesses cosigned.
    """
    app = settings.open()
    key = Path(pubkey) if pubkey else attest.key_path(app).with_suffix(".pub")
    notes = [(h, _read(h, "checkpoint")) for h in heads]
    heads_ok = [cp.verify(text, cp.load_verifier(key)) for _, text in notes]
    latest = attest.latest(app)
    if not notes and latest is not None and witness_keys:
        notes = [("the store's latest checkpoint", latest)]
        heads_ok = [cp.verify(latest, cp.load_verifier(key))]
    cosigned = quorum_lines(notes, witness_keys, quorum)
    seen: list[Signatures] = []
    findings = run_verify(app, heads_ok, seen=seen)
    if findings:
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        raise KhronikaError(str(findings[0]) + more)
    views = store_views(app)
    try:
        views.check_format()
    except StoreError as e:  # an older version's views: the log still verifies
        if views_too:
            raise
        cosigned.append(f"the views were not checked: {e}")
    else:
        with views.snapshot() as snapshot:
            problem = check.position_problem(snapshot)
            if problem is None and views_too:
                problem = views.damage() or check.compare(snapshot, app.read_after)
        if problem is not None:
            raise KhronikaError(f"the views do not match the log: {problem}")
    size = app.store.tree_size()
    echo(
        f"verified {size} event{'s' * (size != 1)}"
        + (f" against {len(heads_ok)} checkpoint(s)" if heads_ok else "")
        + (" and the views" if views_too else "")
    )
    for line in [*signature_lines(seen[0]), *cosigned]:
        echo(line)


def signature_lines(signed: Signatures) -> list[str]:
    """Who signed what, as `verify` and `verify-release` report it."""
    total = sum(signed.signed.values())
    lines = [f"signatures: {total} event{'s' * (total != 1)} signed, all valid"]
    lines += [f"  {count:>8}  {who}" for who, count in sorted(signed.signed.items())]
    if signed.unsigned:
        lines.append(f"unsigned (recorded before signing): {signed.unsigned}")
    return lines


@click.command(name="verify-proof")
@click.argument("proof", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--checkpoint",
    "heads",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The signed checkpoint(s) the proof is against.",
)
@click.option(
    "--pubkey",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The verifier key (.pub) of the store that signed them.",
)
def verify_proof(proof: str, heads: tuple[str, ...], pubkey: str) -> None:
    """Check a proof offline, with no store: what an auditor runs at home.

    Verifies the checkpoints' signatures with --pubkey, recomputes each
    event's leaf from the event carried in the proof, and checks the path
    up to the signed root. Exit 0 when all holds, 1 otherwise.

    \b
    Example:
      khronika verify-proof proof.json --checkpoint cp.txt --pubkey khronika.db.pub
    """
    verifier = cp.load_verifier(Path(pubkey))
    signed = [cp.verify(_read(h, "checkpoint"), verifier) for h in heads]
    data = files.read_capped(Path(proof), files.PROOF_MAX, "proof")
    for item in attest.read_proofs(data, proof):
        echo("ok: " + attest.check_proof(item, signed))


def _read(path: str, what: str) -> str:
    """A checkpoint's text; KhronikaError if it is not a small UTF-8 file."""
    return files.read_text(Path(path), files.NOTE_MAX, what)


def _checkpoint(path: str) -> cp.Checkpoint:
    try:
        return cp.parse(_read(path, "checkpoint"))
    except cp.CheckpointError as e:
        raise KhronikaError(f"checkpoint {path}: {e}") from None


def _write(path: str, text: str, what: str) -> None:
    try:
        files.write_whole(Path(path), text.encode())
    except OSError as e:
        problem = e.strerror or str(e)
        raise KhronikaError(f"cannot write the {what} to {path}: {problem}") from None


@click.group()
def key() -> None:
    """Keys: your own maintainer key (`new`), the store's for checkpoints."""


@key.command()
@click.option("--reason", required=True, help="Why, in a sentence (recorded).")
@with_settings
def rotate(settings: Settings, reason: str) -> None:
    """Start a new signing identity: a new key, recorded as an event.

    For a key that was lost or may have leaked. The old key files are kept
    beside the new ones (renamed ".retired-<time>"); checkpoints signed
    before stay verifiable with the old .pub, so keep publishing it. The
    event (`khronika log`) names the new and the old verifier key, and
    who rotated it, why and when. Publish the new .pub the way you
    published the old one.

    \b
    Example:
      khronika key rotate --reason "laptop with the key was stolen"
    """
    app = settings.open()
    path, retired = attest.rotate_key(app, reason, settings.user())
    for old in retired:
        echo(f"old key file kept as {old}")
    echo(f"new signing key: {path} (publish {path.with_suffix('.pub')} "
               "for auditors); the rotation is recorded in the log")  # fmt: skip


COMMANDS = (trace, checkpoint, prove, verify, verify_proof, key)
