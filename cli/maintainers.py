"""Maintainers' keys and the registry: `key new` and `maintainer …`."""

from __future__ import annotations

from pathlib import Path

import click

from khronika.cli.audit import key
from khronika.cli.context import Settings, with_settings
from khronika.cli.output import emit, output_options
from khronika.cli.points import RecordTime
from khronika.domain.errors import KhronikaError
from khronika.store import checkpoint as cp
from khronika.store import signing


@key.command(name="new")
@click.option(
    "--name",
    help="Your name, for the key's name. Default: --as, $KHRONIKA_USER, git's.",
)
@with_settings
def new_key(settings: Settings, name: str | None) -> None:
    """Make this user's maintainer key pair in their configuration folder.

    The private key is written with mode 0600 to
    $KHRONIKA_CONFIG/maintainer.key (by default
    ~/.config/khronika/maintainer.key), never beside a store; its verifier
    key goes beside it (.pub). Give the .pub to an admin of each store you
    will write to, who registers it with `khronika maintainer add`.

    \b
    Example:
      khronika key new --name "Aigerim N."
    """
    path = signing.maintainer_key_path()
    if path.exists():
        raise KhronikaError(
            f"you have a maintainer key already: {path}. A second one would "
            "not be registered anywhere; to replace a key, make one with "
            "KHRONIKA_MAINTAINER_KEY=NEW-PATH khronika key new and ask an "
            "admin to run `khronika maintainer rotate`"
        )
    signing.new_key(name or settings.user(), path)
    click.echo(f"maintainer key: {path} (keep it private: mode 0600)")
    click.echo(
        f"give {path.with_suffix('.pub')} to an admin of each store; they "
        "run `khronika maintainer add YOUR-NAME --pubkey FILE`"
    )


@click.group()
def maintainer() -> None:
    """The maintainers who may write here, and their keys (admins only).

    Each change is an event in the log, signed by an admin; `verify`
    checks every event's signature against the registry as it stood then.
    """


def _pubkey(path: str) -> cp.Verifier:
    try:
        return cp.load_verifier(Path(path))
    except cp.CheckpointError as e:
        raise click.BadParameter(str(e), param_hint="--pubkey") from None


_pubkey_option = click.option(
    "--pubkey",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The maintainer's verifier key (.pub, from `khronika key new`).",
)


@maintainer.command(name="add")
@click.argument("name")
@_pubkey_option
@click.option(
    "--role",
    type=click.Choice(["maintainer", "admin"]),
    default="maintainer",
    show_default=True,
    help="An admin may also change the registry.",
)
@with_settings
def add(settings: Settings, name: str, pubkey: str, role: str) -> None:
    """Register NAME with the key in --pubkey.

    \b
    Example:
      khronika maintainer add "Aigerim N." --pubkey aigerim.pub
    """
    key = _pubkey(pubkey)
    settings.open().add_maintainer(name, key, role)  # type: ignore[arg-type]
    click.echo(f"registered {name} ({role}, key {signing.label(key)})")


@maintainer.command()
@click.argument("name")
@_pubkey_option
@click.option("--reason", default="", help="Why, in a sentence (recorded).")
@with_settings
def rotate(settings: Settings, name: str, pubkey: str, reason: str) -> None:
    """Give NAME a new key; the old one signs nothing from now on.

    Events the old key signed before stay valid.

    \b
    Example:
      khronika maintainer rotate "Aigerim N." --pubkey new.pub --reason "new laptop"
    """
    key = _pubkey(pubkey)
    settings.open().rotate_maintainer(name, key, reason)
    click.echo(f"{name} signs with key {signing.label(key)} from now on")


@maintainer.command()
@click.argument("name")
@click.option("--reason", required=True, help="Why, in a sentence (recorded).")
@with_settings
def revoke(settings: Settings, name: str, reason: str) -> None:
    """Revoke NAME's key: it signs nothing from now on.

    What it signed before stays valid; `verify` fails any event it signs
    after the revocation.

    \b
    Example:
      khronika maintainer revoke "Aigerim N." --reason "left the group"
    """
    settings.open().revoke_maintainer(name, reason)
    click.echo(f"revoked {name}'s key")


@maintainer.command(name="list")
@click.option(
    "--known-at",
    type=RecordTime(),
    help="The registry as it stood at TIMESTAMP (UTC; a date means its end).",
)
@output_options()
@with_settings
def list_(settings: Settings, known_at: str | None, fmt: str) -> None:
    """The registered maintainers, their roles and keys.

    SINCE is the log position of the event that registered the key in force;
    JSON and CSV also give each whole verifier key (`khronika key new`'s .pub).

    \b
    Example:
      khronika maintainer list --known-at 2026-12-01
    """
    registry = settings.open().registry(known_at)
    rows = [
        {
            "name": m.name,
            "role": m.role,
            "key": signing.label(m.verifier),
            "since": m.since,
            "state": "revoked" if m.revoked else "active",
        }
        | ({} if fmt == "table" else {"verifier": str(m.verifier)})
        for m in registry.current.values()
    ]
    emit(rows, fmt)


COMMANDS = (maintainer,)
