"""Model A vs model B: a challenger model ranks a share of the model arm (on real PostgreSQL and
Valkey): the assignment, the pages it serves (first pages and pages from the snapshot), their
log, explanations and metrics, the fallbacks to the active model, the report and the status."""

from __future__ import annotations

import dataclasses
import io
import logging
import math

import numpy as np
import pytest

from resources import Resources
from services import feed
from services.feed import FeedOrder
from services.feed.features import FEATURE_NAMES
from services.ranker import explanations, impressions, log_upkeep, reports
from services.ranker.commands import run_ranker_command
from services.ranker.serving import Experiment, RankerServing
from settings import Settings
from storage import ranker_log, ranker_models
from tests.factories import make_user
from tests.feed_factories import at, feed_deps, insert_follows, insert_post
from tests.services.test_ranked_by_model import model_following, model_preferring_liked_posts
from tests.services.test_ranker import impression_deps
from tests.services.test_ranker_rest import sample

IDS = range(1, 40_001)


def within_binomial(count: int, trials: int, share: float) -> bool:
    """`count` successes of `trials` draws is within 5 standard deviations of share x trials
    (a deterministic draw: this only guards against a biased split)."""
    return abs(count - trials * share) <= 5 * math.sqrt(trials * share * (1 - share))


def test_the_challenger_splits_the_model_arm_deterministically_by_its_share() -> None:
    before = Experiment("exp-a", 0.6)
    with_challenger = Experiment("exp-a", 0.6, challenger_version=7, challenger_share=0.25)
    arms = [with_challenger.arm_of(user_id) for user_id in IDS]
    assert arms == [dataclasses.replace(with_challenger).arm_of(u) for u in IDS]  # deterministic
    # Nobody moves between the formula and the model arms: the challenger's come from the model's.
    assert [arm == "formula" for arm in arms] == [before.arm_of(u) == "formula" for u in IDS]
    in_model_arm = arms.count("model") + arms.count("challenger")
    assert within_binomial(in_model_arm, len(arms), 0.6)
    assert within_binomial(arms.count("challenger"), in_model_arm, 0.25)
    assert within_binomial(arms.count("challenger"), len(arms), 0.6 * 0.25)
    # A larger challenger share only moves model-arm viewers into the challenger arm.
    wider = dataclasses.replace(with_challenger, challenger_share=0.5)
    wider_arms = [wider.arm_of(u) for u in IDS]
    assert all(
        w == "challenger" for a, w in zip(arms, wider_arms, strict=True) if a == "challenger"
    )
    assert [a == "formula" for a in wider_arms] == [a == "formula" for a in arms]
    assert within_binomial(wider_arms.count("challenger"), in_model_arm, 0.5)
    # No challenger version, or a zero share: no challenger arm; a full share: the whole arm.
    assert "challenger" not in {
        Experiment("exp-a", 0.6, challenger_share=1.0).arm_of(u) for u in IDS
    }
    zero = dataclasses.replace(with_challenger, challenger_share=0.0)
    assert [zero.arm_of(u) for u in IDS] == [before.arm_of(u) for u in IDS]
    full = dataclasses.replace(with_challenger, challenger_share=1.0)
    assert {full.arm_of(u) for u in IDS} == {"formula", "challenger"}


def model_preferring_fresh_posts() -> bytes:
    """A model whose score follows recency only (engaged: recency > 0.5), so it orders a fresh
    post above an old liked one, unlike model_preferring_liked_posts."""
    return model_following("recency", 0.5, high=1, seed=2)


async def store_model(resources: Resources, model: bytes, status: str = "CANDIDATE") -> int:
    record = await ranker_models.insert_model(
        resources.db, library="lightgbm", feature_names=list(FEATURE_NAMES), model=model,
        metrics={}, status=status,
    )  # fmt: skip
    return record.version


async def active_model(resources: Resources) -> int:
    """An active model preferring the old liked post (the formula and the challenger prefer the
    fresh one)."""
    version = await store_model(resources, model_preferring_liked_posts())
    await ranker_models.activate_model(resources.db, version)
    return version


NOW = at(600)


async def viewers_by_arm(resources: Resources, experiment: Experiment) -> dict[str, list[int]]:
    """40 new users grouped by their arm in `experiment` (enough for one in each arm of a
    50/50 split, whatever their ids)."""
    by_arm: dict[str, list[int]] = {}
    for index in range(40):
        user = await make_user(resources.db, f"v{index}")
        by_arm.setdefault(experiment.arm_of(user.id), []).append(user.id)
    return by_arm


