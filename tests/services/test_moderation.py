"""Moderation in the services (docs/moderation.md): the report rules the API tests do not
reach (rate limit, concurrency, counters), the queue's pages, system findings joining a
reported case."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from resources import Resources
from services import comments, moderation_actions, moderation_queue, posts, reports
from services.errors import DomainError, UserErrorCode
from services.moderation_cases import CaseSource, Subject, SubjectKind, open_system_case
from services.moderation_deps import ModerationDeps
from services.rate_limits import ActionLimits
from services.reports import ReportReason
from storage.pg.users import UserRecord
from tests.factories import make_media, make_user, social_on, viewer_of


def moderation_on(
    resources: Resources, db: asyncpg.Connection, **changes: object
) -> ModerationDeps:
    return dataclasses.replace(
        resources.moderation, db=db, social=social_on(resources, db), **changes
    )


async def published_post(resources: Resources, db: asyncpg.Connection, author: UserRecord) -> int:
    media_id = await make_media(db, author.id)
    post = await posts.create_post(
        dataclasses.replace(resources.posts, db=db, social=social_on(resources, db)),
        viewer_of(author),
        media_ids=[media_id],
        caption="hello",
        alt_texts=[],
    )
    return post.id


async def test_reports_are_rate_limited_and_repeats_are_free(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    author = await make_user(conn, "author")
    reporter = await make_user(conn, "reporter")
    social = dataclasses.replace(
        social_on(resources, conn),
        limits=dataclasses.replace(resources.rate_limit_policy, reports=ActionLimits(2, 10)),
    )
    deps = dataclasses.replace(moderation_on(resources, conn), social=social)
    first, second, third = [await published_post(resources, conn, author) for _ in range(3)]
    me = viewer_of(reporter)
    for post_id in (first, first, first, second):  # the repeats of `first` count nothing
        await reports.report_content(
            deps, me, Subject(SubjectKind.POST, post_id), ReportReason.SPAM, None
        )
    with pytest.raises(DomainError) as refused:
        await reports.report_content(
            deps, me, Subject(SubjectKind.POST, third), ReportReason.SPAM, None
        )
    assert [e.code for e in refused.value.errors] == [UserErrorCode.RATE_LIMITED]
    rows = await conn.fetch("SELECT subject_id FROM reports ORDER BY id")
    assert [row["subject_id"] for row in rows] == [first, second]
    assert await conn.fetchval("SELECT count(*) FROM moderation_cases") == 2


async def test_a_note_is_cleaned_and_checked(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    author = await make_user(conn, "author")
    reporter = await make_user(conn, "reporter")
    deps = moderation_on(resources, conn)
    subject = Subject(SubjectKind.USER, author.id)
    with pytest.raises(DomainError) as refused:
        await reports.report_content(
            deps, viewer_of(reporter), subject, ReportReason.OTHER, "x" * 1001
        )
    assert [(e.code, e.field) for e in refused.value.errors] == [
        (UserErrorCode.INVALID_INPUT, ("note",))
    ]
    await reports.report_content(
        deps, viewer_of(reporter), subject, ReportReason.OTHER, "  spam bot \r\n  "
    )
    assert await conn.fetchval("SELECT note FROM reports") == "spam bot"


async def test_concurrent_reports_share_one_case(clean: Resources) -> None:
    db = clean.db
    author = await make_user(db, "author")
    reporters = [await make_user(db, f"r{i}") for i in range(4)]
    media_id = await make_media(db, author.id)
    post = await posts.create_post(
        clean.posts, viewer_of(author), media_ids=[media_id], caption=None, alt_texts=[]
    )
    subject = Subject(SubjectKind.POST, post.id)
    await asyncio.gather(
        *(
            reports.report_content(
                clean.moderation, viewer_of(r), subject, ReportReason.VIOLENCE, None
            )
            for r in reporters
        )
    )
    cases = await db.fetch("SELECT id, hidden_pending_review FROM moderation_cases")
    assert len(cases) == 1
    assert cases[0]["hidden_pending_review"] is True  # 4 >= MODERATION_HIDE_AFTER_REPORTS (3)
    assert await db.fetchval("SELECT count(*) FROM reports WHERE case_id = $1", cases[0]["id"]) == 4
    assert await db.fetchval("SELECT post_count FROM users WHERE id = $1", author.id) == 0


async def test_held_comments_leave_the_count_once(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    """A comment hidden pending review leaves its post's commentCount; deleting it then (its
    author may) does not count it out twice."""
    author = await make_user(conn, "author")
    commenter = await make_user(conn, "commenter")
    reporter = await make_user(conn, "reporter")
    post_id = await published_post(resources, conn, author)
    comment = await comments.add_comment(
        social_on(resources, conn), viewer_of(commenter), post_id=post_id, text="rude"
    )
    deps = moderation_on(resources, conn, hide_after_reports=1)
    await reports.report_content(
        deps, viewer_of(reporter), Subject(SubjectKind.COMMENT, comment.id), ReportReason.HATE, None
    )
    assert await conn.fetchval("SELECT comment_count FROM posts WHERE id = $1", post_id) == 0
    await comments.delete_comment(social_on(resources, conn), viewer_of(commenter), comment.id)
    assert await conn.fetchval("SELECT comment_count FROM posts WHERE id = $1", post_id) == 0


async def test_a_system_finding_joins_the_reported_case(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    author = await make_user(conn, "author")
    reporter = await make_user(conn, "reporter")
    media_id = await make_media(conn, author.id)
    await published_post_with(resources, conn, author, media_id)
    subject = Subject(SubjectKind.MEDIA, media_id)
    await reports.report_content(
        moderation_on(resources, conn), viewer_of(reporter), subject, ReportReason.NUDITY, None
    )
    case_id = await open_system_case(
        conn, subject, source=CaseSource.CLASSIFIER, detail="nudenet: EXPOSED 0.91"
    )
    moderator = await make_user(conn, "moderator")
    await conn.execute("UPDATE users SET role = 'MODERATOR' WHERE id = $1", moderator.id)
    page = await moderation_queue.list_queue(conn, viewer_of(moderator), first=10, after=None)
    ((_, view),) = page.edges
    assert view.case.id == case_id
    assert view.case.sources == ["REPORTS", "CLASSIFIER"]
    assert [(f.source, f.detail) for f in view.findings] == [
        ("CLASSIFIER", "nudenet: EXPOSED 0.91")
    ]
    assert (view.severity, view.reporters, view.reach) == (7, 1, 1.0)  # NUDITY 7 > CLASSIFIER 6


async def published_post_with(
    resources: Resources, conn: asyncpg.Connection, author: UserRecord, media_id: int
) -> int:
    post = await posts.create_post(
        dataclasses.replace(resources.posts, db=conn, social=social_on(resources, conn)),
        viewer_of(author),
        media_ids=[media_id],
        caption=None,
        alt_texts=[],
    )
    return post.id


async def test_the_queue_pages_by_priority(resources: Resources, conn: asyncpg.Connection) -> None:
    moderator = await make_user(conn, "moderator")
    await conn.execute("UPDATE users SET role = 'ADMIN' WHERE id = $1", moderator.id)
    owners = [await make_user(conn, f"owner{i}") for i in range(5)]
    for index, owner in enumerate(owners):  # reach 1 + ln(1 + followers) grows with the index
        await conn.execute(
            "UPDATE users SET follower_count = $2 WHERE id = $1", owner.id, index * 10
        )
        await open_system_case(
            conn, Subject(SubjectKind.USER, owner.id), source=CaseSource.CLASSIFIER, detail="x"
        )
    seen: list[int] = []
    after = None
    while True:
        page = await moderation_queue.list_queue(conn, viewer_of(moderator), first=2, after=after)
        seen += [view.case.subject_id for _, view in page.edges]
        if not page.has_next_page:
            break
        after = page.edges[-1][0]
    assert seen == [owner.id for owner in reversed(owners)]

    plain = await make_user(conn, "plain")
    with pytest.raises(DomainError) as refused:
        await moderation_queue.list_queue(conn, viewer_of(plain), first=2, after=None)
    assert refused.value.errors[0].code is UserErrorCode.FORBIDDEN


async def test_resolving_a_case_twice_is_refused(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    moderator = await make_user(conn, "moderator")
    await conn.execute("UPDATE users SET role = 'ADMIN' WHERE id = $1", moderator.id)
    owner = await make_user(conn, "owner")
    case_id = await open_system_case(
        conn, Subject(SubjectKind.USER, owner.id), source=CaseSource.CLASSIFIER, detail="x"
    )
    deps = moderation_on(resources, conn)
    await moderation_actions.resolve_case(
        deps, viewer_of(moderator), case_id, moderation_actions.Decision.DISMISS, "fine"
    )
    with pytest.raises(DomainError) as refused:
        await moderation_actions.resolve_case(
            deps, viewer_of(moderator), case_id, moderation_actions.Decision.WARN, "changed my mind"
        )
    assert [(e.code, e.field) for e in refused.value.errors] == [
        (UserErrorCode.INVALID_INPUT, ("caseId",))
    ]
    assert await conn.fetchval("SELECT strike_count FROM users WHERE id = $1", owner.id) == 0
    assert await conn.fetchval("SELECT count(*) FROM moderation_actions") == 1


async def test_a_case_lists_its_latest_reports_and_counts_them_all(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    moderator = await make_user(conn, "moderator")
    await conn.execute("UPDATE users SET role = 'MODERATOR' WHERE id = $1", moderator.id)
    owner = await make_user(conn, "owner")
    case_id = await open_system_case(
        conn, Subject(SubjectKind.USER, owner.id), source=CaseSource.CLASSIFIER, detail="x"
    )
    reporters = [await make_user(conn, f"r{i}") for i in range(55)]
    for index, reporter in enumerate(reporters):
        await conn.execute(
            "INSERT INTO reports (case_id, reporter_id, subject_kind, subject_id, reason,"
            " created_at) VALUES ($1, $2, 'USER', $3, $4, now() + $5 * interval '1 second')",
            case_id,
            reporter.id,
            owner.id,
            "SPAM" if index % 5 else "HATE",
            index,
        )
    view = await moderation_queue.fetch_case(conn, viewer_of(moderator), case_id)
    assert view is not None
    assert [r.reporter_id for r in view.reports] == [r.id for r in reporters[5:]]
    assert view.reason_counts == [("SPAM", 44), ("HATE", 11)]
