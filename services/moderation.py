"""Content moderation as a pluggable step of media processing.

The default detector is NudeNet, used when the optional extra is installed
(`pip install -e '.[moderation]'`; NudeNet is AGPL-3.0, hence opt-in). Without it, media pass
with the verdict "not moderated", recorded on the media row.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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


def load_default_moderator() -> Moderator:
    """NudeNet when installed, else NoModeration."""
    try:
        from nudenet import NudeDetector  # type: ignore[import-not-found]
    except ImportError:
        log.info("moderation: nudenet not installed; media are recorded as %r", NOT_MODERATED)
        return NoModeration()
    return NudeNetModerator(NudeDetector())
