"""Builds the GraphQL schema; `python -m schema.build` prints its SDL (kept in schema.graphql)."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from resolvers.extensions import FreshLoaders, PresentErrors
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription

# Parsing and validating a document costs more than executing a small one (DESIGN.md §5);
# clients send the same few documents over and over, so both steps are cached (bounded LRU).
DOCUMENT_CACHE_SIZE = 1024


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry logs every error with its traceback by default; expected ones (bad input,
        no credentials) are not worth a traceback, and PresentErrors logs the unexpected ones."""


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
            partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
            FreshLoaders,
            PresentErrors,
        ],
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    print(schema_sdl(), end="")
