"""The upload flow end to end on the real app: createUpload -> PUT -> completeUpload -> worker ->
READY, watched live through mediaStatusChanged, variants fetched from their URLs."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import websockets

from schema.global_ids import decode_id_of_type
from schema.media import Media
from settings import Settings
from storage import redis_keys
from storage.pg.media import MediaRecord, StoredVariant
from tests import media_fixtures
from tests.api.helpers import sign_up
from tests.conftest import LiveApp, run_worker_until_idle
from tests.waits import until_listening

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")

CREATE_UPLOAD = """
mutation Create($input: CreateUploadInput!) {
  createUpload(input: $input) {
    media { id status kind }
    uploadUrl uploadHeaders { name value } expiresAt
    userErrors { code field message }
  }
}
"""
COMPLETE_UPLOAD = """
mutation Complete($id: ID!) {
  completeUpload(input: {mediaId: $id}) { media { id status } userErrors { code field } }
}
"""
CREATE_POST = """
mutation Post($media: [CreatePostMediaInput!]!) {
  createPost(input: {media: $media}) { post { id status } userErrors { code } }
}
"""


MEDIA_FIELDS = """
  id status width height blurHash
  variants { name url width height contentType }
  image(minWidth: 600) { name width }
  metadata { cameraMake latitude }
  rejectionReason
"""


async def create_upload(
    live: LiveApp, token: str, data: bytes, content_type: str
) -> dict[str, object]:
    body = await live.graphql(
        CREATE_UPLOAD,
        {"input": {"filename": "photo.jpg", "contentType": content_type, "byteSize": len(data)}},
        token=token,
    )
    payload: dict[str, object] = body["data"]["createUpload"]
    return payload


async def test_upload_process_and_watch_it_live(live: LiveApp, settings: Settings) -> None:
    signed_up = await sign_up(live, "photographer")
    token = signed_up["accessToken"]
    user_id = decode_id_of_type(signed_up["viewer"]["id"], "User")
    assert user_id is not None
    channel = redis_keys.user_events_channel(user_id)
    photo = media_fixtures.jpeg_with_exif(1200, 900)
    created = await create_upload(live, token, photo, "image/jpeg")
    assert created["userErrors"] == []
    media = created["media"]
    assert isinstance(media, dict)
    assert media["status"] == "AWAITING_UPLOAD"
    headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}  # type: ignore[attr-defined]

    async with httpx.AsyncClient() as client:
        put = await client.put(str(created["uploadUrl"]), content=photo, headers=headers)
    assert put.status_code == 200, put.text

    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
        await socket.send(
            json.dumps(
                {
                    "id": "s",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription S($id: ID!) { mediaStatusChanged(mediaId: $id) "
                        "{ id status } }",
                        "variables": {"id": media["id"]},
                    },
                }
            )
        )
        # The socket's session watch and the subscription both listen on the user's channel:
        # from now on the status change is pushed, while the stored status is not final yet
        # (so READY can only arrive as a push, not from the subscription's first read).
        await until_listening(live.resources, channel, 2)
        completed = await live.graphql(COMPLETE_UPLOAD, {"id": media["id"]}, token=token)
        assert completed["data"]["completeUpload"] == {
            "media": {"id": media["id"], "status": "PROCESSING"},
            "userErrors": [],
        }
        await run_worker_until_idle(settings)
        pushed = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        assert pushed == {
            "id": "s",
            "type": "next",
            "payload": {"data": {"mediaStatusChanged": {"id": media["id"], "status": "READY"}}},
        }
        assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5)) == {
            "id": "s",
            "type": "complete",
        }

    query = f"query M($id: ID!) {{ node(id: $id) {{ ... on Media {{ {MEDIA_FIELDS} }} }} }}"
    own = (await live.graphql(query, {"id": media["id"]}, token=token))["data"]["node"]
    assert (own["status"], own["width"], own["height"]) == ("READY", 1200, 900)
    assert own["image"] == {"name": "640", "width": 640}
    assert own["metadata"]["cameraMake"] is not None
    assert own["metadata"]["latitude"] is not None
    assert [v["name"] for v in own["variants"]] == [
        "thumb320",
        "thumb160",
        "1080",
        "750",
        "640",
        "480",
    ]
    async with httpx.AsyncClient() as client:
        for variant in own["variants"]:
            fetched = await client.get(variant["url"])
            assert fetched.status_code == 200
            assert fetched.headers["content-type"] == "image/jpeg"
            assert "immutable" in fetched.headers["cache-control"]
            assert b"Exif" not in fetched.content[:4096]

    # Once published, someone else sees the media, but not its metadata.
    posted = await live.graphql(CREATE_POST, {"media": [{"mediaId": media["id"]}]}, token=token)
    assert posted["data"]["createPost"]["post"]["status"] == "PUBLISHED"
    other = (await sign_up(live, "stranger"))["accessToken"]
    theirs = (await live.graphql(query, {"id": media["id"]}, token=other))["data"]["node"]
    assert theirs["metadata"] is None
    assert theirs["status"] == "READY"


async def test_upload_refusals_through_the_api(live: LiveApp) -> None:
    token = (await sign_up(live, "uploader"))["accessToken"]
    refused = await create_upload(live, token, b"x" * 10, "image/svg+xml")
    assert refused["media"] is None
    assert refused["uploadUrl"] is None
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [  # type: ignore[attr-defined]
        ("UNSUPPORTED_MEDIA_TYPE", ["input", "contentType"])
    ]
    created = await create_upload(live, token, b"\xff\xd8\xff" + b"0" * 97, "image/jpeg")
    media_id = created["media"]["id"]  # type: ignore[index]
    incomplete = await live.graphql(COMPLETE_UPLOAD, {"id": media_id}, token=token)
    assert incomplete["data"]["completeUpload"] == {
        "media": None,
        "userErrors": [{"code": "UPLOAD_INCOMPLETE", "field": ["input", "mediaId"]}],
    }
    stranger = (await sign_up(live, "stranger"))["accessToken"]
    hidden_from_stranger = await live.graphql(COMPLETE_UPLOAD, {"id": media_id}, token=stranger)
    assert hidden_from_stranger["data"]["completeUpload"]["userErrors"] == [
        {"code": "NOT_FOUND", "field": ["input", "mediaId"]}
    ]
    # Media in progress is its owner's business.
    hidden = await live.graphql(
        "query M($id: ID!) { node(id: $id) { id } }", {"id": media_id}, token=stranger
    )
    assert hidden["data"] == {"node": None}
    assert await live.resources.db.fetchval("SELECT status FROM media") == "AWAITING_UPLOAD"


async def upload_processed(
    live: LiveApp, settings: Settings, token: str, data: bytes, content_type: str
) -> str:
    """createUpload, PUT, completeUpload, then the worker: the media's global id."""
    created = await create_upload(live, token, data, content_type)
    headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}  # type: ignore[attr-defined]
    put = await live.http.put(str(created["uploadUrl"]), content=data, headers=headers)
    assert put.status_code == 200, put.text
    media_id = str(created["media"]["id"])  # type: ignore[index]
    completed = await live.graphql(COMPLETE_UPLOAD, {"id": media_id}, token=token)
    assert completed["data"]["completeUpload"]["userErrors"] == []
    await run_worker_until_idle(settings)
    return media_id


