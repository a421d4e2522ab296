"""Enqueueing arq jobs. Job ids are deterministic, so enqueueing twice runs a job once."""

from __future__ import annotations

import asyncio
from datetime import datetime

from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import Job, JobStatus
from redis.asyncio import Redis

from storage.mail import Envelope

PROCESS_MEDIA = "process_media"
JOB_POLL_SECONDS = 0.05


def process_media_job_id(media_id: int, *, sweep: int = 0) -> str:
    """The id of a media item's processing job; `sweep` > 0: the sweeper's re-enqueue."""
    return f"{PROCESS_MEDIA}:{media_id}" + (f":sweep{sweep}" if sweep else "")


async def enqueue_process_media(queue: ArqRedis, media_id: int, *, sweep: int = 0) -> bool:
    """Queue processing of one media item; False when that job is already queued or done.

    `sweep` > 0 (a re-enqueue by the sweeper after a crash) gives a new job id.
    """
    job_id = process_media_job_id(media_id, sweep=sweep)
    job = await queue.enqueue_job(PROCESS_MEDIA, media_id, _job_id=job_id)
    return job is not None


async def wait_for_process_media(queue: ArqRedis, media_id: int, *, timeout_seconds: float) -> None:
    """Until the media item's processing job has finished (whichever worker ran it, whatever
    its outcome: the media row tells) or is not queued at all. Raises TimeoutError after
    `timeout_seconds`. Side effects: a few Redis reads per JOB_POLL_SECONDS."""
    job = Job(process_media_job_id(media_id), queue)
    async with asyncio.timeout(timeout_seconds):
        # arq keeps a job's state in Redis only, announced nowhere: polled.
        while await job.status() not in (JobStatus.complete, JobStatus.not_found):  # noqa: ASYNC110
            await asyncio.sleep(JOB_POLL_SECONDS)


FAN_OUT_POST = "fan_out_post"


async def enqueue_fan_out_post(queue: ArqRedis, post_id: int) -> bool:
    """Queue the fan-out of a newly published post; False when already queued or done."""
    job = await queue.enqueue_job(FAN_OUT_POST, post_id, _job_id=f"{FAN_OUT_POST}:{post_id}")
    return job is not None


FAN_OUT_BATCH = "fan_out_batch"


async def enqueue_fan_out_batch(
    queue: ArqRedis, post_id: int, after_follower_id: int, until_follower_id: int | None
) -> bool:
    """Queue the fan-out of a post to its followers with ids in (after, until]; False when that
    batch is already queued or done (a retried planner enqueues nothing twice)."""
    job = await queue.enqueue_job(
        FAN_OUT_BATCH,
        post_id,
        after_follower_id,
        until_follower_id,
        _job_id=f"{FAN_OUT_BATCH}:{post_id}:{after_follower_id}",
    )
    return job is not None


FAN_OUT_AUTHOR = "fan_out_author"
FAN_OUT_AUTHOR_BATCH = "fan_out_author_batch"


async def enqueue_fan_out_author(
    queue: ArqRedis, author_id: int, round_id: int, *, defer_until: datetime | None = None
) -> bool:
    """Queue the fan-out of an author's recent posts to all their active followers (after they
    dropped below the celebrity threshold, when their suspension ends: services.suspensions, or
    when their deactivation ends: services.accounts.after_sign_in),
    to run at once or at `defer_until`. `round_id` tells one such event from the next."""
    job = await queue.enqueue_job(
        FAN_OUT_AUTHOR,
        author_id,
        round_id,
        _job_id=f"{FAN_OUT_AUTHOR}:{author_id}:{round_id}",
        _defer_until=defer_until,
    )
    return job is not None


async def cancel_fan_out_author(queue: ArqRedis, author_id: int, round_id: int) -> None:
    """Take a queued (not yet started) enqueue_fan_out_author job out of the queue; nothing
    when there is none."""
    job_id = f"{FAN_OUT_AUTHOR}:{author_id}:{round_id}"
    await queue.zrem(default_queue_name, job_id)
    await queue.delete(job_key_prefix + job_id)


async def enqueue_fan_out_author_batch(
    queue: ArqRedis,
    author_id: int,
    round_id: int,
    after_follower_id: int,
    until_follower_id: int | None,
) -> bool:
    """One batch of enqueue_fan_out_author: followers with ids in (after, until]."""
    job = await queue.enqueue_job(
        FAN_OUT_AUTHOR_BATCH,
        author_id,
        round_id,
        after_follower_id,
        until_follower_id,
        _job_id=f"{FAN_OUT_AUTHOR_BATCH}:{author_id}:{round_id}:{after_follower_id}",
    )
    return job is not None


