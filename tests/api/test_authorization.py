"""Authorization of every mutation, over real HTTP.

For each mutation of the schema, `AUTHZ_CASES` holds a scenario in which a signed-in user who is
not the owner tries it on someone else's object (or, for mutations that take no object, shows
that it can only ever act on the caller's own data), and `ANONYMOUS_CASES` holds a call without
a token for each mutation that needs one. Every refusal asserts the exact answer AND that the
database (every row of every table) and Redis (every key and value) are unchanged.

Conventions kept from the code: an object the caller may not see (someone else's media in no
published post, someone else's unpublished post, a comment of a deleted post) is NOT_FOUND,
exactly like a missing id; a visible object that is not the caller's is FORBIDDEN.

`test_every_mutation_has_an_authorization_case` enumerates the Mutation fields of the built
schema: a new mutation without a case here fails CI.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pyotp
import pytest

from resources import Resources
from schema.build import build_schema
from schema.global_ids import encode_global_id
from services import comments, follows, likes, posts, safety, totp
from storage import redis_keys
from storage.pg.posts import PostRecord
from storage.pg.users import UserRecord
from tests.api.helpers import sign_up, snapshot
from tests.conftest import LiveApp
from tests.factories import make_media, make_user, viewer_of


@dataclass
class World:
    """The owner of the objects, an intruder, and their access tokens."""

    live: LiveApp
    owner: UserRecord
    owner_token: str
    intruder: UserRecord
    intruder_token: str
    intruder_session: uuid.UUID

    @property
    def resources(self) -> Resources:
        return self.live.resources

    async def published_post(self) -> PostRecord:
        media_id = await make_media(self.resources.db, self.owner.id)
        return await posts.create_post(
            self.resources.posts,
            viewer_of(self.owner),
            media_ids=[media_id],
            caption=None,
            alt_texts=[],
        )

    async def published_media(self) -> int:
        """The id of the owner's media item in a published post (visible to everyone)."""
        post = await self.published_post()
        media_id = await self.resources.db.fetchval(
            "SELECT media_id FROM post_media WHERE post_id = $1", post.id
        )
        assert isinstance(media_id, int)
        return media_id

    async def unpublished_post(self) -> PostRecord:
        media_id = await make_media(self.resources.db, self.owner.id, status="PROCESSING")
        post = await posts.create_post(
            self.resources.posts,
            viewer_of(self.owner),
            media_ids=[media_id],
            caption=None,
            alt_texts=[],
        )
        assert post.status == "PROCESSING"
        return post

    async def fan(self) -> UserRecord:
        return await make_user(self.resources.db, "fan")


@pytest.fixture
async def world(live: LiveApp) -> World:
    owner = await make_user(live.resources.db, "owner")
    intruder = await make_user(live.resources.db, "intruder")
    session = uuid.uuid4()
    owner_token, _ = live.resources.access_tokens.issue(owner.id, uuid.uuid4())
    intruder_token, _ = live.resources.access_tokens.issue(intruder.id, session)
    return World(live, owner, owner_token, intruder, intruder_token, session)


