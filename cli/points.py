"""The two time axes on the command line, and opening the views caught up."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar

import click

from khronika.cli.context import Settings
from khronika.cli.output import output_options
from khronika.domain.days import Day
from khronika.domain.errors import EdtfError, ValidationError
from khronika.projections import points
from khronika.projections.queries import Point
from khronika.projections.reading import read_views
from khronika.projections.views import ViewStore
from khronika.projections.views import open_views as open_env_views
from khronika.store import location as loc
from khronika.store.app import Chronicle

F = TypeVar("F", bound=Callable[..., Any])


class WorldDay(click.ParamType[Day]):
    """An EDTF date; a coarse one (2023, 2023-06) means its last day.

    With `first`, it means its first day (for the start of a range).
    """

    name = "DATE"

    def __init__(self, *, first: bool = False) -> None:
        self.first = first

    def convert(self, value: Any, param: Any, ctx: Any) -> Day:
        if isinstance(value, Day):
            return value
        try:
            return points.world_day(value, "as-of", first=self.first)
        except EdtfError as e:
            self.fail(e.problem, param, ctx)


class RecordTime(click.ParamType[str]):
    """An ISO 8601 time, UTC unless it says otherwise; a date means its end."""

    name = "TIMESTAMP"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        try:
            return points.record_time(str(value))
        except ValidationError as e:
            self.fail(e.problem, param, ctx)


def point_options(*formats: str) -> Callable[[F], F]:
    """--as-of, --known-at, --certain and --format, passed on as `point`."""

    def decorate(f: F) -> F:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["point"] = Point(
                as_of=kwargs.pop("as_of"),
                known_at=kwargs.pop("known_at"),
                certain=kwargs.pop("certain"),
            )
            return f(*args, **kwargs)

        wrapped = update_wrapper(wrapper, f)
        for option in reversed(
            [
                click.option(
                    "--as-of", type=WorldDay(),
                    help="World time: only what could have happened by DATE "
                    "(EDTF; 2023 means 2023-12-31). Facts whose dates straddle "
                    "DATE are marked possible.",
                ),
                click.option(
                    "--known-at", type=RecordTime(),
                    help="Record time: the record exactly as it stood at "
                    "TIMESTAMP (UTC; a bare date means the end of that day).",
                ),
                click.option(
                    "--certain", is_flag=True,
                    help="With --as-of, drop facts that only possibly happened "
                    "by then.",
                ),
                output_options(*formats),
            ]
        ):  # fmt: skip
            wrapped = option(wrapped)
        return wrapped  # type: ignore[return-value]

    return decorate


def open_views(
    settings: Settings, progress: Callable[[int], None] | None = None
) -> ViewStore:
    """The views of the store, caught up with every event recorded so far.

    On a store this process may not write, the views are read as they stand;
    if they are behind the log, a warning on stderr says by how much. A
    served chronicle is read through its own pages and API.
    """
    if loc.is_remote(settings.location):
        where = loc.describe(settings.location)
        raise click.ClickException(
            f"{where} is a served chronicle: read it at {where}/ or through its "
            f"API ({where}/api/openapi.json); --store URL is for writing"
        )
    app = settings.open()
    head = app.recorder.max_notification_id() or 0
    views = read_views(app.location, head, app.read_after, progress)
    if views.lag:
        click.echo(
            f"khronika: warning: the views are {views.lag} log position"
            f"{'s' * (views.lag != 1)} behind the events and {views.behind_why}; "
            "answers leave out what was recorded since. A later read by "
            "someone who may write the store catches them up.",
            err=True,
        )
    return views


def store_views(app: Chronicle, *, create: bool = False) -> ViewStore:
    """The views beside the store's events, as they are (`create` to rebuild)."""
    return open_env_views(loc.environment(app.location), create=create)
