"""Every Redis key format, in one place. Keys that belong to one user hash by that user's id
(`{...}` hash tags) so that they stay on one node under Redis Cluster."""

from __future__ import annotations

import uuid


def revoked_session(session_id: uuid.UUID) -> str:
    """Marker (with a TTL as long as an access token lives) that a session was revoked."""
    return f"session:revoked:{session_id}"


def user_events_channel(user_id: int) -> str:
    """Pub/sub channel of everything that happens to one user (media status, notifications)."""
    return f"events:user:{{{user_id}}}"


def post_like_count(post_id: int) -> str:
    """The live like counter of a post (absent: unknown, recount from PostgreSQL)."""
    return f"post:{{{post_id}}}:likes"


def post_like_version(post_id: int) -> str:
    """Bumped as each like or unlike of the post begins and ends (absent: none lately): a
    recount is stored as the counter only if this did not move while it ran (storage.counters)."""
    return f"post:{{{post_id}}}:likes:version"


def post_like_pending(post_id: int) -> str:
    """How many likes and unlikes of the post are under way (begun in Redis, their change not
    yet applied): no recount is stored while any is (storage.counters)."""
    return f"post:{{{post_id}}}:likes:pending"


LIKE_COUNTS_DIRTY = "likes:dirty"
"""Set of post ids whose like counter changed since the last flush to PostgreSQL."""


FEED_KEY_AFFIXES = ("feed:{", "}")
"""A feed key is prefix + user id + suffix: scripts that build feed keys from user ids (the
fan-out sends ids, not keys, see storage.feed.cache) get the format from here."""


def feed(user_id: int) -> str:
    """A user's home feed: sorted set of post ids scored by publish time (ms, with microsecond
    fractions), plus bookkeeping members (see storage.feed.cache). Absent: the user is inactive."""
    return f"{FEED_KEY_AFFIXES[0]}{user_id}{FEED_KEY_AFFIXES[1]}"


def feed_ranked_snapshot(user_id: int, snapshot_id: str) -> str:
    """The ranked order of one RANKED paging session of a user's feed (packed ids, with a TTL)."""
    return f"feed:{{{user_id}}}:ranked:{snapshot_id}"


def feed_impressions(user_id: int) -> str:
    """The posts a user's home feed has shown them: sorted set of post ids scored by when each
    was first shown (ms), the newest 120 only (services.feed.ranking.SEEN_KEPT), expiring when the
    user stops reading."""
    return f"feed:{{{user_id}}}:seen"


RATE_LIMIT_PREFIX = "ratelimit"
"""Prefix of every key the `limits` library writes for abuse limits (see storage.rate_limits).
The library appends `:LIMITER/<subject>/<amount>/<multiples>/<granularity>`."""


def rate_limit_subject(action: str, user_id: int | str) -> str:
    """Whom and what one abuse limit counts; the `limits` library builds the key around it, e.g.
    `ratelimit:LIMITER/like:{42}/350/1/hour` (a moving-window list of hit timestamps)."""
    return f"{action}:{{{user_id}}}"


def post_events_channel(post_id: int) -> str:
    """Pub/sub channel of a post's live counts (likes, comments)."""
    return f"events:post:{{{post_id}}}"


def explore_snapshot(viewer_id: int | None, snapshot_id: str) -> str:
    """The ranked order of one explore paging session (packed post ids, with a TTL); anonymous
    viewers share the `anon` space but each session has its own random id."""
    owner = "anon" if viewer_id is None else str(viewer_id)
    return f"explore:{{{owner}}}:{snapshot_id}"


def query_budget(subject: str) -> str:
    """The query-cost points budget of one subject (see budget_subject): a hash {points, at}
    kept by storage.query_budget's script, expiring once it would be full."""
    return f"qbudget:{{{subject}}}"


def budget_subject(user_id: int | None, client_ip: str | None) -> str:
    """Whose query budget a request spends: the signed-in viewer's, else its client address's."""
    return f"user:{user_id}" if user_id is not None else f"ip:{client_ip or 'unknown'}"


EVENTS_HEARTBEAT_CHANNEL = "events:heartbeat"
"""A channel nobody publishes on: keeps a pub/sub connection subscribed with no listener."""


def persisted_query(sha256_hex: str) -> str:
    """The text of an automatic persisted query, by the SHA-256 of that text (with a TTL)."""
    return f"apq:{sha256_hex}"


def two_factor_challenge(digest: str) -> str:
    """A pending two-factor log-in: the user id, under the SHA-256 (hex) of the challenge
    handed to the client, expiring with the challenge (storage.two_factor_challenges)."""
    return f"two-factor:challenge:{digest}"


RANKER_SERVED_LOG = "ranker:served"
"""List of served RANKED pages (orjson records: storage.ranker_log) waiting for the worker job
that copies them into PostgreSQL; capped (the newest kept) when no worker drains it."""


def ranker_served_posts(user_id: int) -> str:
    """Hash post id -> "page id/served at ms/model version/" + float32 features, of the RANKED
    pages that served each post to the user lately (bounded by the feed's window; expires a day
    after the last page): what an impression report is attributed to, and what
    `Post.rankingExplanation` explains."""
    return f"feed:{{{user_id}}}:served"


def ranker_window_features(user_id: int, snapshot_id: str) -> str:
    """The feature rows of a RANKED paging session's window, in snapshot order (packed
    float32, with the model version and arm that ranked it; the snapshot's TTL): what the
    session's later pages log as served (storage.ranker_log)."""
    return f"feed:{{{user_id}}}:ranked:{snapshot_id}:features"


def user_key_patterns(user_id: int) -> list[str]:
    """SCAN patterns of every key that belongs to one user (what an erased account leaves):
    the home feed with its snapshots, impressions and served posts, explore snapshots,
    abuse-limit windows, the query budget."""
    tag = f"{{{user_id}}}"
    return [
        f"{FEED_KEY_AFFIXES[0]}{user_id}{FEED_KEY_AFFIXES[1]}*",
        f"explore:{tag}:*",
        f"{RATE_LIMIT_PREFIX}:*:{tag}/*",
        query_budget(budget_subject(user_id, None)),
    ]
