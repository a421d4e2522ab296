"""The `shutter` command: run (all in one), serve (API), worker, migrate, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import uvicorn
import uvloop

from settings import Settings

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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings()
    if args.command in ("run", "worker"):
        _limit_malloc_arenas()
    try:
        _dispatch(args, settings)
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down cleanly
        print("shutter: stopped", file=sys.stderr)
    return 0


def _dispatch(args: argparse.Namespace, settings: Settings) -> None:
    command: str = args.command
    if command == "run":
        with _services(settings) as ready:
            _migrate(ready)
            _run_in_fast_loop(_serve(ready, args.host, args.port, with_worker=True))
    elif command == "serve":
        _run_in_fast_loop(_serve(settings, args.host, args.port, with_worker=False))
    elif command == "worker":
        _require_urls(settings)
        from workers import build_worker

        build_worker(settings).run()
    elif command == "migrate":
        with _services(settings) as ready:
            _migrate(ready)
    elif command == "reindex":
        from services.reindex import run_reindex

        with _services(settings) as ready:
            asyncio.run(run_reindex(ready))
    elif command == "export-schema":
        from schema.build import schema_sdl

        Path(args.output).write_text(schema_sdl())
        print(f"wrote {args.output}")


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
    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql")
    return parser


@contextlib.contextmanager
def _services(settings: Settings) -> Iterator[Settings]:
    """Settings whose URLs point at running servers: the configured ones, or embedded ones
    started under SHUTTER_DATA_DIR for the length of the block."""
    from storage.embedded import embedded_services

    with embedded_services(
        settings.data_dir,
        need_postgres=not settings.database_url,
        need_redis=not settings.redis_url,
    ) as (database_url, redis_url):
        yield settings.model_copy(
            update={
                "database_url": settings.database_url or database_url,
                "redis_url": settings.redis_url or redis_url,
            }
        )


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

    if "public_base_url" not in settings.model_fields_set:
        shown_host = f"[{host}]" if ":" in host else host
        settings = settings.model_copy(update={"public_base_url": f"http://{shown_host}:{port}"})

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            lifespan="on",
            log_config=None,
            # Notification frames are ~200 bytes: per-socket compression state (~41 KiB per
            # socket, measured by bench.notify) would cost more memory than it saves bandwidth.
            ws_per_message_deflate=False,
        )
    )
    worker_task = None
    worker = None
    if with_worker:
        from workers import build_worker

        worker = build_worker(settings, handle_signals=False)
        worker_task = asyncio.create_task(worker.async_run())
    announcer = asyncio.create_task(_announce_when_started(server, host, port))
    try:
        await server.serve()
    finally:
        announcer.cancel()
        if worker is not None and worker_task is not None:
            await worker.close()
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task


async def _announce_when_started(server: uvicorn.Server, host: str, port: int) -> None:
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.05)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"\n  Shutter is up. GraphiQL: http://{shown_host}:{port}/graphql\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())
