"""What every arq job gets from the worker: its id and name in the log context, its run time and
outcome in the metrics.

arq's hooks (on_job_start/on_job_end) receive the job's context but neither its function name
nor its outcome, so the outcome is taken where it is known: around the job's coroutine."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from time import perf_counter
from typing import Any, TypeVar

from arq import Retry
from arq.cron import CronJob
from arq.worker import Function, RetryJob

from logs import bind_job
from metrics import JOB_DURATION, JOB_FAILURES, JOB_OUTCOMES

F = TypeVar("F", Function, CronJob)


async def on_job_start(ctx: dict[str, Any]) -> None:
    """arq hook, in the task that runs the job: bind its id to the log context (so arq's own
    lines about the job carry it too). Side effect: the log context of that task."""
    bind_job(str(ctx.get("job_id")), None)


def observed(function: F) -> F:
    """The same arq function or cron job, its coroutine wrapped: binds `job_id` and `job` to the
    log context, observes `shutter_job_duration_seconds{job}` and counts
    `shutter_jobs_total{job,outcome}` (success, retry, cancelled: shutdown or arq's timeout,
    failure) and `shutter_job_failures_total{job}`."""
    name = function.name
    coroutine = function.coroutine
    duration = JOB_DURATION.labels(name)
    outcomes = {
        outcome: JOB_OUTCOMES.labels(name, outcome)
        for outcome in ("success", "retry", "cancelled", "failure")
    }
    failures = JOB_FAILURES.labels(name)

    @functools.wraps(coroutine)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        bind_job(str(ctx.get("job_id")), name)
        started = perf_counter()
        outcome = "failure"
        try:
            result = await coroutine(ctx, *args, **kwargs)
        except (Retry, RetryJob):
            outcome = "retry"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception:
            failures.inc()
            raise
        else:
            outcome = "success"
            return result
        finally:
            duration.observe(perf_counter() - started)
            outcomes[outcome].inc()

    return dataclasses.replace(function, coroutine=run)
