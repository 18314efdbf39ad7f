"""`projections rebuild` under readers: they see the old views or the new ones."""

from __future__ import annotations

import threading
from collections.abc import Callable

from click.testing import Result

from khronika.projections.person import person
from khronika.projections.queries import Point
from khronika.projections.reading import read_views
from khronika.store.app import Chronicle

Run = Callable[..., Result]


def test_readers_never_see_the_views_missing_or_empty_during_a_rebuild(
    demo: Run, store_path: str
) -> None:
    app = Chronicle(store_path)
    head = app.recorder.max_notification_id() or 0
    failures: list[BaseException] = []
    reads = [0]
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                views = read_views(store_path, head, app.read_after)
                found = person(views, "tatyana-serebryakova", Point())
                assert found.facts, "no facts"
                reads[0] += 1
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(4):
            rebuilt = demo("projections", "rebuild")
            assert rebuilt.exit_code == 0, rebuilt.output
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=60)
    assert not failures, repr(failures[0])
    assert reads[0] > 0
