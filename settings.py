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

    redis_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    """Longest wait for Redis to accept a connection or answer one command, in the API, the
    worker and the pub/sub connection. Beyond it a request answers SERVICE_UNAVAILABLE (HTTP
    503) instead of hanging while Redis is stopped or unreachable."""

    secret_key: str | None = None
    """Signs access tokens. Unset: a random key is generated once into `data_dir/secret.key`."""

    access_token_ttl_seconds: int = Field(default=900, ge=60, le=900)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)

    password_hash_time_cost: int = Field(default=3, ge=1)
    """Argon2id iterations (OWASP: t=3 with 64 MiB, or t=2 with 19 MiB)."""
    password_hash_memory_kib: int = Field(default=65536, ge=1024)

    db_pool_min_size: int = Field(default=2, ge=1)
    db_pool_max_size: int = Field(default=10, ge=1)
    count_sql_statements: bool = False
    """Count the SQL statements this process sends (Resources.sql_statements, for tests and
    benchmarks): asyncpg's query logger then costs every statement ~10 µs."""

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
    max_video_seconds: float = Field(default=90.0, gt=0)
    """The longest video a post may carry (was 180 s before renditions: every second is now
    transcoded four times). Checked from the header and again while decoding."""
    max_video_pixels: int = Field(default=4096 * 2304, ge=1)
    """Largest video picture (4K and a margin), from the container header before decoding."""
    max_video_frame_rate: float = Field(default=240.0, gt=0)
    """Higher average frame rates are refused; renditions are at most 60 frames per second."""
    video_transcode_concurrency: int = Field(default=1, ge=1)
    """Videos transcoded at once per worker process (x264 already uses every core)."""
    video_transcode_timeout_seconds: int = Field(default=600, ge=1)
    """A transcode running longer fails the media (REJECTED with the reason). arq's takeover of
    a crashed worker's job waits for the longest job timeout: this one."""
    video_x264_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = (
        "veryfast"
    )
    video_progress_interval_seconds: float = Field(default=1.0, gt=0)
    """At most one processingProgress update (row + live event) per media item this often."""

    media_job_timeout_seconds: int = Field(default=120, ge=1)
    media_job_max_tries: int = Field(default=4, ge=1)
    media_processing_concurrency: int = Field(default=2, ge=1)
    """CPU-bound image work at once per worker process (the machine's cores)."""
    media_stale_after_seconds: int = Field(default=600, ge=10)
    """The sweeper re-enqueues media left PROCESSING this long (a crashed worker)."""
    abandoned_upload_ttl_seconds: int = Field(default=24 * 3600, ge=3600)
    """Media never completed after this long are deleted with their partial originals (at least
    an hour: longer than any upload URL lives)."""
    media_max_sweeps: int = Field(default=3, ge=1)
    """After this many re-enqueues a media item ends FAILED rather than PROCESSING forever."""

    moderation_classifier: Literal["open_nsfw", "nudenet", "none"] = "open_nsfw"
    """The NSFW classifier of media processing (docs/moderation.md, "Classifier"): a flagged
    item opens a case and is hidden pending review."""
    moderation_nsfw_threshold: float = Field(default=0.8, ge=0, le=1)
    """open_nsfw's score (0..1) from which a picture is flagged."""
    known_image_max_distance: int = Field(default=31, ge=0, le=31)
    """A photo or video keyframe whose PDQ hash is within this many bits (of 256) of a
    blocklist entry is rejected (docs/moderation.md, "Known-bad images"); 31 is PDQ's
    reference threshold and the most the index covers."""
    known_image_min_quality: int = Field(default=50, ge=0, le=100)
    """PDQ hashes of lower quality (flat pictures) are neither matched nor listed."""
    video_moderation_keyframes: int = Field(default=4, ge=0, le=32)
    """Keyframes sampled through each video for the blocklist and the classifier."""

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
    ranker_retention_days: int = Field(default=30, ge=1)
    """Days the ranker's log (served pages, impressions) is kept (docs/ranking.md)."""
    ranker_model_share: float = Field(default=1.0, ge=0.0, le=1.0)
    """The share of viewers whose RANKED feed the active model ranks (the rest: the formula),
    by a deterministic hash of the user id and RANKER_EXPERIMENT_SALT (docs/ranking.md)."""
    ranker_experiment_salt: str = Field(default="ranker-1", min_length=1, max_length=64)
    """Changing it re-draws every viewer's arm (a new experiment)."""
    ranker_challenger_version: int | None = Field(default=None, ge=1)
    """A stored ranker model to A/B against the active one: it ranks RANKER_CHALLENGER_SHARE of
    the model arm's viewers (arm "challenger"); while it is not stored, cannot be loaded or is
    the active model, they get the active model (docs/ranking.md). Unset: no challenger."""
    ranker_challenger_share: float = Field(default=0.5, ge=0.0, le=1.0)
    """The share of the model arm's viewers (not of all viewers) in the challenger arm, drawn
    by the same hash as the model arm: adding a challenger moves nobody into or out of the
    formula arm."""
    ranker_training_enabled: bool = True
    """The worker trains a ranker model once a day (promoted only when it beats the active)."""
    ranker_training_hour: int = Field(default=3, ge=0, le=23)
    """The UTC hour of the daily training (at minute 31)."""

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
    rate_limit_impressions_per_hour: int = Field(default=600, ge=1)
    rate_limit_impressions_per_day: int = Field(default=6000, ge=1)
    """recordImpressions calls (each up to 100 impressions)."""
    rate_limit_reports_per_hour: int = Field(default=20, ge=1)
    rate_limit_reports_per_day: int = Field(default=100, ge=1)

    # Moderation (docs/moderation.md)
    moderation_hide_after_reports: int = Field(default=3, ge=1)
    """A post, comment or media item reported by this many distinct accounts is hidden from
    everyone until a moderator decides."""

    # Observability (issue #8)
    log_format: Literal["auto", "json", "console"] = "auto"
    """`json`: one JSON object per line; `console`: readable lines; `auto`: console when stderr
    is a terminal, JSON otherwise (containers, files, pipes)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    access_log: bool = True
    """One line per HTTP request: method, path, status, duration_ms, request_id."""
    metrics_enabled: bool = True
    """Serve Prometheus metrics at /metrics."""
    metrics_token: str | None = None
    """Unset: /metrics answers loopback clients only. Set: any client presenting
    `Authorization: Bearer <token>` (and no one else)."""
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """`shutter worker` serves its metrics on this port (unset: none)."""
    worker_metrics_host: str = "127.0.0.1"
    """The address the worker's metrics listen on (`0.0.0.0` in a container)."""
    tracing_enabled: bool = False
    """Export OpenTelemetry traces (needs `pip install -e '.[otel]'`); also on when
    OTEL_EXPORTER_OTLP_ENDPOINT is set. The exporter reads the standard OTEL_* variables."""
    otel_exporter_otlp_endpoint: str | None = None
    shutdown_grace_seconds: int = Field(default=20, ge=1)
    """On SIGTERM: how long in-flight requests (API) and running jobs (worker) may take to
    finish; jobs still running then return to the queue."""
    web_concurrency: int = Field(default=1, ge=1, le=64)
    """API server processes of `shutter serve` and `shutter run`, sharing one listening socket
    (web/server_processes.py): one Python process uses one core at a time, so set it to the
    machine's cores to use them all (docs/query-cost.md, "Feed speed"). 1: the server runs in
    the command's own process."""

    @property
    def tracing_active(self) -> bool:
        return self.tracing_enabled or bool(self.otel_exporter_otlp_endpoint)

    # HTTP security (issue #7): log-in throttling, proxies, body and message sizes, CORS, headers.
    login_failures_per_account: int = Field(default=10, ge=1)
    """Failed log-ins allowed per account name (the username or email as typed) per window;
    beyond it logIn answers RATE_LIMITED without checking the password."""
    login_failures_per_ip: int = Field(default=50, ge=1)
    """Failed log-ins allowed per client address per window (successes are not counted)."""
    login_failure_window_seconds: int = Field(default=900, ge=60)
    """The moving window of both log-in limits (15 minutes)."""
    sign_ups_per_ip: int = Field(default=20, ge=1)
    """Sign-up attempts (well-formed ones, whether or not the name and email were free) allowed
    per client address per window; beyond it signUp answers RATE_LIMITED before any check."""
    sign_up_window_seconds: int = Field(default=3600, ge=60)
    """The moving window of the sign-up limit (an hour)."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies trusted for `X-Forwarded-For`/`X-Forwarded-Proto` (uvicorn's option: comma-separated
    addresses or networks, `*` for any). The client address of log-in throttling comes from them
    only when the peer is one of these; otherwise it is the TCP peer."""
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest request body accepted on /graphql (and every route but uploads): 413 beyond."""
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    """A request's headers must arrive within this time of the connection opening (or of the
    first byte of a next request on a kept-alive connection): 408 and closed beyond. Idle
    kept-alive connections are closed by uvicorn's keep-alive timeout (5 s)."""
    http_body_timeout_seconds: float = Field(default=30.0, gt=0)
    """A request's whole body must arrive within this time of its headers (every route but
    uploads): 408 and closed beyond."""
    http_upload_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    """An upload to the local blob backend (/uploads/, streamed) may pause at most this long
    between two chunks: 408 and closed beyond."""
    max_websocket_message_bytes: int = Field(default=256 * 1024, ge=1024)
    """Largest websocket message accepted; a larger one closes the socket with 1009."""
    cors_max_age_seconds: int = Field(default=600, ge=0)
    """How long browsers may cache a CORS preflight answer (see `allowed_origins`)."""
    hsts_enabled: bool = False
    """Send `Strict-Transport-Security` (only when every client reaches the API over HTTPS)."""

    # Public API limits (issue #7): query size and cost, the points budget, persisted queries,
    # websockets, exposure. See docs/query-cost.md and docs/graphql-over-http.md.
    query_max_depth: int = Field(default=12, ge=2)
    """Deepest field nesting an operation may have (introspection fields not counted)."""
    query_max_aliases: int = Field(default=30, ge=0)
    query_max_tokens: int = Field(default=2000, ge=100)
    """Lexical tokens (and, separately, comments) a document may have; refused while parsing."""
    query_max_selections: int = Field(default=2000, ge=100)
    """Selections (fields, fragment spreads, inline fragments) a document's operations may have
    with each fragment written out wherever it is spread: MAX_SELECTIONS_EXCEEDED beyond, before
    any other validation (fragments spreading each other make a small document huge)."""
    query_max_cost: int = Field(default=5000, ge=1)
    """Highest cost one operation may have (docs/query-cost.md): MAX_COST_EXCEEDED beyond."""
    query_cost_in_extensions: bool = True
    """Report each operation's cost and the remaining budget in `extensions.cost`."""
    query_budget_enabled: bool = True
    """Charge each operation's cost to a points budget per viewer (per client address when
    anonymous), refilled over time: THROTTLED (HTTP 429) when it does not cover a request."""
    query_budget_points: int = Field(default=10_000, ge=1)
    """The budget's capacity: what a viewer may spend in a burst."""
    query_budget_restore_rate: int = Field(default=200, ge=1)
    """Points per second the budget refills, up to its capacity."""
    persisted_query_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    """How long an automatic persisted query stays registered after its last registration."""
    public_cache_max_age_seconds: int = Field(default=60, ge=0)
    """`Cache-Control: public, max-age=N` on anonymous, error-free GET query responses, so that
    a CDN may cache them; every other GraphQL response is `private, no-store`."""
    websocket_init_timeout_seconds: float = Field(default=10.0, gt=0, le=10)
    """A websocket that sends no `connection_init` within this time is closed with 4408."""
    max_subscriptions_per_connection: int = Field(default=20, ge=1)
    """Operations one websocket may run at once; beyond: an `error` message for that id."""
    introspection_enabled: bool = True
    """Answer `__schema`/`__type`. Production: set false (clients use the exported SDL)."""
    field_suggestions_enabled: bool = True
    """"Did you mean ...?" in error messages. Production: set false (it leaks the schema)."""

    # Account email, verification and recovery (issue #20; docs/deployment.md).
    smtp_url: str | None = None
    """Where account email is sent: `smtp://user:password@host:587` (STARTTLS when offered;
    `?starttls=true` requires it) or `smtps://user:password@host:465` (TLS). Unset: messages are
    written to `data_dir/outbox` as .eml files, which `shutter outbox` shows."""
    email_from: str = "Shutter <no-reply@shutter.localhost>"
    """The From of account email."""
    account_link_base_url: str | None = None
    """The front end that opens the links in account email (`<base>/verify-email?token=...`,
    `<base>/reset-password?token=...`). Unset: `public_base_url`."""
    email_verification_ttl_seconds: int = Field(default=48 * 3600, ge=600)
    """How long an email verification (or email change) link works."""
    password_reset_ttl_seconds: int = Field(default=3600, ge=300, le=3600)
    """How long a password reset link works (an hour at most)."""
    password_resets_per_address: int = Field(default=5, ge=1)
    """Password reset requests per email address (as typed) per window: RATE_LIMITED beyond."""
    password_resets_per_ip: int = Field(default=20, ge=1)
    """Password reset requests per client address per window: RATE_LIMITED beyond."""
    password_reset_window_seconds: int = Field(default=3600, ge=60)
    two_factor_challenge_ttl_seconds: int = Field(default=300, ge=60, le=900)
    """How long the challenge `logIn` hands out for an account with two-factor authentication
    may be completed with a code (completeTwoFactorLogIn); it works once."""
    email_job_max_tries: int = Field(default=6, ge=1)
    """Attempts to hand a message to the SMTP server (backing off 10 s, 1, 5, 15, 30 min)."""
    account_deletion_grace_seconds: int = Field(default=30 * 24 * 3600, ge=0)
    """How long after deleteAccount the account is erased (logging in before then cancels)."""
    data_export_link_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=7 * 24 * 3600)
    """How long a data export's signed download link (and the export file) lasts."""

    @property
    def link_base_url(self) -> str:
        return (self.account_link_base_url or self.public_base_url).rstrip("/")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"
