"""Media are their owner's until a published post contains them, over real HTTP.

Drafts (READY, in no post), the READY items of a REJECTED carousel and the media of a deleted
post: `node`/`nodes` answer null to another user and to an anonymous client, and their files are
only reachable through the unguessable URLs the owner was given (nothing answers at the URL a
sequential id would give). Once a post containing them is published, everyone sees them.
"""

from __future__ import annotations

import re
from typing import Any

from schema.global_ids import decode_global_id
from settings import Settings
from storage.pg import media as media_store
from tests import media_fixtures
from tests.api.helpers import sign_up
from tests.api.test_media_api import (
    COMPLETE_UPLOAD,
    CREATE_POST,
    create_upload,
    upload_processed,
)
from tests.conftest import LiveApp, run_worker_until_idle

NODE = """query N($id: ID!) { node(id: $id) { ... on Media {
  id status variants { name url } image(minWidth: 480) { url } } } }"""
NODES = "query N($ids: [ID!]!) { nodes(ids: $ids) { id } }"
POST = "query P($id: ID!) { post(id: $id) { status media { id status } } }"
DELETE_POST = (
    "mutation D($id: ID!) { deletePost(input: {postId: $id}) { deletedPostId"
    " userErrors { code } } }"
)
# media/<id>/<32 hex digits: 122 random bits>/<variant>.jpg
UNGUESSABLE = re.compile(r"/media/(\d+)/([0-9a-f]{32})/[a-z0-9]+\.jpg")


class Viewers:
    """The owner, another signed-in user and an anonymous client."""

    def __init__(self, live: LiveApp, owner: str, other: str) -> None:
        self.live, self.owner, self.other = live, owner, other

    async def node(self, media_id: str, token: str | None) -> Any:
        return (await self.live.graphql(NODE, {"id": media_id}, token=token))["data"]["node"]

    async def seen_by_others(self, media_id: str) -> list[Any]:
        """What the other user and the anonymous client get from node and nodes."""
        seen = []
        for token in (self.other, None):
            seen.append(await self.node(media_id, token))
            nodes = await self.live.graphql(NODES, {"ids": [media_id]}, token=token)
            seen.append(nodes["data"]["nodes"])
        return seen


async def viewers(live: LiveApp) -> Viewers:
    owner = (await sign_up(live, "owner"))["accessToken"]
    other = (await sign_up(live, "other"))["accessToken"]
    return Viewers(live, owner, other)


async def assert_files_unguessable(live: LiveApp, media_id: str, urls: list[str]) -> None:
    """Each URL carries the media's random token and serves the file; the URL its sequential id
    would give, and the media's folder, answer 404."""
    record_id = decode_global_id(media_id)
    assert record_id is not None
    for url in urls:
        match = UNGUESSABLE.search(url)
        assert match is not None, url
        assert int(match[1]) == record_id[1]
        assert (await live.http.get(url)).status_code == 200
        guessed = url.replace(f"/{match[2]}/", "/")
        assert (await live.http.get(guessed)).status_code == 404, guessed
    folder = f"{live.base_url}/media/{record_id[1]}/"
    assert (await live.http.get(folder)).status_code == 404


async def test_a_draft_is_its_owner_s_until_published(live: LiveApp, settings: Settings) -> None:
    v = await viewers(live)
    media_id = await upload_processed(
        live, settings, v.owner, media_fixtures.jpeg_with_exif(800, 600), "image/jpeg"
    )

    own = await v.node(media_id, v.owner)
    assert own["status"] == "READY"
    urls = [variant["url"] for variant in own["variants"]]
    assert len(urls) == 5
    assert own["image"]["url"] in urls
    assert await v.seen_by_others(media_id) == [None, [None], None, [None]]
    owner_nodes = await live.graphql(NODES, {"ids": [media_id]}, token=v.owner)
    assert owner_nodes["data"]["nodes"] == [{"id": media_id}]
    await assert_files_unguessable(live, media_id, urls)

    posted = await live.graphql(CREATE_POST, {"media": [{"mediaId": media_id}]}, token=v.owner)
    assert posted["data"]["createPost"]["post"]["status"] == "PUBLISHED"

    assert await v.seen_by_others(media_id) == [own, [{"id": media_id}], own, [{"id": media_id}]]
    post_id = posted["data"]["createPost"]["post"]["id"]
    for token in (v.other, None):
        post = (await live.graphql(POST, {"id": post_id}, token=token))["data"]["post"]
        assert post == {"status": "PUBLISHED", "media": [{"id": media_id, "status": "READY"}]}


