"""Serving the active ranker model in-process: scores a RANKED window in one vectorised call.

The active model is cached per process and its version re-checked at most every
`refresh_seconds` (one primary-key-sized read), so a promotion or rollback reaches every API
process within that time. When no model is active, or the active one cannot be loaded (corrupt
bytes, features the serving code does not compute), the formula ranks (services.feed.features)
and the failure is logged once per version.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from services.feed.features import FEATURE_NAMES, Matrix, formula_scores
from storage import ranker_models
from storage.pg import Db

log = logging.getLogger(__name__)

LIBRARY = "lightgbm"
Arm = Literal["formula", "model"]
ARMS: tuple[Arm, ...] = ("formula", "model")
"""The experiment's arms (also the only values of the `arm` metric label)."""


@dataclass(frozen=True, slots=True)
class Experiment:
    """Which viewers the active model ranks for: a deterministic per-user split.

    A viewer's arm is a pure function of their id and `salt` (a hash, uniform on [0, 1)
    against `model_share`), so it never changes between requests or processes; a new salt
    re-draws everyone (a new experiment)."""

    salt: str = "ranker-1"
    model_share: float = 1.0
    """The share of viewers in the model arm (0: the formula for all, 1: the model for all)."""

    def arm_of(self, viewer_id: int) -> Arm:
        """The viewer's arm. Pure."""
        digest = hashlib.blake2b(f"{self.salt}:{viewer_id}".encode(), digest_size=8).digest()
        draw = int.from_bytes(digest, "big") / 2**64
        return "model" if draw < self.model_share else "formula"


@dataclass(frozen=True, slots=True)
class ActiveModel:
    version: int
    feature_names: tuple[str, ...]
    columns: npt.NDArray[np.intp]
    """The model's features as columns of a FEATURE_NAMES matrix."""
    booster: Any
    """A lightgbm.Booster."""

    def scores(self, matrix: Matrix) -> npt.NDArray[np.float64]:
        """The model's engagement probability of every row: one vectorised call."""
        found: npt.NDArray[np.float64] = np.asarray(
            self.booster.predict(matrix[:, self.columns], num_threads=1), dtype=np.float64
        )
        return found

    def contributions(self, matrix: Matrix) -> npt.NDArray[np.float64]:
        """Per-feature contributions (log-odds, SHAP values) of every row; the last column is
        the bias."""
        found: npt.NDArray[np.float64] = np.asarray(
            self.booster.predict(matrix[:, self.columns], pred_contrib=True, num_threads=1),
            dtype=np.float64,
        )
        return found


def load_model(record: ranker_models.ModelRecord) -> ActiveModel:
    """The booster of a stored model. Raises ValueError for bytes LightGBM cannot read or a
    feature the serving code does not compute."""
    import lightgbm

    unknown = [name for name in record.feature_names if name not in FEATURE_NAMES]
    if unknown:
        raise ValueError(f"model {record.version} needs unknown features {unknown}")
    try:
        booster = lightgbm.Booster(model_str=record.model.decode())
    except Exception as error:  # LightGBM raises its own LightGBMError, or decoding fails
        raise ValueError(f"model {record.version} cannot be loaded: {error}") from error
    columns = np.array([FEATURE_NAMES.index(name) for name in record.feature_names], dtype=np.intp)
    return ActiveModel(record.version, tuple(record.feature_names), columns, booster)


@dataclass(frozen=True, slots=True)
class WindowScores:
    """A window scored for one viewer: by the model (`model_version`) or the formula (None)."""

    scores: npt.NDArray[np.float64]
    model_version: int | None
    arm: Arm
    """The viewer's experiment arm; "formula" for everyone while no model is active (or the
    active one cannot be loaded)."""


class RankerServing:
    """The process's cache of the active model (see the module docstring), and the experiment
    deciding whom it ranks for."""

    def __init__(self, refresh_seconds: float = 30.0, experiment: Experiment | None = None) -> None:
        self.refresh_seconds = refresh_seconds
        self.experiment = experiment or Experiment()
        self._model: ActiveModel | None = None
        self._version: int | None = None
        self._checked = -float("inf")
        self._other: ActiveModel | None = None

    async def active(self, db: Db) -> ActiveModel | None:
        """The active model, or None (the formula serves). Side effects: at most every
        refresh_seconds one read of the active version, and a load when it changed."""
        now = time.monotonic()
        if now - self._checked < self.refresh_seconds:
            return self._model
        self._checked = now
        version = await ranker_models.fetch_active_version(db)
        if version == self._version:
            return self._model
        self._version, self._model = version, None
        if version is not None:
            record = await ranker_models.fetch_model(db, version)
            try:
                self._model = None if record is None else load_model(record)
            except ValueError:
                log.exception("ranker model %s failed to load: the formula ranks", version)
        return self._model

    async def score(self, db: Db, viewer_id: int, matrix: Matrix) -> WindowScores:
        """Score a window's feature matrix for the viewer: the active model in the model arm,
        else the formula. Side effects: those of `active`."""
        model = await self.active(db)
        if model is None:
            return WindowScores(formula_scores(matrix), None, "formula")
        if self.experiment.arm_of(viewer_id) == "formula":
            return WindowScores(formula_scores(matrix), None, "formula")
        return WindowScores(model.scores(matrix), model.version, "model")

    async def model_of_version(self, db: Db, version: int) -> ActiveModel | None:
        """A stored model by version (the active one from the cache; another one loaded, and
        kept while it is the last one asked for); None when missing or unloadable. Side
        effects: at most one read of the model row."""
        active = await self.active(db)
        if active is not None and active.version == version:
            return active
        if self._other is not None and self._other.version == version:
            return self._other
        record = await ranker_models.fetch_model(db, version)
        try:
            self._other = None if record is None else load_model(record)
        except ValueError:
            return None
        return self._other

    def forget(self) -> None:
        """Re-check the active model on the next call (after a promotion in this process)."""
        self._checked = -float("inf")