async def feed_posts(resources: Resources, viewers: list[int]) -> tuple[int, int]:
    """(an old post with likes, a fresh post), in the viewers' feeds."""
    a, b = await make_user(resources.db, "a"), await make_user(resources.db, "b")
    await insert_follows(resources.db, [(v, author.id) for v in viewers for author in (a, b)])
    liked = await insert_post(resources.db, a.id, at(0), likes=5)
    fresh = await insert_post(resources.db, b.id, at(540))
    return liked, fresh


async def two_pages(resources: Resources, serving: RankerServing, viewer: int) -> list[int]:
    """A RANKED first page of one post, then the next page from its snapshot; the posts."""
    deps = dataclasses.replace(feed_deps(resources), ranker=serving)
    first = await feed.read_feed_ids(deps, viewer, first=1, after=None, order=FeedOrder.RANKED,
                                     now=NOW)  # fmt: skip
    second = await feed.read_feed_ids(deps, viewer, first=1, after=first.edges[-1][0],
                                      order=FeedOrder.RANKED, now=NOW)  # fmt: skip
    return [post_id for _, post_id in first.edges + second.edges]


async def logged_pages(resources: Resources) -> list[tuple[int, str, int | None, list[int]]]:
    """(viewer, arm, model version, post ids) of the pages served, drained from Redis."""
    await log_upkeep.drain_served_pages(resources.redis, resources.db)
    rows = await resources.db.fetch(
        "SELECT viewer_id, arm, model_version, post_ids FROM ranker_served_pages"
        " ORDER BY viewer_id, page_id"
    )
    return [(r["viewer_id"], r["arm"], r["model_version"], r["post_ids"]) for r in rows]


async def test_the_challenger_ranks_its_arm_and_its_pages_are_logged_explained_and_counted(
    clean: Resources,
) -> None:
    active = await active_model(clean)
    challenger = await store_model(clean, model_preferring_fresh_posts(), status="REJECTED")
    experiment = Experiment("ab", 1.0, challenger_version=challenger, challenger_share=0.5)
    serving = RankerServing(refresh_seconds=0, experiment=experiment)
    by_arm = await viewers_by_arm(clean, experiment)
    mine, theirs = by_arm["challenger"][0], by_arm["model"][0]
    liked, fresh = await feed_posts(clean, [mine, theirs])

    assert await two_pages(clean, serving, mine) == [fresh, liked]  # ranked by the challenger
    assert await two_pages(clean, serving, theirs) == [liked, fresh]  # by the active model
    # Both pages, the first and the one served from the snapshot, say who ranked them.
    assert await logged_pages(clean) == [
        (mine, "challenger", challenger, [fresh]),
        (mine, "challenger", challenger, [liked]),
        (theirs, "model", active, [liked]),
        (theirs, "model", active, [fresh]),
    ]
    served = await ranker_log.served_posts_of(clean.redis, mine, [fresh, liked])
    assert {(p.model_version, p.arm) for p in served.values()} == {(challenger, "challenger")}
    served = await ranker_log.served_posts_of(clean.redis, theirs, [fresh, liked])
    assert {(p.model_version, p.arm) for p in served.values()} == {(active, "model")}

    # Explanations use the model that served the page: the challenger's contributions.
    model = await serving.model_of_version(clean.db, challenger)
    assert model is not None
    mine_served = await ranker_log.served_posts_of(clean.redis, mine, [fresh, liked])
    found = await explanations.explain(clean.db, clean.redis, serving, mine, [fresh, liked])
    for post_id, explanation in zip((fresh, liked), found, strict=True):
        assert explanation is not None
        assert explanation.model_version == challenger
        row = np.array([mine_served[post_id].features])
        assert explanation.score == pytest.approx(model.contributions(row)[0].sum(), abs=1e-4)
    theirs_found = await explanations.explain(clean.db, clean.redis, serving, theirs, [fresh])
    assert [e.model_version for e in theirs_found if e is not None] == [active]

    # Impressions of its pages count for the challenger arm on /metrics.
    shown = sample("shutter_ranker_impressions_total", "challenger")
    engaged = sample("shutter_ranker_engaged_impressions_total", "challenger")
    model_shown = sample("shutter_ranker_impressions_total", "model")
    reported = [impressions.ReportedImpression(fresh, 0, 4000),
                impressions.ReportedImpression(liked, 1, 100)]  # fmt: skip
    assert await impressions.record_impressions(impression_deps(clean), mine, reported) == 2
    assert sample("shutter_ranker_impressions_total", "challenger") == shown + 2
    assert sample("shutter_ranker_engaged_impressions_total", "challenger") == engaged + 1
    assert sample("shutter_ranker_impressions_total", "model") == model_shown

    # The report has the challenger's rows beside the model's.
    days = await reports.engagement_by_arm(clean.db, NOW.date(), NOW.date())
    assert [(d.arm, d.pages, d.served, d.on_screen, d.engaged) for d in days] == [
        ("challenger", 2, 2, 2, 1),
        ("model", 2, 2, 0, 0),
    ]
    assert reports.engagement_table(days).splitlines() == [
        "day        arm          pages   served on screen  engaged    rate",
        "2025-03-01 challenger       2        2         2        1  50.00%",
        "2025-03-01 model            2        2         0        0   0.00%",
        "all        challenger       2        2         2        1  50.00%",
        "all        model            2        2         0        0   0.00%",
    ]


