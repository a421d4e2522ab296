"""The `shutter` command: run (all in one), serve (API), worker, migrate, reindex, seed,
export-schema, outbox."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
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
            _run_in_fast_loop(_serve(ready, args.host, args.port, with_worker=True))
    elif command == "serve":
        with _temporary_files(settings):
            _run_in_fast_loop(_serve(settings, args.host, args.port, with_worker=False))
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
    elif command == "export-schema":
        from schema.build import schema_sdl

        Path(args.output).write_text(schema_sdl())
        print(f"wrote {args.output}")


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
        ("run", "API and worker in one process; embedded PostgreSQL/Valkey when no URLs are set"),
        ("serve", "the API server only (needs DATABASE_URL and REDIS_URL)"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--host", default=DEFAULT_HOST)
        command.add_argument("--port", type=int, default=DEFAULT_PORT)
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
    actions.add_parser("status", help="the newest models with their held-out metrics")
    promote = actions.add_parser("promote", help="make a stored model the active one")
    promote.add_argument("version", type=int)
    actions.add_parser("rollback", help="reject the active model, re-activate the previous")
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


async def _serve(settings: Settings, host: str, port: int, *, with_worker: bool) -> None:
    """Serve the API until SIGINT/SIGTERM; with_worker also runs the arq worker in this loop."""
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
    announcer = asyncio.create_task(_announce_when_started(server, host, port))
    try:
        await server.serve()
    finally:
        announcer.cancel()
        if supervisor is not None and worker_task is not None:
            try:
                await supervisor.stop(settings.shutdown_grace_seconds)
            except Exception:  # e.g. the embedded Valkey got the same SIGTERM and is gone
                log.warning("the in-process worker did not close cleanly", exc_info=True)
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task


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
