"""`Media`, its rendered `Image` variants and owner-only capture metadata."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.errors import MutationInput, Payload
from schema.node import Node
from services.records import MediaRecord, StoredRendition, StoredVariant

TERMINAL_STATUSES = frozenset({"READY", "REJECTED", "FAILED", "DELETED"})


@strawberry.enum
class MediaKind(enum.Enum):
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"


@strawberry.enum
class MediaStatus(enum.Enum):
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    PROCESSING = "PROCESSING"
    READY = "READY"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    DELETED = "DELETED"


@strawberry.type(description="One rendered file of a media item.")
class Image:
    name: str = strawberry.field(
        description='Variant name: "1080", "750", "640", "480" (widths), "thumb320", '
        '"thumb160" (square crops).'
    )
    url: str
    width: int
    height: int
    content_type: str


@strawberry.type(description="One H.264 High / AAC MP4 of a video, without any metadata.")
class VideoRendition:
    url: str
    width: int
    height: int
    bitrate: int = strawberry.field(description="Average bits per second (video and audio).")


@strawberry.type(description="How to play a READY video.")
class VideoPlayback:
    duration_seconds: float
    hls_url: str | None = strawberry.field(
        description="The HLS master playlist (fMP4 byte-range segments over every rendition): "
        "for Safari natively, hls.js elsewhere. Null for videos processed before HLS existed."
    )
    renditions: list[VideoRendition] = strawberry.field(
        description="MP4 renditions, largest first: 1080, 720, 480 and 360 lines (short "
        "side), never larger than the upload."
    )


@strawberry.type
class MediaMetadata:
    camera_make: str | None
    camera_model: str | None
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> MediaMetadata:
        taken_at = values.get("taken_at")
        return cls(
            camera_make=values.get("camera_make"),
            camera_model=values.get("camera_model"),
            taken_at=datetime.fromisoformat(taken_at) if taken_at else None,
            latitude=values.get("latitude"),
            longitude=values.get("longitude"),
        )


@strawberry.type
class Media(Node):
    width: int | None
    height: int | None
    blur_hash: str | None = strawberry.field(
        description="BlurHash placeholder, available once READY."
    )
    alt_text: str | None
    duration_seconds: float | None
    created_at: datetime
    record: strawberry.Private[MediaRecord]
    public_url: strawberry.Private[Callable[[str], str]]

    @classmethod
    def from_record(
        cls, record: MediaRecord, info: Info[Context, None], *, alt_text: str | None = None
    ) -> Media:
        blobs = info.context.resources.blobs
        ready = record.status == "READY"
        return cls(
            record_id=record.id,
            width=record.width,
            height=record.height,
            blur_hash=record.blurhash if ready else None,
            alt_text=alt_text,
            duration_seconds=record.duration_seconds,
            created_at=record.created_at,
            record=record,
            public_url=blobs.public_url,
        )

    @strawberry.field
    def kind(self) -> MediaKind:
        return MediaKind(self.record.kind)

    @strawberry.field
    def status(self) -> MediaStatus:
        return MediaStatus(self.record.status)

    @strawberry.field(
        description="A moderator marked it sensitive: show the blurHash and a warning, and the "
        "media only once the viewer taps through."
    )
    def sensitive(self) -> bool:
        return self.record.sensitive

    @strawberry.field(
        description="The best MP4 rendition of a READY video (null for images); "
        "`video` has every rendition and the HLS ladder."
    )
    def video_url(self) -> str | None:
        if self.record.status != "READY" or not self.record.playback_key:
            return None
        return self.public_url(self.record.playback_key)

    @strawberry.field(description="Playback of a READY video: null for images and until READY.")
    def video(self) -> VideoPlayback | None:
        record = self.record
        if record.kind != "VIDEO" or record.status != "READY":
            return None
        return VideoPlayback(
            duration_seconds=record.duration_seconds or 0.0,
            hls_url=self.public_url(record.hls_keys[0]) if record.hls_keys else None,
            renditions=[self._rendition(item) for item in record.renditions],
        )

    def _rendition(self, rendition: StoredRendition) -> VideoRendition:
        return VideoRendition(
            url=self.public_url(rendition.key),
            width=rendition.width,
            height=rendition.height,
            bitrate=rendition.bitrate,
        )

    @strawberry.field(
        description="How much of a video's transcode is done (0 to 1) while PROCESSING; null "
        "otherwise. mediaStatusChanged sends the media again as it grows (about once a second)."
    )
    def processing_progress(self) -> float | None:
        if self.record.status != "PROCESSING" or self.record.kind != "VIDEO":
            return None
        return self.record.processing_progress or 0.0

    def _image(self, variant: StoredVariant) -> Image:
        return Image(
            name=variant.name,
            url=self.public_url(variant.key),
            width=variant.width,
            height=variant.height,
            content_type=variant.content_type,
        )

    @strawberry.field(description="All rendered variants; empty until READY.")
    def variants(self) -> list[Image]:
        if self.record.status != "READY":
            return []
        return [self._image(variant) for variant in self.record.variants]

    @strawberry.field(
        description="The smallest variant at least `minWidth` wide (or the largest there is)."
    )
    def image(self, min_width: int = 1080) -> Image | None:
        if self.record.status != "READY":
            return None
        narrowest_wide_enough = widest = None
        for variant in self.record.variants:  # one pass: every feed post asks for its image
            if variant.name.startswith("thumb"):
                continue
            if widest is None or variant.width > widest.width:
                widest = variant
            if variant.width >= min_width and (
                narrowest_wide_enough is None or variant.width < narrowest_wide_enough.width
            ):
                narrowest_wide_enough = variant
        chosen = narrowest_wide_enough or widest
        return None if chosen is None else self._image(chosen)

    @strawberry.field(
        description="Capture metadata (camera, takenAt, location) from a photo's EXIF or a "
        "video's container tags. Visible to the owner only; never in published files."
    )
    def metadata(self, info: Info[Context, None]) -> MediaMetadata | None:
        if info.context.viewer_id != self.record.owner_id or not self.record.photo_metadata:
            return None
        return MediaMetadata.from_json(self.record.photo_metadata)

    @strawberry.field(
        description="Why the media was REJECTED or FAILED. Visible to the owner only."
    )
    def rejection_reason(self, info: Info[Context, None]) -> str | None:
        if info.context.viewer_id != self.record.owner_id:
            return None
        return self.record.rejection_reason

    @strawberry.field(description="The moderation verdict. Visible to the owner only.")
    def moderation(self, info: Info[Context, None]) -> str | None:
        if info.context.viewer_id != self.record.owner_id:
            return None
        return self.record.moderation


@strawberry.input
class CreateUploadInput(MutationInput):
    filename: str
    content_type: str
    byte_size: int = strawberry.field(
        description="Exact size in bytes of the file the client will PUT."
    )


@strawberry.input
class CompleteUploadInput(MutationInput):
    media_id: strawberry.ID


@strawberry.type
class HttpHeader:
    name: str
    value: str


@strawberry.type(
    description="Upload the file with an HTTP PUT of its bytes to `uploadUrl`, sending "
    "`uploadHeaders`; then call completeUpload."
)
class CreateUploadPayload(Payload):
    media: Media | None = None
    upload_url: str | None = None
    upload_headers: list[HttpHeader] = strawberry.field(default_factory=list)
    expires_at: datetime | None = None


@strawberry.type
class CompleteUploadPayload(Payload):
    media: Media | None = None