async def refused(
    w: World,
    query: str,
    variables: dict[str, Any],
    expected: dict[str, Any],
    *,
    token: str | None = None,
    with_rate_limits: bool = True,
) -> None:
    """Run the mutation as the intruder (or `token`): the payload is `expected`, and nothing
    changed anywhere."""
    before = await snapshot(w.resources, with_rate_limits=with_rate_limits)
    body = await w.live.graphql(query, variables, token=token or w.intruder_token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload == expected
    assert await snapshot(w.resources, with_rate_limits=with_rate_limits) == before


def gid(type_name: str, record_id: int) -> str:
    return str(encode_global_id(type_name, record_id))


def error(code: str, *field: str) -> list[dict[str, Any]]:
    return [{"code": code, "field": list(field) if field else None}]


# --- one scenario per mutation --------------------------------------------------------------

SIGN_UP = """mutation M($input: SignUpInput!) {
  signUp(input: $input) { accessToken viewer { id } userErrors { code field } } }"""
LOG_IN = """mutation M($input: LogInInput!) {
  logIn(input: $input) { accessToken viewer { id } userErrors { code field } } }"""
REFRESH = """mutation M($token: String!) {
  refreshSession(input: {refreshToken: $token}) {
    accessToken refreshToken viewer { id } userErrors { code field } } }"""
LOG_OUT = "mutation { logOut(input: {}) { ok userErrors { code field } } }"
UPDATE_PROFILE = """mutation M($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { username bio } userErrors { code field } } }"""
FOLLOW = """mutation M($id: ID!) {
  followUser(input: {userId: $id}) { user { username } userErrors { code field } } }"""
UNFOLLOW = """mutation M($id: ID!) {
  unfollowUser(input: {userId: $id}) { user { username followerCount }
    userErrors { code field } } }"""
CREATE_UPLOAD = """mutation M($input: CreateUploadInput!) {
  createUpload(input: $input) { media { id } uploadUrl userErrors { code field } } }"""
COMPLETE_UPLOAD = """mutation M($id: ID!) {
  completeUpload(input: {mediaId: $id}) { media { id } userErrors { code field } } }"""
CREATE_POST = """mutation M($input: CreatePostInput!) {
  createPost(input: $input) { post { id } userErrors { code field } } }"""
DELETE_POST = """mutation M($id: ID!) {
  deletePost(input: {postId: $id}) { deletedPostId userErrors { code field } } }"""
LIKE_POST = """mutation M($id: ID!) {
  likePost(input: {postId: $id}) { post { id likeCount } userErrors { code field } } }"""
UNLIKE_POST = """mutation M($id: ID!) {
  unlikePost(input: {postId: $id}) { post { id likeCount } userErrors { code field } } }"""
ADD_COMMENT = """mutation M($input: AddCommentInput!) {
  addComment(input: $input) { comment { id } userErrors { code field } } }"""
DELETE_COMMENT = """mutation M($id: ID!) {
  deleteComment(input: {commentId: $id}) { deletedCommentId userErrors { code field } } }"""
APPROVE_REQUEST = """mutation M($id: ID!) {
  approveFollowRequest(input: {userId: $id}) { user { username } userErrors { code field } } }"""
DECLINE_REQUEST = """mutation M($id: ID!) {
  declineFollowRequest(input: {userId: $id}) { user { username } userErrors { code field } } }"""
CANCEL_REQUEST = """mutation M($id: ID!) {
  cancelFollowRequest(input: {userId: $id}) { user { username } userErrors { code field } } }"""
BLOCK = """mutation M($id: ID!) {
  blockUser(input: {userId: $id}) { user { username } userErrors { code field } } }"""
UNBLOCK = """mutation M($id: ID!) {
  unblockUser(input: {userId: $id}) { user { username } userErrors { code field } } }"""
MUTE = """mutation M($id: ID!) {
  muteUser(input: {userId: $id}) { user { username } userErrors { code field } } }"""
UNMUTE = """mutation M($id: ID!) {
  unmuteUser(input: {userId: $id}) { user { username } userErrors { code field } } }"""
RECORD_IMPRESSIONS = """mutation M($id: ID!) {
  recordImpressions(input: {impressions: [{postId: $id, position: 0, visibleMs: 5000}]}) {
    recorded userErrors { code field } } }"""
ADD_KNOWN_HASHES = """mutation M($hashes: [String!]!) {
  addKnownImageHashes(input: {hashes: $hashes, source: "list"}) {
    addedIds alreadyListed userErrors { code field } } }"""
ADD_KNOWN_FROM_MEDIA = """mutation M($id: ID!) {
  addKnownImageFromMedia(input: {mediaId: $id, source: "list"}) {
    knownImages { id } alreadyListed userErrors { code field } } }"""
REMOVE_KNOWN = """mutation M($ids: [ID!]!) {
  removeKnownImages(input: {knownImageIds: $ids}) { removedIds userErrors { code field } } }"""
RECORD_PROFILE_VISIT = RECORD_IMPRESSIONS.replace(
    "visibleMs: 5000", "visibleMs: 900, openedProfile: true"
)

MARK_READ = """mutation M($upTo: ID) {
  markNotificationsRead(input: {upTo: $upTo}) { unreadNotificationCount
    userErrors { code field } } }"""


async def sign_up_case(w: World) -> None:
    """Public; signed in or not, nobody can take over an account's username or email."""
    variables = {
        "input": {"username": "OWNER", "email": "owner@example.com", "password": "long enough pw"}
    }
    expected = {
        "accessToken": None,
        "viewer": None,
        "userErrors": error("USERNAME_TAKEN", "input", "username")
        + error("EMAIL_TAKEN", "input", "email"),
    }
    # The attempt counts against the address's sign-up allowance (tests/api/test_login_throttle).
    await refused(w, SIGN_UP, variables, expected, with_rate_limits=False)


async def log_in_case(w: World) -> None:
    """Public; the intruder cannot sign in as the owner. Only the failure counters move (by
    design: tests/api/test_login_throttle.py)."""
    variables = {"input": {"usernameOrEmail": "owner", "password": "a guessed password"}}
    expected = {"accessToken": None, "viewer": None, "userErrors": error("INVALID_CREDENTIALS")}
    await refused(w, LOG_IN, variables, expected, with_rate_limits=False)


async def refresh_session_case(w: World) -> None:
    """A refresh token is the credential: one for a session that does not exist is refused."""
    owner = await sign_up(w.live, "realowner")
    _, _, secret = owner["refreshToken"].partition(".")
    expected = {
        "accessToken": None,
        "refreshToken": None,
        "viewer": None,
        "userErrors": error("INVALID_CREDENTIALS"),
    }
    await refused(w, REFRESH, {"token": f"{uuid.uuid4()}.{secret}"}, expected)


async def log_out_case(w: World) -> None:
    """Logging out ends the caller's own session and nobody else's."""
    owner = await sign_up(w.live, "realowner")
    before_rows, before_keys = await snapshot(w.resources)
    out = await w.live.graphql(LOG_OUT, token=w.intruder_token)
    assert out == {"data": {"logOut": {"ok": True, "userErrors": []}}}
    after_rows, after_keys = await snapshot(w.resources)
    assert after_rows == before_rows
    added = set(after_keys) - set(before_keys)
    assert len(added) == 1
    assert str(w.intruder_session).encode() in added.pop()  # the intruder's own denylist entry
    still = await w.live.graphql("{ viewer { username } }", token=owner["accessToken"])
    assert still == {"data": {"viewer": {"username": "realowner"}}}


async def update_profile_case(w: World) -> None:
    """Takes no user: it changes the caller's profile, never the owner's."""
    owner_row = await w.resources.db.fetchrow("SELECT * FROM users WHERE id = $1", w.owner.id)
    done = await w.live.graphql(UPDATE_PROFILE, {"input": {"bio": "mine"}}, token=w.intruder_token)
    assert done["data"]["updateProfile"] == {
        "user": {"username": "intruder", "bio": "mine"},
        "userErrors": [],
    }
    assert await w.resources.db.fetchrow("SELECT * FROM users WHERE id = $1", w.owner.id) == (
        owner_row
    )


async def follow_case(w: World) -> None:
    """Following is the caller's own act (the graph is public): only the caller can do it, and
    nobody can make another user follow: the anonymous call is refused with nothing changed."""
    await anonymous(w, FOLLOW, {"id": gid("User", w.owner.id)})


async def unfollow_case(w: World) -> None:
    """Unfollowing removes only the caller's follow, never a follow of someone else."""
    fan = await w.fan()
    await follows.follow_user(w.resources.social, viewer_of(fan), w.owner.id)
    expected = {"user": {"username": "owner", "followerCount": 1}, "userErrors": []}
    await refused(w, UNFOLLOW, {"id": gid("User", w.owner.id)}, expected)


async def create_upload_case(w: World) -> None:
    """Media always belongs to the caller: anonymous callers get nothing."""
    variables = {"input": {"filename": "a.jpg", "contentType": "image/jpeg", "byteSize": 10}}
    await anonymous(w, CREATE_UPLOAD, variables)


async def complete_upload_case(w: World) -> None:
    awaiting = await make_media(w.resources.db, w.owner.id, status="AWAITING_UPLOAD")
    expected = {"media": None, "userErrors": error("NOT_FOUND", "input", "mediaId")}
    await refused(w, COMPLETE_UPLOAD, {"id": gid("Media", awaiting)}, expected)
    draft = await make_media(w.resources.db, w.owner.id)  # READY, in no post: owner's only
    await refused(w, COMPLETE_UPLOAD, {"id": gid("Media", draft)}, expected)
    published = await w.published_media()
    expected = {"media": None, "userErrors": error("FORBIDDEN", "input", "mediaId")}
    await refused(w, COMPLETE_UPLOAD, {"id": gid("Media", published)}, expected)


async def create_post_case(w: World) -> None:
    published = await w.published_media()
    expected = {"post": None, "userErrors": error("FORBIDDEN", "input", "media", "0", "mediaId")}
    await refused(
        w, CREATE_POST, {"input": {"media": [{"mediaId": gid("Media", published)}]}}, expected
    )
    expected = {"post": None, "userErrors": error("NOT_FOUND", "input", "media", "0", "mediaId")}
    for status in ("PROCESSING", "READY"):  # a READY draft is as hidden as media in progress
        hidden = await make_media(w.resources.db, w.owner.id, status=status)
        await refused(
            w, CREATE_POST, {"input": {"media": [{"mediaId": gid("Media", hidden)}]}}, expected
        )


async def delete_post_case(w: World) -> None:
    published = await w.published_post()
    expected = {"deletedPostId": None, "userErrors": error("FORBIDDEN", "input", "postId")}
    await refused(w, DELETE_POST, {"id": gid("Post", published.id)}, expected)
    unpublished = await w.unpublished_post()
    expected = {"deletedPostId": None, "userErrors": error("NOT_FOUND", "input", "postId")}
    await refused(w, DELETE_POST, {"id": gid("Post", unpublished.id)}, expected)


async def like_post_case(w: World) -> None:
    unpublished = await w.unpublished_post()
    expected = {"post": None, "userErrors": error("NOT_FOUND", "input", "postId")}
    await refused(w, LIKE_POST, {"id": gid("Post", unpublished.id)}, expected)


async def unlike_post_case(w: World) -> None:
    published = await w.published_post()
    fan = await w.fan()
    await likes.like_post(w.resources.social, viewer_of(fan), published.id)
    expected = {"post": {"id": gid("Post", published.id), "likeCount": 1}, "userErrors": []}
    await refused(w, UNLIKE_POST, {"id": gid("Post", published.id)}, expected)
    unpublished = await w.unpublished_post()
    expected = {"post": None, "userErrors": error("NOT_FOUND", "input", "postId")}
    await refused(w, UNLIKE_POST, {"id": gid("Post", unpublished.id)}, expected)


async def add_comment_case(w: World) -> None:
    unpublished = await w.unpublished_post()
    variables = {"input": {"postId": gid("Post", unpublished.id), "text": "hi"}}
    expected = {"comment": None, "userErrors": error("NOT_FOUND", "input", "postId")}
    await refused(w, ADD_COMMENT, variables, expected)


async def delete_comment_case(w: World) -> None:
    published = await w.published_post()
    fan = await w.fan()
    comment = await comments.add_comment(
        w.resources.social, viewer_of(fan), post_id=published.id, text="first"
    )
    expected = {"deletedCommentId": None, "userErrors": error("FORBIDDEN", "input", "commentId")}
    await refused(w, DELETE_COMMENT, {"id": gid("Comment", comment.id)}, expected)
    # Once its post is deleted the comment is hidden: NOT_FOUND, even to the post's author.
    await posts.delete_post(w.resources.posts, viewer_of(w.owner), published.id)
    expected = {"deletedCommentId": None, "userErrors": error("NOT_FOUND", "input", "commentId")}
    await refused(w, DELETE_COMMENT, {"id": gid("Comment", comment.id)}, expected)
    await refused(
        w, DELETE_COMMENT, {"id": gid("Comment", comment.id)}, expected, token=w.owner_token
    )


async def record_impressions_case(w: World) -> None:
    """An id of another type than Post, or of a post the caller may not see, records nothing
    (impressions only ever record the caller's own: their viewer id is the token's)."""
    published = await w.published_post()
    expected = {
        "recorded": None,
        "userErrors": error("NOT_FOUND", "input", "impressions", "0", "postId"),
    }
    await refused(w, RECORD_IMPRESSIONS, {"id": gid("Media", published.id)}, expected)
    # A post the intruder may not see (not yet published), profile visit and all: NOT_FOUND,
    # nothing recorded and not even counted against the limit.
    hidden = await w.unpublished_post()
    await refused(w, RECORD_PROFILE_VISIT, {"id": gid("Post", hidden.id)}, expected)


A_PDQ_HASH = "f" * 64


async def add_known_image_hashes_case(w: World) -> None:
    """Admins only: a user (and a moderator) is refused whatever the input, nothing listed."""
    expected = {"addedIds": None, "alreadyListed": None, "userErrors": error("FORBIDDEN")}
    await refused(w, ADD_KNOWN_HASHES, {"hashes": [A_PDQ_HASH]}, expected)
    await refused(w, ADD_KNOWN_HASHES, {"hashes": ["not hex"]}, expected)
    await w.resources.db.execute("UPDATE users SET role = 'MODERATOR' WHERE id = $1", w.owner.id)
    await refused(w, ADD_KNOWN_HASHES, {"hashes": [A_PDQ_HASH]}, expected, token=w.owner_token)


async def add_known_image_from_media_case(w: World) -> None:
    """Admins only: the caller's own media, someone else's, or no media at all: FORBIDDEN
    alike (the role is checked before the id), nothing listed."""
    own = await make_media(w.resources.db, w.intruder.id)
    await w.resources.db.execute(
        "INSERT INTO media_pdq_hashes (media_id, frame, hash, quality) VALUES ($1, 0, $2, 100)",
        own,
        bytes.fromhex(A_PDQ_HASH),
    )
    expected = {"knownImages": None, "alreadyListed": None, "userErrors": error("FORBIDDEN")}
    for media_id in (own, await w.published_media(), 999_999):
        await refused(w, ADD_KNOWN_FROM_MEDIA, {"id": gid("Media", media_id)}, expected)


async def remove_known_images_case(w: World) -> None:
    """Admins only: a user cannot take an entry off the list."""
    entry_id = await w.resources.db.fetchval(
        "INSERT INTO known_images (hash, source) VALUES ($1, 'list') RETURNING id",
        bytes.fromhex(A_PDQ_HASH),
    )
    expected = {"removedIds": None, "userErrors": error("FORBIDDEN")}
    await refused(w, REMOVE_KNOWN, {"ids": [gid("KnownImage", entry_id)]}, expected)


async def mark_notifications_read_case(w: World) -> None:
    """The owner's notification id marks nothing of the owner's (nor the intruder's) read."""
    published = await w.published_post()
    fan = await w.fan()
    await likes.like_post(w.resources.social, viewer_of(fan), published.id)
    notification_id = await w.resources.db.fetchval(
        "SELECT id FROM notifications WHERE recipient_id = $1", w.owner.id
    )
    expected = {"unreadNotificationCount": 0, "userErrors": []}
    await refused(w, MARK_READ, {"upTo": gid("Notification", notification_id)}, expected)


SET_PICTURE = """mutation M($id: ID!) {
  setProfilePicture(input: {mediaId: $id}) { user { username } userErrors { code field } } }"""
REMOVE_PICTURE = """mutation { removeProfilePicture(input: {}) {
  user { username profilePicture { url } } userErrors { code field } } }"""
VERIFY_EMAIL = """mutation M($token: String!) {
  verifyEmail(input: {token: $token}) { ok userErrors { code field } } }"""
REQUEST_RESET = """mutation M($email: String!) {
  requestPasswordReset(input: {email: $email}) { ok userErrors { code field } } }"""
RESET_PASSWORD = """mutation M($token: String!) {
  resetPassword(input: {token: $token, newPassword: "a new password"}) {
    ok userErrors { code field } } }"""
CHANGE_PASSWORD = """mutation M($current: String!) {
  changePassword(input: {currentPassword: $current, newPassword: "a new password"}) {
    ok userErrors { code field } } }"""
CHANGE_EMAIL = """mutation M($email: String!, $password: String!) {
  changeEmail(input: {newEmail: $email, password: $password}) { ok userErrors { code field } } }"""


async def set_profile_picture_case(w: World) -> None:
    """Someone else's photo, even a published one, cannot become the caller's picture."""
    media_id = await w.published_media()
    expected = {"user": None, "userErrors": error("FORBIDDEN", "input", "mediaId")}
    await refused(w, SET_PICTURE, {"id": gid("Media", media_id)}, expected)


async def remove_profile_picture_case(w: World) -> None:
    """Takes no user: it removes the caller's picture (none here), never the owner's."""
    await w.resources.db.execute(
        "INSERT INTO profile_pictures (user_id, variants) VALUES ($1, '[]')", w.owner.id
    )
    expected = {"user": {"username": "intruder", "profilePicture": None}, "userErrors": []}
    await refused(w, REMOVE_PICTURE, {}, expected)


async def verify_email_case(w: World) -> None:
    """Public; only the mailed token confirms anything: a guessed one changes nothing."""
    expected = {"ok": False, "userErrors": error("INVALID_CREDENTIALS", "input", "token")}
    await refused(w, VERIFY_EMAIL, {"token": "A" * 43}, expected)


async def request_password_reset_case(w: World) -> None:
    """Public; asking for the owner's reset hands the caller nothing: the answer is the one an
    unknown address gets, no row changes, and the only new keys are the request's counters and
    its queued job (whose mail goes to the owner's address)."""
    before_rows, before_keys = await snapshot(w.resources)
    for address in ("owner@example.com", "nobody@example.com"):
        answer = await w.live.graphql(REQUEST_RESET, {"email": address}, token=w.intruder_token)
        assert answer == {"data": {"requestPasswordReset": {"ok": True, "userErrors": []}}}
    after_rows, after_keys = await snapshot(w.resources)
    assert after_rows == before_rows
    added = set(after_keys) - set(before_keys)
    assert all(key.startswith((b"arq:", redis_keys.RATE_LIMIT_PREFIX.encode())) for key in added)
    assert len([key for key in added if key.startswith(b"arq:job:start_password_reset:")]) == 2


async def reset_password_case(w: World) -> None:
    """Public; only the mailed token resets a password: a guessed one changes nothing."""
    expected = {"ok": False, "userErrors": error("INVALID_CREDENTIALS", "input", "token")}
    await refused(w, RESET_PASSWORD, {"token": "A" * 43}, expected)


async def change_password_case(w: World) -> None:
    """Acts on the caller's account only: the current password is checked against the caller's
    (the failure counters move, by design)."""
    expected = {"ok": False, "userErrors": error("INVALID_CREDENTIALS", "input", "currentPassword")}
    await refused(
        w, CHANGE_PASSWORD, {"current": "the owner's password"}, expected, with_rate_limits=False
    )


async def change_email_case(w: World) -> None:
    """Acts on the caller's account only: the password is checked against the caller's, so
    the owner's address cannot be moved (nor taken: EMAIL_TAKEN in tests/api/
    test_account_email_api.py)."""
    expected = {"ok": False, "userErrors": error("INVALID_CREDENTIALS", "input", "password")}
    await refused(
        w,
        CHANGE_EMAIL,
        {"email": "elsewhere@example.com", "password": "the owner's password"},
        expected,
        with_rate_limits=False,
    )


async def private_owner_with_request(w: World) -> UserRecord:
    """The owner turns private and a fan asks to follow them (a pending request)."""
    await w.resources.db.execute("UPDATE users SET is_private = true WHERE id = $1", w.owner.id)
    fan = await w.fan()
    await follows.follow_user(w.resources.social, viewer_of(fan), w.owner.id)
    return fan


async def approve_follow_request_case(w: World) -> None:
    """Only the requested account approves: the fan's request to the owner is not the
    intruder's to approve (NOT_FOUND: the intruder has no request from the fan)."""
    fan = await private_owner_with_request(w)
    expected = {"user": None, "userErrors": error("NOT_FOUND", "input", "userId")}
    await refused(w, APPROVE_REQUEST, {"id": gid("User", fan.id)}, expected)


async def decline_follow_request_case(w: World) -> None:
    fan = await private_owner_with_request(w)
    expected = {"user": None, "userErrors": error("NOT_FOUND", "input", "userId")}
    await refused(w, DECLINE_REQUEST, {"id": gid("User", fan.id)}, expected)


async def cancel_follow_request_case(w: World) -> None:
    """Only the requester cancels: the intruder cannot withdraw the fan's request to the
    owner (they have none of their own)."""
    await private_owner_with_request(w)
    expected = {"user": None, "userErrors": error("NOT_FOUND", "input", "userId")}
    await refused(w, CANCEL_REQUEST, {"id": gid("User", w.owner.id)}, expected)


async def block_user_case(w: World) -> None:
    """A block is the caller's own act: blocking the owner writes the intruder's block and
    touches no follow of anyone else (the fan still follows the owner)."""
    fan = await w.fan()
    await follows.follow_user(w.resources.social, viewer_of(fan), w.owner.id)
    done = await w.live.graphql(BLOCK, {"id": gid("User", w.owner.id)}, token=w.intruder_token)
    assert done["data"]["blockUser"] == {"user": {"username": "owner"}, "userErrors": []}
    db = w.resources.db
    assert await db.fetch("SELECT blocker_id, blocked_id FROM blocks") == [
        (w.intruder.id, w.owner.id)
    ]
    assert await db.fetch("SELECT follower_id, followee_id FROM follows") == [(fan.id, w.owner.id)]


async def unblock_user_case(w: World) -> None:
    """The owner's block of the fan is the owner's: the intruder unblocking the fan lifts
    nothing (a no-op, as for any account the caller did not block)."""
    fan = await w.fan()
    await safety.block_user(w.resources.social, viewer_of(w.owner), fan.id)
    expected = {"user": {"username": "fan"}, "userErrors": []}
    await refused(w, UNBLOCK, {"id": gid("User", fan.id)}, expected)


async def mute_user_case(w: World) -> None:
    """A mute is the caller's own: muting the owner writes only the intruder's mute."""
    done = await w.live.graphql(MUTE, {"id": gid("User", w.owner.id)}, token=w.intruder_token)
    assert done["data"]["muteUser"] == {"user": {"username": "owner"}, "userErrors": []}
    assert await w.resources.db.fetch("SELECT muter_id, muted_id FROM mutes") == [
        (w.intruder.id, w.owner.id)
    ]


async def unmute_user_case(w: World) -> None:
    fan = await w.fan()
    await safety.mute_user(w.resources.social, viewer_of(w.owner), fan.id)
    expected = {"user": {"username": "fan"}, "userErrors": []}
    await refused(w, UNMUTE, {"id": gid("User", fan.id)}, expected)


END_SESSION = """mutation M($id: ID!) {
  endSession(input: {sessionId: $id}) { endedSessionId userErrors { code field } } }"""
END_OTHER_SESSIONS = """mutation {
  endOtherSessions(input: {}) { endedSessionCount userErrors { code field } } }"""
ENABLE_TWO_FACTOR = """mutation M($password: String!) {
  enableTwoFactor(input: {password: $password}) { secret provisioningUri
    userErrors { code field } } }"""
CONFIRM_TWO_FACTOR = """mutation M($code: String!) {
  confirmTwoFactor(input: {code: $code}) { backupCodes userErrors { code field } } }"""
DISABLE_TWO_FACTOR = """mutation M($code: String!) {
  disableTwoFactor(input: {code: $code}) { ok userErrors { code field } } }"""
COMPLETE_TWO_FACTOR = """mutation M($challenge: String!, $code: String!) {
  completeTwoFactorLogIn(input: {challenge: $challenge, code: $code}) {
    accessToken viewer { id } userErrors { code field } } }"""


async def owner_two_factor(w: World, *, confirmed: bool) -> str:
    """Give the owner a TOTP enrolment (pending or on); returns its secret."""
    secret = totp.new_secret()
    await w.resources.db.execute(
        "INSERT INTO two_factor (user_id, secret_ciphertext, confirmed_at)"
        " VALUES ($1, $2, CASE WHEN $3 THEN now() END)",
        w.owner.id,
        totp.seal(w.resources.two_factor, w.owner.id, secret),
        confirmed,
    )
    return secret


async def end_session_case(w: World) -> None:
    """The owner's live session, by its real id: NOT_FOUND for anyone else, nothing ended."""
    owner = await sign_up(w.live, "realowner")
    session_id = await w.resources.db.fetchval(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1",
        "realowner",
    )
    expected = {"endedSessionId": None, "userErrors": error("NOT_FOUND", "input", "sessionId")}
    await refused(w, END_SESSION, {"id": str(session_id)}, expected)
    still = await w.live.graphql("{ viewer { username } }", token=owner["accessToken"])
    assert still == {"data": {"viewer": {"username": "realowner"}}}


async def end_other_sessions_case(w: World) -> None:
    """Takes no session: it ends the caller's other sessions (none here), never the owner's."""
    await sign_up(w.live, "realowner")
    expected = {"endedSessionCount": 0, "userErrors": []}
    await refused(w, END_OTHER_SESSIONS, {}, expected)


async def enable_two_factor_case(w: World) -> None:
    """Acts on the caller's account only: the password is checked against the caller's."""
    expected = {
        "secret": None,
        "provisioningUri": None,
        "userErrors": error("INVALID_CREDENTIALS", "input", "password"),
    }
    await refused(
        w, ENABLE_TWO_FACTOR, {"password": "the owner's password"}, expected, with_rate_limits=False
    )


async def confirm_two_factor_case(w: World) -> None:
    """The owner's pending enrolment and a valid code of it confirm nothing for the caller."""
    secret = await owner_two_factor(w, confirmed=False)
    expected = {"backupCodes": None, "userErrors": error("INVALID_INPUT")}
    code = pyotp.TOTP(secret).now()
    await refused(w, CONFIRM_TWO_FACTOR, {"code": code}, expected, with_rate_limits=False)


async def disable_two_factor_case(w: World) -> None:
    """The owner's two-factor, even with a valid code of it, is not the caller's to turn off."""
    secret = await owner_two_factor(w, confirmed=True)
    expected = {"ok": False, "userErrors": error("INVALID_INPUT")}
    code = pyotp.TOTP(secret).now()
    await refused(w, DISABLE_TWO_FACTOR, {"code": code}, expected, with_rate_limits=False)


async def complete_two_factor_case(w: World) -> None:
    """Public; only the challenge `logIn` handed out, with a code, signs in: a valid code of the
    owner's with a guessed challenge changes nothing."""
    secret = await owner_two_factor(w, confirmed=True)
    expected = {
        "accessToken": None,
        "viewer": None,
        "userErrors": error("INVALID_CREDENTIALS", "input", "challenge"),
    }
    variables = {"challenge": "A" * 43, "code": pyotp.TOTP(secret).now()}
    await refused(w, COMPLETE_TWO_FACTOR, variables, expected)


DEACTIVATE = """mutation M($password: String!) {
  deactivateAccount(input: {password: $password}) { ok userErrors { code field } } }"""
DELETE_ACCOUNT = """mutation M($password: String!) {
  deleteAccount(input: {password: $password}) { ok eraseAfter userErrors { code field } } }"""
REQUEST_EXPORT = """mutation { requestDataExport(input: {}) {
  dataExport { status } userErrors { code field } } }"""


async def deactivate_account_case(w: World) -> None:
    """Acts on the caller's account only: the password is checked against the caller's (the
    failure counters move, by design), and nothing else changes."""
    expected = {"ok": False, "userErrors": error("INVALID_CREDENTIALS", "input", "password")}
    await refused(
        w, DEACTIVATE, {"password": "the owner's password"}, expected, with_rate_limits=False
    )


async def delete_account_case(w: World) -> None:
    expected = {
        "ok": False,
        "eraseAfter": None,
        "userErrors": error("INVALID_CREDENTIALS", "input", "password"),
    }
    await refused(
        w, DELETE_ACCOUNT, {"password": "the owner's password"}, expected, with_rate_limits=False
    )


async def request_data_export_case(w: World) -> None:
    """Takes no account: the export is the caller's own, never the owner's."""
    done = await w.live.graphql(REQUEST_EXPORT, token=w.intruder_token)
    assert done["data"]["requestDataExport"] == {
        "dataExport": {"status": "QUEUED"},
        "userErrors": [],
    }
    assert await w.resources.db.fetch("SELECT user_id FROM data_exports") == [(w.intruder.id,)]


# --- moderation (docs/moderation.md): staff-only mutations refuse a plain user -------------

REPORT = """mutation M($input: ReportContentInput!) {
  reportContent(input: $input) { ok userErrors { code field } } }"""
SET_ROLE = """mutation M($id: ID!, $role: Role!) {
  setUserRole(input: {userId: $id, role: $role}) { user { username } role
    userErrors { code field } } }"""
CLAIM_CASE = """mutation M($id: ID!) {
  claimCase(input: {caseId: $id}) { case { id status } userErrors { code field } } }"""
RESOLVE_CASE = """mutation M($id: ID!) {
  resolveCase(input: {caseId: $id, action: REMOVE, reason: "spam"}) {
    case { id } action { id } userErrors { code field } } }"""
RESTORE_ACTION = """mutation M($id: ID!) {
  restoreModerationAction(input: {actionId: $id, reason: "mistake"}) {
    action { id } userErrors { code field } } }"""
APPEAL = """mutation M($id: ID!) {
  appealModerationAction(input: {actionId: $id, statement: "it was fine"}) {
    appeal { id } userErrors { code field } } }"""
DECIDE_APPEAL = """mutation M($id: ID!) {
  decideAppeal(input: {appealId: $id, outcome: OVERTURNED, reason: "agreed"}) {
    appeal { id status } userErrors { code field } } }"""


@dataclass
class Moderated:
    """A report of the owner's post by a fan, claimed and resolved REMOVE by a moderator,
    and the owner's appeal of it."""

    post_id: int
    case_id: int
    action_id: int
    appeal_id: int


async def moderated_world(w: World, *, resolved: bool = True) -> Moderated:
    from services import appeals, moderation_actions, moderation_queue, reports
    from services.moderation_cases import Subject, SubjectKind

    db = w.resources.db
    moderator = await make_user(db, "moderator")
    await db.execute("UPDATE users SET role = 'MODERATOR' WHERE id = $1", moderator.id)
    post = await w.published_post()
    fan = await w.fan()
    deps = w.resources.moderation
    subject = Subject(SubjectKind.POST, post.id)
    await reports.report_content(deps, viewer_of(fan), subject, reports.ReportReason.SPAM, None)
    case_id = await db.fetchval("SELECT id FROM moderation_cases")
    if not resolved:
        return Moderated(post.id, case_id, 0, 0)
    await moderation_queue.claim_case(db, viewer_of(moderator), case_id)
    action = await moderation_actions.resolve_case(
        deps, viewer_of(moderator), case_id, moderation_actions.Decision.REMOVE, "spam"
    )
    appeal = await appeals.appeal_action(db, viewer_of(w.owner), action.id, "it was fine")
    return Moderated(post.id, case_id, action.id, appeal.id)


async def report_content_case(w: World) -> None:
    """The intruder cannot report what it cannot see: the owner's unpublished post is NOT_FOUND,
    exactly like a missing one (no case, no report, no rate-limit count)."""
    post = await w.unpublished_post()
    variables = {"input": {"subject": gid("Post", post.id), "reason": "SPAM"}}
    expected = {"ok": False, "userErrors": error("NOT_FOUND", "input", "subject")}
    await refused(w, REPORT, variables, expected)


async def set_user_role_case(w: World) -> None:
    """Only an admin grants roles: the intruder cannot make itself (or anyone) an admin."""
    await w.resources.db.execute("UPDATE users SET role = 'ADMIN' WHERE id = $1", w.owner.id)
    expected = {"user": None, "role": None, "userErrors": error("FORBIDDEN")}
    await refused(w, SET_ROLE, {"id": gid("User", w.intruder.id), "role": "ADMIN"}, expected)


async def claim_case_case(w: World) -> None:
    m = await moderated_world(w, resolved=False)
    expected = {"case": None, "userErrors": error("FORBIDDEN")}
    await refused(w, CLAIM_CASE, {"id": gid("ModerationCase", m.case_id)}, expected)


async def resolve_case_case(w: World) -> None:
    m = await moderated_world(w, resolved=False)
    expected = {"case": None, "action": None, "userErrors": error("FORBIDDEN")}
    await refused(w, RESOLVE_CASE, {"id": gid("ModerationCase", m.case_id)}, expected)


async def restore_moderation_action_case(w: World) -> None:
    m = await moderated_world(w)
    expected = {"action": None, "userErrors": error("FORBIDDEN")}
    await refused(w, RESTORE_ACTION, {"id": gid("ModerationAction", m.action_id)}, expected)


async def appeal_moderation_action_case(w: World) -> None:
    """Only the account a decision hit appeals it: the owner's removal is NOT_FOUND to the
    intruder (a decision about someone else is never confirmed)."""
    m = await moderated_world(w)
    expected = {"appeal": None, "userErrors": error("NOT_FOUND", "input", "actionId")}
    await refused(w, APPEAL, {"id": gid("ModerationAction", m.action_id)}, expected)


async def decide_appeal_case(w: World) -> None:
    m = await moderated_world(w)
    expected = {"appeal": None, "userErrors": error("FORBIDDEN")}
    await refused(w, DECIDE_APPEAL, {"id": gid("ModerationAppeal", m.appeal_id)}, expected)


MODERATION_QUERIES: dict[str, str] = {
    "moderationQueue": "{ moderationQueue(first: 5) { edges { node { id } } } }",
    "moderationCase": "query Q($id: ID!) { moderationCase(id: $id) { id reports { note } } }",
    "moderationAppeals": "{ moderationAppeals(first: 5) { edges { node { id statement } } } }",
    "moderationAuditLog": "{ moderationAuditLog(first: 5) { edges { node { id reason } } } }",
}


def test_every_moderation_query_field_has_a_case() -> None:
    query_type = build_schema()._schema.query_type
    assert query_type is not None
    assert {name for name in query_type.fields if name.startswith("moderation")} == set(
        MODERATION_QUERIES
    )


@pytest.mark.parametrize("field", sorted(MODERATION_QUERIES))
async def test_moderation_queries_refuse_a_plain_user_and_anonymous_callers(
    world: World, field: str
) -> None:
    """A plain user (even the owner of the reported post, even a moderator for the admins'
    log) gets the error FORBIDDEN and no data; an anonymous caller UNAUTHENTICATED."""
    m = await moderated_world(world)
    await world.resources.db.execute(
        "UPDATE users SET role = 'MODERATOR' WHERE id = $1", world.owner.id
    )
    variables = {"id": gid("ModerationCase", m.case_id)}
    callers = [(world.intruder_token, "FORBIDDEN"), (None, "UNAUTHENTICATED")]
    if field == "moderationAuditLog":
        callers.append((world.owner_token, "FORBIDDEN"))  # moderators do not read the log
    for token, code in callers:
        before = await snapshot(world.resources)
        body = await world.live.graphql(MODERATION_QUERIES[field], variables, token=token)
        assert body["data"] == {field: None}, body
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]
        assert [e["path"] for e in body["errors"]] == [[field]]
        assert await snapshot(world.resources) == before


