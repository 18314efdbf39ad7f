"""The views follow an import in a process of their own.

While the importer builds, signs and writes batches in one process, a
second one (on another core) reads each batch back as it is committed and
projects it (`ViewStore.follow`): the views are current when the import
ends, in about the import's time. Threads would not do: projecting is
Python work, and two threads share one GIL. The follower is told the
store on its standard input (not its command line, which any user of the
machine may read), and that the import ended by the end of that input,
which also comes if the importer dies. If the follower stops early
(it fails, another process holds the views' lock), it says so in a line:
the catch-up that ends the import reads what it left.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from itertools import islice
from typing import IO

from khronika.projections.views import BATCH, open_views
from khronika.store.location import environment

IDLE = 0.02  # seconds the follower waits for the log to grow


class Follower:
    """A process that keeps the views of `location` current until closed."""

    def __init__(self, location: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdin is not None
        self._process.stdin.write(location + "\n")
        self._process.stdin.flush()

    def close(self) -> int:
        """Tell it the import ended; wait for it to project what is left.
        Its exit status: 0 if it followed to the end."""
        assert self._process.stdin is not None
        self._process.stdin.close()  # the end of its input: the import ended
        return self._process.wait()

    def stop(self) -> None:
        """Stop it now: the transaction it is in, if any, is rolled back."""
        self._process.terminate()
        self._process.wait()
        if self._process.stdin is not None:
            self._process.stdin.close()


def follow(location: str, ended: IO[str]) -> None:
    """Project the log into the views as it grows, until `ended` ends."""
    from khronika.store.app import Chronicle  # the store's, in this process

    app = Chronicle(location)
    views = open_views(environment(location), create=False)  # made: no write
    try:
        done = False
        while True:
            done = done or bool(select.select([ended], [], [], IDLE)[0])
            position = views.position()
            events = list(islice(app.read_after(position), BATCH))
            if events:
                views.follow(position, events)  # False: another moved them on
            elif done:
                return
    finally:
        views.datastore.close()
        app.close()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the importer's ^C: it stops us
    try:
        follow(sys.stdin.readline().rstrip("\n"), sys.stdin)
    except Exception as e:  # the importer's last catch-up does its work
        print(f"khronika: the views stopped following the import ({e}); they "
              "are brought up to date at its end", file=sys.stderr)  # fmt: skip
        sys.exit(1)
