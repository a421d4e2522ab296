"""Abuse limits against the real test Redis: counted when allowed, nothing counted when refused,
per user and per action, hour and day windows, and the wait that the refusal reports.

Time is moved with a fake clock patched into the library's Redis bridge (which stamps entries
with `time.time()`) and into storage.rate_limits: no test sleeps."""

from __future__ import annotations

import asyncio
import time

import pytest
from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerHour

from resources import Resources
from services import rate_limits
from services.errors import DomainError, UserErrorCode
from services.rate_limits import ActionLimits, RateLimitPolicy
from storage import rate_limits as rate_limit_store
from storage import redis_keys
from storage.rate_limits import RateLimiter

HOUR = 3600
DAY = 24 * HOUR
ALICE, BOB = 101, 202


class FakeClock:
    """Stands in for the `time` module where the limiter reads the time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    # A whole second: the library's Lua returns timestamps with 14 significant digits, and
    # integral ones keep the expected waits exact.
    fake = FakeClock(float(round(time.time())))
    monkeypatch.setattr("limits.aio.storage.redis.redispy.time", fake)
    monkeypatch.setattr("storage.rate_limits.time", fake)
    return fake


@pytest.fixture
def limiter(clean: Resources) -> RateLimiter:
    return rate_limit_store.open_rate_limiter(clean.redis)


def policy(likes: ActionLimits, comments: ActionLimits | None = None) -> RateLimitPolicy:
    roomy = ActionLimits(per_hour=100, per_day=100)
    return RateLimitPolicy(likes=likes, comments=comments or roomy, follows=roomy, posts=roomy)


async def remaining(limiter: RateLimiter, action: str, user_id: int, item: RateLimitItem) -> int:
    return (await rate_limit_store.window_stats(limiter, action, user_id, item)).remaining


async def refusal(
    limiter: RateLimiter, rules: RateLimitPolicy, user_id: int = ALICE
) -> DomainError:
    with pytest.raises(DomainError) as raised:
        await rate_limits.check_and_count(limiter, rules, "like", user_id)
    return raised.value


async def test_under_the_limit_passes_and_counts_in_both_windows(limiter: RateLimiter) -> None:
    rules = policy(ActionLimits(per_hour=2, per_day=3))
    await rate_limits.check_and_count(limiter, rules, "like", ALICE)
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerHour(2)) == 1
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerDay(3)) == 2


async def test_a_refused_call_raises_rate_limited_and_counts_nothing(
    clean: Resources, limiter: RateLimiter
) -> None:
    rules = policy(ActionLimits(per_hour=2, per_day=3))
    hour, day = RateLimitItemPerHour(2), RateLimitItemPerDay(3)
    for _ in range(2):
        await rate_limits.check_and_count(limiter, rules, "like", ALICE)
    before = [await rate_limit_store.window_stats(limiter, "like", ALICE, w) for w in (hour, day)]
    lists_before = {key: await clean.redis.lrange(key, 0, -1) for key in await clean.redis.keys()}

    for _ in range(3):
        error = await refusal(limiter, rules)
        assert [e.code for e in error.errors] == [UserErrorCode.RATE_LIMITED]
        assert error.errors[0].message.startswith("Too many likes: try again in ")

    after = [await rate_limit_store.window_stats(limiter, "like", ALICE, w) for w in (hour, day)]
    assert after == before
    assert before[0].remaining == 0
    assert before[1].remaining == 1
    assert {key: await clean.redis.lrange(key, 0, -1) for key in await clean.redis.keys()} == (
        lists_before
    )


async def test_limits_are_per_user_and_per_action(limiter: RateLimiter, clock: FakeClock) -> None:
    rules = policy(ActionLimits(per_hour=1, per_day=5), comments=ActionLimits(1, 5))
    await rate_limits.check_and_count(limiter, rules, "like", ALICE)
    await refusal(limiter, rules, ALICE)

    await rate_limits.check_and_count(limiter, rules, "like", BOB)
    await rate_limits.check_and_count(limiter, rules, "comment", ALICE)
    assert await remaining(limiter, "like", BOB, RateLimitItemPerHour(1)) == 0
    assert await remaining(limiter, "comment", ALICE, RateLimitItemPerHour(1)) == 0
    with pytest.raises(DomainError, match=r"^Too many comments: try again in 60 minutes\.$"):
        await rate_limits.check_and_count(limiter, rules, "comment", ALICE)


async def test_the_hour_window_bites_first_then_the_day_window(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    rules = policy(ActionLimits(per_hour=2, per_day=3))
    start = clock.now
    for _ in range(2):
        await rate_limits.check_and_count(limiter, rules, "like", ALICE)

    clock.now = start + 20 * 60
    error = await refusal(limiter, rules)
    assert error.errors[0].message == "Too many likes: try again in 40 minutes."

    # The hour has passed: one more fits the day, then the day is full for ~23 hours.
    clock.now = start + HOUR + 1
    await rate_limits.check_and_count(limiter, rules, "like", ALICE)
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerHour(2)) == 1
    result = await rate_limit_store.check(limiter, "like", ALICE, rules.likes.windows())
    assert not result.allowed
    assert result.refused == (RateLimitItemPerDay(3),)
    assert result.retry_after_seconds == pytest.approx(DAY - HOUR - 1, abs=0.01)
    assert (await refusal(limiter, rules)).errors[0].message == (
        "Too many likes: try again in 23 hours."
    )

    # The day window is a moving one: the first two likes leave it 24 hours after they were made.
    clock.now = start + DAY + 1
    await rate_limits.check_and_count(limiter, rules, "like", ALICE)


async def test_the_day_window_bites_first(limiter: RateLimiter, clock: FakeClock) -> None:
    rules = policy(ActionLimits(per_hour=5, per_day=3))
    start = clock.now
    for minute in range(3):
        clock.now = start + minute * 60
        await rate_limits.check_and_count(limiter, rules, "like", ALICE)

    clock.now = start + 2 * HOUR
    result = await rate_limit_store.check(limiter, "like", ALICE, rules.likes.windows())
    assert result.refused == (RateLimitItemPerDay(3),)
    # Room again when the OLDEST like leaves the day window.
    assert result.retry_after_seconds == pytest.approx(DAY - 2 * HOUR, abs=0.01)
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerHour(5)) == 5


async def test_when_both_windows_are_full_the_wait_is_until_both_have_room(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    rules = policy(ActionLimits(per_hour=2, per_day=2))
    for _ in range(2):
        await rate_limits.check_and_count(limiter, rules, "like", ALICE)
    result = await rate_limit_store.check(limiter, "like", ALICE, rules.likes.windows())
    assert set(result.refused) == {RateLimitItemPerHour(2), RateLimitItemPerDay(2)}
    assert result.retry_after_seconds == pytest.approx(DAY, abs=0.01)


async def test_the_reported_wait_is_within_the_window(limiter: RateLimiter) -> None:
    hour_rules = policy(ActionLimits(per_hour=1, per_day=10))
    await rate_limits.check_and_count(limiter, hour_rules, "like", ALICE)
    hour_wait = await rate_limit_store.check(limiter, "like", ALICE, hour_rules.likes.windows())
    assert 0 < hour_wait.retry_after_seconds <= HOUR

    day_rules = policy(ActionLimits(per_hour=10, per_day=1))
    await rate_limits.check_and_count(limiter, day_rules, "like", BOB)
    day_wait = await rate_limit_store.check(limiter, "like", BOB, day_rules.likes.windows())
    assert HOUR < day_wait.retry_after_seconds <= DAY


async def test_concurrent_calls_never_exceed_the_limit(limiter: RateLimiter) -> None:
    rules = policy(ActionLimits(per_hour=2, per_day=3))
    outcomes = await asyncio.gather(
        *(rate_limits.check_and_count(limiter, rules, "like", ALICE) for _ in range(20)),
        return_exceptions=True,
    )
    assert sum(outcome is None for outcome in outcomes) == 2
    assert all(o is None or isinstance(o, DomainError) for o in outcomes)
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerHour(2)) == 0
    # The tightest window is hit first and a failed hit stops there: the day counted only the two.
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerDay(3)) == 1


async def test_check_then_count_only_counts_what_the_caller_counts(limiter: RateLimiter) -> None:
    rules = policy(ActionLimits(per_hour=2, per_day=3))
    for _ in range(5):  # e.g. liking a post already liked: checked, never counted
        await rate_limits.ensure_within_limits(limiter, rules, "like", ALICE)
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerHour(2)) == 2

    for _ in range(2):
        await rate_limits.ensure_within_limits(limiter, rules, "like", ALICE)
        await rate_limits.count_action(limiter, rules, "like", ALICE)
    with pytest.raises(DomainError, match="Too many likes"):
        await rate_limits.ensure_within_limits(limiter, rules, "like", ALICE)
    await rate_limits.count_action(limiter, rules, "like", ALICE)  # full window: no error
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerHour(2)) == 0
    assert await remaining(limiter, "like", ALICE, RateLimitItemPerDay(3)) == 0


async def test_the_limiter_shares_the_app_pool_and_keys_follow_redis_keys(
    clean: Resources, limiter: RateLimiter
) -> None:
    bridge_client = limiter.storage.bridge.storage  # type: ignore[attr-defined]
    assert bridge_client.connection_pool is clean.redis.connection_pool

    await rate_limits.check_and_count(limiter, policy(ActionLimits(2, 3)), "like", ALICE)
    subject = redis_keys.rate_limit_subject("like", ALICE)
    hour_key, day_key = (
        f"{redis_keys.RATE_LIMIT_PREFIX}:{item.key_for(subject)}"
        for item in (RateLimitItemPerHour(2), RateLimitItemPerDay(3))
    )
    assert {key.decode() for key in await clean.redis.keys()} == {hour_key, day_key}
    assert day_key == "ratelimit:LIMITER/like:{101}/3/1/day"
    # Each window's list expires one window after its last entry.
    assert 0 < await clean.redis.ttl(hour_key) <= HOUR
    assert HOUR < await clean.redis.ttl(day_key) <= DAY


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "1 minute"),
        (59.0, "1 minute"),
        (61.0, "2 minutes"),
        (3600.0, "60 minutes"),
        (7140.0, "119 minutes"),
        (7199.0, "2 hours"),
        (7201.0, "3 hours"),
        (86400.0, "24 hours"),
    ],
)
def test_wait_text(seconds: float, text: str) -> None:
    assert rate_limits.wait_text(seconds) == text
