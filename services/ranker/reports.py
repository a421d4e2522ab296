"""The ranker experiment's engagement per arm over days (`shutter ranker report`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from services.ranker.impressions import ENGAGEMENT_WINDOW, LONG_DWELL_MS
from services.ranker.serving import ARMS
from storage import ranker_models
from storage.pg import Db
from storage.ranker_models import ArmDay

_ARM = max(len(arm) for arm in ARMS)
"""The arm column's width."""


async def engagement_by_arm(db: Db, first: date, last: date) -> list[ArmDay]:
    """Per day from `first` to `last` (inclusive, UTC) and arm: pages, posts served, reported
    on screen, engaged (the training label: services.ranker.training). Reads only."""
    return await ranker_models.fetch_engagement_by_arm(
        db,
        since=datetime.combine(first, time(), UTC),
        until=datetime.combine(last + timedelta(days=1), time(), UTC),
        window_seconds=int(ENGAGEMENT_WINDOW.total_seconds()),
        long_dwell_ms=LONG_DWELL_MS,
    )


def engagement_table(days: Sequence[ArmDay]) -> str:
    """A plain-text table of `days`, one line per day and arm (whichever arms served: formula,
    model, challenger), then one total per arm; the rate is engaged / served. Pure."""
    header = f"{'day':<10} {'arm':<{_ARM}} {'pages':>7} {'served':>8} {'on screen':>9} "
    lines = [header + f"{'engaged':>8} {'rate':>7}"]
    totals: dict[str, list[int]] = {}
    for day in days:
        lines.append(_line(f"{day.day:%Y-%m-%d}", day.arm, day.pages, day.served,
                           day.on_screen, day.engaged))  # fmt: skip
        total = totals.setdefault(day.arm, [0, 0, 0, 0])
        for index, value in enumerate((day.pages, day.served, day.on_screen, day.engaged)):
            total[index] += value
    for arm, (pages, served, on_screen, engaged) in sorted(totals.items()):
        lines.append(_line("all", arm, pages, served, on_screen, engaged))
    if not days:
        lines.append("(no served pages in the range)")
    return "\n".join(lines) + "\n"


def _line(day: str, arm: str, pages: int, served: int, on_screen: int, engaged: int) -> str:
    rate = f"{engaged / served:.2%}" if served else "-"
    return f"{day:<10} {arm:<{_ARM}} {pages:>7} {served:>8} {on_screen:>9} {engaged:>8} {rate:>7}"
