"""Per-request DataLoaders. Build a fresh `Loaders` for every request (and, on a long-lived
websocket, for every event) so that nothing cached outlives the request that loaded it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from redis.asyncio import Redis
from strawberry.dataloader import DataLoader

from dataloaders.comments import load_comments_by_id, load_first_comments
from dataloaders.media import load_visible_media_by_id
from dataloaders.ranker import load_ranking_explanations
from dataloaders.users import (
    load_follows_viewer,
    load_profile_pictures,
    load_relations,
    load_staff_flags,
    load_users_by_id,
    load_viewer_follows,
)
from services.pagination import Page
from services.ranker.explanations import RankingExplanation
from services.ranker.serving import RankerServing
from services.visibility import Relation
from storage.pg import Db
from storage.pg.comments import CommentRecord
from storage.pg.media import MediaRecord, StoredVariant
from storage.pg.users import UserRecord


@dataclass(frozen=True)
class Loaders:
    user_by_id: DataLoader[int, UserRecord | None]
    viewer_follows_by_user_id: DataLoader[int, bool]
    follows_viewer_by_user_id: DataLoader[int, bool]
    media_by_id: DataLoader[int, MediaRecord | None]
    """The media the viewer may see (None for the others): services.media.fetch_visible_media."""
    comment_by_id: DataLoader[int, CommentRecord | None]
    first_comments: DataLoader[tuple[int, int], Page[CommentRecord]]
    """(post id, first) -> the post's first page of comments (one statement per page of posts)."""
    profile_picture_by_user_id: DataLoader[int, tuple[StoredVariant, ...]]
    """The crops of each user's profile picture (empty: none)."""
    relation_by_user_id: DataLoader[int, Relation | None]
    """How the viewer stands with each user (blocks, follows, mutes, requests): the facts of
    services.visibility's rule."""
    ranking_explanation_by_post_id: DataLoader[int, RankingExplanation | None]
    """Why the viewer's RANKED feed served each post (None: it did not lately)."""
    is_staff_by_user_id: DataLoader[int, bool]
    """Whether each user is a moderator or an admin now (services.roles.staff_among): the
    role is read once per operation however many fields ask."""

    def prime_users(self, users: list[UserRecord]) -> None:
        """Seed user_by_id with rows a list query already returned (saves a query per page)."""
        for user in users:
            self.user_by_id.prime(user.id, user)


def build_loaders(db: Db, viewer_id: int | None, redis: Redis, ranker: RankerServing) -> Loaders:
    return Loaders(
        user_by_id=DataLoader(partial(load_users_by_id, db)),
        viewer_follows_by_user_id=DataLoader(partial(load_viewer_follows, db, viewer_id)),
        follows_viewer_by_user_id=DataLoader(partial(load_follows_viewer, db, viewer_id)),
        media_by_id=DataLoader(partial(load_visible_media_by_id, db, viewer_id)),
        comment_by_id=DataLoader(partial(load_comments_by_id, db, viewer_id)),
        first_comments=DataLoader(partial(load_first_comments, db, viewer_id)),
        profile_picture_by_user_id=DataLoader(partial(load_profile_pictures, db)),
        relation_by_user_id=DataLoader(partial(load_relations, db, viewer_id)),
        ranking_explanation_by_post_id=DataLoader(
            partial(load_ranking_explanations, db, redis, ranker, viewer_id)
        ),
        is_staff_by_user_id=DataLoader(partial(load_staff_flags, db)),
    )
