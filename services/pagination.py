"""Cursor pagination: pages, and the `first` bounds every connection shares (the cursors
themselves: services.cursors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

MAX_PAGE_SIZE = 100
MIN_PAGE_SIZE = 1
T = TypeVar("T")


class InvalidArgumentError(Exception):
    """An argument of a query is out of range or malformed (a GraphQL error BAD_USER_INPUT)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a connection: (cursor, item) pairs in order, and whether more follow."""

    edges: list[tuple[str, T]]
    has_next_page: bool


def page_of(items: list[tuple[str, T]], limit: int) -> Page[T]:
    """The page of the first `limit` items, read with at least one more when more follow."""
    return Page(edges=items[:limit], has_next_page=len(items) > limit)


def check_page_size(first: int) -> int:
    """`first` when within MIN_PAGE_SIZE..MAX_PAGE_SIZE; raises InvalidArgumentError otherwise
    (0 too: nothing asks for an empty page)."""
    if not MIN_PAGE_SIZE <= first <= MAX_PAGE_SIZE:
        raise InvalidArgumentError(f"`first` must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}.")
    return first
