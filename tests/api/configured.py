"""The real app on its own loopback port, configured like `shutter serve` configures uvicorn
(web.security.server_options) and with some settings changed, for tests of limits that the
shared live server keeps at their defaults."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from app import create_app
from resources import Resources
from settings import Settings
from tests.conftest import LiveApp, free_port
from tests.servers import serve_app
from web.security import server_options


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """Serve `create_app(settings)` with the CLI's uvicorn options; yields the base URL."""
    async with serve_app(create_app(settings), free_port(), **server_options(settings)) as url:
        yield url


@contextlib.asynccontextmanager
async def app_with(
    settings: Settings, resources: Resources, **overrides: Any
) -> AsyncIterator[LiveApp]:
    """Serve the app with `overrides` applied to `settings` (same PostgreSQL and Redis, so
    `resources` sees its data); yields a LiveApp for it."""
    async with (
        served(settings.model_copy(update=overrides)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        yield LiveApp(base_url=base_url, http=http, resources=resources)
