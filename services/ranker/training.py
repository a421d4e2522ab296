"""Training the ranker (`shutter train-ranker`): rows from the log, a LightGBM model, held-out
evaluation against the formula and the active model, versioned storage, promotion rules.

Rows are the posts of served RANKED pages with the features they were served with (so what
the model learns from is exactly what serving computes), labelled engaged when the viewer liked
or commented on the post within `window` after the page, or had it on screen at least
LONG_DWELL_MS (their impression report for that page). The model is trained on the older days
and evaluated on the later ones (the last `test_span`, a day): AUC, log-loss, and NDCG@10 of the
served pages re-ordered by each scorer. It is promoted only when it beats the formula and the
active model on NDCG@10 and the active model on AUC, on the same held-out rows.

Why LightGBM: gradient-boosted trees fit the features' non-linear shapes (recency decay,
saturation of counts) without hand-made transforms; its wheel is small next to scikit-learn's
(both need numpy and scipy); a model saves as LightGBM's own text, loaded with no pickle (no code
runs from the database's bytes); and it gives per-feature contributions (SHAP) for
`Post.rankingExplanation`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from services.feed.features import FEATURE_NAMES, formula_scores
from services.ranker.impressions import ENGAGEMENT_WINDOW, LONG_DWELL_MS
from services.ranker.serving import LIBRARY, load_model
from storage import ranker_models
from storage.pg import Db

MIN_ROWS = 50
ROUNDS = 30
MAX_DEPTH = 4
"""The model's size, bounded for the feed's budget: serving scores a window of up to 500 rows
with every tree. 100 unbounded trees (LightGBM's usual) cost about 1.2 ms of CPU per RANKED
first page, a seventh of it; 30 trees at most 4 deep (learning rate 0.2) a third of that, and
rank as well on bench.ranking's population."""
Progress = Callable[[str, int, int], None]
Vector = npt.NDArray[np.float64]


class TrainingError(Exception):
    """Too little data to train or evaluate (the message says what is missing)."""


@dataclass(frozen=True, slots=True)
class TrainResult:
    version: int
    promoted: bool
    metrics: dict[str, Any]


def auc(labels: Vector, scores: Vector) -> float:
    """Area under the ROC curve (Mann-Whitney, ties averaged). Pure."""
    positives = labels > 0.5
    count_pos, count_neg = int(positives.sum()), int((~positives).sum())
    if count_pos == 0 or count_neg == 0:
        return 0.5
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # ties share their mean rank
    above = ranks[positives].sum() - count_pos * (count_pos + 1) / 2
    return float(above / (count_pos * count_neg))


def log_loss(labels: Vector, probabilities: Vector) -> float:
    p = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def ndcg_at(labels: Vector, scores: Vector, pages: npt.NDArray[np.int64], k: int = 10) -> float:
    """Mean NDCG@k over the pages with at least one engaged post, each page's posts ordered by
    `scores`. Pure."""
    discounts = 1 / np.log2(np.arange(2, k + 2))
    values = []
    for page in np.unique(pages):
        mask = pages == page
        page_labels = labels[mask]
        if page_labels.sum() == 0:
            continue
        order = np.lexsort((np.arange(mask.sum()), -scores[mask]))[:k]
        ideal = np.sort(page_labels)[::-1][:k]
        values.append(
            float(page_labels[order] @ discounts[: len(order)])
            / float(ideal @ discounts[: len(ideal)])
        )
    return float(np.mean(values)) if values else 0.0


def _evaluate(labels: Vector, pages: npt.NDArray[np.int64], scores: Vector) -> dict[str, float]:
    return {"auc": auc(labels, scores), "ndcg10": ndcg_at(labels, scores, pages)}


async def train(
    db: Db,
    *,
    now: datetime,
    train_span: timedelta = timedelta(days=6),
    test_span: timedelta = timedelta(days=1),
    progress: Progress | None = None,
    rounds: int = ROUNDS,
) -> TrainResult:
    """Train on the served pages of the `train_span` before the last `test_span` (by default
    6 days, then 1: later days than it trained on), evaluate on that last span, store the
    model (CANDIDATE, promoted to ACTIVE when it beats the formula and the active model: see
    the module docstring; else REJECTED). Raises TrainingError when
    either part has fewer than MIN_ROWS rows or a single label. Side effects: the model row;
    the promotion."""
    import lightgbm

    report = progress or (lambda _step, _done, _total: None)
    cutoff = now - test_span
    report("reading the log", 0, 1)
    rows = await ranker_models.fetch_training_rows(
        db,
        since=cutoff - train_span,
        until=now,
        feature_names=list(FEATURE_NAMES),
        window_seconds=int(ENGAGEMENT_WINDOW.total_seconds()),
        long_dwell_ms=LONG_DWELL_MS,
    )
    report("reading the log", 1, 1)
    matrix = np.array([row.features for row in rows], dtype=np.float64).reshape(
        len(rows), len(FEATURE_NAMES)
    )
    labels = np.array([row.label for row in rows], dtype=np.float64)
    held_out = np.array([row.served_at >= cutoff for row in rows], dtype=bool)
    page_index = {
        key: i for i, key in enumerate(dict.fromkeys((r.page_id, r.served_at) for r in rows))
    }
    pages = np.array([page_index[row.page_id, row.served_at] for row in rows], dtype=np.int64)
    for name, part in (("training", ~held_out), ("held-out", held_out)):
        if part.sum() < MIN_ROWS or len(np.unique(labels[part])) < 2:
            raise TrainingError(
                f"{name} rows: {int(part.sum())} with {int(labels[part].sum())} engaged; "
                f"need at least {MIN_ROWS} and both labels"
            )
    params = {
        "objective": "binary",
        "learning_rate": 0.2,
        "num_leaves": 15,
        "max_depth": MAX_DEPTH,
        "min_data_in_leaf": 20,
        "verbose": -1,
        "num_threads": 1,
        "seed": 1,
        "deterministic": True,
    }
    dataset = lightgbm.Dataset(
        matrix[~held_out], labels[~held_out], feature_name=list(FEATURE_NAMES)
    )

    def on_round(env: Any) -> None:
        report("training", env.iteration + 1, rounds)

    booster = await asyncio.to_thread(
        lightgbm.train, params, dataset, num_boost_round=rounds, callbacks=[on_round]
    )  # LightGBM releases the GIL: the process's event loop goes on meanwhile
    test_x, test_y, test_pages = matrix[held_out], labels[held_out], pages[held_out]
    predicted = np.asarray(booster.predict(test_x), dtype=np.float64)
    metrics: dict[str, Any] = {
        "model": _evaluate(test_y, test_pages, predicted)
        | {"log_loss": log_loss(test_y, predicted)},
        "formula": _evaluate(test_y, test_pages, formula_scores(test_x)),
        "rows": {"training": int((~held_out).sum()), "held_out": int(held_out.sum())},
        "engaged_rate": float(labels.mean()),
    }
    active = await ranker_models.fetch_active_model(db)
    beats = metrics["model"]["ndcg10"] > metrics["formula"]["ndcg10"]
    if active is not None:
        try:
            current = load_model(active).scores(test_x)
            metrics["active"] = _evaluate(test_y, test_pages, current) | {
                "version": active.version,
                "log_loss": log_loss(test_y, current),
            }
            beats = (
                beats
                and metrics["model"]["ndcg10"] > metrics["active"]["ndcg10"]
                and metrics["model"]["auc"] > metrics["active"]["auc"]
            )
        except ValueError:
            metrics["active"] = {"version": active.version, "error": "cannot be loaded"}
    record = await ranker_models.insert_model(
        db,
        library=LIBRARY,
        feature_names=list(FEATURE_NAMES),
        model=booster.model_to_string().encode(),
        metrics=metrics,
        status="CANDIDATE" if beats else "REJECTED",
    )
    if beats:
        await ranker_models.activate_model(db, record.version)
    return TrainResult(record.version, beats, metrics)


async def promote(db: Db, version: int) -> None:
    """Make a stored model the active one (by hand). Raises LookupError for an unknown
    version, ValueError for one that cannot be loaded (nothing changes then)."""
    record = await ranker_models.fetch_model(db, version)
    if record is None:
        raise LookupError(f"no ranker model {version}")
    load_model(record)
    await ranker_models.activate_model(db, version)


async def rollback(db: Db) -> int | None:
    """Retire the active model, re-activating the one before it; returns the version now
    active (None: the formula ranks)."""
    return await ranker_models.rollback_active(db)


async def status(db: Db) -> list[ranker_models.ModelRecord]:
    """The newest stored models, newest first."""
    return await ranker_models.fetch_models(db)


async def challenger_status(db: Db, version: int) -> str:
    """Whether a challenger model (RANKER_CHALLENGER_VERSION) would serve its arm, in words:
    its stored status when it does, else why its arm gets the active model (not stored,
    cannot be loaded, the active model itself, no active model). Reads only (and parses the
    model)."""
    record = await ranker_models.fetch_model(db, version)
    if record is None:
        return "not stored: its arm gets the active model"
    try:
        load_model(record)
    except ValueError:
        return f"{record.status}, cannot be loaded: its arm gets the active model"
    if record.status == "ACTIVE":
        return "ACTIVE: its arm gets it as the active model"
    if await ranker_models.fetch_active_version(db) is None:
        return f"{record.status}, idle: no model is active, the formula ranks for everyone"
    return f"{record.status}, serving its arm"
