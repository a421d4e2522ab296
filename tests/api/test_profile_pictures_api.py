"""Profile pictures through the API: a READY photo from the real upload pipeline becomes square
crops of 320, 150 and 64 px without metadata; `profilePicture(minWidth)` picks one; removal and
replacement delete the old files; refusals change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pyvips

from settings import Settings
from tests import media_fixtures
from tests.api.helpers import sign_up, snapshot
from tests.api.test_media_api import COMPLETE_UPLOAD, create_upload
from tests.conftest import LiveApp, run_worker_until_idle

SET = """mutation M($id: ID!) { setProfilePicture(input: {mediaId: $id}) {
  user { username profilePicture { width height } } userErrors { code field } } }"""
REMOVE = """mutation { removeProfilePicture(input: {}) {
  user { username profilePicture { url } } userErrors { code field } } }"""
PICTURE = """query U($name: String!, $min: Int) {
  user(username: $name) { profilePicture(minWidth: $min) { url width height } } }"""


async def uploaded_photo(
    live: LiveApp, settings: Settings, token: str, width: int, height: int
) -> str:
    """A photo through createUpload, PUT, completeUpload and the worker; its global id."""
    photo = media_fixtures.jpeg_with_exif(width, height)
    created: Any = await create_upload(live, token, photo, "image/jpeg")
    headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}
    async with httpx.AsyncClient() as client:
        assert (await client.put(created["uploadUrl"], content=photo, headers=headers)).is_success
    media_id: str = created["media"]["id"]
    await live.graphql(COMPLETE_UPLOAD, {"id": media_id}, token=token)
    await run_worker_until_idle(settings)
    return media_id


async def picture(live: LiveApp, name: str, min_width: int | None) -> Any:
    body = await live.graphql(PICTURE, {"name": name, "min": min_width})
    return body["data"]["user"]["profilePicture"]


async def test_set_choose_replace_and_remove_a_profile_picture(
    live: LiveApp, settings: Settings
) -> None:
    token = (await sign_up(live, "portrait"))["accessToken"]
    media_id = await uploaded_photo(live, settings, token, 1200, 900)
    assert await picture(live, "portrait", None) is None

    done = await live.graphql(SET, {"id": media_id}, token=token)
    assert done["data"]["setProfilePicture"] == {
        "user": {"username": "portrait", "profilePicture": {"width": 320, "height": 320}},
        "userErrors": [],
    }
    for min_width, size in (
        (None, 320),
        (1, 64),
        (64, 64),
        (65, 150),
        (150, 150),
        (151, 320),
        (2000, 320),
    ):
        chosen = await picture(live, "portrait", min_width)
        assert (chosen["width"], chosen["height"]) == (size, size), min_width
    urls = []
    async with httpx.AsyncClient() as client:
        for size in (64, 150, 320):
            chosen = await picture(live, "portrait", size)
            fetched = await client.get(chosen["url"])
            assert fetched.status_code == 200
            assert fetched.headers["content-type"] == "image/jpeg"
            image = pyvips.Image.jpegload_buffer(fetched.content)
            assert (image.width, image.height) == (size, size)
            assert "exif-data" not in image.get_fields()
            assert b"Exif" not in fetched.content[:4096]
            urls.append(chosen["url"])
        assert all("/media/avatars/" in url for url in urls)

        # A new picture replaces the old one, whose files are deleted.
        second = await uploaded_photo(live, settings, token, 200, 300)  # smaller than 320
        replaced = await live.graphql(SET, {"id": second}, token=token)
        assert replaced["data"]["setProfilePicture"]["user"]["profilePicture"] == {
            "width": 200,
            "height": 200,
        }
        for url in urls:
            assert (await client.get(url)).status_code == 404
        current = (await picture(live, "portrait", 150))["url"]

        removed = await live.graphql(REMOVE, token=token)
        assert removed["data"]["removeProfilePicture"] == {
            "user": {"username": "portrait", "profilePicture": None},
            "userErrors": [],
        }
        assert (await client.get(current)).status_code == 404
    assert await picture(live, "portrait", None) is None


async def test_refusals_change_nothing(live: LiveApp, settings: Settings) -> None:
    owner = (await sign_up(live, "owner"))["accessToken"]
    other = (await sign_up(live, "other"))["accessToken"]
    ready = await uploaded_photo(live, settings, owner, 640, 480)
    pending: Any = await create_upload(live, owner, b"\xff\xd8\xff" + b"0" * 97, "image/jpeg")
    before = await snapshot(live.resources)
    cases = (
        (owner, pending["media"]["id"], "MEDIA_NOT_READY"),
        (other, ready, "NOT_FOUND"),  # someone else's draft: not even its existence
        (owner, "not an id", "NOT_FOUND"),
    )
    for token, media_id, code in cases:
        refused = await live.graphql(SET, {"id": media_id}, token=token)
        assert refused["data"]["setProfilePicture"] == {
            "user": None,
            "userErrors": [{"code": code, "field": ["input", "mediaId"]}],
        }
    assert await snapshot(live.resources) == before
