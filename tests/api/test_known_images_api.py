"""The known-bad image blocklist through the API (docs/moderation.md): an admin lists an image
uploaded through the usual upload flow, or hashes from a hex list; a user's upload of the same
picture is then REJECTED with a generic reason; an entry removed stops matching."""

from __future__ import annotations

import pytest

from media.pdq import hash_encoded
from schema.global_ids import encode_global_id
from settings import Settings
from tests.api.helpers import sign_up, snapshot
from tests.api.test_media_api import MEDIA_FIELDS, upload_processed
from tests.conftest import LiveApp
from tests.factories import make_media
from tests.workers.test_known_images import jpeg, pattern

ADD_HASHES = """mutation M($hashes: [String!]!, $source: String!) {
  addKnownImageHashes(input: {hashes: $hashes, source: $source}) {
    addedIds alreadyListed userErrors { code field message } } }"""
ADD_FROM_MEDIA = """mutation M($id: ID!) {
  addKnownImageFromMedia(input: {mediaId: $id, source: "admin upload"}) {
    knownImages { id hash source } alreadyListed userErrors { code field message } } }"""
REMOVE = """mutation M($ids: [ID!]!) {
  removeKnownImages(input: {knownImageIds: $ids}) { removedIds userErrors { code field } } }"""
MEDIA = f"query M($id: ID!) {{ node(id: $id) {{ ... on Media {{ {MEDIA_FIELDS} }} }} }}"


async def admin_token(live: LiveApp, username: str = "admin") -> str:
    signed = await sign_up(live, username)
    await live.resources.db.execute("UPDATE users SET role = 'ADMIN' WHERE username = $1", username)
    token: str = signed["accessToken"]
    return token


async def test_an_admin_lists_an_uploaded_image_and_a_user_s_copy_is_rejected(
    live: LiveApp, settings: Settings
) -> None:
    admin = await admin_token(live)
    picture = jpeg(pattern(11))
    admin_media = await upload_processed(live, settings, admin, picture, "image/jpeg")

    added = (await live.graphql(ADD_FROM_MEDIA, {"id": admin_media}, token=admin))["data"]
    ((entry,),) = [added["addKnownImageFromMedia"]["knownImages"]]
    assert added["addKnownImageFromMedia"]["alreadyListed"] == 0
    assert added["addKnownImageFromMedia"]["userErrors"] == []
    stored = await live.resources.db.fetchval("SELECT hash FROM media_pdq_hashes")
    assert (entry["hash"], entry["source"]) == (stored.hex(), "admin upload")

    user = (await sign_up(live, "someone"))["accessToken"]
    copy = jpeg(pattern(11).resize(0.5), quality=60)
    media_id = await upload_processed(live, settings, user, copy, "image/jpeg")
    seen = (await live.graphql(MEDIA, {"id": media_id}, token=user))["data"]["node"]
    assert (seen["status"], seen["rejectionReason"], seen["variants"]) == (
        "REJECTED",
        "this file cannot be published",
        [],
    )
    assert await live.resources.db.fetchval(
        "SELECT sources FROM moderation_cases WHERE subject_kind = 'MEDIA'"
    ) == ["KNOWN_IMAGE"]

    removed = await live.graphql(REMOVE, {"ids": [entry["id"]]}, token=admin)
    assert removed["data"]["removeKnownImages"] == {"removedIds": [entry["id"]], "userErrors": []}
    again = await upload_processed(live, settings, user, copy, "image/jpeg")
    seen = (await live.graphql(MEDIA, {"id": again}, token=user))["data"]["node"]
    assert seen["status"] == "READY"


async def test_an_admin_adds_a_hex_list_once(live: LiveApp) -> None:
    admin = await admin_token(live)
    first = hash_encoded(jpeg(pattern(12))).hex
    second = "0" * 63 + "1"

    body = await live.graphql(
        ADD_HASHES, {"hashes": [first, f"  {second.upper()} "], "source": "ncmec"}, token=admin
    )
    payload = body["data"]["addKnownImageHashes"]
    rows = await live.resources.db.fetch("SELECT id, hash, source FROM known_images ORDER BY id")
    assert [(row["hash"].hex(), row["source"]) for row in rows] == [
        (first, "ncmec"),
        (second, "ncmec"),
    ]
    assert payload == {
        "addedIds": [str(encode_global_id("KnownImage", row["id"])) for row in rows],
        "alreadyListed": 0,
        "userErrors": [],
    }

    repeated = await live.graphql(ADD_HASHES, {"hashes": [first], "source": "other"}, token=admin)
    assert repeated["data"]["addKnownImageHashes"] == {
        "addedIds": [],
        "alreadyListed": 1,
        "userErrors": [],
    }
    assert await live.resources.db.fetchval("SELECT count(*) FROM known_images") == 2


@pytest.mark.parametrize(
    ("hashes", "source", "field", "message"),
    [
        (["abc"], "list", "hashes", "Hash 1 is not a PDQ hash (64 hexadecimal digits)."),
        (
            ["f" * 64, "g" * 64],
            "list",
            "hashes",
            "Hash 2 is not a PDQ hash (64 hexadecimal digits).",
        ),
        ([], "list", "hashes", "Give 1 to 10000 hashes."),
        (["f" * 64], " ", "source", "The source is 1 to 100 characters."),
        (["f" * 64], "x" * 101, "source", "The source is 1 to 100 characters."),
    ],
)
async def test_bad_input_lists_nothing(
    live: LiveApp, hashes: list[str], source: str, field: str, message: str
) -> None:
    admin = await admin_token(live)
    before = await snapshot(live.resources)
    body = await live.graphql(ADD_HASHES, {"hashes": hashes, "source": source}, token=admin)
    assert body["data"]["addKnownImageHashes"] == {
        "addedIds": None,
        "alreadyListed": None,
        "userErrors": [{"code": "INVALID_INPUT", "field": ["input", field], "message": message}],
    }
    assert await snapshot(live.resources) == before


async def test_media_without_a_usable_hash_or_unknown_is_refused(live: LiveApp) -> None:
    admin = await admin_token(live)
    owner_id = await live.resources.db.fetchval("SELECT id FROM users WHERE username = 'admin'")
    flat = await make_media(live.resources.db, owner_id)
    await live.resources.db.execute(
        "INSERT INTO media_pdq_hashes (media_id, frame, hash, quality) VALUES ($1, 0, $2, 10)",
        flat,
        bytes(32),
    )
    before = await snapshot(live.resources)
    for media_id, code in ((flat, "INVALID_INPUT"), (flat + 1000, "NOT_FOUND")):
        body = await live.graphql(
            ADD_FROM_MEDIA, {"id": str(encode_global_id("Media", media_id))}, token=admin
        )
        payload = body["data"]["addKnownImageFromMedia"]
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            (code, ["input", "mediaId"])
        ]
        assert payload["knownImages"] is None
    assert await snapshot(live.resources) == before
