"""Turning public with many pending follow requests: the oldest few are approved in the
request, the rest by `approve_follow_requests` jobs on a real burst arq worker, one batch per
transaction; running a step again changes nothing; turning private again stops the chain."""

from __future__ import annotations

from arq.constants import default_queue_name

from resources import Resources
from services import follows, privacy
from services.accounts import ProfileChanges
from settings import Settings
from storage import jobs
from storage.pg import Db
from storage.pg.users import UserRecord
from tests.api.helpers import snapshot
from tests.conftest import run_worker_until_idle
from tests.factories import make_user, viewer_of

PENDING = follows.APPROVE_NOW + follows.APPROVE_ALL_BATCH + 15
"""The request's batch, one full job batch and a partial one."""


async def requested_by(db: Db, owner: UserRecord, count: int) -> list[int]:
    """`count` new accounts with a pending request to the (private) owner, oldest first."""
    ids = []
    for n in range(count):
        fan = await make_user(db, f"fan{n}")
        await db.execute(
            """INSERT INTO follow_requests (requester_id, target_id, created_at)
               VALUES ($1, $2, now() + make_interval(secs => $3))""",
            fan.id,
            owner.id,
            n,
        )
        ids.append(fan.id)
    await db.execute("UPDATE users SET is_private = true WHERE id = $1", owner.id)
    return ids


async def followers(db: Db, owner: UserRecord) -> list[int]:
    rows = await db.fetch(
        "SELECT follower_id FROM follows WHERE followee_id = $1 ORDER BY follower_id", owner.id
    )
    return [row["follower_id"] for row in rows]


async def test_the_rest_of_the_requests_are_approved_by_jobs(
    clean: Resources, settings: Settings
) -> None:
    db = clean.db
    owner = await make_user(db, "owner")
    fans = await requested_by(db, owner, PENDING)

    updated = await privacy.update_profile(
        clean.accounts, clean.social, viewer_of(owner), ProfileChanges(is_private=False)
    )
    # In the request: the oldest APPROVE_NOW; one job queued for the rest.
    assert (updated.is_private, updated.follower_count) == (False, follows.APPROVE_NOW)
    assert await followers(db, owner) == fans[: follows.APPROVE_NOW]
    queued = [job.decode() for job in await clean.redis.zrange(default_queue_name, 0, -1)]
    approvals = [job for job in queued if job.startswith(jobs.APPROVE_FOLLOW_REQUESTS)]
    assert len(approvals) == 1
    assert approvals[0].startswith(f"{jobs.APPROVE_FOLLOW_REQUESTS}:{owner.id}:")
    assert approvals[0].endswith(":1")

    await run_worker_until_idle(settings)
    assert await followers(db, owner) == fans
    assert await db.fetchval("SELECT count(*) FROM follow_requests") == 0
    counts = await db.fetch("SELECT id, follower_count, following_count FROM users ORDER BY id")
    assert [tuple(row) for row in counts] == [(owner.id, PENDING, 0)] + [
        (fan, 0, 1) for fan in fans
    ]
    accepted = await db.fetch(
        """SELECT recipient_id, actor_id, actor_count FROM notifications
            WHERE kind = 'FOLLOW_ACCEPTED' ORDER BY recipient_id"""
    )
    assert [tuple(row) for row in accepted] == [(fan, owner.id, 1) for fan in fans]
    owner_notes = await db.fetch(
        "SELECT kind, actor_count FROM notifications WHERE recipient_id = $1", owner.id
    )
    assert [tuple(row) for row in owner_notes] == [("FOLLOW", PENDING)]

    # Running a step again (a retried job) finds nothing to do and changes nothing.
    before = await snapshot(clean)
    assert await follows.approve_requests_step(clean.social, owner.id, 1, 1) == 0
    await jobs.enqueue_approve_follow_requests(clean.redis, owner.id, 2, 1)
    await run_worker_until_idle(settings)
    after = await snapshot(clean)
    arq_keys = (b"arq:",)
    assert before[0] == after[0]
    assert {k: v for k, v in before[1].items() if not k.startswith(arq_keys)} == {
        k: v for k, v in after[1].items() if not k.startswith(arq_keys)
    }


async def test_turning_private_again_stops_the_approvals(
    clean: Resources, settings: Settings
) -> None:
    db = clean.db
    owner = await make_user(db, "owner")
    fans = await requested_by(db, owner, follows.APPROVE_NOW + 5)
    await privacy.update_profile(
        clean.accounts, clean.social, viewer_of(owner), ProfileChanges(is_private=False)
    )
    await privacy.update_profile(
        clean.accounts, clean.social, viewer_of(owner), ProfileChanges(is_private=True)
    )
    await run_worker_until_idle(settings)
    assert await followers(db, owner) == fans[: follows.APPROVE_NOW]
    pending = await db.fetch("SELECT requester_id FROM follow_requests ORDER BY requester_id")
    assert [row["requester_id"] for row in pending] == fans[follows.APPROVE_NOW :]
