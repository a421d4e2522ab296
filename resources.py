"""Resources: every long-lived connection and helper a process needs, opened in ONE place.

`open_resources(settings)` is used by the app's lifespan and by the worker's start-up alike.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
from arq.connections import ArqRedis

from services.accounts import AccountDeps
from services.data_export import ExportDeps
from services.erasure import ErasureDeps
from services.feed.deps import FeedConfig, FeedDeps
from services.login_throttle import LoginThrottle, LoginThrottlePolicy
from services.mail import MailConfig
from services.media import MediaDeps, UploadLimits
from services.moderation_deps import ModerationDeps
from services.passwords import Passwords
from services.posts import PostDeps
from services.ranker.serving import Experiment, RankerServing
from services.rate_limits import ActionLimits, RateLimitPolicy
from services.social import SocialDeps
from services.tokens import AccessTokens
from services.totp import TwoFactorConfig
from settings import Settings
from storage.blobs import BlobStore, open_blob_store
from storage.mail import MailTransport
from storage.mail.factory import mail_transport
from storage.pg import QueryCounter
from storage.pg import create_pool as create_pg_pool
from storage.pubsub import EventHub
from storage.rate_limits import RateLimiter, open_rate_limiter
from storage.redis_client import redis_client
from storage.search import SearchBackend
from storage.search.factory import open_search_backend


class MissingServiceError(RuntimeError):
    """A command that needs external services was started without their URLs."""


@dataclass(frozen=True)
class Resources:
    """Open connections and configured helpers, shared by every request or job of a process.

    The use cases' dependency bundles (`accounts`, `social`, `posts`, ...) are derived from these
    once per process (cached properties), not rebuilt on every request."""

    settings: Settings
    db: asyncpg.Pool
    redis: ArqRedis
    """Redis for keys, counters and pub/sub; also the arq queue (ArqRedis is a Redis client).
    Every call gives up after REDIS_TIMEOUT_SECONDS (storage.redis_client)."""
    passwords: Passwords
    access_tokens: AccessTokens
    sql_statements: QueryCounter
    """How many SQL statements this process has sent, counted only with COUNT_SQL_STATEMENTS
    (tests and benchmarks assert on it)."""
    blobs: BlobStore
    search: SearchBackend
    rate_limiter: RateLimiter
    """Abuse-limit counters (moving windows in Redis, on `redis`'s connection pool)."""
    events: EventHub
    """The process's pub/sub connection; started by the API (only it has listeners)."""
    two_factor: TwoFactorConfig
    """The key sealing TOTP secrets (derived from SECRET_KEY) and the challenge lifetime."""

    @functools.cached_property
    def accounts(self) -> AccountDeps:
        return AccountDeps(
            db=self.db,
            redis=self.redis,
            passwords=self.passwords,
            access_tokens=self.access_tokens,
            refresh_token_ttl_seconds=self.settings.refresh_token_ttl_seconds,
            login_throttle=LoginThrottle(
                self.rate_limiter,
                LoginThrottlePolicy(
                    failures_per_account=self.settings.login_failures_per_account,
                    failures_per_ip=self.settings.login_failures_per_ip,
                    window_seconds=self.settings.login_failure_window_seconds,
                    sign_ups_per_ip=self.settings.sign_ups_per_ip,
                    sign_up_window_seconds=self.settings.sign_up_window_seconds,
                    password_resets_per_address=self.settings.password_resets_per_address,
                    password_resets_per_ip=self.settings.password_resets_per_ip,
                    password_reset_window_seconds=self.settings.password_reset_window_seconds,
                ),
            ),
            mail=MailConfig(
                sender=self.settings.email_from,
                link_base_url=self.settings.link_base_url,
                verification_ttl=timedelta(seconds=self.settings.email_verification_ttl_seconds),
                reset_ttl=timedelta(seconds=self.settings.password_reset_ttl_seconds),
            ),
            two_factor=self.two_factor,
        )

    @functools.cached_property
    def erasure(self) -> ErasureDeps:
        return ErasureDeps(
            db=self.db,
            redis=self.redis,
            blobs=self.blobs,
            search=self.search,
            feed=self.feed,
            access_token_ttl_seconds=self.settings.access_token_ttl_seconds,
        )

    @functools.cached_property
    def exports(self) -> ExportDeps:
        return ExportDeps(
            db=self.db,
            queue=self.redis,
            blobs=self.blobs,
            mail=self.accounts.mail,
            link_ttl=timedelta(seconds=self.settings.data_export_link_ttl_seconds),
        )

    @functools.cached_property
    def mail_transport(self) -> MailTransport:
        """Where the worker hands account email: SMTP_URL's server, or the outbox folder."""
        return mail_transport(self.settings)

    @functools.cached_property
    def rate_limit_policy(self) -> RateLimitPolicy:
        s = self.settings
        return RateLimitPolicy(
            likes=ActionLimits(s.rate_limit_likes_per_hour, s.rate_limit_likes_per_day),
            comments=ActionLimits(s.rate_limit_comments_per_hour, s.rate_limit_comments_per_day),
            follows=ActionLimits(s.rate_limit_follows_per_hour, s.rate_limit_follows_per_day),
            posts=ActionLimits(s.rate_limit_posts_per_hour, s.rate_limit_posts_per_day),
            impressions=ActionLimits(
                s.rate_limit_impressions_per_hour, s.rate_limit_impressions_per_day
            ),
            reports=ActionLimits(s.rate_limit_reports_per_hour, s.rate_limit_reports_per_day),
        )

    @functools.cached_property
    def feed(self) -> FeedDeps:
        s = self.settings
        return FeedDeps(
            db=self.db,
            redis=self.redis,
            config=FeedConfig(
                celebrity_follower_threshold=s.celebrity_follower_threshold,
                max_entries=s.feed_max_entries,
                ttl_seconds=s.feed_ttl_seconds,
                fan_out_batch_size=s.fan_out_batch_size,
            ),
            ranker=self.ranker,
        )

    @functools.cached_property
    def ranker(self) -> RankerServing:
        """The process's cache of the active ranker model (and of a challenger) and the
        experiment deciding whom each ranks for (services.ranker.serving)."""
        s = self.settings
        experiment = Experiment(
            s.ranker_experiment_salt,
            s.ranker_model_share,
            challenger_version=s.ranker_challenger_version,
            challenger_share=s.ranker_challenger_share,
        )
        return RankerServing(experiment=experiment)

    @functools.cached_property
    def social(self) -> SocialDeps:
        return SocialDeps(
            db=self.db,
            redis=self.redis,
            limiter=self.rate_limiter,
            limits=self.rate_limit_policy,
            feed=self.feed,
        )

    @functools.cached_property
    def moderation(self) -> ModerationDeps:
        return ModerationDeps(
            db=self.db,
            redis=self.redis,
            social=self.social,
            accounts=self.accounts,
            hide_after_reports=self.settings.moderation_hide_after_reports,
        )

    @functools.cached_property
    def posts(self) -> PostDeps:
        return PostDeps(db=self.db, queue=self.redis, social=self.social)

    @functools.cached_property
    def media(self) -> MediaDeps:
        return MediaDeps(
            db=self.db,
            queue=self.redis,
            blobs=self.blobs,
            limits=UploadLimits(
                max_image_bytes=self.settings.max_image_bytes,
                max_video_bytes=self.settings.max_video_bytes,
                url_ttl=timedelta(seconds=self.settings.upload_url_ttl_seconds),
            ),
        )


def load_or_create_secret_key(settings: Settings) -> str:
    """The signing key: SECRET_KEY when set, else the key file, created on first use (mode 600).

    Side effects: may create `data_dir` and write `data_dir/secret.key`.
    """
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.secret_key_path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as key_file:
            key_file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open the PostgreSQL pool and the Redis client; close them when the block ends.

    Every Redis call gives up after REDIS_TIMEOUT_SECONDS (storage.redis_client). Raises (and
    closes what it opened) when PostgreSQL or Redis does not answer at start-up."""
    if not settings.database_url or not settings.redis_url:
        raise MissingServiceError(
            "DATABASE_URL and REDIS_URL must be set (or use `shutter run`, which starts "
            "embedded PostgreSQL and Valkey)."
        )
    sql_statements = QueryCounter()
    db = await create_pg_pool(
        settings.database_url,
        counter=sql_statements if settings.count_sql_statements else None,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
    )
    secret_key = load_or_create_secret_key(settings)
    try:
        redis = redis_client(settings.redis_url, timeout_seconds=settings.redis_timeout_seconds)
        try:
            await redis.ping()
            async with (
                open_blob_store(settings, signing_key=secret_key.encode()) as blobs,
                _search_backend(db, settings) as search,
            ):
                yield Resources(
                    settings=settings,
                    db=db,
                    redis=redis,
                    passwords=Passwords(
                        time_cost=settings.password_hash_time_cost,
                        memory_kib=settings.password_hash_memory_kib,
                    ),
                    access_tokens=AccessTokens(
                        secret_key, ttl_seconds=settings.access_token_ttl_seconds
                    ),
                    sql_statements=sql_statements,
                    blobs=blobs,
                    search=search,
                    rate_limiter=open_rate_limiter(redis),
                    events=EventHub(redis),
                    two_factor=TwoFactorConfig.from_secret_key(
                        secret_key,
                        challenge_ttl=timedelta(seconds=settings.two_factor_challenge_ttl_seconds),
                    ),
                )
        finally:
            await redis.aclose()
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def _search_backend(db: asyncpg.Pool, settings: Settings) -> AsyncIterator[SearchBackend]:
    search = await open_search_backend(
        db, backend=settings.search_backend, elasticsearch_url=settings.elasticsearch_url
    )
    try:
        yield search
    finally:
        await search.close()
