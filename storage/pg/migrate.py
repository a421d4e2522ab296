"""Forward-only SQL migrations (`migrations/*.sql`) applied with yoyo-migrations."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def yoyo_url(database_url: str) -> str:
    """`postgresql://...` (the asyncpg form) -> `postgresql+psycopg://...` (yoyo over psycopg 3)."""
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"not a PostgreSQL URL: scheme {parts.scheme!r}")
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def apply_migrations(database_url: str) -> list[str]:
    """Apply every pending migration, each in its own transaction, under yoyo's lock.

    Blocking (psycopg): call it from a thread when inside an event loop. Returns the ids applied.
    """
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]
