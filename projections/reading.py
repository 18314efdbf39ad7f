"""Opening the views to read: nothing written when they are current.

A reader opens the views without creating anything. When they are behind
the log, a reader that may write catches them up (under the views' lock);
one that may not (a read-only file, a `?mode=ro` URI, a PostgreSQL role
with SELECT only) answers from the views as they stand and records how far
behind they are in `lag`, which the CLI prints and the server sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from eventsourcing.persistence import PersistenceError

from khronika.projections.views import Positioned, ViewStore, open_views
from khronika.store.location import environment

READ_ONLY = "this store is read-only here"
BUSY = "another process is writing the store"


def read_views(
    location: str,
    head: int,
    read_after: Callable[[int], Iterable[Positioned]],
    progress: Callable[[int], None] | None = None,
) -> ViewStore:
    """The views of the store at `location`, whose log ends at `head`."""
    views = open_views(environment(location), create=False)
    views.check_format()
    refresh(views, head, read_after, progress)
    return views


def refresh(
    views: ViewStore,
    head: int,
    read_after: Callable[[int], Iterable[Positioned]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Catch up if behind and able to at once; return (and keep in `lag`)
    what is left, and in `behind_why` why.

    A reader does not wait: where another process holds the views' lock (an
    import, a catch-up of its own) or the disk refuses the write (full, an
    I/O error), it answers from the views as they stand, as a reader that
    may not write does.
    """
    behind = head - views.position()
    views.behind_why = READ_ONLY
    if behind > 0 and views.may_write():
        try:
            views.catch_up(read_after, progress, wait=False)
            views.behind_why = BUSY
        except PersistenceError as e:
            if not any(w in str(e) for w in ("disk", "full", "locked")):
                raise
            views.behind_why = f"the store refused the views' update ({e})"
        behind = head - views.position()
    views.lag = max(behind, 0)
    return views.lag
