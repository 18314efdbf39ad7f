"""`khronika witness`: cosign a chronicle's checkpoints (C2SP tlog-witness)."""

from __future__ import annotations

from pathlib import Path

import click

from khronika.cli.output import echo
from khronika.domain.errors import KhronikaError
from khronika.store import checkpoint as cp
from khronika.store import witness as wit


@click.group()
def witness() -> None:
    """Witness other chronicles: cosign each checkpoint consistent with the last.

    A witness keeps the latest checkpoint it cosigned for each log it
    follows, and cosigns a new one only with a proof that it extends that
    one; a forked or rewritten log is refused. Readers then require the
    cosignatures of witnesses they trust (`verify --witness-key`).
    """


@witness.command(name="new-key")
@click.argument("name")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="The private key file (mode 0600); its public key: OUT.pub.",
)
def new_key(name: str, out: str) -> None:
    """Make a witness key named NAME (a schema-less URL, as the spec advises).

    \b
    Example:
      khronika witness new-key witness.example.org/w1 --out w1.key
    """
    vkey = wit.new_key(Path(out), name)
    pub = Path(out).with_suffix(".pub")
    echo(f"witness key: {out} (keep it private); publish {pub}")
    echo(f"its public key: {vkey}")


def _log(text: str) -> tuple[str, cp.Verifier]:
    origin, sep, key = text.partition("=")
    if not sep or not origin:
        raise click.BadParameter(f"{text!r} is not ORIGIN=PUBKEY", param_hint="--log")
    try:
        verifier = cp.load_verifier(Path(key) if Path(key).is_file() else key)
    except cp.CheckpointError as e:
        raise click.BadParameter(str(e), param_hint="--log") from None
    return origin, verifier


@witness.command()
@click.option("--key", "key_file", required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="The witness key (from `khronika witness new-key`).")  # fmt: skip
@click.option("--log", "logs", multiple=True, required=True, metavar="ORIGIN=PUBKEY",
              help="A log to witness: its origin and its key (a .pub file or the "
              "key itself). Repeat for more logs.")  # fmt: skip
@click.option("--state", type=click.Path(dir_okay=False),
              help="What it cosigned, kept here. Default: KEY.state.db.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=click.IntRange(1, 65535))
def serve(
    key_file: str, logs: tuple[str, ...], state: str | None, host: str, port: int
) -> None:
    """Run a witness: POST /add-checkpoint, as C2SP tlog-witness specifies.

    \b
    Example:
      khronika witness serve --key w1.key \\
          --log khronika/2fce5f5e-…=khronika.db.pub --port 8090
    """
    import uvicorn

    from khronika.web.witness import create_app

    try:
        cosigner = wit.load_cosigner(Path(key_file))
    except (KhronikaError, OSError) as e:
        raise click.ClickException(str(e)) from None
    known = dict(_log(text) for text in logs)
    where = Path(state) if state else Path(f"{key_file}.state.db")
    app = create_app(wit.Witness(cosigner, known, where))
    echo(f"witness {cosigner.name} for {', '.join(known)} at http://{host}:{port}/",
         err=True)  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="warning")


COMMANDS = (witness,)
