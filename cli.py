"""The `shutter` command: run (all in one), serve (API), worker, migrate, reindex, seed,
export-schema, outbox, admin."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
import uvloop

from logs import configure_logging
from settings import Settings

if TYPE_CHECKING:
    from web.connections import WebSocketRegistry
    from workers.supervisor import WorkerSupervisor

log = logging.getLogger("shutter")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at 2 (like MALLOC_ARENA_MAX=2) unless the environment says.

    The image decoders' threads otherwise spread allocations over many arenas and the RSS of a
    worker creeps from ~130 MB to ~270 MB on repeated HEIC jobs (measured by bench.media).
    """
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        m_arena_max = -8
        ctypes.CDLL("libc.so.6").mallopt(m_arena_max, 2)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings)
    if args.command in ("run", "worker"):
        _limit_malloc_arenas()
    if args.command in ("run", "serve", "worker") and settings.tracing_active:
        from tracing import configure_tracing

        configure_tracing(settings)
    # uvicorn and arq handle SIGTERM themselves while they run (graceful shutdown); uvicorn then
    # re-raises it, and outside them it should stop the command just as Ctrl-C does, exit 0.
    signal.signal(signal.SIGTERM, _raise_terminated)
    from storage.embedded import DataDirInUseError, EmbeddedExtraMissingError

    try:
        _dispatch(args, settings)
    except (KeyboardInterrupt, Terminated):  # re-raised by uvicorn after a clean shutdown
        log.info("shutter stopped")
    except (DataDirInUseError, EmbeddedExtraMissingError) as error:
        sys.exit(f"shutter {args.command}: {error}")
    return 0