AUTHZ_CASES: dict[str, Callable[[World], Awaitable[None]]] = {
    "signUp": sign_up_case,
    "logIn": log_in_case,
    "refreshSession": refresh_session_case,
    "logOut": log_out_case,
    "updateProfile": update_profile_case,
    "followUser": follow_case,
    "unfollowUser": unfollow_case,
    "createUpload": create_upload_case,
    "completeUpload": complete_upload_case,
    "createPost": create_post_case,
    "deletePost": delete_post_case,
    "likePost": like_post_case,
    "unlikePost": unlike_post_case,
    "addComment": add_comment_case,
    "deleteComment": delete_comment_case,
    "markNotificationsRead": mark_notifications_read_case,
    "recordImpressions": record_impressions_case,
    "addKnownImageHashes": add_known_image_hashes_case,
    "addKnownImageFromMedia": add_known_image_from_media_case,
    "removeKnownImages": remove_known_images_case,
    "setProfilePicture": set_profile_picture_case,
    "removeProfilePicture": remove_profile_picture_case,
    "verifyEmail": verify_email_case,
    "requestPasswordReset": request_password_reset_case,
    "resetPassword": reset_password_case,
    "changePassword": change_password_case,
    "changeEmail": change_email_case,
    "approveFollowRequest": approve_follow_request_case,
    "declineFollowRequest": decline_follow_request_case,
    "cancelFollowRequest": cancel_follow_request_case,
    "blockUser": block_user_case,
    "unblockUser": unblock_user_case,
    "muteUser": mute_user_case,
    "unmuteUser": unmute_user_case,
    "endSession": end_session_case,
    "endOtherSessions": end_other_sessions_case,
    "enableTwoFactor": enable_two_factor_case,
    "confirmTwoFactor": confirm_two_factor_case,
    "disableTwoFactor": disable_two_factor_case,
    "completeTwoFactorLogIn": complete_two_factor_case,
    "deactivateAccount": deactivate_account_case,
    "deleteAccount": delete_account_case,
    "requestDataExport": request_data_export_case,
    "reportContent": report_content_case,
    "setUserRole": set_user_role_case,
    "claimCase": claim_case_case,
    "resolveCase": resolve_case_case,
    "restoreModerationAction": restore_moderation_action_case,
    "appealModerationAction": appeal_moderation_action_case,
    "decideAppeal": decide_appeal_case,
}

