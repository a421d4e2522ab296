"""Settings: one object read from the environment, passed down explicitly (never a global).

Every field maps to an upper-case environment variable of the same name (``DATABASE_URL``,
``REDIS_URL``, ...), except ``data_dir`` which reads ``SHUTTER_DATA_DIR``. Nothing is required:
with no settings at all, ``shutter run`` starts embedded PostgreSQL and Valkey under ``./var``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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

    allowed_origins: list[str] = Field(default_factory=list)
    """Browser origins (e.g. `https://app.example.com`) allowed to call the API cross-origin
    (CORS) and to open websockets; `["*"]` allows any. Empty: same-origin and non-browser
    clients only. As JSON in the environment: `ALLOWED_ORIGINS='["https://a.example"]'`."""

    public_base_url: str = "http://127.0.0.1:8000"
    """Where clients reach this API; the local media backend builds upload and media URLs on it.
    `shutter run`/`serve` derive it from --host/--port unless it is set."""

    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    """For S3-compatible stores (MinIO, R2, ...); unset for AWS."""
    s3_region: str = "us-east-1"
    media_base_url: str | None = None
    """The CDN in front of the bucket's `media/` prefix; variant URLs are built on it."""

    upload_url_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    max_image_bytes: int = Field(default=30 * 1024 * 1024, ge=1)
    max_video_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=100_000_000, ge=1)
    """Decompression-bomb guard: larger images are rejected from their header, before decoding."""
    max_video_seconds: float = Field(default=180.0, gt=0)

    media_job_timeout_seconds: int = Field(default=120, ge=1)
    media_job_max_tries: int = Field(default=4, ge=1)
    media_processing_concurrency: int = Field(default=2, ge=1)
    """CPU-bound image work at once per worker process (the machine's cores)."""
    media_stale_after_seconds: int = Field(default=600, ge=10)
    """The sweeper re-enqueues media left PROCESSING this long (a crashed worker)."""
    media_max_sweeps: int = Field(default=3, ge=1)
    """After this many re-enqueues a media item ends FAILED rather than PROCESSING forever."""

    search_backend: Literal["postgres", "elasticsearch"] = "postgres"
    elasticsearch_url: str | None = None
    """Used when SEARCH_BACKEND=elasticsearch (the official async client; an alias per index)."""

    celebrity_follower_threshold: int = Field(default=10_000, ge=1)
    """Authors with at least this many followers are not fanned out: their posts are pulled."""
    feed_max_entries: int = Field(default=800, ge=20)
    feed_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    """A feed unread this long expires; its owner counts as inactive and is skipped by fan-out."""
    fan_out_batch_size: int = Field(default=1000, ge=1)
    like_flush_interval_seconds: int = Field(default=30, ge=1, le=60)

    # Abuse limits per user (moving windows in Redis); beyond them: RATE_LIMITED, nothing done.
    # Changing a number starts that window afresh (the number is part of the Redis key).
    rate_limit_likes_per_hour: int = Field(default=350, ge=1)
    rate_limit_likes_per_day: int = Field(default=1000, ge=1)
    rate_limit_comments_per_hour: int = Field(default=60, ge=1)
    rate_limit_comments_per_day: int = Field(default=500, ge=1)
    rate_limit_follows_per_hour: int = Field(default=60, ge=1)
    rate_limit_follows_per_day: int = Field(default=200, ge=1)
    rate_limit_posts_per_hour: int = Field(default=25, ge=1)
    rate_limit_posts_per_day: int = Field(default=100, ge=1)

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