class Terminated(Exception):
    """SIGTERM arrived; raised in the main thread to unwind like Ctrl-C does."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _dispatch(args: argparse.Namespace, settings: Settings) -> None:
    command: str = args.command
    if command == "run":
        with _services(settings, purpose="shutter run") as ready, _temporary_files(settings):
            _migrate(ready)
            if ready.web_concurrency > 1:
                _serve_in_processes(ready, args.host, args.port, with_worker=True)
            else:
                _run_in_fast_loop(_serve(ready, args.host, args.port, with_worker=True))
    elif command == "serve":
        with _temporary_files(settings):
            if not args.reuse_port and settings.web_concurrency > 1:
                _serve_in_processes(settings, args.host, args.port, with_worker=False)
            else:
                serve = _serve(
                    settings, args.host, args.port, with_worker=False, reuse_port=args.reuse_port
                )
                _run_in_fast_loop(serve)
    elif command == "worker":
        _require_urls(settings)
        if settings.worker_metrics_port is not None:
            from metrics import serve_worker_metrics

            serve_worker_metrics(settings.worker_metrics_port, settings.worker_metrics_host)
        with _temporary_files(settings):
            _run_in_fast_loop(_work(settings))
    elif command == "migrate":
        with _services(
            settings, purpose="shutter migrate", need_redis=False, share_running=True
        ) as ready:
            _migrate(ready)
    elif command == "reindex":
        from services.reindex import run_reindex

        with _services(
            settings, purpose="shutter reindex", need_redis=False, share_running=True
        ) as ready:
            asyncio.run(run_reindex(ready))
    elif command == "seed":
        _seed(args, settings)
    elif command == "outbox":
        _show_outbox(settings, count=None if args.all else args.count)
    elif command in ("train-ranker", "ranker"):
        from services.ranker.commands import run_ranker_command

        action = "train" if command == "train-ranker" else args.action
        with _services(
            settings, purpose=f"shutter {command}", need_redis=False, share_running=True
        ) as ready:
            _migrate(ready)
            status = asyncio.run(
                run_ranker_command(
                    ready,
                    action,
                    getattr(args, "version", None),
                    since=getattr(args, "since", None),
                    until=getattr(args, "until", None),
                )
            )
        if status:
            sys.exit(status)
    elif command == "admin":
        with _services(
            settings, purpose="shutter admin", need_redis=False, share_running=True
        ) as ready:
            _migrate(ready)
            status = asyncio.run(_admin_command(ready, args))
        if status:
            sys.exit(status)
    elif command == "export-schema":
        from schema.build import schema_sdl

        Path(args.output).write_text(schema_sdl())
        print(f"wrote {args.output}")


async def _admin_command(settings: Settings, args: argparse.Namespace) -> int:
    """One `shutter admin` command; its exit status."""
    from services import known_image_commands

    if args.action == "add-known-images":
        return await known_image_commands.add_known_images(
            settings, hex_files=args.hex_file, images=args.image, source=args.source
        )
    if args.action == "remove-known-images":
        return await known_image_commands.remove_known_images(settings, args.ids)
    return await _grant_role(settings, args.username, args.role)


async def _grant_role(settings: Settings, username: str, role_name: str) -> int:
    """`shutter admin grant-role`: give the account the role (services.roles); prints what
    changed and returns the exit status (1: refused, nothing changed)."""
    from services.errors import DomainError
    from services.roles import Role, grant_role_by_username
    from storage.pg import create_pool

    assert settings.database_url
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        before = await grant_role_by_username(pool, username, Role(role_name))
    except DomainError as error:
        print(f"shutter admin grant-role: {error}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    if before.value == role_name:
        print(f"{username} is already {role_name}; nothing changed")
    else:
        print(f"{username}: {before.value} -> {role_name}")
    return 0


def _show_outbox(settings: Settings, *, count: int | None) -> None:
    """`shutter outbox`: print the latest `count` messages of the outbox (all with None)."""
    import email
    import email.policy

    from storage.mail.outbox import list_messages

    paths = list_messages(settings.outbox_dir)
    if not paths:
        print(f"no messages in {settings.outbox_dir}")
        return
    shown = paths if count is None else paths[-max(1, count) :]
    for index, path in enumerate(shown):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if index:
            print("-" * 72)
        print(f"File: {path}")
        for header in ("Date", "From", "To", "Subject"):
            print(f"{header}: {message[header]}")
        body = message.get_body(preferencelist=("plain",))
        print()
        print(body.get_content() if body is not None else "(no plain-text body)")


async def _work(settings: Settings) -> None:
    """`shutter worker`: run jobs, through Redis outages (workers.supervisor), until SIGTERM or
    Ctrl-C; then take no new job and give running ones SHUTDOWN_GRACE_SECONDS to finish (the
    rest go back to the queue)."""
    from workers.supervisor import WorkerSupervisor

    supervisor = WorkerSupervisor(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running = asyncio.create_task(supervisor.run())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    await supervisor.stop(settings.shutdown_grace_seconds)
    stopping.cancel()
    await running


def _run_in_fast_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop (a libuv event loop: about a third less CPU per request than asyncio's)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shutter", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        (
            "run",
            "API and worker (WEB_CONCURRENCY API processes); embedded PostgreSQL/Valkey "
            "when no URLs are set",
        ),
        ("serve", "the API server only (needs DATABASE_URL and REDIS_URL)"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--host", default=DEFAULT_HOST)
        command.add_argument("--port", type=int, default=DEFAULT_PORT)
        if name == "serve":
            # One of WEB_CONCURRENCY processes on the port (web/server_processes.py).
            command.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    commands.add_parser("worker", help="the arq worker only (needs DATABASE_URL and REDIS_URL)")
    commands.add_parser("migrate", help="apply pending database migrations")
    commands.add_parser("reindex", help="rebuild the search index from PostgreSQL")
    seed = commands.add_parser(
        "seed",
        help="fill the service with demo users, follows, posts with pictures, likes, comments",
        description="Fill the service with reproducible demo data (refuses when it exists). "
        "Works standalone or next to a running `shutter run` on the same SHUTTER_DATA_DIR.",
    )
    seed.add_argument("--users", type=int, default=20, help="accounts, the demo user included")
    seed.add_argument("--posts-per-user", type=int, default=3)
    seed.add_argument("--seed", type=int, default=1, help="same seed, same data")
    outbox = commands.add_parser(
        "outbox",
        help="show the latest account email written to the outbox (when SMTP_URL is unset)",
        description="Show account email that was written to SHUTTER_DATA_DIR/outbox instead of "
        "being sent (no SMTP_URL): headers and plain-text body, newest last.",
    )
    outbox.add_argument("-n", "--count", type=int, default=1, help="how many of the latest")
    outbox.add_argument("--all", action="store_true", help="every message, oldest first")
    commands.add_parser(
        "train-ranker",
        help="train a feed ranker model on the logged pages; promoted when it beats the active",
    )
    ranker = commands.add_parser("ranker", help="the feed ranker's models")
    actions = ranker.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "status",
        help="the newest models with their held-out metrics, and the challenger when set",
    )
    promote = actions.add_parser("promote", help="make a stored model the active one")
    promote.add_argument("version", type=int)
    actions.add_parser("rollback", help="reject the active model, re-activate the previous")
    admin = commands.add_parser(
        "admin", help="operator commands (roles, the known-bad image blocklist)"
    )
    admin_actions = admin.add_subparsers(dest="action", required=True)
    grant = admin_actions.add_parser(
        "grant-role",
        help="give an account a role: the first ADMIN, or any role (docs/moderation.md)",
        description="Give the account USER, MODERATOR or ADMIN (written to the audit log with "
        "the system as actor). The last admin cannot be demoted.",
    )
    grant.add_argument("username")
    grant.add_argument("role", choices=["ADMIN", "MODERATOR", "USER"])
    add_known = admin_actions.add_parser(
        "add-known-images",
        help="add PDQ hashes to the known-bad image blocklist (docs/moderation.md)",
        description="Add the hashes of hex files (one 64-digit PDQ hash per line; # comments) "
        "and of image files to the blocklist, labelled with SOURCE. Hashes already listed are "
        "left as they are.",
    )
    add_known.add_argument(
        "--hex-file", type=Path, action="append", default=[], metavar="FILE", help="repeatable"
    )
    add_known.add_argument(
        "--image", type=Path, action="append", default=[], metavar="PATH", help="repeatable"
    )
    add_known.add_argument("--source", required=True, help="where the hashes come from")
    remove_known = admin_actions.add_parser(
        "remove-known-images", help="remove blocklist entries by their ids"
    )
    remove_known.add_argument("ids", type=int, nargs="+", metavar="ID")
    report = actions.add_parser(
        "report", help="engagement per experiment arm and day (default: the last 7 days)"
    )
    report.add_argument("--since", type=date.fromisoformat, help="first day, YYYY-MM-DD (UTC)")
    report.add_argument("--until", type=date.fromisoformat, help="last day, YYYY-MM-DD (UTC)")
    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql")
    return parser


@contextlib.contextmanager
def _services(
    settings: Settings, *, purpose: str, need_redis: bool = True, share_running: bool = False
) -> Iterator[Settings]:
    """Settings whose URLs point at running servers: the configured ones, or embedded ones
    started under SHUTTER_DATA_DIR for the length of the block. While another process owns
    the folder's servers, `share_running` uses them (`shutter seed`, `migrate` and `reindex`
    next to `shutter run`); otherwise storage.embedded.DataDirInUseError says who owns it.
    `need_redis` False: no Valkey (the command uses PostgreSQL only)."""
    from storage.embedded import embedded_services

    with embedded_services(
        settings.data_dir,
        need_postgres=not settings.database_url,
        need_redis=need_redis and not settings.redis_url,
        share_running=share_running,
        purpose=purpose,
    ) as (database_url, redis_url):
        yield settings.model_copy(
            update={
                "database_url": settings.database_url or database_url,
                "redis_url": settings.redis_url or redis_url,
            }
        )


def _seed(args: argparse.Namespace, settings: Settings) -> None:
    """`shutter seed`: migrations, then workers.seed.run_seed; exits 1 when already seeded."""
    from services.seed import AlreadySeededError, check_sizes
    from workers.seed import run_seed, summary

    try:
        check_sizes(args.users, args.posts_per_user)
    except ValueError as error:
        sys.exit(f"shutter seed: {error}")

    logging.getLogger("arq").setLevel(logging.WARNING)  # a line per drained job
    with (
        _services(settings, purpose="shutter seed", share_running=True) as ready,
        _temporary_files(settings),
    ):
        _migrate(ready)
        try:
            report = asyncio.run(
                run_seed(
                    ready, users=args.users, posts_per_user=args.posts_per_user, seed=args.seed
                )
            )
        except AlreadySeededError as error:
            sys.exit(
                f"shutter seed: already seeded ({error}); nothing was changed. To start over, "
                "stop Shutter and delete SHUTTER_DATA_DIR (./var), or use an empty database."
            )
    print(summary(report, f"{ready.public_base_url}/graphql"))


@contextlib.contextmanager
def _temporary_files(settings: Settings) -> Iterator[None]:
    """The process's temporary files (media being processed, ...) in a folder of its own under
    SHUTTER_DATA_DIR/tmp, where the next process removes what a killed one left
    (storage.scratch.temporary_files_in)."""
    from storage.scratch import temporary_files_in

    with temporary_files_in(settings.data_dir / "tmp"):
        yield


def _migrate(settings: Settings) -> None:
    from storage.pg.migrate import apply_migrations

    assert settings.database_url
    applied = apply_migrations(settings.database_url)
    log.info("migrations applied: %s", ", ".join(applied) or "none pending")


def _require_urls(settings: Settings) -> None:
    if not settings.database_url or not settings.redis_url:
        sys.exit(
            "shutter: DATABASE_URL and REDIS_URL must be set for this command "
            "(`shutter run` starts embedded servers instead)."
        )


def _serve_in_processes(settings: Settings, host: str, port: int, *, with_worker: bool) -> None:
    """WEB_CONCURRENCY API server processes on one port (web/server_processes.py) until
    SIGINT/SIGTERM or one of them exits; with_worker also runs the arq worker in this process.
    Side effects: the signing key file is created here first when there is none (the children
    would race to create it); a shared metrics directory (PROMETHEUS_MULTIPROC_DIR) for the
    children and this process's worker, set up before anything imports prometheus-client and
    removed at the end, so that /metrics of any API process serves the whole set's metrics."""
    _require_urls(settings)
    from web.server_processes import (
        shared_metrics_directory,
        start_server_processes,
        stop_server_processes,
    )

    with shared_metrics_directory() as metrics_directory:
        from resources import load_or_create_secret_key

        load_or_create_secret_key(settings)
        base_url = settings.public_base_url
        if "public_base_url" not in settings.model_fields_set:
            base_url = _base_url(host, port)
        env = {
            "DATABASE_URL": settings.database_url or "",
            "REDIS_URL": settings.redis_url or "",
            "PUBLIC_BASE_URL": base_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory),
        }
        processes = start_server_processes(settings.web_concurrency, host, port, env)
        try:
            _run_in_fast_loop(_supervise(settings, processes, host, port, with_worker=with_worker))
        finally:
            stop_server_processes(processes, settings.shutdown_grace_seconds)