# Mutations anyone may call without a token (they take credentials as arguments).
PUBLIC_MUTATIONS = {
    "signUp",
    "logIn",
    "refreshSession",
    "verifyEmail",
    "requestPasswordReset",
    "resetPassword",
    "completeTwoFactorLogIn",
}

# Every other mutation without a token: UNAUTHENTICATED, nothing changed.
ANONYMOUS_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "logOut": (LOG_OUT, {}),
    "updateProfile": (UPDATE_PROFILE, {"input": {"bio": "x"}}),
    "followUser": (FOLLOW, {"id": "OWNER"}),
    "unfollowUser": (UNFOLLOW, {"id": "OWNER"}),
    "createUpload": (
        CREATE_UPLOAD,
        {"input": {"filename": "a.jpg", "contentType": "image/jpeg", "byteSize": 10}},
    ),
    "completeUpload": (COMPLETE_UPLOAD, {"id": "MEDIA"}),
    "createPost": (CREATE_POST, {"input": {"media": [{"mediaId": "MEDIA"}]}}),
    "deletePost": (DELETE_POST, {"id": "POST"}),
    "likePost": (LIKE_POST, {"id": "POST"}),
    "recordImpressions": (RECORD_IMPRESSIONS, {"id": "POST"}),
    "addKnownImageHashes": (ADD_KNOWN_HASHES, {"hashes": [A_PDQ_HASH]}),
    "addKnownImageFromMedia": (ADD_KNOWN_FROM_MEDIA, {"id": "MEDIA"}),
    "removeKnownImages": (REMOVE_KNOWN, {"ids": [str(encode_global_id("KnownImage", 1))]}),
    "unlikePost": (UNLIKE_POST, {"id": "POST"}),
    "addComment": (ADD_COMMENT, {"input": {"postId": "POST", "text": "hi"}}),
    "deleteComment": (DELETE_COMMENT, {"id": "COMMENT"}),
    "markNotificationsRead": (MARK_READ, {"upTo": None}),
    "setProfilePicture": (SET_PICTURE, {"id": "MEDIA"}),
    "removeProfilePicture": (REMOVE_PICTURE, {}),
    "changePassword": (CHANGE_PASSWORD, {"current": "x"}),
    "changeEmail": (CHANGE_EMAIL, {"email": "new@example.com", "password": "x"}),
    "approveFollowRequest": (APPROVE_REQUEST, {"id": "OWNER"}),
    "declineFollowRequest": (DECLINE_REQUEST, {"id": "OWNER"}),
    "cancelFollowRequest": (CANCEL_REQUEST, {"id": "OWNER"}),
    "blockUser": (BLOCK, {"id": "OWNER"}),
    "unblockUser": (UNBLOCK, {"id": "OWNER"}),
    "muteUser": (MUTE, {"id": "OWNER"}),
    "unmuteUser": (UNMUTE, {"id": "OWNER"}),
    "endSession": (END_SESSION, {"id": str(uuid.uuid4())}),
    "endOtherSessions": (END_OTHER_SESSIONS, {}),
    "enableTwoFactor": (ENABLE_TWO_FACTOR, {"password": "x"}),
    "confirmTwoFactor": (CONFIRM_TWO_FACTOR, {"code": "123456"}),
    "disableTwoFactor": (DISABLE_TWO_FACTOR, {"code": "123456"}),
    "deactivateAccount": (DEACTIVATE, {"password": "x"}),
    "deleteAccount": (DELETE_ACCOUNT, {"password": "x"}),
    "requestDataExport": (REQUEST_EXPORT, {}),
    "reportContent": (REPORT, {"input": {"subject": "POST", "reason": "SPAM"}}),
    "setUserRole": (SET_ROLE, {"id": "OWNER", "role": "ADMIN"}),
    "claimCase": (CLAIM_CASE, {"id": "CASE"}),
    "resolveCase": (RESOLVE_CASE, {"id": "CASE"}),
    "restoreModerationAction": (RESTORE_ACTION, {"id": "ACTION"}),
    "appealModerationAction": (APPEAL, {"id": "ACTION"}),
    "decideAppeal": (DECIDE_APPEAL, {"id": "APPEAL"}),
}

