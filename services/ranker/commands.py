"""`shutter train-ranker` and `shutter ranker status|promote|rollback|report` (cli.py)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from services.ranker import reports, training
from settings import Settings
from storage.pg import create_pool


@contextlib.contextmanager
def progress_bars(out: TextIO) -> Iterator[training.Progress]:
    """A training.Progress drawing one rich progress bar per step on `out` (plain lines when
    `out` is not a terminal). Thread-safe: LightGBM reports its rounds from a thread."""
    console = Console(file=out)
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bars:

        def show(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bars.add_task(step, total=total)
            bars.update(tasks[step], completed=done, total=total)

        yield show


def challenger_line(settings: Settings, status: str) -> str:
    """`shutter ranker status`'s line about the challenger (RANKER_CHALLENGER_VERSION set):
    its version, its share of the model arm and of all viewers, and `status`
    (training.challenger_status). Pure."""
    share = settings.ranker_challenger_share
    return (
        f"challenger: model {settings.ranker_challenger_version} ({status}), "
        f"{share:.0%} of the model arm = {share * settings.ranker_model_share:.0%} of viewers"
    )


async def run_ranker_command(
    settings: Settings,
    action: str,
    version: int | None = None,
    out: TextIO = sys.stdout,
    *,
    since: date | None = None,
    until: date | None = None,
) -> int:
    """Run one ranker command on DATABASE_URL; returns the exit status (1: refused).
    `since`/`until` (inclusive days, UTC) bound `report` (default: the last 7 days).
    `status` lists the newest models, then the challenger when RANKER_CHALLENGER_VERSION is set.
    Side effects: those of services.ranker.training's train, promote or rollback."""
    if not settings.database_url:
        raise ValueError("the ranker commands need DATABASE_URL")
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        if action == "train":
            try:
                with progress_bars(out) as bars:
                    result = await training.train(pool, now=datetime.now(UTC), progress=bars)
            except training.TrainingError as error:
                out.write(f"not trained: {error}\n")
                return 1
            verdict = "promoted" if result.promoted else "kept as REJECTED (not better)"
            out.write(f"model {result.version} {verdict}\n")
            out.write(orjson.dumps(result.metrics, option=orjson.OPT_INDENT_2).decode() + "\n")
        elif action == "status":
            for model in await training.status(pool):
                held_out = model.metrics.get("model", {})
                out.write(
                    f"{model.version:>4} {model.status:<9} {model.created_at:%Y-%m-%d %H:%M} "
                    f"auc {held_out.get('auc', float('nan')):.3f} "
                    f"ndcg@10 {held_out.get('ndcg10', float('nan')):.3f}\n"
                )
            if settings.ranker_challenger_version is not None:
                challenger = await training.challenger_status(
                    pool, settings.ranker_challenger_version
                )
                out.write(challenger_line(settings, challenger) + "\n")
        elif action == "promote":
            assert version is not None
            try:
                await training.promote(pool, version)
            except (LookupError, ValueError) as error:
                out.write(f"not promoted: {error}\n")
                return 1
            out.write(f"model {version} is active\n")
        elif action == "report":
            last = until or datetime.now(UTC).date()
            first = since or last - timedelta(days=6)
            out.write(reports.engagement_table(await reports.engagement_by_arm(pool, first, last)))
        elif action == "rollback":
            active = await training.rollback(pool)
            out.write(f"active: {'the formula' if active is None else f'model {active}'}\n")
        return 0
    finally:
        await pool.close()
