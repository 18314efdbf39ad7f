"""No false tamper alarms: `verify` and `projections status` under a live
writer, while another process keeps the views current (as `serve` does)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from click.testing import Result

from khronika.projections.reading import read_views
from khronika.store import attest
from khronika.store.app import Chronicle

Run = Callable[..., Result]
WRITES = 60  # the writer's bounded loop


def test_verify_and_status_never_cry_wolf_under_a_live_writer(
    demo: Run, store_path: str, make: Any
) -> None:
    done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        app = Chronicle(store_path)
        app.hand = attest.load_hand()
        try:
            for i in range(WRITES):
                app.register_entity(make.entity(f"live-{i}"), "tester")
        except BaseException as e:  # noqa: BLE001 - reported below
            failures.append(e)
        finally:
            done.set()

    def keep_current() -> None:
        app = Chronicle(store_path)
        try:
            while not done.is_set():
                head = app.recorder.max_notification_id() or 0
                read_views(store_path, head, app.read_after)
        except BaseException as e:  # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=write), threading.Thread(target=keep_current)]
    for thread in threads:
        thread.start()
    checks = 0
    try:
        while not done.is_set() or checks < 4:
            for command in (["projections", "status"], ["projections", "status"],
                            ["verify", "--views"]):  # fmt: skip
                result = demo(*command)
                assert result.exit_code == 0, result.output
                checks += 1
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not failures, repr(failures[0])
