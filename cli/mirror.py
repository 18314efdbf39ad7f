"""`khronika mirror`: follow a served chronicle, checking every step."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from khronika.cli.audit import quorum_lines, witness_policy
from khronika.cli.context import Settings, with_settings
from khronika.cli.output import echo
from khronika.cli.read import rebuild_views
from khronika.cli.write import progress_bar, views_current
from khronika.domain.errors import KhronikaError
from khronika.store import checkpoint as cp
from khronika.store import files
from khronika.store import mirror as mir
from khronika.store.scrub import scrub


@click.command()
@click.argument("url")
@click.option(
    "--pubkey",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The original's verifier key (its store's .pub): its checkpoints must "
    "carry its signature.",
)
@witness_policy
@with_settings
def mirror(
    settings: Settings,
    url: str,
    pubkey: str,
    witness_keys: tuple[str, ...],
    quorum: int | None,
) -> None:
    """Copy the chronicle served at URL into --store, and keep it current.

    Reads the original's checkpoint, tiles and event bundles (as `serve`
    serves them), and checks that its checkpoint is signed by --pubkey (and
    cosigned by --quorum of the --witness-key witnesses) and consistent
    with everything this mirror holds, before it appends the same event
    bytes and archived copies; then it brings the views up to date. Run it
    again to follow the original; killed, it resumes where it stopped. On a
    checkpoint that is not consistent with what it holds (a rewritten or
    forked log) it stops, names both, and keeps everything it had. A
    redaction it follows erases the same values in its copy, as on the
    original (its views rebuilt, its files scrubbed). A mirror serves with
    `khronika serve` like any store, and takes no writes of its own.

    \b
    Example:
      khronika --store mirror.db mirror https://chronicle.example.org \\
          --pubkey chronicle.pub --witness-key w1.pub --quorum 1
    """
    url = url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(
            f"{url!r} is not the http(s):// address of a served chronicle",
            param_hint="URL",
        )
    if parts.username or parts.password:  # it would be printed in errors
        raise click.BadParameter(
            "give the address without a user name or password", param_hint="URL"
        )
    note = mir.fetch(f"{url}/checkpoint", files.NOTE_MAX).decode(errors="replace")
    try:
        head = cp.verify(note, cp.load_verifier(Path(pubkey)))
    except cp.CheckpointError as e:
        raise KhronikaError(f"{url}/checkpoint: {e}") from None
    for line in quorum_lines([(f"{url}/checkpoint", note)], witness_keys, quorum):
        echo(line, err=True)
    app = mir.open_mirror(settings.location, url, head.origin)
    try:
        have = app.store.tree_size()
        with progress_bar(head.size - have, "mirroring") as advance:
            step = None if advance is None else (lambda n: advance(n - have))
            added, redactions = mir.follow(app, url, note, head, step)
        if redactions:  # the values it erased are in the views and the files
            rebuild_views(settings)
            scrub(app)
        else:
            views_current(app)
    finally:
        app.close()
    echo(f"mirrored {url}: {added} new event{'s' * (added != 1)}, "
         f"{head.size} in all, at its checkpoint's root")  # fmt: skip


COMMANDS = (mirror,)
