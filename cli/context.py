"""What every command needs: the store location and who is recording."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from functools import update_wrapper
from typing import Concatenate, ParamSpec, TypeVar

import click

from khronika.domain.errors import ValidationError
from khronika.domain.text import USER_MAX, check_line
from khronika.store import attest
from khronika.store import location as loc
from khronika.store.app import Chronicle
from khronika.store.checkpoint import CheckpointError

P = ParamSpec("P")
R = TypeVar("R")


class Settings:
    def __init__(self, store: str | None, user: str | None) -> None:
        self.location = loc.resolve(store)
        self._user = user
        # what the stores this command opened want a person to look at; the
        # stores share the list (and are not kept: closing one merges its log)
        self.warnings: list[str] = []

    def open(self, *, create: bool = False) -> Chronicle:
        """The store; one this process may not write is opened read-only.

        Its writes are signed with the user's maintainer key, and refused
        without one (a broken key file is only an error on a write).
        """
        app = Chronicle(
            self.location if create else loc.reading(self.location), create=create
        )
        app.signed_only = True
        app.warnings = self.warnings
        try:
            app.hand = attest.load_hand()
        except CheckpointError as e:
            app.hand_problem = f"your maintainer key: {e}"
        return app

    def user(self, fallback: str | None = None) -> str:
        """`--as`, else KHRONIKA_USER, else the git user name.

        It is stored with every event and shown by `khronika log`, so it
        must be one line of text: a blank `--as` is refused, not skipped.
        """
        if self._user is not None:
            return _checked(self._user, "--as")
        env = os.environ.get("KHRONIKA_USER")
        if env:
            return _checked(env, "KHRONIKA_USER")
        name = _git_user() or fallback
        if not name:
            raise click.UsageError(
                "who is recording? Pass --as NAME, set KHRONIKA_USER, "
                "or set `git config user.name`"
            )
        return _checked(name, "git config user.name")


def _checked(name: str, where: str) -> str:
    try:
        return check_line(where, name, USER_MAX)
    except ValidationError as e:
        raise click.BadParameter(e.problem, param_hint=where) from None


def _git_user() -> str | None:
    try:
        out = subprocess.run(
            ["git", "config", "user.name"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def with_settings(
    f: Callable[Concatenate[Settings, P], R],
) -> Callable[P, R]:
    """Pass the command the Settings made by the root group."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        settings = click.get_current_context().find_object(Settings)
        assert settings is not None
        return f(settings, *args, **kwargs)

    return update_wrapper(wrapper, f)


def announce_signing(app: Chronicle, name: str) -> None:
    """Register the user as the store's first admin, if it has none; say so."""
    begun = attest.begin_signing(app, name)
    if begun is None:
        return
    path, made = begun
    app.hand = attest.load_hand()  # the key made now signs what follows
    made_text = "made your maintainer key" if made else "your maintainer key"
    click.echo(f"{made_text}: {path} (keep it private)")
    click.echo(f"registered {name} as this store's first admin, signed by "
               "the store's key; every write is signed from now on")  # fmt: skip