@pytest.mark.parametrize("case", ["not stored", "unloadable", "the active model"])
async def test_the_challenger_arm_gets_the_active_model_while_the_challenger_cannot_serve(
    clean: Resources, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    active = await active_model(clean)
    if case == "not stored":
        challenger, reason = active + 1, "is not stored"
    elif case == "unloadable":
        challenger, reason = await store_model(clean, b"not a model"), "failed to load"
    else:
        challenger, reason = active, "is the active model"
    experiment = Experiment("ab", 1.0, challenger_version=challenger, challenger_share=0.5)
    serving = RankerServing(refresh_seconds=0, experiment=experiment)
    by_arm = await viewers_by_arm(clean, experiment)
    mine = by_arm["challenger"][0]
    liked, fresh = await feed_posts(clean, [mine])
    with caplog.at_level(logging.WARNING, logger="services.ranker.serving"):
        assert await two_pages(clean, serving, mine) == [liked, fresh]
        assert await two_pages(clean, serving, mine) == [liked, fresh]
    assert [page[1:3] for page in await logged_pages(clean)] == [("model", active)] * 4
    served = await ranker_log.served_posts_of(clean.redis, mine, [fresh, liked])
    assert {(p.model_version, p.arm) for p in served.values()} == {(active, "model")}
    (logged,) = [r.getMessage() for r in caplog.records if f"model {challenger}" in r.getMessage()]
    assert reason in logged  # once, not per request

    if case == "not stored":  # stored later: the next refresh picks it up
        assert await store_model(clean, model_preferring_fresh_posts()) == challenger
        assert await two_pages(clean, serving, mine) == [fresh, liked]
        arms = sorted(page[1:3] for page in await logged_pages(clean))
        assert arms == [("challenger", challenger)] * 2 + [("model", active)] * 4


async def test_without_an_active_model_the_formula_ranks_the_challenger_arm_too(
    clean: Resources,
) -> None:
    challenger = await store_model(clean, model_preferring_fresh_posts())
    experiment = Experiment("ab", 1.0, challenger_version=challenger, challenger_share=1.0)
    serving = RankerServing(refresh_seconds=0, experiment=experiment)
    by_arm = await viewers_by_arm(clean, experiment)
    mine = by_arm["challenger"][0]
    await feed_posts(clean, [mine])
    await two_pages(clean, serving, mine)
    assert [page[1:3] for page in await logged_pages(clean)] == [("formula", None)] * 2


async def test_the_status_command_shows_the_challenger_when_set(
    clean: Resources, settings: Settings
) -> None:
    active = await active_model(clean)
    challenger = await store_model(clean, model_preferring_fresh_posts(), status="REJECTED")
    ready = settings.model_copy(update={"database_url": clean.settings.database_url})

    async def status(**changes: object) -> list[str]:
        out = io.StringIO()
        assert await run_ranker_command(ready.model_copy(update=changes), "status", out=out) == 0
        return out.getvalue().splitlines()

    lines = await status()
    assert [line.split()[:2] for line in lines] == [
        [str(challenger), "REJECTED"],
        [str(active), "ACTIVE"],
    ]
    assert await status(ranker_model_share=0.5, ranker_challenger_version=challenger) == [
        *lines,
        f"challenger: model {challenger} (REJECTED, serving its arm), 50% of the model arm"
        " = 25% of viewers",
    ]
    assert (await status(ranker_challenger_version=active, ranker_challenger_share=0.2))[-1] == (
        f"challenger: model {active} (ACTIVE: its arm gets it as the active model), 20% of the"
        " model arm = 20% of viewers"
    )
    assert (await status(ranker_challenger_version=challenger + 1))[-1].startswith(
        f"challenger: model {challenger + 1} (not stored: its arm gets the active model)"
    )
