"""Runs one `khronika` command in a subprocess, on a signal from the test.

    python concurrency_worker.py --ready R --go G [--marks M]
        [--stale-store URL --stale-fact SLUG] -- KHRONIKA-ARGS...

Python and khronika are imported first; then the worker creates R and waits
for G to exist, so that several workers start their commands at one moment
rather than one interpreter start-up apart. It exits with the command's code.

--marks M appends "begin N T" to M before the Nth batch of an import is
written, and "end N T" after it is (T: time.monotonic()), so that a test can
kill the import while a batch is being written.

--stale-store/--stale-fact load the fact before R is created and make the
command see that state whenever it reads the fact, however it changed since:
two workers then correct the same version of it, deterministically.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from khronika.cli.main import cli
from khronika.domain.aggregates import Fact
from khronika.domain.events import Event
from khronika.store.app import Chronicle

WAIT = 60.0  # seconds to wait for the go signal before giving up


def mark_batches(marks: Path) -> None:
    """Note the start and end of every batch written by `Chronicle.save_batch`."""
    save_batch = Chronicle.save_batch
    count = 0

    def marked(self: Chronicle, events: Sequence[Event]) -> None:
        nonlocal count
        count += 1
        with marks.open("a") as out:
            out.write(f"begin {count} {time.monotonic()}\n")
        save_batch(self, events)
        with marks.open("a") as out:
            out.write(f"end {count} {time.monotonic()}\n")

    setattr(Chronicle, "save_batch", marked)  # noqa: B010


def serve_stale(store: str, slug: str) -> None:
    """Make every Chronicle see the fact `slug` as it is now, later too."""
    app = Chronicle(store)
    stale = app.get(Fact, slug)
    app.close()
    get = Chronicle.get

    def stale_get(self: Chronicle, cls: Any, wanted: str) -> Any:
        if cls is Fact and wanted == slug:
            return stale
        return get(self, cls, wanted)

    setattr(Chronicle, "get", stale_get)  # noqa: B010


def main(argv: list[str]) -> int:
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--go", type=Path, required=True)
    parser.add_argument("--marks", type=Path)
    parser.add_argument("--stale-store")
    parser.add_argument("--stale-fact")
    options = parser.parse_args(argv[:split])
    if options.marks is not None:
        mark_batches(options.marks)
    if options.stale_store is not None:
        serve_stale(options.stale_store, options.stale_fact)
    options.ready.touch()
    deadline = time.monotonic() + WAIT
    while not options.go.exists():
        if time.monotonic() > deadline:
            print(f"no go signal ({options.go}) within {WAIT} s", file=sys.stderr)
            return 3
        time.sleep(0.002)
    try:
        cli.main(argv[split + 1 :], prog_name="khronika", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
