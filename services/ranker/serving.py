"""Serving the active ranker model in-process: scores a RANKED window in one vectorised call.

The active model is cached per process and its version re-checked at most every
`refresh_seconds` (one primary-key-sized read), so a promotion or rollback reaches every API
process within that time. When no model is active, or the active one cannot be loaded (corrupt
bytes, features the serving code does not compute), the formula ranks (services.feed.features)
and the failure is logged once per version.

A challenger model (Experiment.challenger_version, an A/B against the active model) is cached
beside it and checked on the same refresh; while it is missing, unloadable or the active model
itself, its arm's viewers get the active model in the model arm (logged once per cause).
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
Arm = Literal["formula", "model", "challenger"]
ARMS: tuple[Arm, ...] = ("formula", "model", "challenger")
"""The experiment's arms (with "unranked", the only values of the `arm` metric label)."""


@dataclass(frozen=True, slots=True)
class Experiment:
    """Which viewers the active model (and a challenger) ranks for: a deterministic per-user
    split.

    A viewer's arm is a pure function of their id and `salt`: a hash, uniform on [0, 1), below
    `model_share` puts them in the model arm, else in the formula arm; with a challenger, the
    part of the model arm's interval below model_share x challenger_share is the challenger
    arm. So it never changes between requests or processes, adding a challenger moves nobody
    between the formula and the model arms, and a new salt re-draws everyone (a new
    experiment)."""

    salt: str = "ranker-1"
    model_share: float = 1.0
    """The share of viewers in the model arm (0: the formula for all, 1: the model for all),
    the challenger arm included."""
    challenger_version: int | None = None
    """A stored model ranking the challenger arm instead of the active one (None: no
    challenger arm)."""
    challenger_share: float = 0.5
    """The share of the model arm's viewers in the challenger arm (with a challenger_version)."""

    def draw(self, viewer_id: int) -> float:
        """The viewer's position in [0, 1) for this salt. Pure."""
        digest = hashlib.blake2b(f"{self.salt}:{viewer_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def arm_of(self, viewer_id: int) -> Arm:
        """The viewer's arm. Pure."""
        draw = self.draw(viewer_id)
        if draw >= self.model_share:
            return "formula"
        if self.challenger_version is not None and draw < self.model_share * self.challenger_share:
            return "challenger"
        return "model"


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
    """The arm that served the viewer; "formula" for everyone while no model is active (or the
    active one cannot be loaded), "model" for the challenger arm's viewers while the
    challenger does not serve."""


class RankerServing:
    """The process's cache of the active model and of the challenger (see the module
    docstring), and the experiment deciding whom each ranks for."""

    def __init__(self, refresh_seconds: float = 30.0, experiment: Experiment | None = None) -> None:
        self.refresh_seconds = refresh_seconds
        self.experiment = experiment or Experiment()
        self._model: ActiveModel | None = None
        self._version: int | None = None
        self._checked = -float("inf")
        self._other: ActiveModel | None = None
        self._challenger: ActiveModel | None = None
        self._challenger_unloadable = False
        self._challenger_note: str | None = None

    async def active(self, db: Db) -> ActiveModel | None:
        """The active model, or None (the formula serves). Side effects: at most every
        refresh_seconds one read of the active version, a load when it changed, and the
        challenger's check (_check_challenger)."""
        now = time.monotonic()
        if now - self._checked < self.refresh_seconds:
            return self._model
        self._checked = now
        version = await ranker_models.fetch_active_version(db)
        if version != self._version:
            self._version, self._model = version, None
            if version is not None:
                record = await ranker_models.fetch_model(db, version)
                try:
                    self._model = None if record is None else load_model(record)
                except ValueError:
                    log.exception("ranker model %s failed to load: the formula ranks", version)
        await self._check_challenger(db)
        return self._model

    async def _check_challenger(self, db: Db) -> None:
        """Load the challenger when it is set, not loaded yet and not the active model. Side
        effects: while it is not stored, one read of its row per refresh; its load (one that
        fails is logged and never retried: a stored model's bytes do not change); a warning
        when the reason it does not serve changes (not stored, the active model)."""
        wanted = self.experiment.challenger_version
        if wanted is None or self._challenger_unloadable:
            return
        if self._challenger is None and wanted != self._version:
            record = await ranker_models.fetch_model(db, wanted)
            if record is None:
                self._note_challenger(f"ranker challenger model {wanted} is not stored")
                return
            try:
                self._challenger = load_model(record)
            except ValueError:
                self._challenger_unloadable = True
                log.exception(
                    "ranker challenger model %s failed to load: its arm's viewers get the "
                    "active model (arm 'model')",
                    wanted,
                )
                return
        if wanted == self._version:
            self._note_challenger(f"ranker challenger model {wanted} is the active model")
        else:
            self._note_challenger(None)

    def _note_challenger(self, problem: str | None) -> None:
        """Remember why the challenger does not serve (None: it does). Side effect: a warning
        when `problem` is new."""
        if problem is not None and problem != self._challenger_note:
            log.warning("%s: its arm's viewers get the active model (arm 'model')", problem)
        self._challenger_note = problem

    def _serving_challenger(self, active: ActiveModel | None) -> ActiveModel | None:
        """The challenger when it serves its arm: set, stored, loadable, and not the `active`
        model; else None. Pure."""
        challenger = self._challenger
        if challenger is None or (active is not None and active.version == challenger.version):
            return None
        return challenger

    async def score(self, db: Db, viewer_id: int, matrix: Matrix) -> WindowScores:
        """Score a window's feature matrix for the viewer: the challenger in the challenger arm
        (when it serves), the active model in the model arm (and in the challenger arm
        otherwise), else the formula; the formula for all while no model is active. Side
        effects: those of `active`."""
        model = await self.active(db)
        arm = self.experiment.arm_of(viewer_id)
        if model is None or arm == "formula":
            return WindowScores(formula_scores(matrix), None, "formula")
        if arm == "challenger" and (challenger := self._serving_challenger(model)) is not None:
            return WindowScores(challenger.scores(matrix), challenger.version, "challenger")
        return WindowScores(model.scores(matrix), model.version, "model")

    async def model_of_version(self, db: Db, version: int) -> ActiveModel | None:
        """A stored model by version (the active one or the challenger from the cache; another
        one loaded, and kept while it is the last one asked for); None when missing or
        unloadable. Side effects: at most one read of the model row."""
        active = await self.active(db)
        for cached in (active, self._challenger, self._other):
            if cached is not None and cached.version == version:
                return cached
        record = await ranker_models.fetch_model(db, version)
        try:
            self._other = None if record is None else load_model(record)
        except ValueError:
            return None
        return self._other

    def forget(self) -> None:
        """Re-check the active model on the next call (after a promotion in this process)."""
        self._checked = -float("inf")