async def test_a_video_s_place_and_device_are_its_owner_s_only(
    live: LiveApp, settings: Settings
) -> None:
    token = (await sign_up(live, "filmmaker"))["accessToken"]
    clip = media_fixtures.phone_video("mov")
    media_id = await upload_processed(live, settings, token, clip, "video/quicktime")
    posted = await live.graphql(CREATE_POST, {"media": [{"mediaId": media_id}]}, token=token)
    assert posted["data"]["createPost"]["post"]["status"] == "PUBLISHED"
    query = """query M($id: ID!) { node(id: $id) { ... on Media {
      status videoUrl variants { url }
      metadata { cameraMake cameraModel takenAt latitude longitude } } } }"""

    own = (await live.graphql(query, {"id": media_id}, token=token))["data"]["node"]
    stranger = (await sign_up(live, "stranger"))["accessToken"]
    theirs = (await live.graphql(query, {"id": media_id}, token=stranger))["data"]["node"]
    anonymous = (await live.graphql(query, {"id": media_id}))["data"]["node"]

    assert own["status"] == "READY"
    assert own["metadata"] == {
        "cameraMake": "Apple",
        "cameraModel": "iPhone 15 Pro",
        "takenAt": "2023-07-14T16:30:05Z",  # 18:30:05+02:00, in UTC
        "latitude": media_fixtures.PHONE_LATITUDE,
        "longitude": media_fixtures.PHONE_LONGITUDE,
    }
    assert theirs == anonymous == {**own, "metadata": None}
    # What everyone downloads carries none of it.
    urls = [own["videoUrl"], *(variant["url"] for variant in own["variants"])]
    for url in urls:
        fetched = await live.http.get(url)
        assert fetched.status_code == 200, url
        leaked = [s for s in media_fixtures.PHONE_SECRETS if s.encode() in fetched.content]
        assert leaked == [], url
    # videoUrl is the largest H.264 rendition, whatever container was uploaded.
    assert (await live.http.get(own["videoUrl"])).headers["content-type"] == "video/mp4"


def media_with(variants: list[tuple[str, int]], status: str = "READY") -> Media:
    now = datetime.now(UTC)
    stored = tuple(
        StoredVariant(name, f"media/1/{name}.jpg", width, width, "image/jpeg")
        for name, width in variants
    )
    record = MediaRecord(
        1, 1, "IMAGE", status, "image/jpeg", 1, "a.jpg", "image/jpeg", 1080, 1080, None, None,
        stored, None, None, None, None, 0, now, now, None, "0" * 32, (), (), None,
    )  # fmt: skip
    return Media(
        record_id=1, width=1080, height=1080, blur_hash=None, alt_text=None,
        duration_seconds=None, created_at=now, record=record, public_url=lambda key: key,
    )  # fmt: skip


def test_image_is_the_narrowest_variant_wide_enough_else_the_widest() -> None:
    widths = [("thumb320", 320), ("1080", 1080), ("480", 480), ("750", 750), ("640", 640)]
    chosen = {m: media_with(widths).image(min_width=m) for m in (1, 480, 481, 750, 1080, 5000)}
    assert {m: image.name if image else None for m, image in chosen.items()} == {
        1: "480",
        480: "480",
        481: "640",
        750: "750",
        1080: "1080",
        5000: "1080",
    }
    assert media_with([("thumb160", 160)]).image(min_width=1) is None  # thumbnails only
    assert media_with([]).image() is None
    assert media_with(widths, status="PROCESSING").image() is None
