"""Relay connection pieces shared by every list."""

from __future__ import annotations

from typing import Any

import strawberry

from services.pagination import Page


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