# Fields of User that answer only to the user themselves (null for anyone else).
VIEWER_ONLY_USER_FIELDS = ("followRequests", "blockedUsers", "mutedUsers")


OWN_ONLY_FIELDS = "email emailVerified twoFactorEnabled sessions { id }"


async def test_own_only_user_fields_are_null_for_anyone_else(world: World) -> None:
    """The account fields only its owner sees (address, sessions, two-factor): null for
    another signed-in user and for an anonymous caller, whatever the owner has."""
    await owner_two_factor(world, confirmed=True)
    query = f'{{ user(username: "owner") {{ {OWN_ONLY_FIELDS} }} }}'
    nothing = {"email": None, "emailVerified": None, "twoFactorEnabled": None, "sessions": None}
    for token in (world.intruder_token, None):
        assert await world.live.graphql(query, token=token) == {"data": {"user": nothing}}


async def anonymous(w: World, query: str, variables: dict[str, Any]) -> None:
    before = await snapshot(w.resources)
    response = await w.live.http.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert await snapshot(w.resources) == before


def mutation_fields() -> set[str]:
    mutation_type = build_schema()._schema.mutation_type
    assert mutation_type is not None
    return set(mutation_type.fields)


def test_every_mutation_has_an_authorization_case() -> None:
    fields = mutation_fields()
    assert len(fields) >= 16
    missing = sorted(fields - set(AUTHZ_CASES))
    assert missing == [], f"mutations without an authorization case in {__name__}: {missing}"
    assert sorted(set(AUTHZ_CASES) - fields) == []
    assert set(ANONYMOUS_CASES) == fields - PUBLIC_MUTATIONS


