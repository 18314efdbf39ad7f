"""`khronika serve`: the timeline service over HTTP."""

from __future__ import annotations

import socket

import click

from khronika.cli.context import Settings, with_settings
from khronika.domain.documents import FACT_KINDS
from khronika.projections.deadline import TIME_LIMIT
from khronika.store import location as loc


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 for every interface).",
)
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--refresh",
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    type=click.FloatRange(0.1, 3600),
    help="How often to look for new events and catch the views up.",
)
@click.option(
    "--writable",
    is_flag=True,
    help="Also take writes under /api/write/, each event signed by a "
    "registered maintainer (`khronika --store https://HOST:PORT append …`).",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="Serve https with this certificate (PEM); with --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    help="The certificate's private key (PEM).",
)
@click.option(
    "--cors",
    multiple=True,
    metavar="ORIGIN",
    help="Let pages from ORIGIN (https://example.org, or * for any) read the "
    "API's answers: GET only. Repeatable. Default: no other origin.",
)
@click.option(
    "--time-limit",
    default=TIME_LIMIT,
    show_default=True,
    metavar="SECONDS",
    type=click.FloatRange(0.001, 3600),
    help="Stop a read that runs longer, and answer 503 with Retry-After.",
)
@with_settings
def serve(
    settings: Settings,
    host: str,
    port: int,
    refresh: float,
    writable: bool,
    tls_cert: str | None,
    tls_key: str | None,
    cors: tuple[str, ...],
    time_limit: float,
) -> None:
    """Serve the timeline, facts, traces and statistics over HTTP.

    Web pages at http://HOST:PORT/ and a JSON API under /api (its OpenAPI
    document at /api/openapi.json). Without --writable nothing served
    writes; the server keeps the views current as maintainers append. On a
    store it may not write (a read-only file, `file:…?mode=ro`, a
    SELECT-only PostgreSQL role) it answers from the views as they stand,
    with their lag in a header.

    With --writable a team writes to this chronicle with the CLI, each from
    their own machine: `khronika --store https://HOST:PORT import …`. Every
    event is signed by a registered maintainer's key, within five minutes
    of the server's clock, and checked here as the CLI checks it; there are
    no passwords or sessions. Serve https (--tls-cert, --tls-key, or a
    proxy in front); plain http is for this machine only.

    \b
    Examples:
      khronika serve
      khronika --store 'file:/data/khronika.db?mode=ro' serve --port 9000
      khronika serve --writable --host 0.0.0.0 --tls-cert c.pem --tls-key k.pem
      khronika serve --cors https://example.org
    """
    import uvicorn

    from khronika.web import limits
    from khronika.web.app import create_app

    with socket.socket() as probe:  # say so now, not after "serving"
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            problem = f"cannot listen on {host}:{port}: {e.strerror}"
            raise click.ClickException(problem) from None
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("give --tls-cert and --tls-key together")
    if writable and (
        loc.is_remote(settings.location) or loc.read_only(settings.location)
    ):
        raise click.UsageError(
            f"--writable: {loc.describe(settings.location)} is not a store this "
            "process may write"
        )
    app = create_app(
        settings.location,
        refresh_every=refresh,
        writable=writable,
        cors=cors,
        time_limit=time_limit,
    )
    scheme = "https" if tls_cert else "http"
    takes = " (taking signed writes under /api/write/)" if writable else ""
    click.echo(
        f"serving {loc.describe(settings.location)} at {scheme}://{host}:{port}/"
        + takes,
        err=True,
    )
    uvicorn.Server(
        limits.config(app, host, port, log_level="warning",
                      ssl_certfile=tls_cert, ssl_keyfile=tls_key)
    ).run()  # fmt: skip


@click.command()
@click.argument("kind", required=False, metavar="[KIND]", type=click.Choice(FACT_KINDS))
def schema(kind: str | None) -> None:
    """Print the JSON Schema of every read command's JSON and the API's.

    One schema serves both: the CLI's --format json and the HTTP API encode
    through the same read models. The API's OpenAPI document (served at
    /api/openapi.json) holds the same definitions. With a fact's KIND, it
    prints what `khronika new KIND` does: a commented template of such a
    fact, with every allowed value.

    \b
    Examples:
      khronika schema > khronika.schema.json
      khronika schema verdict > my-verdict.toml
    """
    from khronika.cli.output import to_json
    from khronika.cli.template import template
    from khronika.projections.models import json_schema

    if kind is not None:
        click.echo(template(kind), nl=False)
        return
    click.echo(to_json(json_schema()))
