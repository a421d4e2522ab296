"""Builds the GraphQL schema; `python -m schema.build` prints its SDL (kept in schema.graphql)."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from execution.admission import (
    ApiLimits,
    QueryCostLimits,
    document_rules,
)
from execution.cost import CostModel
from execution.executor import plain_field_execution
from execution.operation_scope import OperationScope
from execution.text_inputs import StorableTextInputs
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription
from schema.scalars import SCALAR_MAP
from settings import Settings
from tracing import tracing_extensions

# Parsing and validating a document costs more than executing a small one
# (docs/architecture.md, "Why the executor exists"); clients send the same few documents over
# and over, so both steps are cached (bounded LRU).
DOCUMENT_CACHE_SIZE = 1024


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry logs every error with its traceback by default; expected ones (bad input,
        no credentials) are not worth a traceback, and OperationScope logs the unexpected ones.

        Side effect: an error raised as a GraphQLError itself (a rule refusing the document:
        validation, cost, budget; no `original_error`) loses its traceback, which nothing
        reads and whose frames hold the operation's context: a reference cycle otherwise,
        left to the cyclic garbage collector (~70 objects per refused request)."""
        for error in errors:
            if error.original_error is None:
                error.__traceback__ = None


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the public API's limits of `settings` (from the environment if None)."""
    limits = ApiLimits.from_settings(settings or Settings())
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Variable values and arguments are checked during execution: suggestions hidden there
        # too when they are off.
        execution_context_class=plain_field_execution(
            field_suggestions=limits.field_suggestions_enabled
        ),
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            *tracing_extensions(),  # first: outermost (issue #8)
            OperationScope,
            partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
            document_rules(limits, DOCUMENT_CACHE_SIZE),
            StorableTextInputs,  # after document_rules: checks variables once it validated
            partial(QueryCostLimits, limits=limits, model=CostModel(DOCUMENT_CACHE_SIZE)),
        ],
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    print(schema_sdl(), end="")