async def _supervise(
    settings: Settings,
    processes: list[subprocess.Popen[bytes]],
    host: str,
    port: int,
    *,
    with_worker: bool,
) -> None:
    """Wait while every API process runs (with_worker: running the arq worker meanwhile) until
    SIGINT/SIGTERM; exits with status 1 when one of them exits on its own (marked dead in the
    shared metrics directory at once)."""
    from web.server_processes import exited, forget_process_metrics

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    supervisor = None
    worker_task = None
    if with_worker:
        from workers.supervisor import WorkerSupervisor

        supervisor = WorkerSupervisor(settings)
        worker_task = asyncio.create_task(supervisor.run())
    announced = False
    try:
        while (gone := exited(processes)) is None:
            if not announced and await _accepts_connections(host, port):
                announced = True
                print(
                    f"\n  Shutter is up ({len(processes)} API processes). "
                    f"GraphiQL: {_base_url(host, port)}/graphql\n",
                    flush=True,
                )
            with contextlib.suppress(TimeoutError):  # a Popen has no awaitable exit: poll it
                await asyncio.wait_for(stopping.wait(), 0.5)
            if stopping.is_set():
                log.info("stopping the API processes")
                return
        log.error("API process %d exited with status %s", gone.pid, gone.returncode)
        forget_process_metrics(gone.pid)
        raise SystemExit(1)
    finally:
        if supervisor is not None and worker_task is not None:
            await _stop_in_process_worker(supervisor, worker_task, settings.shutdown_grace_seconds)


