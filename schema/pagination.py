"""Relay connection pieces shared by every list: one generic `Connection[T]` (Strawberry names
`Connection[User]` `UserConnection`, and its edge `UserEdge`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from services.pagination import Page

NodeType = TypeVar("NodeType")
RecordType = TypeVar("RecordType")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[Any], *, after: str | None) -> PageInfo:
        """Paging forward: there is a previous page whenever the client gave a cursor."""
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=after is not None,
            start_cursor=page.edges[0][0] if page.edges else None,
            end_cursor=page.edges[-1][0] if page.edges else None,
        )


@strawberry.type
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    nodes: list[NodeType] = strawberry.field(
        description="The nodes of `edges`, in the same order (when no cursor is needed)."
    )
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        description="How many items the whole list holds (every page), where that count is "
        "exact and kept up to date (followers, following, likers, comments, a user's or a "
        "hashtag's posts); null on lists that have no such count (feed, explore, search, "
        "notifications)."
    )

    @classmethod
    def of(
        cls,
        page: Page[RecordType],
        node: Callable[[RecordType], NodeType],
        *,
        after: str | None,
        total_count: int | None = None,
    ) -> Connection[NodeType]:
        """The connection of one page, each record made a node by `node`. Pure."""
        edges = [Edge(cursor=cursor, node=node(record)) for cursor, record in page.edges]
        return cls(
            edges=edges,
            nodes=[edge.node for edge in edges],
            page_info=PageInfo.of(page, after=after),
            total_count=total_count,
        )