async def test_the_ready_items_of_a_rejected_carousel_stay_private(
    live: LiveApp, settings: Settings
) -> None:
    v = await viewers(live)
    photo = media_fixtures.jpeg_with_exif(800, 600)
    bomb = media_fixtures.bomb_png_header()
    ids = []
    for data, content_type in ((photo, "image/jpeg"), (bomb, "image/png")):
        created = await create_upload(live, v.owner, data, content_type)
        headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}  # type: ignore[attr-defined]
        put = await live.http.put(str(created["uploadUrl"]), content=data, headers=headers)
        assert put.status_code == 200, put.text
        media_id = str(created["media"]["id"])  # type: ignore[index]
        completed = await live.graphql(COMPLETE_UPLOAD, {"id": media_id}, token=v.owner)
        assert completed["data"]["completeUpload"]["userErrors"] == []
        ids.append(media_id)
    posted = await live.graphql(
        CREATE_POST, {"media": [{"mediaId": i} for i in ids]}, token=v.owner
    )
    post_id = posted["data"]["createPost"]["post"]["id"]
    assert posted["data"]["createPost"]["post"]["status"] == "PROCESSING"

    await run_worker_until_idle(settings)

    own_post = (await live.graphql(POST, {"id": post_id}, token=v.owner))["data"]["post"]
    assert own_post == {
        "status": "REJECTED",
        "media": [{"id": ids[0], "status": "READY"}, {"id": ids[1], "status": "REJECTED"}],
    }
    ready = await v.node(ids[0], v.owner)
    assert ready["status"] == "READY"
    for media_id in ids:
        assert await v.seen_by_others(media_id) == [None, [None], None, [None]]
    for token in (v.other, None):
        assert (await live.graphql(POST, {"id": post_id}, token=token))["data"]["post"] is None
    await assert_files_unguessable(live, ids[0], [i["url"] for i in ready["variants"]])


async def test_the_media_of_a_deleted_post_leave_everyone_but_their_owner(
    live: LiveApp, settings: Settings
) -> None:
    v = await viewers(live)
    media_id = await upload_processed(
        live, settings, v.owner, media_fixtures.jpeg_with_exif(800, 600), "image/jpeg"
    )
    posted = await live.graphql(CREATE_POST, {"media": [{"mediaId": media_id}]}, token=v.owner)
    post_id = posted["data"]["createPost"]["post"]["id"]
    published = await v.node(media_id, v.other)
    assert published["status"] == "READY"
    urls = [variant["url"] for variant in published["variants"]]

    deleted = await live.graphql(DELETE_POST, {"id": post_id}, token=v.owner)
    assert deleted["data"]["deletePost"] == {"deletedPostId": post_id, "userErrors": []}

    # At once, before the job removes the files: hidden from everyone but the owner.
    assert await v.seen_by_others(media_id) == [None, [None], None, [None]]
    assert (await v.node(media_id, v.owner))["status"] == "READY"
    await run_worker_until_idle(settings)  # the files job
    assert await v.node(media_id, v.owner) == {
        "id": media_id,
        "status": "DELETED",
        "variants": [],
        "image": None,
    }
    assert await v.seen_by_others(media_id) == [None, [None], None, [None]]
    for url in urls:
        assert (await live.http.get(url)).status_code == 404