async def _stop_in_process_worker(
    supervisor: WorkerSupervisor, worker_task: asyncio.Task[None], grace_seconds: int
) -> None:
    """Stop the arq worker `shutter run` runs in its loop (running jobs get `grace_seconds`)."""
    try:
        await supervisor.stop(grace_seconds)
    except Exception:  # e.g. the embedded Valkey got the same SIGTERM and is gone
        log.warning("the in-process worker did not close cleanly", exc_info=True)
    worker_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker_task


async def _serve(
    settings: Settings, host: str, port: int, *, with_worker: bool, reuse_port: bool = False
) -> None:
    """Serve the API until SIGINT/SIGTERM; with_worker also runs the arq worker in this loop.
    `reuse_port`: one of several processes listening on the port (web/server_processes.py)."""
    _require_urls(settings)
    from app import create_app
    from web.security import server_options

    if "public_base_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"public_base_url": _base_url(host, port)})

    app = create_app(settings)
    server = GracefulServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="on",
            log_config=None,
            # web.connections logs each request (one renderer, with the request id).
            access_log=False,
            # SIGTERM: in-flight requests get this long to finish before they are cancelled.
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            # Notification frames are ~200 bytes: per-socket compression state (~41 KiB per
            # socket, measured by bench.notify) would cost more memory than it saves bandwidth.
            ws_per_message_deflate=False,
            **server_options(settings),  # ws_max_size, trusted proxies (issue #7)
        ),
        websockets=app.state.websockets,
    )
    supervisor = None
    worker_task = None
    if with_worker:
        from workers.supervisor import WorkerSupervisor

        supervisor = WorkerSupervisor(settings)
        worker_task = asyncio.create_task(supervisor.run())
    announcer = asyncio.create_task(
        _announce_when_started(server, host, port) if not reuse_port else asyncio.sleep(0)
    )
    # One of several processes on the port: uvicorn is handed the listening socket itself. (Its
    # `fd` option wraps a descriptor as a Unix-domain socket, so the event loop treated the
    # accepted TCP connections as Unix ones and never set TCP_NODELAY: every response then
    # waited out the client's delayed ACK, ~40 ms.)
    sockets = [_shared_port_socket(host, port)] if reuse_port else None
    try:
        await server.serve(sockets=sockets)
    finally:
        announcer.cancel()
        if supervisor is not None and worker_task is not None:
            await _stop_in_process_worker(supervisor, worker_task, settings.shutdown_grace_seconds)


