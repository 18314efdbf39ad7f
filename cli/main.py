"""The `khronika` command: a chronicle of legal and political facts."""

from __future__ import annotations

import sqlite3
from typing import Any

import click
from eventsourcing.persistence import PersistenceError

from khronika import __version__
from khronika.cli import (
    audit,
    catalogue,
    export,
    listing,
    log,
    maintainers,
    mirror,
    read,
    redact,
    serve,
    template,
    witness,
    write,
)
from khronika.cli.context import Settings
from khronika.cli.output import safe
from khronika.domain.errors import KhronikaError
from khronika.store.errors import explain


class Root(click.Group):
    """Turns khronika's own errors into clean messages with exit code 1.

    So too an OSError, UnicodeError or RecursionError that a command did not
    turn into one of its own (a full disk, a folder where a file was
    expected, input nested past Python's stack): one line, never a traceback.
    A message may echo input or stored text, so its control and bidi
    characters are escaped before click prints it.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            settings = ctx.find_object(Settings)
            for warning in settings.warnings if settings else []:
                click.echo(safe(f"khronika: warning: {warning}"), err=True)
            return result
        except KhronikaError as e:
            raise _safe(click.ClickException(str(e))) from e
        except (PersistenceError, sqlite3.Error) as e:
            settings = ctx.find_object(Settings)
            where = settings.location if settings else None
            raise _safe(click.ClickException(explain(e, where))) from e
        except click.ClickException as e:
            raise _safe(e) from None
        except OSError as e:  # a file or folder khronika did not check first
            raise _safe(click.ClickException(_os_error(e))) from e
        except UnicodeError as e:
            raise _safe(click.ClickException(f"text that is not UTF-8: {e}")) from e
        except RecursionError as e:
            message = "input nested too deeply to read"
            raise _safe(click.ClickException(message)) from e

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as e:
            raise _safe(e) from None


def _os_error(e: OSError) -> str:
    """An OSError as one line: what failed, and on which file."""
    where = f" ({e.filename})" if e.filename else ""
    return f"{e.strerror or e}{where}"


def _safe(error: click.ClickException) -> click.ClickException:
    error.__dict__["message"] = safe(error.message)  # click types it Final
    return error


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="khronika")
@click.option(
    "--store",
    metavar="PATH|URL",
    help="SQLite file, postgresql:// URL, or https://HOST:PORT of a chronicle "
    "served with `serve --writable`. Default: $KHRONIKA_STORE, else ./khronika.db.",
)
@click.option(
    "--as",
    "user",
    metavar="NAME",
    help="Who is recording. Default: $KHRONIKA_USER, else `git config user.name`.",
)
@click.pass_context
def cli(ctx: click.Context, store: str | None, user: str | None) -> None:
    """An event-sourced chronicle of legal and political facts.

    Every fact is an immutable event with its sources; corrections and
    retractions are new events, never edits.

    \b
    Start with:
      khronika demo                         load the bundled Kazakhstan dataset
      khronika timeline --kind verdict      facts in world-time order
      khronika person tatyana-serebryakova  one person's history and status
      khronika trace serebryakova-verdict-2023   a fact down to its sources
      khronika log                          what was recorded, when, by whom
      khronika append --help                how to write a fact
    """
    ctx.obj = Settings(store, user)


assert listing.entity_list  # its commands join the entity and source groups
for command in (
    *write.COMMANDS,
    *catalogue.COMMANDS,
    log.log,
    *read.COMMANDS,
    *audit.COMMANDS,
    *maintainers.COMMANDS,
    *witness.COMMANDS,
    *mirror.COMMANDS,
    serve.serve,
    serve.schema,
    template.new,
    export.export,
    export.verify_release,
    redact.redact,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="khronika")