VIDEO_NODE = """query N($id: ID!) { node(id: $id) { ... on Media {
  id status processingProgress videoUrl
  video { durationSeconds hlsUrl renditions { url width height bitrate } } } } }"""
# media/<id>/<32 hex digits>/video/<rung>.mp4 and media/<id>/<32 hex digits>/hls/master.m3u8
VIDEO_FILE = re.compile(r"/media/(\d+)/[0-9a-f]{32}/(video/\d+p\.mp4|hls/master\.m3u8)$")


async def test_a_video_s_playback_through_the_api_and_only_once_published(
    live: LiveApp, settings: Settings
) -> None:
    """While PROCESSING the owner reads processingProgress (what the worker stored) and no
    playback; once READY, `video` lists each rendition and the HLS master, whose files serve
    from unguessable URLs; another user and an anonymous client see none of it until a
    published post holds the video, then exactly what the owner sees."""
    v = await viewers(live)
    data = media_fixtures.clip(640, 480, seconds=2)
    created = await create_upload(live, v.owner, data, "video/mp4")
    headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}  # type: ignore[attr-defined]
    put = await live.http.put(str(created["uploadUrl"]), content=data, headers=headers)
    assert put.status_code == 200, put.text
    media_id = str(created["media"]["id"])  # type: ignore[index]
    completed = await live.graphql(COMPLETE_UPLOAD, {"id": media_id}, token=v.owner)
    assert completed["data"]["completeUpload"]["userErrors"] == []

    processing = await live.graphql(VIDEO_NODE, {"id": media_id}, token=v.owner)
    assert processing["data"]["node"] == {
        "id": media_id,
        "status": "PROCESSING",
        "processingProgress": 0.0,
        "videoUrl": None,
        "video": None,
    }
    record_id = decode_global_id(media_id)
    assert record_id is not None
    assert await media_store.record_progress(live.resources.db, record_id[1], 0.375)
    partway = await live.graphql(VIDEO_NODE, {"id": media_id}, token=v.owner)
    assert partway["data"]["node"]["processingProgress"] == 0.375
    assert await v.seen_by_others(media_id) == [None, [None], None, [None]]

    await run_worker_until_idle(settings)
    own = (await live.graphql(VIDEO_NODE, {"id": media_id}, token=v.owner))["data"]["node"]
    assert own["status"] == "READY"
    assert own["processingProgress"] is None
    video = own["video"]
    assert abs(video["durationSeconds"] - 2.0) < 0.1, video
    sizes = [(r["width"], r["height"]) for r in video["renditions"]]
    assert sizes == [(640, 480), (480, 360)]
    assert all(r["bitrate"] > 0 for r in video["renditions"])
    assert own["videoUrl"] == video["renditions"][0]["url"]
    for url in [video["hlsUrl"], *(r["url"] for r in video["renditions"])]:
        match = VIDEO_FILE.search(url)
        assert match is not None, url
        assert int(match[1]) == record_id[1]
        fetched = await live.http.get(url)
        assert fetched.status_code == 200, url
    master = await live.http.get(video["hlsUrl"])
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert re.findall(r"^\d+p\.m3u8$", master.text, re.M) == ["480p.m3u8", "360p.m3u8"]
    assert await v.seen_by_others(media_id) == [None, [None], None, [None]]
    for token in (v.other, None):
        hidden = await live.graphql(VIDEO_NODE, {"id": media_id}, token=token)
        assert hidden["data"]["node"] is None

    posted = await live.graphql(CREATE_POST, {"media": [{"mediaId": media_id}]}, token=v.owner)
    assert posted["data"]["createPost"]["post"]["status"] == "PUBLISHED"
    for token in (v.other, None):
        seen = await live.graphql(VIDEO_NODE, {"id": media_id}, token=token)
        assert seen["data"]["node"] == own