CLEAN_FEEDS_AFTER_BLOCK = "clean_feeds_after_block"


async def enqueue_clean_feeds_after_block(
    queue: ArqRedis, blocker_id: int, blocked_id: int, round_id: int
) -> bool:
    """Queue the removal of each side's posts from the other's cached feed after a block;
    `round_id` tells one block from a later one between the same two (a block, unblock and
    block again within the time arq keeps a job's result must clean again). False when that
    job is already queued."""
    job = await queue.enqueue_job(
        CLEAN_FEEDS_AFTER_BLOCK,
        blocker_id,
        blocked_id,
        _job_id=f"{CLEAN_FEEDS_AFTER_BLOCK}:{blocker_id}:{blocked_id}:{round_id}",
    )
    return job is not None


APPROVE_FOLLOW_REQUESTS = "approve_follow_requests"


async def enqueue_approve_follow_requests(
    queue: ArqRedis, owner_id: int, round_id: int, step: int
) -> bool:
    """Queue one step of approving the pending follow requests of an account that turned
    public (`round_id`: that switch; `step`: the batch's place in the chain). False when that
    step is already queued."""
    job = await queue.enqueue_job(
        APPROVE_FOLLOW_REQUESTS,
        owner_id,
        round_id,
        step,
        _job_id=f"{APPROVE_FOLLOW_REQUESTS}:{owner_id}:{round_id}:{step}",
    )
    return job is not None


DELETE_POST_FILES = "delete_post_files"


async def enqueue_delete_post_files(queue: ArqRedis, post_id: int) -> bool:
    """Queue the removal of a deleted post's files; False when already queued."""
    job = await queue.enqueue_job(
        DELETE_POST_FILES, post_id, _job_id=f"{DELETE_POST_FILES}:{post_id}"
    )
    return job is not None


async def queue_depth(redis: Redis) -> int:
    """How many jobs wait in arq's queue (one ZCARD on its sorted set). Side effects: none."""
    return int(await redis.zcard(default_queue_name))


SEND_EMAIL = "send_email"
START_PASSWORD_RESET = "start_password_reset"  # noqa: S105 (a job name)


class Sealed:
    """A job argument that must not reach a log line (arq logs job arguments by repr): an email
    address, say. Pickles as its value; shows as `Sealed(***)`."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Sealed(***)"

    def __reduce__(self) -> tuple[type[Sealed], tuple[str]]:
        return (Sealed, (self.value,))


async def enqueue_send_email(queue: ArqRedis, envelope: Envelope) -> bool:
    """Queue the delivery of one message (the job id is its message id); False when queued."""
    job = await queue.enqueue_job(
        SEND_EMAIL, envelope, _job_id=f"{SEND_EMAIL}:{envelope.message_id}"
    )
    return job is not None


async def enqueue_start_password_reset(queue: ArqRedis, email: str, request_id: str) -> bool:
    """Queue the look-up of the account with this address and, if there is one, its reset mail.
    The request answers before the look-up, so it takes the same time whether or not the
    address belongs to an account."""
    job = await queue.enqueue_job(
        START_PASSWORD_RESET, Sealed(email), _job_id=f"{START_PASSWORD_RESET}:{request_id}"
    )
    return job is not None


ERASE_ACCOUNT = "erase_account"


async def enqueue_erase_account(
    queue: ArqRedis, user_id: int, scheduled_micros: int, *, defer_seconds: float = 0
) -> bool:
    """Queue the erasure of an account whose deletion takes effect in `defer_seconds`;
    `scheduled_micros` (that deletion's erase_after) tells one deletion request from a later
    one. False when that job is already queued."""
    job = await queue.enqueue_job(
        ERASE_ACCOUNT,
        user_id,
        _job_id=f"{ERASE_ACCOUNT}:{user_id}:{scheduled_micros}",
        _defer_by=max(defer_seconds, 0),
    )
    return job is not None


EXPORT_DATA = "export_data"


async def enqueue_export_data(queue: ArqRedis, user_id: int, export_id: int) -> bool:
    """Queue the writing of one data export; False when already queued."""
    job = await queue.enqueue_job(
        EXPORT_DATA, user_id, export_id, _job_id=f"{EXPORT_DATA}:{user_id}:{export_id}"
    )
    return job is not None
