"""The real app on its own loopback port with some settings changed, for tests of limits that
the shared live server keeps at their defaults."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from resources import Resources
from settings import Settings
from tests.api.security_servers import served
from tests.conftest import LiveApp


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
