"""services.suspensions against real PostgreSQL and Redis: the seam's refusals change nothing,
it is idempotent, the rule and log-in agree on who is suspended, exactly at the end too, and
the feeds' repair job follows the suspension's end."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from arq.constants import default_queue_name

from resources import Resources
from services import account_recovery, account_tokens, accounts, follows, suspensions, visibility
from services.accounts import AccountDeps
from services.errors import DomainError, UserErrorCode
from storage import jobs
from storage.micros import micros_of
from tests.factories import make_user, social_on, viewer_of

PASSWORD = "correct horse battery"
COLUMNS = "SELECT suspended_at, suspended_until, suspension_reason FROM users WHERE id = $1"


def deps_on(resources: Resources, db: asyncpg.Connection) -> AccountDeps:
    return dataclasses.replace(resources.accounts, db=db)


def repair_job(user_id: int, until: datetime) -> str:
    return f"{jobs.FAN_OUT_AUTHOR}:{user_id}:{micros_of(until)}"


async def queued_jobs(resources: Resources) -> list[bytes]:
    return list(await resources.redis.zrange(default_queue_name, 0, -1))


async def test_a_missing_account_is_not_found_and_nothing_changes(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    missing = 1 + (await conn.fetchval("SELECT coalesce(max(id), 0) FROM users"))
    for attempt in (
        suspensions.suspend_account(deps, missing, until=None, reason="spam"),
        suspensions.lift_suspension(deps, missing),
    ):
        with pytest.raises(DomainError) as refused:
            await attempt
        assert [(e.code, e.field) for e in refused.value.errors] == [
            (UserErrorCode.NOT_FOUND, ("userId",))
        ]
    assert await queued_jobs(resources) == []


@pytest.mark.parametrize(
    "until",
    [
        datetime(2030, 1, 1),  # no zone
        datetime.now(UTC) - timedelta(seconds=1),
    ],
)
async def test_an_end_must_be_a_zoned_future_time(
    resources: Resources, conn: asyncpg.Connection, until: datetime
) -> None:
    user = await make_user(conn, "early")
    with pytest.raises(DomainError) as refused:
        await suspensions.suspend_account(
            deps_on(resources, conn), user.id, until=until, reason="x"
        )
    assert [(e.code, e.field) for e in refused.value.errors] == [
        (UserErrorCode.INVALID_INPUT, ("until",))
    ]
    assert tuple(await conn.fetchrow(COLUMNS, user.id)) == (None, None, None)
    assert await queued_jobs(resources) == []


async def test_suspending_again_replaces_the_end_and_lifting_is_idempotent(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    user = await make_user(conn, "repeat")
    first = datetime(2030, 1, 1, tzinfo=UTC)
    await suspensions.suspend_account(deps, user.id, until=first, reason="spam")
    started, until, reason = await conn.fetchrow(COLUMNS, user.id)
    assert (until, reason) == (first, "spam")
    await suspensions.suspend_account(deps, user.id, until=first, reason="spam")
    assert tuple(await conn.fetchrow(COLUMNS, user.id)) == (started, first, "spam")
    assert await queued_jobs(resources) == [repair_job(user.id, first).encode()]

    later = datetime(2031, 1, 1, tzinfo=UTC)
    await suspensions.suspend_account(deps, user.id, until=later, reason="again")
    assert tuple(await conn.fetchrow(COLUMNS, user.id)) == (started, later, "again")
    # The repair moved to the new end.
    assert await queued_jobs(resources) == [repair_job(user.id, later).encode()]
    await suspensions.suspend_account(deps, user.id, until=None, reason="ban")
    assert tuple(await conn.fetchrow(COLUMNS, user.id)) == (started, None, "ban")
    assert await queued_jobs(resources) == []  # a ban has no end to wait for

    await suspensions.lift_suspension(deps, user.id)
    await suspensions.lift_suspension(deps, user.id)
    assert tuple(await conn.fetchrow(COLUMNS, user.id)) == (None, None, None)
    # Each lift repairs the feeds at once (a second one finds nothing to add).
    lifted = await queued_jobs(resources)
    assert len(lifted) == 2
    assert all(job.startswith(f"{jobs.FAN_OUT_AUTHOR}:{user.id}:".encode()) for job in lifted)


async def test_the_rule_hides_a_suspended_account_its_follows_kept_until_the_end_exactly(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    suspended = await make_user(conn, "suspended")
    fan = await make_user(conn, "fan")
    newcomer = await make_user(conn, "newcomer")
    social = social_on(resources, conn)
    await follows.follow_user(social, viewer_of(fan), suspended.id)
    await follows.follow_user(social, viewer_of(suspended), fan.id)
    counts = "SELECT follower_count, following_count FROM users WHERE id = $1"
    await suspensions.suspend_account(
        deps, suspended.id, until=datetime(2030, 1, 1, tzinfo=UTC), reason="x"
    )

    relation = (await visibility.fetch_relations(conn, fan.id, [suspended.id]))[suspended.id]
    assert relation.hidden
    assert not visibility.may_see_user(fan.id, suspended.id, relation)
    assert not visibility.may_see_content(fan.id, suspended.id, relation)
    with pytest.raises(DomainError) as refused:  # as for an account that does not exist
        await follows.follow_user(social, viewer_of(newcomer), suspended.id)
    assert refused.value.errors[0].code == UserErrorCode.NOT_FOUND
    assert tuple(await conn.fetchrow(counts, suspended.id)) == (1, 1)
    assert tuple(await conn.fetchrow(counts, fan.id)) == (1, 1)

    # At its end exactly (now(): this transaction's clock) the suspension is over, for the
    # rule and for log-in alike.
    await conn.execute("UPDATE users SET suspended_until = now() WHERE id = $1", suspended.id)
    relation = (await visibility.fetch_relations(conn, fan.id, [suspended.id]))[suspended.id]
    assert not relation.hidden
    assert visibility.may_see_user(fan.id, suspended.id, relation)


async def test_log_in_is_refused_with_the_end_and_keeps_the_suspension(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    signed = await accounts.sign_up(
        deps,
        username="leo",
        email="leo@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    until = datetime(2030, 6, 1, 12, 30, 15, 999, tzinfo=UTC)
    await suspensions.suspend_account(deps, signed.user.id, until=until, reason="x")
    live_sessions = "SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL"
    assert await conn.fetchval(live_sessions, signed.user.id) == 0
    with pytest.raises(DomainError) as refused:
        await accounts.log_in(deps, username_or_email="leo", password=PASSWORD)
    assert [(e.code, e.message, e.field) for e in refused.value.errors] == [
        (
            UserErrorCode.ACCOUNT_SUSPENDED,
            "This account is suspended until 2030-06-01T12:30:15Z.",
            None,
        )
    ]
    assert (await conn.fetchrow(COLUMNS, signed.user.id))["suspended_until"] == until
    assert await conn.fetchval(live_sessions, signed.user.id) == 0
    # A password reset works (it signs nobody in), and the new password meets the same refusal.
    reset = await account_tokens.issue(
        conn,
        user_id=signed.user.id,
        purpose=account_tokens.RESET_PASSWORD,
        email="leo@example.com",
        ttl=timedelta(hours=1),
    )
    await account_recovery.reset_password(deps, reset, "another good password")
    with pytest.raises(DomainError) as refused:
        await accounts.log_in(deps, username_or_email="leo", password="another good password")
    assert refused.value.errors[0].code == UserErrorCode.ACCOUNT_SUSPENDED
    assert await conn.fetchval(live_sessions, signed.user.id) == 0

    await conn.execute("UPDATE users SET suspended_until = now() WHERE id = $1", signed.user.id)
    back = await accounts.log_in(deps, username_or_email="leo", password="another good password")
    assert isinstance(back, accounts.SignedIn)
    assert await conn.fetchval(live_sessions, signed.user.id) == 1