def test_every_viewer_only_field_has_a_case() -> None:
    """Every User field documented 'null unless this user is the viewer' is in
    VIEWER_ONLY_USER_FIELDS (and so in test_viewer_only_fields_answer_null_to_others)."""
    user_type = build_schema()._schema.get_type("User")
    assert user_type is not None
    documented = {
        name
        for name, field in user_type.fields.items()  # type: ignore[attr-defined]
        if "null unless this user is the viewer" in (field.description or "")
    }
    assert documented == set(VIEWER_ONLY_USER_FIELDS)


@pytest.mark.parametrize("field", VIEWER_ONLY_USER_FIELDS)
async def test_viewer_only_fields_answer_null_to_others(world: World, field: str) -> None:
    """The owner's requests, blocks and mutes: null to the intruder and to anonymous callers,
    the list to the owner."""
    await private_owner_with_request(world)
    db = world.resources.db
    other = await make_user(db, "other")
    await safety.block_user(world.resources.social, viewer_of(world.owner), other.id)
    await safety.mute_user(world.resources.social, viewer_of(world.owner), other.id)
    query = f'{{ user(username: "owner") {{ {field} {{ totalCount nodes {{ username }} }} }} }}'
    for token in (world.intruder_token, None):
        body = await world.live.graphql(query, token=token)
        assert body == {"data": {"user": {field: None}}}
    own = await world.live.graphql(query, token=world.owner_token)
    expected = "fan" if field == "followRequests" else "other"
    assert own["data"]["user"][field] == {"totalCount": 1, "nodes": [{"username": expected}]}


