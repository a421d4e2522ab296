"""Moderation through the API (docs/moderation.md): a report from filing through the queue, the
claim, each decision and its restore, an appeal decided by another moderator, the notices the
author gets and the audit log the admin reads. Exact payloads throughout."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schema.global_ids import decode_global_id, encode_global_id
from services import comments, posts
from storage.pg.users import UserRecord
from tests.api.helpers import snapshot
from tests.conftest import LiveApp
from tests.factories import make_media, make_user, viewer_of


def gid(type_name: str, record_id: int) -> str:
    return str(encode_global_id(type_name, record_id))


@dataclass
class Cast:
    """The author of the reported content, three reporters, two moderators and an admin."""

    live: LiveApp
    users: dict[str, UserRecord]
    tokens: dict[str, str]

    async def ask(self, who: str | None, query: str, **variables: Any) -> dict[str, Any]:
        """The data of the operation as `who`; fails on any GraphQL error."""
        body = await self.live.graphql(query, variables, token=self.tokens[who] if who else None)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def uid(self, name: str) -> str:
        return gid("User", self.users[name].id)


NAMES = ("alice", "rita", "ravi", "rosa", "mod1", "mod2", "boss")


@pytest.fixture
async def c(live: LiveApp) -> Cast:
    db = live.resources.db
    users = {name: await make_user(db, name) for name in NAMES}
    await db.execute("UPDATE users SET role = 'ADMIN' WHERE id = $1", users["boss"].id)
    tokens = {
        name: live.resources.access_tokens.issue(user.id, uuid.uuid4())[0]
        for name, user in users.items()
    }
    c = Cast(live, users, tokens)
    for moderator in ("mod1", "mod2"):
        data = await c.ask("boss", SET_ROLE, id=c.uid(moderator), role="MODERATOR")
        assert data["setUserRole"] == {
            "user": {"username": moderator},
            "role": "MODERATOR",
            "userErrors": [],
        }
    return c


async def published_post(c: Cast, author: str = "alice", caption: str = "buy now") -> int:
    resources = c.live.resources
    media_id = await make_media(resources.db, c.users[author].id)
    post = await posts.create_post(
        resources.posts,
        viewer_of(c.users[author]),
        media_ids=[media_id],
        caption=caption,
        alt_texts=[],
    )
    return post.id


SET_ROLE = """mutation M($id: ID!, $role: Role!) {
  setUserRole(input: {userId: $id, role: $role}) { user { username } role
    userErrors { code field } } }"""
REPORT = """mutation M($subject: ID!, $reason: ReportReason!, $note: String) {
  reportContent(input: {subject: $subject, reason: $reason, note: $note}) {
    ok userErrors { code field } } }"""
QUEUE = """{ moderationQueue(first: 10) { edges { node {
  id status subjectKind subjectId sources hiddenPendingReview priority severity reach
  distinctReporters reasons { reason count }
  reports { reason note reporter { username } }
  subjectOwner { username } subjectOwnerStrikeCount subjectText subjectMedia { id sensitive }
  claimedBy { username } resolution
} } } }"""
CLAIM = """mutation M($id: ID!) {
  claimCase(input: {caseId: $id}) { case { status claimedBy { username } }
    userErrors { code field } } }"""
RESOLVE = """mutation M($id: ID!, $action: ModerationDecision!, $reason: String!,
                       $until: DateTime) {
  resolveCase(input: {caseId: $id, action: $action, reason: $reason, suspendUntil: $until}) {
    case { status resolution resolutionReason hiddenPendingReview priority }
    action { id action subjectKind subjectId reason until actor { username } reversesId }
    userErrors { code field } } }"""
RESTORE = """mutation M($id: ID!, $reason: String!) {
  restoreModerationAction(input: {actionId: $id, reason: $reason}) {
    action { action subjectKind subjectId reason actor { username } reversesId }
    userErrors { code field } } }"""
APPEAL = """mutation M($id: ID!, $statement: String!) {
  appealModerationAction(input: {actionId: $id, statement: $statement}) {
    appeal { id status statement actionId action { action } appellant { username } }
    userErrors { code field } } }"""
DECIDE = """mutation M($id: ID!, $outcome: AppealOutcome!, $reason: String!) {
  decideAppeal(input: {appealId: $id, outcome: $outcome, reason: $reason}) {
    appeal { status decisionReason action { action actor { username } } }
    userErrors { code field } } }"""
APPEALS = """{ moderationAppeals(first: 10) { edges { node {
  statement status appellant { username } action { action } } } } }"""
NOTIFICATIONS = """{ notifications(first: 20) { edges { node {
  kind actor { username } post { id }
  moderation { action reason subjectKind actionId } } } } }"""
LOG = """{ moderationAuditLog(first: 50) { edges { node {
  action subjectKind subjectId reason actor { username } reversesId caseId } } } }"""
POST = """query Q($id: ID!) { post(id: $id) { id media { id sensitive }
  commentCount comments(first: 10) { totalCount nodes { text } } } }"""
PROFILE = """query Q($name: String!) { user(username: $name) { postCount
  posts(first: 10) { totalCount nodes { id } } } }"""


async def queue(c: Cast, who: str = "mod1") -> list[dict[str, Any]]:
    data = await c.ask(who, QUEUE)
    return [edge["node"] for edge in data["moderationQueue"]["edges"]]


async def notices(c: Cast, who: str) -> list[dict[str, Any]]:
    data = await c.ask(who, NOTIFICATIONS)
    return [edge["node"] for edge in data["notifications"]["edges"]]


async def report(c: Cast, who: str, subject: str, reason: str, note: str | None = None) -> None:
    data = await c.ask(who, REPORT, subject=subject, reason=reason, note=note)
    assert data["reportContent"] == {"ok": True, "userErrors": []}


async def claimed_case(c: Cast, moderator: str = "mod1") -> str:
    """Claim the one case in the queue; its id."""
    (case,) = await queue(c, moderator)
    data = await c.ask(moderator, CLAIM, id=case["id"])
    assert data["claimCase"] == {
        "case": {"status": "CLAIMED", "claimedBy": {"username": moderator}},
        "userErrors": [],
    }
    return str(case["id"])


async def resolve(
    c: Cast, case_id: str, action: str, reason: str, who: str = "mod1", until: str | None = None
) -> dict[str, Any]:
    data = await c.ask(who, RESOLVE, id=case_id, action=action, reason=reason, until=until)
    payload: dict[str, Any] = data["resolveCase"]
    assert payload["userErrors"] == [], payload
    return payload


async def test_a_reported_post_is_hidden_reviewed_removed_appealed_and_restored(c: Cast) -> None:
    post_id = await published_post(c)
    post_gid = gid("Post", post_id)

    # Filing: the first report, again (nothing changes, same answer), then two more.
    await report(c, "rita", post_gid, "SPAM", note="links to a scam shop")
    before = await snapshot(c.live.resources)
    await report(c, "rita", post_gid, "SPAM", note="a second note is ignored")
    assert await snapshot(c.live.resources) == before
    await report(c, "ravi", post_gid, "SPAM")
    assert (await c.ask("rosa", POST, id=post_gid))["post"] is not None  # 2 < 3: still shown
    await report(c, "rosa", post_gid, "HARASSMENT", note="and rude")

    # Hidden pending review, from everyone, its author included; its count leaves the profile.
    for who in ("rita", "alice", None):
        assert (await c.ask(who, POST, id=post_gid)) == {"post": None}
    assert (await c.ask("rosa", PROFILE, name="alice"))["user"] == {
        "postCount": 0,
        "posts": {"totalCount": 0, "nodes": []},
    }
    assert await notices(c, "alice") == []  # nothing tells the reported side

    # The queue: one case with its three reports (reporters shown to moderators).
    (case,) = await queue(c)
    media_id = await c.live.resources.db.fetchval(
        "SELECT media_id FROM post_media WHERE post_id = $1", post_id
    )
    assert case == {
        "id": case["id"],
        "status": "OPEN",
        "subjectKind": "POST",
        "subjectId": post_gid,
        "sources": ["REPORTS"],
        "hiddenPendingReview": True,
        "priority": 15.0,  # HARASSMENT (5) × 3 reporters × reach 1 + ln(1 + 0 + 0)
        "severity": 5,
        "reach": 1.0,
        "distinctReporters": 3,
        "reasons": [{"reason": "SPAM", "count": 2}, {"reason": "HARASSMENT", "count": 1}],
        "reports": [
            {"reason": "SPAM", "note": "links to a scam shop", "reporter": {"username": "rita"}},
            {"reason": "SPAM", "note": None, "reporter": {"username": "ravi"}},
            {"reason": "HARASSMENT", "note": "and rude", "reporter": {"username": "rosa"}},
        ],
        "subjectOwner": {"username": "alice"},
        "subjectOwnerStrikeCount": 0,
        "subjectText": "buy now",
        "subjectMedia": [{"id": gid("Media", media_id), "sensitive": False}],
        "claimedBy": None,
        "resolution": None,
    }

    # The claim: mod1's; mod2 can neither take it nor resolve it.
    case_id = await claimed_case(c)
    data = await c.ask("mod2", CLAIM, id=case_id)
    assert data["claimCase"] == {
        "case": None,
        "userErrors": [{"code": "FORBIDDEN", "field": ["input", "caseId"]}],
    }
    data = await c.ask("mod2", RESOLVE, id=case_id, action="DISMISS", reason="fine")
    assert data["resolveCase"]["userErrors"] == [
        {"code": "FORBIDDEN", "field": ["input", "caseId"]}
    ]

    # REMOVE: hidden for good, the author told why.
    resolved = await resolve(c, case_id, "REMOVE", "Scam links are not allowed.")
    removal = resolved["action"]
    assert resolved == {
        "case": {
            "status": "RESOLVED",
            "resolution": "REMOVE",
            "resolutionReason": "Scam links are not allowed.",
            "hiddenPendingReview": False,
            "priority": None,
        },
        "action": {
            "id": removal["id"],
            "action": "REMOVE",
            "subjectKind": "POST",
            "subjectId": post_gid,
            "reason": "Scam links are not allowed.",
            "until": None,
            "actor": {"username": "mod1"},
            "reversesId": None,
        },
        "userErrors": [],
    }
    assert await queue(c) == []
    for who in ("rita", "alice", None):
        assert (await c.ask(who, POST, id=post_gid)) == {"post": None}
    assert await notices(c, "alice") == [
        {
            "kind": "CONTENT_REMOVED",
            "actor": {"username": "alice"},
            "post": None,
            "moderation": {
                "action": "REMOVE",
                "reason": "Scam links are not allowed.",
                "subjectKind": "POST",
                "actionId": removal["id"],
            },
        }
    ]
    assert await notices(c, "rita") == []

    # The appeal: once; the moderator who removed it cannot decide; another overturns it.
    data = await c.ask("alice", APPEAL, id=removal["id"], statement="It was a joke.")
    appeal = data["appealModerationAction"]["appeal"]
    assert data["appealModerationAction"] == {
        "appeal": {
            "id": appeal["id"],
            "status": "PENDING",
            "statement": "It was a joke.",
            "actionId": removal["id"],
            "action": None,  # the appellant does not see the log entry (nor who acted)
            "appellant": {"username": "alice"},
        },
        "userErrors": [],
    }
    again = await c.ask("alice", APPEAL, id=removal["id"], statement="Please.")
    assert again["appealModerationAction"] == {
        "appeal": None,
        "userErrors": [{"code": "ALREADY_EXISTS", "field": ["input", "actionId"]}],
    }
    assert (await c.ask("mod2", APPEALS))["moderationAppeals"]["edges"] == [
        {
            "node": {
                "statement": "It was a joke.",
                "status": "PENDING",
                "appellant": {"username": "alice"},
                "action": {"action": "REMOVE"},
            }
        }
    ]
    same = await c.ask("mod1", DECIDE, id=appeal["id"], outcome="OVERTURNED", reason="ok")
    assert same["decideAppeal"] == {
        "appeal": None,
        "userErrors": [{"code": "FORBIDDEN", "field": ["input", "appealId"]}],
    }
    data = await c.ask("mod2", DECIDE, id=appeal["id"], outcome="OVERTURNED", reason="A joke.")
    assert data["decideAppeal"] == {
        "appeal": {
            "status": "OVERTURNED",
            "decisionReason": "A joke.",
            "action": {"action": "REMOVE", "actor": {"username": "mod1"}},
        },
        "userErrors": [],
    }
    assert (await c.ask("rita", POST, id=post_gid))["post"]["id"] == post_gid
    assert (await c.ask("rosa", PROFILE, name="alice"))["user"] == {
        "postCount": 1,
        "posts": {"totalCount": 1, "nodes": [{"id": post_gid}]},
    }
    appeal_number = appeal["id"]
    (decided, _removed) = await notices(c, "alice")
    restore_text = f"appeal {decode(appeal_number)} overturned: A joke."
    assert decided == {
        "kind": "APPEAL_DECIDED",
        "actor": {"username": "alice"},
        "post": None,
        "moderation": {
            "action": "RESTORE",
            "reason": restore_text,
            "subjectKind": "POST",
            "actionId": decided["moderation"]["actionId"],
        },
    }
    assert (await c.ask("mod2", APPEALS))["moderationAppeals"]["edges"] == []

    # The audit log, newest first: what the admin reads (moderators cannot).
    log = (await c.ask("boss", LOG))["moderationAuditLog"]["edges"]
    assert [edge["node"] for edge in log] == [
        {
            "action": "RESTORE",
            "subjectKind": "POST",
            "subjectId": post_gid,
            "reason": restore_text,
            "actor": {"username": "mod2"},
            "reversesId": removal["id"],
            "caseId": case_id,
        },
        {
            "action": "REMOVE",
            "subjectKind": "POST",
            "subjectId": post_gid,
            "reason": "Scam links are not allowed.",
            "actor": {"username": "mod1"},
            "reversesId": None,
            "caseId": case_id,
        },
        *[
            {
                "action": "SET_ROLE_MODERATOR",
                "subjectKind": "USER",
                "subjectId": c.uid(name),
                "reason": "role USER -> MODERATOR",
                "actor": {"username": "boss"},
                "reversesId": None,
                "caseId": None,
            }
            for name in ("mod2", "mod1")
        ],
    ]


def decode(global_id: str) -> int:
    decoded = decode_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def test_remove_a_comment_and_restore_it(c: Cast) -> None:
    post_id = await published_post(c, author="rosa", caption="sunset")
    comment = await comments.add_comment(
        c.live.resources.social, viewer_of(c.users["alice"]), post_id=post_id, text="you fool"
    )
    post_gid = gid("Post", post_id)
    await report(c, "rita", gid("Comment", comment.id), "HARASSMENT")
    case_id = await claimed_case(c)
    removal = (await resolve(c, case_id, "REMOVE", "Insults."))["action"]
    assert (removal["action"], removal["subjectKind"]) == ("REMOVE", "COMMENT")
    shown = await c.ask("rita", POST, id=post_gid)
    assert shown["post"]["commentCount"] == 0
    assert shown["post"]["comments"] == {"totalCount": 0, "nodes": []}
    assert [n["kind"] for n in await notices(c, "alice")] == ["CONTENT_REMOVED"]

    data = await c.ask("mod2", RESTORE, id=removal["id"], reason="Banter between friends.")
    assert data["restoreModerationAction"] == {
        "action": {
            "action": "RESTORE",
            "subjectKind": "COMMENT",
            "subjectId": gid("Comment", comment.id),
            "reason": "Banter between friends.",
            "actor": {"username": "mod2"},
            "reversesId": removal["id"],
        },
        "userErrors": [],
    }
    shown = await c.ask("rita", POST, id=post_gid)
    assert shown["post"]["commentCount"] == 1
    assert shown["post"]["comments"] == {"totalCount": 1, "nodes": [{"text": "you fool"}]}
    twice = await c.ask("mod1", RESTORE, id=removal["id"], reason="again")
    assert twice["restoreModerationAction"] == {
        "action": None,
        "userErrors": [{"code": "INVALID_INPUT", "field": ["input", "actionId"]}],
    }


async def test_mark_media_sensitive_and_restore(c: Cast) -> None:
    post_id = await published_post(c)
    media_id = await c.live.resources.db.fetchval(
        "SELECT media_id FROM post_media WHERE post_id = $1", post_id
    )
    await report(c, "rita", gid("Media", media_id), "NUDITY")
    case_id = await claimed_case(c)
    data = await c.ask("mod1", RESOLVE, id=case_id, action="REMOVE", reason="x")
    assert data["resolveCase"]["userErrors"] == [
        {"code": "INVALID_INPUT", "field": ["input", "action"]}
    ]
    marked = (await resolve(c, case_id, "MARK_SENSITIVE", "Graphic."))["action"]
    assert (marked["action"], marked["subjectKind"]) == ("MARK_SENSITIVE", "MEDIA")
    post = (await c.ask("ravi", POST, id=gid("Post", post_id)))["post"]
    assert post["media"] == [{"id": gid("Media", media_id), "sensitive": True}]
    assert await notices(c, "alice") == []  # the media stays, behind a warning

    await c.ask("mod2", RESTORE, id=marked["id"], reason="Art.")
    post = (await c.ask("ravi", POST, id=gid("Post", post_id)))["post"]
    assert post["media"] == [{"id": gid("Media", media_id), "sensitive": False}]


async def test_warn_an_account_counts_a_strike_and_restore_takes_it_back(c: Cast) -> None:
    await report(c, "rita", c.uid("alice"), "HARASSMENT", note="sends threats")
    case_id = await claimed_case(c)
    warned = (await resolve(c, case_id, "WARN", "No threats."))["action"]
    assert (warned["action"], warned["subjectKind"], warned["subjectId"]) == (
        "WARN",
        "USER",
        c.uid("alice"),
    )
    assert await notices(c, "alice") == [
        {
            "kind": "MODERATION_WARNING",
            "actor": {"username": "alice"},
            "post": None,
            "moderation": {
                "action": "WARN",
                "reason": "No threats.",
                "subjectKind": "USER",
                "actionId": warned["id"],
            },
        }
    ]
    db = c.live.resources.db
    assert (
        await db.fetchval("SELECT strike_count FROM users WHERE id = $1", c.users["alice"].id) == 1
    )
    await report(c, "ravi", c.uid("alice"), "SPAM")
    (case,) = await queue(c)
    assert case["subjectOwnerStrikeCount"] == 1
    assert case["hiddenPendingReview"] is False  # accounts are never hidden by reports

    await c.ask("mod2", RESTORE, id=warned["id"], reason="Quoted a film.")
    (case,) = await queue(c)
    assert case["subjectOwnerStrikeCount"] == 0


async def test_dismiss_shows_the_content_again_and_restore_reopens_the_case(c: Cast) -> None:
    post_id = await published_post(c)
    post_gid = gid("Post", post_id)
    for reporter in ("rita", "ravi", "rosa"):
        await report(c, reporter, post_gid, "SPAM")
    assert (await c.ask("rita", POST, id=post_gid)) == {"post": None}
    case_id = await claimed_case(c)
    dismissed = await resolve(c, case_id, "DISMISS", "A normal sale.")
    assert dismissed["case"]["status"] == "RESOLVED"
    assert (await c.ask("rita", POST, id=post_gid))["post"]["id"] == post_gid
    assert await notices(c, "alice") == []

    await c.ask("mod2", RESTORE, id=dismissed["action"]["id"], reason="Look again.")
    (case,) = await queue(c)
    assert (case["id"], case["status"], case["claimedBy"]) == (case_id, "OPEN", None)
    assert case["distinctReporters"] == 3


async def test_resolving_needs_a_claim_and_the_decision_the_subject_takes(c: Cast) -> None:
    post_id = await published_post(c)
    await report(c, "rita", gid("Post", post_id), "SPAM")
    (case,) = await queue(c)
    data = await c.ask("mod1", RESOLVE, id=case["id"], action="DISMISS", reason="fine")
    assert data["resolveCase"]["userErrors"] == [
        {"code": "INVALID_INPUT", "field": ["input", "caseId"]}
    ]
    await claimed_case(c)
    for action, until, field in (
        ("MARK_SENSITIVE", None, "action"),
        ("SUSPEND", None, "suspendUntil"),
        ("WARN", "2030-01-01T00:00:00+00:00", "suspendUntil"),
        ("SUSPEND", "2001-01-01T00:00:00", "suspendUntil"),  # no offset: UTC, and past
    ):
        data = await c.ask("mod1", RESOLVE, id=case["id"], action=action, reason="x", until=until)
        assert data["resolveCase"]["userErrors"] == [
            {"code": "INVALID_INPUT", "field": ["input", field]}
        ]
    # An admin resolves a case someone else claimed.
    done = await resolve(c, case["id"], "DISMISS", "Fine.", who="boss")
    assert done["action"]["actor"] == {"username": "boss"}


async def test_reporting_rules(c: Cast) -> None:
    post_id = await published_post(c)
    own = await c.ask("alice", REPORT, subject=gid("Post", post_id), reason="SPAM")
    assert own["reportContent"] == {
        "ok": False,
        "userErrors": [{"code": "INVALID_INPUT", "field": ["input", "subject"]}],
    }
    db = c.live.resources.db
    await db.execute("UPDATE users SET is_private = true WHERE id = $1", c.users["alice"].id)
    hidden = await c.ask("rita", REPORT, subject=gid("Post", post_id), reason="SPAM")
    missing = await c.ask("rita", REPORT, subject=gid("Post", 10**9), reason="SPAM")
    not_a_subject = await c.ask("rita", REPORT, subject=gid("Notification", 1), reason="SPAM")
    for payload in (hidden, missing, not_a_subject):
        assert payload["reportContent"] == {
            "ok": False,
            "userErrors": [{"code": "NOT_FOUND", "field": ["input", "subject"]}],
        }
    assert await db.fetchval("SELECT count(*) FROM moderation_cases") == 0


async def test_the_queue_orders_by_priority(c: Cast) -> None:
    """severity × distinct reporters × reach: a self-harm report of a quiet account's post
    (10 × 1 × 1) comes before two spam reports of a post with 20 likes and followers
    (2 × 2 × (1 + ln 21) ≈ 16.2), which come before one spam report (2)."""
    db = c.live.resources.db
    quiet = await published_post(c, author="alice", caption="dark thoughts")
    popular = await published_post(c, author="rosa", caption="deal")
    plain = await published_post(c, author="ravi", caption="hello")
    await db.execute("UPDATE users SET follower_count = 15 WHERE id = $1", c.users["rosa"].id)
    await db.execute("UPDATE posts SET like_count = 5 WHERE id = $1", popular)
    await report(c, "rita", gid("Post", plain), "SPAM")
    await report(c, "rita", gid("Post", popular), "SPAM")
    await report(c, "ravi", gid("Post", popular), "SPAM")
    await report(c, "rosa", gid("Post", quiet), "SELF_HARM")
    cases = await queue(c)
    assert [
        (case["subjectText"], case["severity"], case["distinctReporters"]) for case in cases
    ] == [
        ("deal", 2, 2),
        ("dark thoughts", 10, 1),
        ("hello", 2, 1),
    ]
    priorities = {case["subjectText"]: case["priority"] for case in cases}
    assert priorities == {
        "dark thoughts": 10.0,
        "deal": pytest.approx(2 * 2 * (1 + math.log(21))),
        "hello": 2.0,
    }
    assert [case["subjectText"] for case in cases] == ["deal", "dark thoughts", "hello"]


async def test_suspend_ban_and_restore_through_the_suspension_seam(c: Cast) -> None:
    await report(c, "rita", c.uid("alice"), "HARASSMENT")
    case_id = await claimed_case(c)
    until = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    suspended = (await resolve(c, case_id, "SUSPEND", "Threats.", until=until.isoformat()))[
        "action"
    ]
    assert (suspended["action"], suspended["subjectId"], suspended["until"]) == (
        "SUSPEND",
        c.uid("alice"),
        until.replace(tzinfo=None).isoformat() + "Z",  # the DateTime scalar: UTC with a Z
    )
    db = c.live.resources.db
    assert (
        await db.fetchval("SELECT count(*) FROM moderation_actions WHERE action = 'SUSPEND'") == 1
    )
    restored = await c.ask("mod2", RESTORE, id=suspended["id"], reason="Wrong account.")
    assert restored["restoreModerationAction"]["userErrors"] == []

    await report(c, "ravi", c.uid("alice"), "HATE")
    case_id = await claimed_case(c)
    banned = (await resolve(c, case_id, "BAN", "Hate speech."))["action"]
    assert (banned["action"], banned["until"]) == ("BAN", None)
    data = await c.ask("mod2", RESTORE, id=banned["id"], reason="Overturned by the operator.")
    assert data["restoreModerationAction"]["userErrors"] == []
