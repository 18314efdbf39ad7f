"""A demo store served through the framework's test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import Result
from starlette.testclient import TestClient

from khronika.web.app import create_app


@pytest.fixture
def client(run: Callable[..., Result], store_path: str) -> Iterator[TestClient]:
    assert run("demo").exit_code == 0
    with TestClient(create_app(store_path, refresh_every=0.05)) as served:
        yield served