@pytest.mark.parametrize("mutation", sorted(AUTHZ_CASES))
async def test_not_the_owner(world: World, mutation: str) -> None:
    await AUTHZ_CASES[mutation](world)


@pytest.mark.parametrize("mutation", sorted(ANONYMOUS_CASES))
async def test_anonymous(world: World, mutation: str) -> None:
    """Real ids of the owner's objects, so that only the missing token stops the call."""
    post = await world.published_post()
    fan = await world.fan()
    comment = await comments.add_comment(
        world.resources.social, viewer_of(fan), post_id=post.id, text="hello"
    )
    await likes.like_post(world.resources.social, viewer_of(fan), post.id)
    real_ids = {
        "OWNER": gid("User", world.owner.id),
        "MEDIA": gid("Media", await make_media(world.resources.db, world.owner.id)),
        "POST": gid("Post", post.id),
        "COMMENT": gid("Comment", comment.id),
        # Anonymous calls stop before any lookup: ids of no real object are enough.
        "CASE": gid("ModerationCase", 1),
        "ACTION": gid("ModerationAction", 1),
        "APPEAL": gid("ModerationAppeal", 1),
    }
    query, variables = ANONYMOUS_CASES[mutation]

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return real_ids.get(value, value) if isinstance(value, str) else value

    await anonymous(world, query, resolve(variables))


