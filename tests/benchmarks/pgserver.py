"""A throwaway PostgreSQL server for the benchmark scripts, and fresh databases.

The same recipe as the `postgres_url` fixture in tests/conftest.py, without
pytest: initdb into a temporary directory (as the OS user `postgres` when run
as root), `pg_ctl start` on a free loopback port with fsync off, stopped and
removed afterwards. KHRONIKA_PG_BIN names another bin directory.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4


class ServerError(RuntimeError):
    """The throwaway server could not be started."""


def pg_bin() -> Path:
    """The directory holding initdb and pg_ctl."""
    override = os.environ.get("KHRONIKA_PG_BIN")
    on_path = shutil.which("pg_ctl")
    candidates = [
        *([override] if override else []),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True),
        *([str(Path(on_path).parent)] if on_path else []),
    ]
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise ServerError("no PostgreSQL binaries (initdb, pg_ctl); set KHRONIKA_PG_BIN")


def _run_as() -> list[str]:
    """postgres refuses to run as root: run it as the OS user `postgres`."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise ServerError("running as root, and no `runuser` to become `postgres`")
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server() -> Iterator[str]:
    """A running server: postgresql://postgres@127.0.0.1:PORT/postgres."""
    import psycopg

    bin_dir, as_user = pg_bin(), _run_as()
    root = Path(tempfile.mkdtemp(prefix="khronika-bench-pg-"))
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*as_user, *args], capture_output=True, text=True, check=False
        )

    started = False
    try:
        if as_user:
            shutil.chown(root, "postgres", "postgres")
        init = run(
            str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
            "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if init.returncode:
            raise ServerError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        port, failures = 0, []
        for _attempt in range(3):  # another process may take the port meanwhile
            port = _free_port()
            start = run(
                str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log),
                "-o", f"-h 127.0.0.1 -p {port} -k {root} -F -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off",
                "-w", "-t", "60", "start",
            )  # fmt: skip
            if start.returncode == 0:
                started = True
                break
            failures.append(f"{start.stdout}\n{start.stderr}")
        if not started:
            raise ServerError("pg_ctl start failed:\n" + "\n".join(failures))
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while True:  # pg_ctl -w saw "ready"; make sure a client gets in too
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise ServerError(f"no connections on port {port}") from None
                time.sleep(0.1)
        yield url
    finally:
        if started:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database(url: str, prefix: str = "khronika_bench") -> Iterator[str]:
    """A new empty database on the server `url` points at, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
