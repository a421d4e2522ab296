"""`shutter reindex`: rebuild the search index from PostgreSQL, with a progress bar on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from settings import Settings
from storage.pg import create_pool
from storage.search.factory import open_search_backend

BAR_WIDTH = 30


class ProgressBar:
    """A one-line textual progress bar (`posts  [#####-----]  5000/10000  1234/s`)."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out
        self.started = time.monotonic()
        self.current: str | None = None

    def __call__(self, what: str, done: int, total: int) -> None:
        if self.current is not None and what != self.current:
            self.out.write("\n")
            self.started = time.monotonic()
        self.current = what
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        rate = done / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.out.write(f"\r{what:<9}[{bar}] {done}/{total} {rate:,.0f}/s")
        self.out.flush()

    def finish(self) -> None:
        if self.current is not None:
            self.out.write("\n")
            self.out.flush()


async def run_reindex(settings: Settings, out: TextIO = sys.stderr) -> int:
    """Rebuild the configured search backend's index; returns the documents indexed.

    Side effects: a PostgreSQL pool for the run; for Elasticsearch, new indexes, an atomic
    alias swap and the old indexes deleted. PostgreSQL has nothing to rebuild (it reports counts).
    """
    if not settings.database_url:
        raise ValueError("reindex needs DATABASE_URL")
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        backend = await open_search_backend(
            pool,
            backend=settings.search_backend,
            elasticsearch_url=settings.elasticsearch_url,
        )
        try:
            bar = ProgressBar(out)
            done = await backend.rebuild(bar)
            bar.finish()
            out.write(f"{backend.name}: {done} documents indexed\n")
            return done
        finally:
            await backend.close()
    finally:
        await pool.close()