# --- tokens: tampered, expired, replayed (the API-level cases the service tests leave out) ----


async def test_a_replayed_refresh_token_ends_the_session_through_the_api(live: LiveApp) -> None:
    first = await sign_up(live, "replayed")
    rotated = (await live.graphql(REFRESH, {"token": first["refreshToken"]}))["data"][
        "refreshSession"
    ]
    assert rotated["userErrors"] == []
    replay = await live.graphql(REFRESH, {"token": first["refreshToken"]})
    assert replay["data"]["refreshSession"] == {
        "accessToken": None,
        "refreshToken": None,
        "viewer": None,
        "userErrors": error("INVALID_CREDENTIALS"),
    }
    revoked = await live.resources.db.fetchval("SELECT revoked_at IS NOT NULL FROM sessions")
    assert revoked is True
    # The legitimate holder's newer tokens stop too: the session is over for everyone.
    after = await live.graphql(REFRESH, {"token": rotated["refreshToken"]})
    assert after["data"]["refreshSession"]["userErrors"] == error("INVALID_CREDENTIALS")
    viewer = await live.graphql("{ viewer { id } }", token=rotated["accessToken"])
    assert viewer["data"] == {"viewer": None}
    assert viewer["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_unsigned_and_foreign_algorithm_access_tokens_are_refused(live: LiveApp) -> None:
    payload = await sign_up(live, "algo")
    claims = jwt.decode(payload["accessToken"], options={"verify_signature": False})
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    for forged in (unsigned, unsigned + "AAAA"):
        body = await live.graphql("{ viewer { id } }", token=forged)
        assert body["data"] == {"viewer": None}
        assert body["errors"][0]["message"] == "Not signed in: invalid access token."