async def _accepts_connections(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on (host, port) (one attempt, closed at
    once)."""
    connect_to = "::1" if host == "::" else "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(connect_to, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


def _shared_port_socket(host: str, port: int) -> socket.socket:
    """A SO_REUSEPORT socket listening on (host, port) (web/server_processes.py)."""
    from web.server_processes import shared_port_socket

    return shared_port_socket(host, port)


class GracefulServer(uvicorn.Server):
    """uvicorn's server with a going-away close for websockets: at shutdown (SIGTERM, Ctrl-C)
    it stops listening, closes every websocket with 1001 from the application, then runs
    uvicorn's shutdown, which lets in-flight HTTP requests finish (timeout_graceful_shutdown)
    and would otherwise close websockets with 1012 ("service restart")."""

    def __init__(self, config: uvicorn.Config, *, websockets: WebSocketRegistry) -> None:
        super().__init__(config)
        self.websockets = websockets

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Side effects: listening sockets closed (new connections refused); websockets
        closed with 1001; then uvicorn's graceful shutdown and the lifespan's."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        closed = await self.websockets.close_all()
        if closed:
            log.info("closed %d websockets (going away)", closed)
        await super().shutdown(sockets=sockets)


async def _announce_when_started(server: uvicorn.Server, host: str, port: int) -> None:
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.05)
    print(f"\n  Shutter is up. GraphiQL: {_base_url(host, port)}/graphql\n", flush=True)


def _base_url(host: str, port: int) -> str:
    """http://host:port, an IPv6 address in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


if __name__ == "__main__":
    sys.exit(main())
