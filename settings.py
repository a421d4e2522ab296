"""Settings: one object read from the environment, passed down explicitly (never a global).

Every field maps to an upper-case environment variable of the same name (``DATABASE_URL``,
``REDIS_URL``, ...), except ``data_dir`` which reads ``SHUTTER_DATA_DIR``. Nothing is required:
with no settings at all, ``shutter run`` starts embedded PostgreSQL and Valkey under ``./var``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one Shutter process (API server, worker or both)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), validation_alias=AliasChoices("SHUTTER_DATA_DIR", "data_dir")
    )
    """Holds the embedded PostgreSQL and Valkey data, local media and the generated signing key."""

    database_url: str | None = None
    """PostgreSQL DSN. Unset: `shutter run` starts an embedded server under `data_dir`."""

    redis_url: str | None = None
    """Redis (or Valkey) URL. Unset: `shutter run` starts an embedded Valkey under `data_dir`."""

    secret_key: str | None = None
    """Signs access tokens. Unset: a random key is generated once into `data_dir/secret.key`."""

    access_token_ttl_seconds: int = Field(default=900, ge=60, le=900)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)

    password_hash_time_cost: int = Field(default=3, ge=1)
    """Argon2id iterations (OWASP: t=3 with 64 MiB, or t=2 with 19 MiB)."""
    password_hash_memory_kib: int = Field(default=65536, ge=1024)

    db_pool_min_size: int = Field(default=2, ge=1)
    db_pool_max_size: int = Field(default=10, ge=1)

    graphiql_enabled: bool = True
    """Serve the GraphiQL explorer at /graphql for browsers."""

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def postgres_data_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def valkey_data_dir(self) -> Path:
        return self.data_dir / "valkey"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"
