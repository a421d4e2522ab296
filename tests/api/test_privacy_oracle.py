"""The privacy oracle (#18, item 5): random small worlds, every read field of the API asked by
every viewer (and anonymously) over GraphQL against the real app, compared with a plain Python
reference of the contract's rule; and again after Redis is flushed (feeds, counters and
explore snapshots rebuilt from PostgreSQL).

How a world is built, and why:
- users, their privacy, the initial follows, follow requests, blocks and mutes are written
  straight into PostgreSQL (fast, and the starting state is then exactly what the reference
  holds; the generator never writes a follow or a request across a block);
- everything after that goes through the API, as a client would: posts (carousels of READY
  media made in SQL, captions with words, #hashtags and @mentions; fan-out by a burst worker),
  likes, comments with @mentions, and a random interleaving of followUser / unfollowUser /
  approve / decline / cancel, blockUser / unblockUser, muteUser / unmuteUser and
  updateProfile(isPrivate). So feeds, counters, notifications and the block's feed clean-up
  are the real ones, and every refusal (BLOCKED, NOT_FOUND) is checked where it happens.

Moderation (#19) is part of the world: reportContent ops (two distinct reporters hide a post
or comment pending review) and an admin's REMOVE or DISMISS of a case through the API; held
content is hidden from everyone, its author included, and leaves the counters
(docs/moderation.md).

The reference (`Model`) is independent of services/visibility.py: the predicates below are the
contract's, written out (/tmp/s8/privacy_contract.md, "The rule"). After the build, the
relational facts (follows, requests, blocks, mutes, privacy, counts, likes, comments) are
checked against the model first: a mutation that wrote the wrong facts fails there, not as a
confusing visibility difference. Orders come from the stored timestamps (the documented keys:
newest first with the id as tie-break, comments oldest first).

Where the contract is silent the oracle is deliberately tolerant, and says so in `count_ok` and
`check_notifications`: a count on a partly hidden list (totalCount, likeCount, commentCount)
may be either the whole count or the visible one; a notification whose post the viewer may not
see may be left out or listed with `post: null`; the FOLLOW / FOLLOW_REQUEST /
FOLLOW_ACCEPTED kinds are checked for visibility only (the contract fixes who receives them,
not how approving or going public aggregates them).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resources import Resources
from schema.global_ids import decode_global_id, encode_global_id
from services import suspensions
from services.tokens import AccessTokens
from settings import Settings
from tests.api.configured import app_with
from tests.api.test_suspensions_api import pass_the_end
from tests.conftest import LiveApp, reset_state, run_worker_until_idle
from tests.factories import make_media, make_user
from tests.feed_factories import insert_follows

WORDS = ("tulip", "harbor", "meadow")
TAGS = ("kayak", "zebra", "quartz")
MAX_USERS = 5
MAX_POSTS_PER_AUTHOR = 2
"""Explore spreads authors (at most 2 posts of one author in any 30 positions, the rest wait and
may be left out at the end): with at most 2 each, explore must list every candidate."""
PAGE = 3
"""Feed and explore are read in pages this small, so that cursors carry the rule too."""

FOLLOW_KINDS = {"FOLLOW", "FOLLOW_REQUEST", "FOLLOW_ACCEPTED"}
HIDE_AFTER_REPORTS = 2
"""The oracle app's MODERATION_HIDE_AFTER_REPORTS: two distinct reporters hide a post or a
comment pending review (docs/moderation.md)."""
MODERATOR = "zmod"
"""The admin who resolves cases through the API: an account outside the world (no follows,
posts or blocks; no 'u' in its name, so the people search of the world never lists it)."""


# --------------------------------------------------------------------------------------------
# The reference: the contract's rule in plain Python over the model's facts.


@dataclass
class PostFact:
    id: int
    author: int
    media: list[int]
    caption: str
    tags: list[str]
    words: list[str]
    held: str | None = None
    """Moderation holds it back: HIDDEN_PENDING_REVIEW or REMOVED (hidden from everyone)."""


@dataclass
class CommentFact:
    id: int
    post: int
    author: int
    text: str
    held: str | None = None


@dataclass
class Event:
    """One notification event: (recipient, kind, post) is its group (nothing is ever marked
    read and the world lives well inside the 24 h window, so each key is one group)."""

    recipient: int
    kind: str
    post: int | None
    actor: int
    seq: int


@dataclass
class Model:
    n: int
    private: list[bool]
    follows: set[tuple[int, int]] = field(default_factory=set)
    """(follower, followee), approved."""
    requests: set[tuple[int, int]] = field(default_factory=set)
    """(requester, target), pending."""
    blocks: set[tuple[int, int]] = field(default_factory=set)
    """(blocker, blocked)."""
    mutes: set[tuple[int, int]] = field(default_factory=set)
    """(muter, muted)."""
    posts: list[PostFact] = field(default_factory=list)
    likes: set[tuple[int, int]] = field(default_factory=set)
    """(post id, liker)."""
    comments: list[CommentFact] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    media_owner: dict[int, int] = field(default_factory=dict)
    suspended: set[int] = field(default_factory=set)
    """Accounts suspended or banned now (#19): hidden from everyone; they have no session."""
    cases: dict[tuple[str, int], set[int]] = field(default_factory=dict)
    """(kind, id) of each post or comment under review -> its distinct reporters."""
    removals: list[int] = field(default_factory=list)
    """The recipient of each CONTENT_REMOVED notice (one per removal, never aggregated)."""

    # The rule (contract, "The rule"; #19: a suspended account is hidden from everyone as by a
    # block, its follows kept). Viewer None: anonymous.
    def blocked(self, a: int, b: int) -> bool:
        return (a, b) in self.blocks or (b, a) in self.blocks

    def may_see_user(self, viewer: int | None, user: int) -> bool:
        if user in self.suspended:
            return viewer == user
        return viewer is None or not self.blocked(viewer, user)

    def may_see_content(self, viewer: int | None, user: int) -> bool:
        return self.may_see_user(viewer, user) and (
            not self.private[user] or viewer == user or (viewer, user) in self.follows
        )

    def may_see_post(self, viewer: int | None, post: PostFact) -> bool:
        # Every post of a world is published; moderation's hold hides it from everyone.
        return post.held is None and self.may_see_content(viewer, post.author)

    def may_see_comment(self, viewer: int | None, comment: CommentFact) -> bool:
        return (
            comment.held is None
            and self.may_see_post(viewer, self.post(comment.post))
            and self.may_see_user(viewer, comment.author)
        )

    def shown_posts_of(self, author: int) -> list[PostFact]:
        """The author's posts that moderation does not hold back (users.post_count)."""
        return [p for p in self.posts if p.author == author and p.held is None]

    def post(self, post_id: int) -> PostFact:
        return next(post for post in self.posts if post.id == post_id)

    def feed_authors(self, viewer: int) -> set[int]:
        return {
            author
            for author in range(self.n)
            if (author == viewer or (viewer, author) in self.follows)
            and (viewer, author) not in self.mutes
            and self.may_see_user(viewer, author)
        }

    def notify(self, recipient: int, kind: str, post: int | None, actor: int) -> None:
        self.events.append(Event(recipient, kind, post, actor, len(self.events)))


@dataclass
class Facts:
    """Stored timestamps that give the documented orders (read once the world is built)."""

    published: dict[int, datetime]
    followed_at: dict[tuple[int, int], datetime]
    requested_at: dict[tuple[int, int], datetime]
    blocked_at: dict[tuple[int, int], datetime]
    muted_at: dict[tuple[int, int], datetime]
    liked_at: dict[tuple[int, int], datetime]
    commented_at: dict[int, datetime]


def newest_first(items: Iterable[Any], key: Any) -> list[Any]:
    return sorted(items, key=key, reverse=True)


# --------------------------------------------------------------------------------------------
# Worlds (hypothesis).


@dataclass(frozen=True)
class PostSpec:
    author: int
    media: int
    words: tuple[str, ...]
    tags: tuple[str, ...]
    mentions: tuple[int, ...]


@dataclass(frozen=True)
class Op:
    kind: str
    a: int
    b: int = 0
    words: tuple[str, ...] = ()
    mentions: tuple[int, ...] = ()


@dataclass(frozen=True)
class World:
    n: int
    private: tuple[bool, ...]
    edges: tuple[tuple[int, int], ...]
    blocks: tuple[tuple[int, int], ...]
    mutes: tuple[tuple[int, int], ...]
    posts: tuple[PostSpec, ...]
    ops: tuple[Op, ...]
    suspensions: tuple[tuple[int, str], ...] = ()
    """(user, SUSPENSIONS kind), applied once the world is built."""
    moderation: tuple[tuple[int, tuple[int, ...], str], ...] = ()
    """After the ops: (which post or comment, who reports it, then REMOVE, DISMISS or no
    decision), so that most worlds hold content hidden pending review or removed."""


SUSPENSIONS = ("SUSPENDED", "BANNED", "LAPSED")
"""Suspended until a time ahead, banned, or suspended until a time that has passed (over)."""


OP_KINDS = (
    "like",
    "like",
    "comment",
    "comment",
    "follow",
    "unfollow",
    "approve",
    "decline",
    "cancel",
    "block",
    "block",
    "unblock",
    "mute",
    "unmute",
    "private",
    "public",
    "report",
    "report",
    "report",
    "remove",
    "dismiss",
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n = draw(st.integers(3, MAX_USERS))
    user = st.integers(0, n - 1)
    pair = st.tuples(user, user).filter(lambda p: p[0] != p[1])
    private = tuple(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    edges = tuple(draw(st.lists(pair, max_size=10, unique=True)))
    blocks = tuple(draw(st.lists(pair, max_size=2, unique=True)))
    mutes = tuple(draw(st.lists(pair, max_size=2, unique=True)))
    mentions = st.lists(user, max_size=2, unique=True).map(tuple)
    words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=2, unique=True).map(tuple)
    posts = draw(
        st.lists(
            st.builds(
                PostSpec,
                user,
                st.integers(1, 3),
                words,
                st.lists(st.sampled_from(TAGS), max_size=2, unique=True).map(tuple),
                mentions,
            ),
            min_size=1,
            max_size=7,
        )
    )
    ops = draw(
        st.lists(
            st.builds(Op, st.sampled_from(OP_KINDS), user, st.integers(0, 20), words, mentions),
            max_size=14,
        )
    )
    moderation = draw(
        st.lists(
            st.tuples(
                st.integers(0, 20),
                st.lists(user, min_size=1, max_size=3, unique=True).map(tuple),
                st.sampled_from(["", "REMOVE", "DISMISS"]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    suspensions = draw(
        st.lists(
            st.tuples(user, st.sampled_from(SUSPENSIONS)), max_size=2, unique_by=lambda s: s[0]
        )
    )
    return World(
        n,
        private,
        edges,
        blocks,
        mutes,
        tuple(posts),
        tuple(ops),
        moderation=tuple(moderation),
        suspensions=tuple(suspensions),
    )


# --------------------------------------------------------------------------------------------
# The app and its clients.


@dataclass
class Client:
    live: LiveApp
    tokens: list[str]
    user_ids: list[int]
    moderator_token: str = ""

    async def ask(
        self, viewer: int | None, query: str, variables: dict[str, Any] | None = None
    ) -> Any:
        """The `data` of a query as `viewer`; fails on any error."""
        token = None if viewer is None else self.tokens[viewer]
        body = await self.live.graphql(query, variables, token=token)
        assert "errors" not in body, (viewer, body.get("errors"))
        return body["data"]

    def gid(self, type_name: str, record_id: int) -> str:
        return str(encode_global_id(type_name, record_id))

    def uid(self, index: int) -> str:
        return self.gid("User", self.user_ids[index])


class OracleApp:
    """The served app and the test settings (a short repr: hypothesis prints its arguments)."""

    def __init__(self, live: LiveApp, settings: Settings) -> None:
        self.live, self.settings = live, settings

    def __repr__(self) -> str:
        return f"OracleApp({self.live.base_url})"


@pytest.fixture
async def oracle_app(settings: Settings, resources: Resources) -> AsyncIterator[OracleApp]:
    """The real app with the points budget off and the document limits raised: the oracle asks
    big documents many times; admission limits are not what it tests."""
    async with app_with(
        settings,
        resources,
        query_budget_enabled=False,
        query_max_cost=10**7,
        query_max_aliases=500,
        query_max_tokens=50_000,
        query_max_selections=50_000,
        moderation_hide_after_reports=HIDE_AFTER_REPORTS,
    ) as live:
        yield OracleApp(live, settings)


def token_for(settings: Settings, user_id: int) -> str:
    assert settings.secret_key
    return AccessTokens(settings.secret_key, ttl_seconds=900).issue(user_id, uuid.uuid4())[0]


# --------------------------------------------------------------------------------------------
# Building a world: SQL for the starting graph, the API for everything after.

CREATE_POST = """
mutation P($input: CreatePostInput!) {
  createPost(input: $input) { post { id status } userErrors { code } } }
"""
LIKE = "mutation L($id: ID!) { likePost(input: {postId: $id}) { userErrors { code } } }"
COMMENT = """
mutation C($id: ID!, $text: String!) {
  addComment(input: {postId: $id, text: $text}) { comment { id } userErrors { code } } }
"""
FOLLOW = """
mutation F($id: ID!) { followUser(input: {userId: $id}) { status userErrors { code } } }
"""
USER_MUTATION = (
    "mutation M($id: ID!) {{ {name}(input: {{userId: $id}}) {{ userErrors {{ code }} }} }}"
)
SET_PRIVATE = """
mutation S($private: Boolean!) {
  updateProfile(input: {isPrivate: $private}) { userErrors { code } } }
"""


def caption_of(words: Iterable[str], tags: Iterable[str], mentions: Iterable[int]) -> str:
    return " ".join([*words, *(f"#{tag}" for tag in tags), *(f"@u{m}" for m in mentions)])


async def build_world(world: World, live: LiveApp, settings: Settings) -> tuple[Model, Client]:
    db = live.resources.db
    model = Model(n=world.n, private=list(world.private))
    users = [
        await make_user(db, f"u{index}", full_name=f"User {index}") for index in range(world.n)
    ]
    ids = [user.id for user in users]
    client = Client(live, [token_for(settings, user_id) for user_id in ids], ids)
    moderator = await make_user(db, MODERATOR)
    await db.execute("UPDATE users SET role = 'ADMIN' WHERE id = $1", moderator.id)
    client.moderator_token = token_for(settings, moderator.id)
    await db.execute(
        "UPDATE users SET is_private = true WHERE id = ANY($1::bigint[])",
        [ids[index] for index in range(world.n) if world.private[index]],
    )
    model.blocks = set(world.blocks)
    model.mutes = {pair for pair in world.mutes if not model.blocked(*pair)}
    for follower, followee in world.edges:
        if model.blocked(follower, followee):
            continue
        # A private account's edges are half approved follows, half pending requests.
        if world.private[followee] and (follower + followee) % 2:
            model.requests.add((follower, followee))
        else:
            model.follows.add((follower, followee))
    await insert_follows(db, [(ids[a], ids[b]) for a, b in sorted(model.follows)])
    for table, columns, pairs in (
        ("follow_requests", "requester_id, target_id", model.requests),
        ("blocks", "blocker_id, blocked_id", model.blocks),
        ("mutes", "muter_id, muted_id", model.mutes),
    ):
        await db.execute(
            f"INSERT INTO {table} ({columns}) SELECT * FROM unnest($1::bigint[], $2::bigint[])",
            [ids[a] for a, _ in pairs],
            [ids[b] for _, b in pairs],
        )

    per_author: dict[int, int] = {}
    for spec in world.posts:
        if per_author.get(spec.author, 0) >= MAX_POSTS_PER_AUTHOR:
            continue
        per_author[spec.author] = per_author.get(spec.author, 0) + 1
        await create_post(model, client, spec)
    await run_worker_until_idle(settings)  # fan-out of the posts

    for op in world.ops:
        await apply(model, client, op)
    for pick, reporters, decision in world.moderation:
        if pick % 2 and not model.comments and model.posts:
            # A comment to report: its post's author writes it (no notification, no refusal).
            post = model.posts[pick // 2 % len(model.posts)]
            if post.held is None:
                op = Op("comment", post.author, words=("meadow",))
                await like_or_comment(model, client, op, post.author, post)
        picked = reportable_item(model, pick)
        if picked is None:
            break
        for reporter in reporters:
            await report(model, client, reporter % model.n, pick)
        type_name, item = picked
        if decision and (type_name, item.id) in model.cases:
            await decide_case(model, client, (type_name, item.id), decision)
    await run_worker_until_idle(settings)  # whatever the ops queued (a block's feed clean-up)
    return model, client


async def suspend(world: World, model: Model, client: Client) -> None:
    """Suspend, ban, or suspend and let the end pass (tests/api/test_suspensions_api.py), through
    the seam the moderation actions call (services.suspensions)."""
    resources = client.live.resources
    until = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    for index, kind in world.suspensions:
        user_id = client.user_ids[index]
        end = None if kind == "BANNED" else until
        await suspensions.suspend_account(resources.accounts, user_id, until=end, reason=kind)
        if kind == "LAPSED":
            await pass_the_end(resources, user_id, until)
        else:
            model.suspended.add(index)
    # Each feeds' repair job waits, deferred to its end: the checks flush Redis before lifting.


async def lift_all(world: World, model: Model, client: Client, settings: Settings) -> None:
    """Lift every suspension of the world; the feeds' repairs run (the burst worker ends once
    the queue is empty: no repair deferred to an end is left, Redis was flushed)."""
    for index, _ in world.suspensions:
        await suspensions.lift_suspension(client.live.resources.accounts, client.user_ids[index])
    model.suspended.clear()
    await run_worker_until_idle(settings)


async def create_post(model: Model, client: Client, spec: PostSpec) -> None:
    db = client.live.resources.db
    media = [await make_media(db, client.user_ids[spec.author]) for _ in range(spec.media)]
    for media_id in media:
        model.media_owner[media_id] = spec.author
    mentions = tuple(m for m in spec.mentions if m < model.n)
    caption = caption_of(spec.words, spec.tags, mentions)
    data = await client.ask(
        spec.author,
        CREATE_POST,
        {
            "input": {
                "media": [{"mediaId": client.gid("Media", m)} for m in media],
                "caption": caption,
            }
        },
    )
    payload = data["createPost"]
    if any((spec.author, m) in model.blocks for m in mentions):
        # Mentioning an account one blocked is refused (contract: UserErrorCode BLOCKED).
        assert payload == {"post": None, "userErrors": [{"code": "BLOCKED"}]}, (spec, payload)
        return
    assert payload["userErrors"] == [], payload
    assert payload["post"]["status"] == "PUBLISHED", payload
    post_id = decode(payload["post"]["id"])
    model.posts.append(
        PostFact(post_id, spec.author, media, caption, list(spec.tags), list(spec.words))
    )
    for mentioned in mentions:
        # An account that blocked the author is invisible to it: plain text, no notification.
        if mentioned != spec.author and (mentioned, spec.author) not in model.blocks:
            model.notify(mentioned, "MENTION", post_id, spec.author)


def decode(global_id: str) -> int:
    decoded = decode_global_id(global_id)
    assert decoded is not None, global_id
    return decoded[1]


async def apply(model: Model, client: Client, op: Op) -> None:
    """Apply one op through the API and to the model; asserts the payload's userErrors."""
    a, b = op.a % model.n, op.b % model.n
    kind = op.kind
    if kind in ("like", "comment"):
        if not model.posts:
            return
        await like_or_comment(model, client, op, a, model.posts[op.b % len(model.posts)])
        return
    if kind == "report":
        await report(model, client, a, op.b)
        return
    if kind in ("remove", "dismiss"):
        await decide(model, client, kind, op.b)
        return
    if a == b:
        return
    expected: list[str] = []
    if kind == "follow":
        status = None
        if model.blocked(a, b):
            expected = refusal(model, a, b)
        elif (a, b) in model.follows:
            status = "FOLLOWING"
        elif model.private[b]:
            model.requests.add((a, b))
            status = "REQUESTED"
        else:
            model.follows.add((a, b))
            status = "FOLLOWING"
        data = await client.ask(a, FOLLOW, {"id": client.uid(b)})
        got = data["followUser"]
        assert codes(got) in accepted(expected), (op, got)
        assert got["status"] == status, (op, got)
        return
    if kind == "unfollow":
        if model.blocked(a, b) or (a, b) in model.requests:
            return  # the contract says nothing of unfollowing across a block or a request
        model.follows.discard((a, b))
        name = "unfollowUser"
    elif kind in ("approve", "decline", "cancel"):
        requester, target = (a, b) if kind == "cancel" else (b, a)
        if (requester, target) not in model.requests:
            return
        model.requests.discard((requester, target))
        if kind == "approve":
            model.follows.add((requester, target))
        name = f"{kind}FollowRequest"
    elif kind in ("block", "unblock"):
        await block_or_unblock(model, client, op, a, b)
        return
    elif kind in ("mute", "unmute"):
        if model.blocked(a, b):
            return  # muting an account one cannot see is not what the oracle is about
        if kind == "mute":
            model.mutes.add((a, b))
        else:
            model.mutes.discard((a, b))
        name = f"{kind}User"
    else:  # private / public
        going_private = kind == "private"
        if not going_private and model.private[a]:
            # Switching to public approves what is pending.
            model.follows |= {(r, t) for r, t in model.requests if t == a}
            model.requests = {(r, t) for r, t in model.requests if t != a}
        model.private[a] = going_private
        data = await client.ask(a, SET_PRIVATE, {"private": going_private})
        assert data["updateProfile"]["userErrors"] == [], (op, data)
        return
    data = await client.ask(a, USER_MUTATION.format(name=name), {"id": client.uid(b)})
    assert data[name]["userErrors"] == [], (op, data)


REPORT = """
mutation R($id: ID!) { reportContent(input: {subject: $id, reason: SPAM}) {
  ok userErrors { code } } }
"""
RESOLVE = """
mutation D($id: ID!, $action: ModerationDecision!) {
  resolveCase(input: {caseId: $id, action: $action, reason: "oracle"}) { userErrors { code } } }
"""


def reportable_item(model: Model, pick: int) -> tuple[str, PostFact | CommentFact] | None:
    """The post or comment `pick` names: a comment when it is odd and there are comments."""
    if pick % 2 and model.comments:
        return "Comment", model.comments[pick // 2 % len(model.comments)]
    if model.posts:
        return "Post", model.posts[pick // 2 % len(model.posts)]
    return None


async def report(model: Model, client: Client, reporter: int, pick: int) -> None:
    """reportContent by `reporter` of a post or comment: NOT_FOUND when the reporter cannot
    see it (moderation's hold included), INVALID_INPUT for their own, else ok; the second
    distinct reporter of a case hides it pending review (HIDE_AFTER_REPORTS)."""
    picked = reportable_item(model, pick)
    if picked is None:
        return
    type_name, item = picked
    visible = (
        model.may_see_post(reporter, item)
        if isinstance(item, PostFact)
        else model.may_see_comment(reporter, item)
    )
    data = await client.ask(reporter, REPORT, {"id": client.gid(type_name, item.id)})
    got = data["reportContent"]
    if not visible:
        assert got == {"ok": False, "userErrors": [{"code": "NOT_FOUND"}]}, (item, got)
        return
    if item.author == reporter:
        assert got == {"ok": False, "userErrors": [{"code": "INVALID_INPUT"}]}, (item, got)
        return
    assert got == {"ok": True, "userErrors": []}, (item, got)
    reporters = model.cases.setdefault((type_name, item.id), set())
    reporters.add(reporter)
    if len(reporters) >= HIDE_AFTER_REPORTS and item.held is None:
        item.held = "HIDDEN_PENDING_REVIEW"
        hypothesis.event(f"moderation: a {type_name.lower()} hidden pending review")


async def decide(model: Model, client: Client, kind: str, pick: int) -> None:
    """The `remove` and `dismiss` ops: the admin resolves one of the cases under review."""
    if model.cases:
        case = sorted(model.cases)[pick % len(model.cases)]
        await decide_case(model, client, case, "REMOVE" if kind == "remove" else "DISMISS")


async def decide_case(model: Model, client: Client, case: tuple[str, int], action: str) -> None:
    """The admin resolves the case of this post or comment through the API: REMOVE (the
    author gets a CONTENT_REMOVED notice) or DISMISS (a hidden item is shown again)."""
    type_name, item_id = case
    db = client.live.resources.db
    case_id = await db.fetchval(
        "SELECT id FROM moderation_cases WHERE subject_kind = $1 AND subject_id = $2"
        " AND status <> 'RESOLVED'",
        type_name.upper(),
        item_id,
    )
    body = await client.live.graphql(
        RESOLVE,
        {"id": client.gid("ModerationCase", case_id), "action": action},
        token=client.moderator_token,
    )
    assert body == {"data": {"resolveCase": {"userErrors": []}}}, body
    del model.cases[(type_name, item_id)]
    item: PostFact | CommentFact = (
        model.post(item_id)
        if type_name == "Post"
        else next(c for c in model.comments if c.id == item_id)
    )
    hypothesis.event(f"moderation: a {type_name.lower()}'s case resolved {action}")
    if action == "REMOVE":
        item.held = "REMOVED"
        model.removals.append(item.author)
    elif item.held == "HIDDEN_PENDING_REVIEW":
        item.held = None


async def block_or_unblock(model: Model, client: Client, op: Op, a: int, b: int) -> None:
    """blockUser / unblockUser by `a` of `b`. An account that blocked `a` is invisible to it:
    NOT_FOUND, nothing changed (never reveal a block). CONTRACT-SILENT when each blocked the
    other: either an answer without errors or NOT_FOUND is accepted, and the model follows it
    (the stored facts are checked against the model afterwards)."""
    name = f"{op.kind}User"
    data = await client.ask(a, USER_MUTATION.format(name=name), {"id": client.uid(b)})
    got = codes(data[name])
    if (b, a) in model.blocks:
        if (a, b) not in model.blocks:
            assert got == ["NOT_FOUND"], (op, data)
            return
        assert got in ([], ["NOT_FOUND"]), (op, data)
        if got:
            return
    else:
        assert got == [], (op, data)
    if op.kind == "unblock":
        model.blocks.discard((a, b))
        return
    model.blocks.add((a, b))
    model.follows -= {(a, b), (b, a)}
    model.requests -= {(a, b), (b, a)}
    # The old notifications between the two leave (privacy's documented choice, see
    # docs/privacy.md: each side's events are taken out of the other's groups, so they do not
    # come back on unblock; the contract only says "hidden").
    model.events = [e for e in model.events if (e.recipient, e.actor) not in {(a, b), (b, a)}]


MUTUAL = ["BLOCKED or NOT_FOUND"]


def refusal(model: Model, actor: int, target: int) -> list[str]:
    """The error for acting on `target`'s account or content: BLOCKED when the actor blocked
    it, NOT_FOUND when the actor is the one blocked (never reveal a block) or cannot see it.
    CONTRACT-SILENT: when each blocked the other, either is accepted."""
    if (actor, target) in model.blocks and (target, actor) in model.blocks:
        return MUTUAL
    return ["BLOCKED"] if (actor, target) in model.blocks else ["NOT_FOUND"]


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


def accepted(expected: list[str]) -> list[list[str]]:
    return [["BLOCKED"], ["NOT_FOUND"]] if expected == MUTUAL else [expected]


async def like_or_comment(model: Model, client: Client, op: Op, actor: int, post: PostFact) -> None:
    post_gid = client.gid("Post", post.id)
    mentions = tuple(m for m in op.mentions if m < model.n)
    if post.held is not None:
        expected = ["NOT_FOUND"]  # held back from everyone: no block is checked
    elif not model.may_see_post(actor, post):
        expected = refusal(model, actor, post.author)
    elif op.kind == "comment" and any((actor, m) in model.blocks for m in mentions):
        expected = ["BLOCKED"]
    else:
        expected = []
    if op.kind == "like":
        data = await client.ask(actor, LIKE, {"id": post_gid})
        assert codes(data["likePost"]) in accepted(expected), (op, data)
        if not expected and (post.id, actor) not in model.likes:
            model.likes.add((post.id, actor))
            if actor != post.author:
                model.notify(post.author, "LIKE", post.id, actor)
        return
    text = caption_of(op.words, (), mentions)
    data = await client.ask(actor, COMMENT, {"id": post_gid, "text": text})
    payload = data["addComment"]
    assert codes(payload) in accepted(expected), (op, payload)
    if expected:
        assert payload["comment"] is None, payload
        return
    comment_id = decode(payload["comment"]["id"])
    model.comments.append(CommentFact(comment_id, post.id, actor, text))
    if actor != post.author:
        model.notify(post.author, "COMMENT", post.id, actor)
    for mentioned in mentions:
        if mentioned != actor and (mentioned, actor) not in model.blocks:
            model.notify(mentioned, "MENTION", post.id, actor)


# --------------------------------------------------------------------------------------------
# The stored facts must be the model's (mutations wrote what the contract says).


async def check_facts(model: Model, client: Client) -> Facts:
    db = client.live.resources.db
    index = {user_id: i for i, user_id in enumerate(client.user_ids)}

    async def pairs(sql: str) -> dict[tuple[int, int], datetime]:
        return {(index[r[0]], index[r[1]]): r[2] for r in await db.fetch(sql)}

    follows = await pairs("SELECT follower_id, followee_id, created_at FROM follows")
    requests = await pairs("SELECT requester_id, target_id, created_at FROM follow_requests")
    blocks = await pairs("SELECT blocker_id, blocked_id, created_at FROM blocks")
    mutes = await pairs("SELECT muter_id, muted_id, created_at FROM mutes")
    assert set(follows) == model.follows
    assert set(requests) == model.requests
    assert set(blocks) == model.blocks
    assert set(mutes) == model.mutes
    users = await db.fetch(
        "SELECT id, is_private, follower_count, following_count, post_count FROM users"
        " WHERE id = ANY($1::bigint[])",
        client.user_ids,
    )
    for row in users:
        i = index[row["id"]]
        assert row["is_private"] == model.private[i], f"u{i} is_private"
        assert row["follower_count"] == sum(1 for _, b in model.follows if b == i), f"u{i}"
        assert row["following_count"] == sum(1 for a, _ in model.follows if a == i), f"u{i}"
        assert row["post_count"] == len(model.shown_posts_of(i)), f"u{i}"
    posts = {
        r["id"]: r["published_at"]
        for r in await db.fetch("SELECT id, published_at FROM posts WHERE status = 'PUBLISHED'")
    }
    assert set(posts) == {post.id for post in model.posts}
    likes = {
        (r["post_id"], index[r["user_id"]]): r["created_at"]
        for r in await db.fetch("SELECT post_id, user_id, created_at FROM likes")
    }
    assert set(likes) == model.likes
    comments = {
        r["id"]: r["created_at"] for r in await db.fetch("SELECT id, created_at FROM comments")
    }
    assert set(comments) == {comment.id for comment in model.comments}
    return Facts(posts, follows, requests, blocks, mutes, likes, comments)


# --------------------------------------------------------------------------------------------
# What every viewer asks, and what the reference says they must see.

POST_FIELDS = """
fragment PostFields on Post {
  id caption hashtags likeCount commentCount viewerHasLiked
  author { username }
  media { id }
  comments(first: 50) { totalCount edges { node { id text author { username } } } }
  likers(first: 50) { totalCount edges { node { username } } }
}
"""
USER_FIELDS = """
fragment UserFields on User {
  id username fullName isPrivate followerCount followingCount postCount
  viewerIsFollowing followsViewer viewerFollowRequested viewerHasBlocked viewerHasMuted
  posts(first: 20) { totalCount edges { node { ...PostFields } } }
  followers(first: 50) { totalCount edges { node { username } } }
  following(first: 50) { totalCount edges { node { username } } }
  followRequests(first: 50) { edges { node { username } } }
  blockedUsers(first: 50) { edges { node { username viewerHasBlocked } } }
  mutedUsers(first: 50) { edges { node { username viewerHasMuted } } }
}
"""
FEED_PAGE = (
    f"""
query Feed($order: FeedOrder!, $after: String) {{
  feed(first: {PAGE}, order: $order, after: $after) {{
    edges {{ cursor node {{ ...PostFields }} }} pageInfo {{ hasNextPage endCursor }} }} }}
"""
    + POST_FIELDS
)
EXPLORE_PAGE = (
    f"""
query Explore($after: String) {{
  explore(first: {PAGE}, after: $after) {{
    edges {{ node {{ ...PostFields }} }} pageInfo {{ hasNextPage endCursor }} }} }}
"""
    + POST_FIELDS
)
NOTIFICATIONS = """
{ notifications(first: 100) { edges { node {
    id kind actorCount createdAt actor { username } post { id } comment { id author { username } }
} } } }
"""


def world_query(model: Model, client: Client, notification_ids: list[int]) -> str:
    """One document: the viewer, every profile, every post, every hashtag page in both orders,
    searches for people and for each word, and node/nodes over every id of the world."""
    parts = ["viewer { ...UserFields }"]
    parts += [f'u{i}: user(username: "u{i}") {{ ...UserFields }}' for i in range(model.n)]
    parts += [
        f'p{p.id}: post(id: "{client.gid("Post", p.id)}") {{ ...PostFields }}' for p in model.posts
    ]
    for tag in TAGS:
        parts.append(
            f'tag_{tag}: hashtag(name: "{tag}") {{ name'
            " recent: posts(first: 50, order: RECENT)"
            " { totalCount edges { node { ...PostFields } } }"
            " top: posts(first: 50, order: TOP)"
            " { totalCount edges { node { ...PostFields } } } }"
        )
    parts.append('people: search(query: "u") { users { username } }')
    for word in WORDS:
        parts.append(
            f'search_{word}: search(query: "{word}")'
            " { posts(first: 50) { edges { node { ...PostFields } } } }"
        )
    ids = all_ids(model, client, notification_ids)
    quoted = ", ".join(f'"{gid}"' for gid in ids)
    parts.append(f"nodes(ids: [{quoted}]) {{ __typename id }}")
    parts += [
        f'node{index}: node(id: "{gid}") {{ __typename id }}' for index, gid in enumerate(ids)
    ]
    return "{\n" + "\n".join(parts) + "\n}" + USER_FIELDS + POST_FIELDS


def all_ids(model: Model, client: Client, notification_ids: list[int]) -> list[str]:
    return [
        *(client.uid(i) for i in range(model.n)),
        *(client.gid("Post", p.id) for p in model.posts),
        *(client.gid("Comment", c.id) for c in model.comments),
        *(client.gid("Media", m) for m in sorted(model.media_owner)),
        *(client.gid("Notification", n) for n in notification_ids),
    ]


def count_ok(got: int | None, visible: int, whole: int) -> bool:
    """CONTRACT-SILENT tolerance: a count on a list some of whose items the viewer may not see
    is either the whole count or the visible one (never anything else)."""
    return got in {visible, whole}


class Checker:
    def __init__(self, model: Model, client: Client, facts: Facts, viewer: int | None) -> None:
        self.m, self.c, self.f, self.v = model, client, facts, viewer
        self.name = {i: f"u{i}" for i in range(model.n)}

    def who(self) -> str:
        return "anonymous" if self.v is None else f"u{self.v}"

    def expected_post_ids(self, posts: Iterable[PostFact]) -> list[str]:
        """Newest first (published_at, id), as global ids."""
        chosen = newest_first(posts, key=lambda p: (self.f.published[p.id], p.id))
        return [self.c.gid("Post", p.id) for p in chosen]

    def check_post(self, node: dict[str, Any], where: str) -> None:
        """A post as listed anywhere: the viewer may see it, and its nested lists obey the rule."""
        post = self.m.post(decode(node["id"]))
        m, v = self.m, self.v
        assert m.may_see_post(v, post), (
            f"{self.who()} sees post {post.id} of u{post.author} in {where}"
        )
        assert node["author"] == {"username": self.name[post.author]}
        assert node["caption"] == post.caption
        assert node["hashtags"] == post.tags, where
        assert [media["id"] for media in node["media"]] == [
            self.c.gid("Media", media_id) for media_id in post.media
        ]
        comments = sorted(
            (c for c in m.comments if c.post == post.id and c.held is None),
            key=lambda c: (self.f.commented_at[c.id], c.id),
        )
        visible = [c for c in comments if m.may_see_user(v, c.author)]
        got_comments = node["comments"]
        assert [
            (e["node"]["id"], e["node"]["author"]["username"]) for e in got_comments["edges"]
        ] == [(self.c.gid("Comment", c.id), self.name[c.author]) for c in visible], (
            f"{self.who()}: comments of post {post.id} in {where}"
        )
        assert count_ok(got_comments["totalCount"], len(visible), len(comments)), where
        assert count_ok(node["commentCount"], len(visible), len(comments)), where
        likers = newest_first(
            (liker for post_id, liker in m.likes if post_id == post.id),
            key=lambda liker: (self.f.liked_at[(post.id, liker)], self.c.user_ids[liker]),
        )
        visible_likers = [liker for liker in likers if m.may_see_user(v, liker)]
        assert [e["node"]["username"] for e in node["likers"]["edges"]] == [
            self.name[liker] for liker in visible_likers
        ], f"{self.who()}: likers of post {post.id} in {where}"
        assert count_ok(node["likers"]["totalCount"], len(visible_likers), len(likers)), where
        assert count_ok(node["likeCount"], len(visible_likers), len(likers)), where
        assert node["viewerHasLiked"] == ((post.id, v) in m.likes if v is not None else False)

    def check_posts(
        self, edges: list[dict[str, Any]], expected: list[PostFact], where: str, *, ordered: bool
    ) -> None:
        got = [edge["node"]["id"] for edge in edges]
        want = self.expected_post_ids(expected)
        if ordered:
            assert got == want, f"{self.who()}: {where}"
        else:
            assert sorted(got) == sorted(want), f"{self.who()}: {where}"
            assert len(set(got)) == len(got), f"{self.who()}: {where} repeats a post"
        for edge in edges:
            self.check_post(edge["node"], where)

    def check_user(self, user: int, got: dict[str, Any] | None, *, is_viewer: bool = False) -> None:
        m, v = self.m, self.v
        where = f"{self.who()}: user u{user}"
        if not m.may_see_user(v, user):
            assert got is None, f"{where} must be null (blocked)"
            return
        assert got is not None, f"{where} is missing"
        assert got["id"] == self.c.uid(user)
        assert got["username"] == self.name[user]
        assert got["fullName"] == f"User {user}"
        assert got["isPrivate"] == m.private[user], where
        assert got["followerCount"] == sum(1 for _, b in m.follows if b == user), where
        assert got["followingCount"] == sum(1 for a, _ in m.follows if a == user), where
        assert got["postCount"] == len(m.shown_posts_of(user)), where
        assert got["viewerIsFollowing"] == ((v, user) in m.follows), where
        assert got["followsViewer"] == ((user, v) in m.follows), where
        assert got["viewerFollowRequested"] == ((v, user) in m.requests), where
        assert got["viewerHasBlocked"] == ((v, user) in m.blocks), where
        assert got["viewerHasMuted"] == ((v, user) in m.mutes), where
        content = m.may_see_content(v, user)
        own_posts = m.shown_posts_of(user) if content else []
        self.check_posts(got["posts"]["edges"], own_posts, f"posts of u{user}", ordered=True)
        assert got["posts"]["totalCount"] == len(own_posts), where
        for list_name, members in (
            ("followers", [(a, (a, b)) for a, b in m.follows if b == user]),
            ("following", [(b, (a, b)) for a, b in m.follows if a == user]),
        ):
            everyone = [x for x, _ in members] if content else []
            listed = newest_first(
                (x for x, edge in members if content and m.may_see_user(v, x)),
                key=lambda x, members=dict(members): (
                    self.f.followed_at[members[x]],
                    self.c.user_ids[x],
                ),
            )
            assert [e["node"]["username"] for e in got[list_name]["edges"]] == [
                self.name[x] for x in listed
            ], f"{where}: {list_name}"
            if content:
                assert count_ok(got[list_name]["totalCount"], len(listed), len(everyone)), where
            else:
                assert got[list_name]["totalCount"] == 0, f"{where}: hidden {list_name} count"
        self.check_own_lists(user, got, is_viewer=is_viewer or user == v)

    def check_own_lists(self, user: int, got: dict[str, Any], *, is_viewer: bool) -> None:
        where = f"{self.who()}: lists of u{user}"
        if not is_viewer:
            for name in ("followRequests", "blockedUsers", "mutedUsers"):
                assert got[name] is None, f"{where}: {name} must be null"
            return
        m = self.m
        for name, stamps, pairs in (
            ("followRequests", self.f.requested_at, {(b, a) for a, b in m.requests}),
            ("blockedUsers", self.f.blocked_at, m.blocks),
            ("mutedUsers", self.f.muted_at, m.mutes),
        ):
            mine = [x for owner, x in pairs if owner == user]
            keyed = {
                x: (
                    stamps[(x, user) if name == "followRequests" else (user, x)],
                    self.c.user_ids[x],
                )
                for x in mine
            }
            assert [e["node"]["username"] for e in got[name]["edges"]] == [
                self.name[x] for x in newest_first(mine, key=keyed.__getitem__)
            ], f"{where}: {name}"
        assert all(e["node"]["viewerHasBlocked"] for e in got["blockedUsers"]["edges"])
        assert all(e["node"]["viewerHasMuted"] for e in got["mutedUsers"]["edges"])

    def check_world(
        self, data: dict[str, Any], notification_ids: list[int], listed: set[int]
    ) -> None:
        m, v = self.m, self.v
        if v is None:
            assert data["viewer"] is None
        else:
            self.check_user(v, data["viewer"], is_viewer=True)
        for user in range(m.n):
            self.check_user(user, data[f"u{user}"])
        for post in m.posts:
            got = data[f"p{post.id}"]
            if m.may_see_post(v, post):
                assert got is not None, f"{self.who()}: post({post.id}) is missing"
                self.check_post(got, f"post({post.id})")
            else:
                assert got is None, f"{self.who()}: post({post.id}) of u{post.author} must be null"
        for tag in TAGS:
            tagged = [p for p in m.posts if tag in p.tags and m.may_see_post(v, p)]
            page = data[f"tag_{tag}"]
            if page is None:
                assert not tagged, f"{self.who()}: hashtag {tag} is null but has visible posts"
                continue
            self.check_posts(page["recent"]["edges"], tagged, f"#{tag} RECENT", ordered=True)
            self.check_posts(page["top"]["edges"], tagged, f"#{tag} TOP", ordered=False)
        people = sorted(u["username"] for u in data["people"]["users"])
        assert people == sorted(self.name[u] for u in range(m.n) if m.may_see_user(v, u)), (
            f"{self.who()}: search people"
        )
        for word in WORDS:
            matching = [p for p in m.posts if word in p.words and m.may_see_post(v, p)]
            self.check_posts(
                data[f"search_{word}"]["posts"]["edges"], matching, f"search {word}", ordered=False
            )
        self.check_nodes(data, notification_ids, listed)

    def node_visible(self, type_name: str, record_id: int, listed: set[int]) -> bool:
        m, v = self.m, self.v
        if type_name == "User":
            return m.may_see_user(v, self.c.user_ids.index(record_id))
        if type_name == "Post":
            return m.may_see_post(v, m.post(record_id))
        if type_name == "Comment":
            return m.may_see_comment(v, next(c for c in m.comments if c.id == record_id))
        if type_name == "Media":
            owner = m.media_owner[record_id]
            in_posts = [p for p in m.posts if record_id in p.media]
            return owner == v or any(m.may_see_post(v, p) for p in in_posts)
        assert type_name == "Notification"
        return record_id in listed

    def check_nodes(
        self, data: dict[str, Any], notification_ids: list[int], listed: set[int]
    ) -> None:
        ids = all_ids(self.m, self.c, notification_ids)
        assert len(data["nodes"]) == len(ids)
        for index, gid in enumerate(ids):
            type_name, record_id = decode_global_id(gid) or ("", 0)
            visible = self.node_visible(type_name, record_id, listed)
            expected = {"__typename": type_name, "id": gid} if visible else None
            answers = [data["nodes"][index], data[f"node{index}"]]
            if type_name == "Notification" and visible:
                # node() does not resolve notifications at all (as on main: not #18's to add);
                # what the rule needs is that nobody else ever gets one.
                assert all(answer in (None, expected) for answer in answers), gid
                continue
            assert answers == [expected] * 2, f"{self.who()}: node(s) {type_name} {record_id}"

    def check_notifications(self, edges: list[dict[str, Any]]) -> set[int]:
        """Returns the ids listed. LIKE/COMMENT/MENTION groups exactly; the follow kinds for
        visibility only (module docstring)."""
        m, v = self.m, self.v
        assert v is not None
        groups: dict[tuple[str, int | None], list[Event]] = {}
        for event in m.events:
            if event.recipient == v:
                groups.setdefault((event.kind, event.post), []).append(event)
        removed_notices = 0
        required, optional = {}, {}
        for (kind, post_id), events in groups.items():
            # docs/privacy.md, "Simplifications": the group's face is its latest actor, and
            # the group is hidden when the recipient muted the face (or a block hides it).
            face = max(events, key=lambda e: e.seq).actor
            if not m.may_see_user(v, face) or (v, face) in m.mutes:
                continue
            key = (kind, None if post_id is None else self.c.gid("Post", post_id))
            if post_id is None or m.may_see_post(v, m.post(post_id)):
                required[key] = self.name[face]
            else:
                optional[key] = self.name[face]  # CONTRACT-SILENT: listed with post null, or not
        got: dict[tuple[str, str | None], str] = {}
        stamps = [edge["node"]["createdAt"] for edge in edges]
        assert stamps == sorted(stamps, reverse=True), f"{self.who()}: notifications order"
        listed = set()
        for edge in edges:
            node = edge["node"]
            listed.add(decode(node["id"]))
            actor = next(i for i in range(m.n) if self.name[i] == node["actor"]["username"])
            assert m.may_see_user(v, actor), f"{self.who()}: {node['kind']} shows u{actor}"
            assert (v, actor) not in m.mutes, f"{self.who()}: {node['kind']} shows muted u{actor}"
            assert node["actorCount"] >= 1
            if node["comment"] is not None:
                author = node["comment"]["author"]["username"]
                assert m.may_see_user(v, int(author[1:])), f"{self.who()}: comment of {author}"
            if node["kind"] in FOLLOW_KINDS:
                continue
            if node["kind"] == "CONTENT_REMOVED":
                # One notice per removal, the recipient its own actor, no post.
                assert node["actor"]["username"] == self.name[v], node
                assert node["post"] is None, node
                removed_notices += 1
                continue
            post_gid = node["post"]["id"] if node["post"] else None
            if post_gid is not None:
                assert m.may_see_post(v, m.post(decode(post_gid))), f"{self.who()}: {node}"
                key = (node["kind"], post_gid)
            else:
                # Only a post the viewer may not see is shown as null.
                candidates = [
                    k
                    for k, face in optional.items()
                    if k[0] == node["kind"] and k not in got and face == node["actor"]["username"]
                ]
                assert candidates, f"{self.who()}: unexpected {node}"
                key = candidates[0]
            assert key not in got, f"{self.who()}: {key} listed twice"
            got[key] = node["actor"]["username"]
        assert removed_notices == m.removals.count(v), f"{self.who()}: CONTENT_REMOVED notices"
        missing = {k: a for k, a in required.items() if got.get(k) != a}
        extra = {k: a for k, a in got.items() if k not in required and k not in optional}
        assert not missing, f"{self.who()}: notifications {missing=} {got=}"
        assert not extra, f"{self.who()}: notifications {extra=} {required=}"
        for key, actor_name in got.items():
            if key in optional:
                assert optional[key] == actor_name
        return listed


async def read_pages(
    client: Client, viewer: int | None, query: str, variables: dict[str, Any], root: str
) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = []
    after = None
    for _ in range(50):
        data = await client.ask(viewer, query, variables | {"after": after})
        edges += data[root]["edges"]
        if not data[root]["pageInfo"]["hasNextPage"]:
            return edges
        after = data[root]["pageInfo"]["endCursor"]
    raise AssertionError(f"{root} never ends")


async def check_everything(
    model: Model, client: Client, facts: Facts, notification_ids: list[int]
) -> None:
    # A suspended account has no session (tests/api/test_suspensions_api.py): not a viewer.
    for viewer in [None, *(i for i in range(model.n) if i not in model.suspended)]:
        checker = Checker(model, client, facts, viewer)
        listed: set[int] = set()
        if viewer is not None:
            data = await client.ask(viewer, NOTIFICATIONS)
            listed = checker.check_notifications(data["notifications"]["edges"])
            expected = [
                p for p in model.posts if p.author in model.feed_authors(viewer) and p.held is None
            ]
            for order, ordered in (("RANKED", False), ("CHRONOLOGICAL", True)):
                edges = await read_pages(client, viewer, FEED_PAGE, {"order": order}, "feed")
                checker.check_posts(edges, expected, f"feed {order}", ordered=ordered)
        # Explore: accounts the viewer does not follow, nor their own; mutes do not apply.
        candidates = [
            p
            for p in model.posts
            if model.may_see_post(viewer, p)
            and p.author != viewer
            and (viewer, p.author) not in model.follows
        ]
        explore = await read_pages(client, viewer, EXPLORE_PAGE, {}, "explore")
        checker.check_posts(explore, candidates, "explore", ordered=False)
        data = await client.ask(viewer, world_query(model, client, notification_ids))
        checker.check_world(data, notification_ids, listed)


WORLD_SETTINGS = settings(
    max_examples=12,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@WORLD_SETTINGS
@given(world=worlds())
async def test_every_viewer_sees_exactly_what_the_rule_allows(
    oracle_app: OracleApp, world: World
) -> None:
    await check_world_end_to_end(oracle_app, world)


async def check_world_end_to_end(app: OracleApp, world: World) -> None:
    resources = app.live.resources
    await reset_state(resources)
    model, client = await build_world(world, app.live, app.settings)
    facts = await check_facts(model, client)
    notification_ids = [
        row["id"] for row in await resources.db.fetch("SELECT id FROM notifications")
    ]
    await check_everything(model, client, facts, notification_ids)
    await resources.redis.flushdb()  # feeds, counters, snapshots: rebuilt from PostgreSQL
    await check_everything(model, client, facts, notification_ids)
    if world.suspensions:
        # Suspensions hide and lifting restores, with the caches rebuilt meanwhile: the feeds
        # rebuilt above, the explore and ranked snapshots read then.
        await suspend(world, model, client)
        await check_everything(model, client, facts, notification_ids)
        await resources.redis.flushdb()
        await check_everything(model, client, facts, notification_ids)
        await lift_all(world, model, client, app.settings)
        await check_everything(model, client, facts, notification_ids)
