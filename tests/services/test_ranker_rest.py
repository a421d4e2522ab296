"""The learned ranker's later parts on real PostgreSQL and Valkey: pages served from the
paging snapshot logged, profile visits as a label, the daily training job, explanations, the
experiment's assignment, per-arm metrics and the report."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from metrics import REGISTRY
from resources import Resources
from services import feed
from services.cursors import FeedSnapshotCursor, decode
from services.errors import DomainError
from services.feed import FeedOrder
from services.feed.features import FEATURE_NAMES, FORMULA_WEIGHTS
from services.ranker import explanations, impressions, log_upkeep, reports, training
from services.ranker.commands import run_ranker_command
from services.ranker.serving import Experiment, RankerServing
from settings import Settings
from storage import ranker_log, ranker_models
from tests.factories import make_user
from tests.feed_factories import at, feed_deps, insert_follows, insert_like, insert_post
from tests.services.test_ranker import generate_log, impression_deps
from workers import worker_options
from workers.jobs import train_ranker

DAY = timedelta(days=1)


async def served_rows(resources: Resources) -> list[dict[str, object]]:
    await log_upkeep.drain_served_pages(resources.redis, resources.db)
    rows = await resources.db.fetch(
        "SELECT page_id, served_at, post_ids, features, model_version, arm"
        " FROM ranker_served_pages ORDER BY served_at, page_id"
    )
    return [dict(row) for row in rows]


def rows_of(features: Sequence[float]) -> np.ndarray:
    return np.array(features, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))


async def test_pages_served_from_the_snapshot_are_logged_with_the_rows_they_were_ranked_with(
    clean: Resources,
) -> None:
    deps = feed_deps(clean)
    me, a = await make_user(clean.db, "me"), await make_user(clean.db, "a")
    await insert_follows(clean.db, [(me.id, a.id)])
    posts = [await insert_post(clean.db, a.id, at(m * 60)) for m in range(5)]
    first_at, later = at(6 * 60), at(6 * 60 + 10)
    first = await feed.read_feed_ids(
        deps, me.id, first=2, after=None, order=FeedOrder.RANKED, now=first_at
    )
    second = await feed.read_feed_ids(
        deps, me.id, first=2, after=first.edges[-1][0], order=FeedOrder.RANKED, now=later
    )
    snapshot = decode(first.edges[-1][0], FeedSnapshotCursor, of="feed order").snapshot_id
    # A deleted post is skipped by the page, and so by its log.
    await clean.db.execute("UPDATE posts SET status = 'DELETED' WHERE id = $1", posts[0])
    third = await feed.read_feed_ids(
        deps, me.id, first=2, after=second.edges[-1][0], order=FeedOrder.RANKED, now=later
    )
    assert [post_id for _, post_id in first.edges + second.edges] == posts[:0:-1]
    assert third.edges == []  # posts[0], deleted meanwhile: not served, not logged

    logged = await served_rows(clean)
    assert [(r["page_id"], r["served_at"], r["post_ids"]) for r in logged] == [
        (snapshot, first_at, [posts[4], posts[3]]),
        (f"{snapshot}.2", later, [posts[2], posts[1]]),
    ]
    # Rows as ranked at the first page (recency of then, not of the later page's time).
    second_rows = rows_of(logged[1]["features"])  # type: ignore[arg-type]
    ages = np.array([4.0, 5.0])  # hours between each post and the first page
    assert second_rows[:, FEATURE_NAMES.index("age_hours")] == pytest.approx(ages, abs=1e-4)
    assert second_rows[:, 0] == pytest.approx(0.5 ** (ages / 6), rel=1e-5)
    assert [(r["model_version"], r["arm"]) for r in logged] == [(None, "formula")] * 2
    # The served map holds the same rows: what the later page's explanations read.
    served = await ranker_log.served_posts_of(clean.redis, me.id, [posts[2], posts[1]])
    assert [served[p].page_id for p in (posts[2], posts[1])] == [f"{snapshot}.2"] * 2
    assert [served[p].model_version for p in (posts[2], posts[1])] == [None, None]
    assert np.array([served[p].features for p in (posts[2], posts[1])]) == pytest.approx(
        second_rows
    )

    # The posts of the later page are attributed to it: an impression lands there.
    assert (
        await impressions.record_impressions(
            impression_deps(clean), me.id, [impressions.ReportedImpression(posts[2], 2, 10)]
        )
        == 1
    )
    assert await clean.db.fetchval("SELECT page_id FROM ranker_impressions") == f"{snapshot}.2"


async def test_no_log_is_written_when_logging_is_off(clean: Resources) -> None:
    deps = dataclasses.replace(feed_deps(clean), log_served_pages=False)
    me = await make_user(clean.db, "me")
    for m in range(4):
        await insert_post(clean.db, me.id, at(m))
    first = await feed.read_feed_ids(deps, me.id, first=2, after=None, order=FeedOrder.RANKED)
    await feed.read_feed_ids(deps, me.id, first=2, after=first.edges[-1][0], order=FeedOrder.RANKED)
    assert await served_rows(clean) == []
    assert await clean.redis.keys("feed:*:features") == []


def sample(name: str, arm: str) -> float:
    return REGISTRY.get_sample_value(name, {"arm": arm}) or 0.0


async def test_a_profile_visit_from_the_feed_is_a_label_within_the_window(
    clean: Resources,
) -> None:
    deps = feed_deps(clean)
    me, a = await make_user(clean.db, "me"), await make_user(clean.db, "a")
    await insert_follows(clean.db, [(me.id, a.id)])
    for m in range(3):
        await insert_post(clean.db, a.id, at(m))
    served_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    page = await feed.read_feed_ids(
        deps, me.id, first=3, after=None, order=FeedOrder.RANKED, now=served_at
    )
    newest, middle, oldest = (post_id for _, post_id in page.edges)
    await log_upkeep.drain_served_pages(clean.redis, clean.db)
    record = impressions.ReportedImpression
    shown = sample("shutter_ranker_impressions_total", "formula")
    engaged = sample("shutter_ranker_engaged_impressions_total", "formula")

    # Seen briefly, then the profile opened within a day of the page: recorded once, engaged.
    at_visit = served_at + timedelta(hours=2)
    assert await impressions.record_impressions(
        impression_deps(clean), me.id, [record(newest, 0, 500)], now=at_visit
    ) == 1  # fmt: skip
    assert await impressions.record_impressions(
        impression_deps(clean), me.id, [record(newest, 0, 500, opened_profile=True)], now=at_visit
    ) == 0  # fmt: skip
    assert await impressions.record_impressions(
        impression_deps(clean), me.id, [record(newest, 0, 100)], now=at_visit
    ) == 0  # fmt: skip
    # Opened, but 25 hours after the page: outside the window, not recorded as opened.
    assert await impressions.record_impressions(
        impression_deps(clean), me.id, [record(middle, 1, 200, opened_profile=True)],
        now=served_at + timedelta(hours=25),
    ) == 1  # fmt: skip
    stored = await clean.db.fetch(
        "SELECT post_id, visible_ms, profile_opened_at FROM ranker_impressions ORDER BY post_id"
    )
    assert [(r["post_id"], r["visible_ms"], r["profile_opened_at"]) for r in stored] == sorted(
        [(newest, 500, at_visit), (middle, 200, None)], key=lambda row: row[0]
    )
    rows = await ranker_models.fetch_training_rows(
        clean.db,
        since=served_at - DAY,
        until=served_at + DAY,
        feature_names=list(FEATURE_NAMES),
        window_seconds=24 * 3600,
        long_dwell_ms=3000,
    )
    assert [(r.post_id, r.label) for r in rows] == [
        (newest, True),
        (middle, False),
        (oldest, False),
    ]
    # Metrics: two new impressions of the formula arm, one of which became engaged.
    assert sample("shutter_ranker_impressions_total", "formula") == shown + 2
    assert sample("shutter_ranker_engaged_impressions_total", "formula") == engaged + 1


async def test_impressions_of_posts_the_viewer_may_not_see_are_refused_whole(
    clean: Resources,
) -> None:
    me, hidden = await make_user(clean.db, "me"), await make_user(clean.db, "hidden")
    await clean.db.execute("UPDATE users SET is_private = true WHERE id = $1", hidden.id)
    visible = await insert_post(clean.db, me.id, at(0))
    private = await insert_post(clean.db, hidden.id, at(1))
    before = sample("shutter_ranker_impressions_total", "unranked")
    with pytest.raises(DomainError) as refused:
        await impressions.record_impressions(
            impression_deps(clean),
            me.id,
            [impressions.ReportedImpression(visible, 0, 10),
             impressions.ReportedImpression(private, 1, 10, opened_profile=True)],
        )  # fmt: skip
    assert [(e.code.value, e.field) for e in refused.value.errors] == [
        ("NOT_FOUND", ("impressions", "1", "postId"))
    ]
    assert await clean.db.fetchval("SELECT count(*) FROM ranker_impressions") == 0
    assert sample("shutter_ranker_impressions_total", "unranked") == before


async def test_the_daily_training_job_trains_and_promotes_by_the_rule(clean: Resources) -> None:
    ctx = {"resources": clean}
    assert await train_ranker(ctx) == "skipped"  # no log yet
    assert await ranker_models.fetch_models(clean.db) == []
    await generate_log(clean, datetime.now(UTC), 200)
    outcome = await train_ranker(ctx)
    active = await ranker_models.fetch_active_model(clean.db)
    assert active is not None
    assert outcome == f"promoted {active.version}"
    assert await train_ranker(ctx) == f"rejected {active.version + 1}"  # not better
    assert await ranker_models.fetch_active_version(clean.db) == active.version


def test_the_training_cron_follows_its_settings(settings: Settings) -> None:
    def training_crons(**changes: object) -> list[object]:
        options = worker_options(settings.model_copy(update=changes))
        return [c for c in options["cron_jobs"] if c.name == "cron:train_ranker"]

    (daily,) = training_crons(ranker_training_enabled=True, ranker_training_hour=5)
    assert (daily.hour, daily.minute, daily.second) == ({5}, {31}, {0})
    # arq hands a dead worker's jobs over after the longest timeout: training must not raise it.
    functions = worker_options(settings)["functions"]
    assert daily.timeout_s <= max(f.timeout_s for f in functions)
    assert training_crons(ranker_training_enabled=False) == []


def test_the_experiment_assignment_is_deterministic_and_follows_the_share() -> None:
    experiment = Experiment("exp-a", 0.3)
    arms = [experiment.arm_of(user_id) for user_id in range(1, 20_001)]
    assert arms == [Experiment("exp-a", 0.3).arm_of(user_id) for user_id in range(1, 20_001)]
    assert arms.count("model") / len(arms) == pytest.approx(0.3, abs=0.015)
    other = [Experiment("exp-b", 0.3).arm_of(user_id) for user_id in range(1, 20_001)]
    assert sum(x != y for x, y in zip(arms, other, strict=True)) > 5000  # a new draw
    assert {Experiment("x", 0.0).arm_of(u) for u in range(1000)} == {"formula"}
    assert {Experiment("x", 1.0).arm_of(u) for u in range(1000)} == {"model"}
    # A larger share keeps everyone already in the model arm there.
    wider = Experiment("exp-a", 0.6)
    assert all(wider.arm_of(u) == "model" for u, arm in enumerate(arms, 1) if arm == "model")


async def promoted_model(resources: Resources) -> int:
    await generate_log(resources, datetime(2025, 3, 10, tzinfo=UTC), 200)
    result = await training.train(resources.db, now=datetime(2025, 3, 10, tzinfo=UTC), rounds=30)
    assert result.promoted
    return result.version


async def test_the_model_serves_its_arm_only_and_explanations_say_why(clean: Resources) -> None:
    version = await promoted_model(clean)
    experiment = Experiment("split", 0.5)
    serving = RankerServing(refresh_seconds=0, experiment=experiment)
    deps = dataclasses.replace(feed_deps(clean), ranker=serving)
    viewers = [await make_user(clean.db, f"v{i}") for i in range(12)]
    in_model = next(v for v in viewers if experiment.arm_of(v.id) == "model")
    in_formula = next(v for v in viewers if experiment.arm_of(v.id) == "formula")
    author = await make_user(clean.db, "author")
    await insert_follows(clean.db, [(in_model.id, author.id), (in_formula.id, author.id)])
    posts = [await insert_post(clean.db, author.id, at(m * 90), likes=m) for m in range(4)]
    await insert_like(clean.db, posts[1], in_model.id, at(400))
    now = at(420)
    for viewer in (in_model, in_formula):
        await feed.read_feed_ids(deps, viewer.id, first=4, after=None, order=FeedOrder.RANKED,
                                 now=now)  # fmt: skip
    logged = [row for row in await served_rows(clean) if row["served_at"] == now]
    assert sorted((r["arm"], r["model_version"]) for r in logged) == [
        ("formula", None),
        ("model", version),
    ]

    model = await serving.model_of_version(clean.db, version)
    assert model is not None
    found = await explanations.explain(clean.db, clean.redis, serving, in_model.id, posts)
    by_model = {r["model_version"]: rows_of(r["features"]) for r in logged}  # type: ignore[arg-type]
    model_page = next(r for r in logged if r["model_version"] == version)
    for post_id, explanation in zip(posts, found, strict=True):
        assert explanation is not None
        assert explanation.model_version == version
        row = by_model[version][model_page["post_ids"].index(post_id)]  # type: ignore[attr-defined]
        contributions = model.contributions(row[None, :])[0]
        assert explanation.baseline == pytest.approx(contributions[-1], abs=1e-4)
        assert explanation.score == pytest.approx(contributions.sum(), abs=1e-3)
        probability = model.scores(row[None, :])[0]
        assert explanation.score == pytest.approx(np.log(probability / (1 - probability)), abs=1e-3)
        magnitudes = [abs(part.contribution) for part in explanation.contributions]
        assert magnitudes == sorted(magnitudes, reverse=True)
        assert len(magnitudes) == explanations.TOP_CONTRIBUTIONS

    formula = await explanations.explain(clean.db, clean.redis, serving, in_formula.id, posts)
    formula_page = next(r for r in logged if r["model_version"] is None)
    for post_id, explanation in zip(posts, formula, strict=True):
        assert explanation is not None
        assert explanation.model_version is None
        assert explanation.baseline == 0
        row = by_model[None][formula_page["post_ids"].index(post_id)]  # type: ignore[attr-defined]
        assert explanation.score == pytest.approx(float(row @ FORMULA_WEIGHTS), abs=1e-4)
        top = explanation.contributions[0]
        weights = dict(zip(FEATURE_NAMES, FORMULA_WEIGHTS, strict=True))
        assert top.contribution == pytest.approx(weights[top.feature] * top.value)

    # Another viewer, an anonymous one, a post not served: none.
    stranger = viewers[-1] if viewers[-1] not in (in_model, in_formula) else viewers[0]
    assert await explanations.explain(clean.db, clean.redis, serving, stranger.id, posts) == [
        None
    ] * len(posts)
    assert await explanations.explain(clean.db, clean.redis, serving, None, posts[:1]) == [None]
    extra = await insert_post(clean.db, author.id, at(500))
    assert await explanations.explain(clean.db, clean.redis, serving, in_model.id, [extra]) == [
        None
    ]


async def test_the_report_and_the_command_count_engagement_per_arm_and_day(
    clean: Resources, settings: Settings
) -> None:
    deps = feed_deps(clean)
    me, a = await make_user(clean.db, "me"), await make_user(clean.db, "a")
    await insert_follows(clean.db, [(me.id, a.id)])
    posts = [await insert_post(clean.db, a.id, at(m)) for m in range(4)]
    day_one = datetime(2025, 3, 2, 9, tzinfo=UTC)
    page = await feed.read_feed_ids(
        deps, me.id, first=4, after=None, order=FeedOrder.RANKED, now=day_one
    )
    await feed.read_feed_ids(
        deps, me.id, first=2, after=None, order=FeedOrder.RANKED, now=day_one + DAY
    )
    await log_upkeep.drain_served_pages(clean.redis, clean.db)
    await clean.db.execute(
        "UPDATE ranker_served_pages SET arm = 'model', model_version = 1 WHERE served_at = $1",
        day_one + DAY,
    )  # as if the model had served the second day
    await insert_like(clean.db, page.edges[0][1], me.id, day_one + timedelta(hours=1))
    await clean.db.execute(
        "INSERT INTO ranker_impressions (served_at, page_id, viewer_id, post_id, position,"
        " visible_ms) SELECT served_at, page_id, viewer_id, post_ids[2], 1, 4000"
        " FROM ranker_served_pages WHERE served_at = $1",
        day_one,
    )
    days = await reports.engagement_by_arm(clean.db, date(2025, 3, 1), date(2025, 3, 4))
    assert [(d.day, d.arm, d.pages, d.served, d.on_screen, d.engaged) for d in days] == [
        (date(2025, 3, 2), "formula", 1, 4, 1, 2),
        (date(2025, 3, 3), "model", 1, 2, 0, 0),
    ]
    assert reports.engagement_table(days).splitlines() == [
        "day        arm          pages   served on screen  engaged    rate",
        "2025-03-02 formula          1        4         1        2  50.00%",
        "2025-03-03 model            1        2         0        0   0.00%",
        "all        formula          1        4         1        2  50.00%",
        "all        model            1        2         0        0   0.00%",
    ]
    out = io.StringIO()
    ready = settings.model_copy(update={"database_url": clean.settings.database_url})
    status = await run_ranker_command(
        ready, "report", out=out, since=date(2025, 3, 3), until=date(2025, 3, 3)
    )
    assert status == 0
    assert out.getvalue().splitlines()[1:] == [
        "2025-03-03 model            1        2         0        0   0.00%",
        "all        model            1        2         0        0   0.00%",
    ]
    assert posts  # the page served them all


async def test_the_train_command_shows_progress_and_the_verdict(
    clean: Resources, settings: Settings
) -> None:
    ready = settings.model_copy(update={"database_url": clean.settings.database_url})
    out = io.StringIO()
    assert await run_ranker_command(ready, "train", out=out) == 1  # nothing logged yet
    assert out.getvalue().splitlines()[-1] == (
        "not trained: training rows: 0 with 0 engaged; need at least 50 and both labels"
    )
    await generate_log(clean, datetime.now(UTC), 200)
    out = io.StringIO()
    assert await run_ranker_command(ready, "train", out=out) == 0
    text = out.getvalue()
    active = await ranker_models.fetch_active_version(clean.db)
    assert f"model {active} promoted" in text
    assert "reading the log" in text
    (bar,) = [line for line in text.splitlines() if line.startswith("training")]
    assert bar.endswith(f"{training.ROUNDS}/{training.ROUNDS}")
