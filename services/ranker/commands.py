"""`shutter train-ranker` and `shutter ranker status|promote|rollback` (cli.py)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

import orjson

from services.ranker import training
from settings import Settings
from storage.pg import create_pool


def _bar(out: TextIO) -> training.Progress:
    def show(step: str, done: int, total: int) -> None:
        filled = int(30 * done / max(total, 1))
        end = "\n" if done >= total else ""
        out.write(f"\r{step:<16} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}{end}")
        out.flush()

    return show


async def run_ranker_command(
    settings: Settings, action: str, version: int | None = None, out: TextIO = sys.stdout
) -> int:
    """Run one ranker command on DATABASE_URL; returns the exit status (1: refused).
    Side effects: those of services.ranker.training's train, promote or rollback."""
    if not settings.database_url:
        raise ValueError("the ranker commands need DATABASE_URL")
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        if action == "train":
            try:
                result = await training.train(pool, now=datetime.now(UTC), progress=_bar(out))
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
        elif action == "promote":
            assert version is not None
            try:
                await training.promote(pool, version)
            except (LookupError, ValueError) as error:
                out.write(f"not promoted: {error}\n")
                return 1
            out.write(f"model {version} is active\n")
        elif action == "rollback":
            active = await training.rollback(pool)
            out.write(f"active: {'the formula' if active is None else f'model {active}'}\n")
        return 0
    finally:
        await pool.close()
