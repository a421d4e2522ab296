"""Every name of graphql-core and Strawberry that Shutter uses outside their public API, in one
place: the rest of the code reaches them only through this module.

Pinned to graphql-core 3.3 (written against 3.3.2) and strawberry-graphql 0.341 (0.341.3):
`PINNED_MINOR_VERSIONS`. tests/api/test_private_api.py fails when an installed minor version
differs (an upgrade: review each name below against the new release, then move the pin) or when
a name listed here is gone; it also fails when a module of execution/ (or schema/build.py)
imports an internal module of either library or reads a private attribute itself.

Public, and so not listed: what `graphql`, `strawberry` and their subpackages export in their
`__all__` (`graphql.pyutils` included), subclassing graphql-core's `Executor` (an
`executor_class`, documented) and overriding its documented classmethod `Executor.build`.

Why each name is needed, and what it would cost to do without:

graphql-core
  `Executor` methods marked ":meta private:" (`EXECUTOR_METHODS`): the plain-field executor
  (execution/executor.py) overrides `execute_fields` and calls the others to hand a field back
  to the general path exactly as graphql-core completes it (same value, same error, same
  location). Without them the fast path would have to re-implement value completion and error
  handling, or not exist: it is what keeps a feed page's ~200 plain fields cheap (README,
  "Speed").
  `FieldDetailsList`, `GroupedFieldSet` (graphql.execution.collect_fields): the types of those
  methods' arguments; a `FieldDetails` is read for its `node` and `fragment_variable_values`.

strawberry-graphql
  `StrawberryExecutionContext` (strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext):
  Strawberry's executor class, whose resolve info resolvers expect (the coerced variables as a
  plain dict, the operation's extensions); the plain-field executor extends it.
  `STRAWBERRY_DEFINITION` (GraphQLCoreConverter.DEFINITION_BACKREF): the key under which
  Strawberry keeps, in a GraphQL schema's, field's, argument's or type's `extensions`, the
  Strawberry object it was built from: how field_plans.py tells a plain attribute or method
  field from one that needs Strawberry's resolver wrapper, once per field and schema.
  `StrawberryField`, `StrawberryResolver`, `StrawberryArgument` (strawberry.types.*): the
  classes of those definitions (their attributes `base_resolver`, `extensions`, `is_async`,
  `python_name`, `default_resolver`, `arguments`, `self_parameter`, `info_parameter`,
  `root_parameter`, `parent_parameter` are read, not underscored).
  `graphql_schema_of` (Schema._schema): Strawberry offers no public way from its schema to the
  graphql-core schema it built, which validation and the cost model need.
  `MaybeNullValidationRule`, `OneOfInputValidationRule` (strawberry.schema.validation_rules):
  the two rules Strawberry's own validation step appends, which execution/admission.py's
  cached validation (replacing Strawberry's step, to hide suggestions) must run too.
  `CannotGetOperationTypeError`, `InvalidOperationTypeError` (strawberry.schema.exceptions):
  what Strawberry raises for a document with no runnable operation, which
  execution/operation_scope.py passes through to the client unmasked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import (
    StrawberryGraphQLCoreExecutionContext as StrawberryExecutionContext,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

if TYPE_CHECKING:
    from graphql import GraphQLArgument, GraphQLField, GraphQLNamedType, GraphQLSchema

PINNED_MINOR_VERSIONS = {"graphql-core": (3, 3), "strawberry-graphql": (0, 341)}
"""The (major, minor) versions every name of this module was checked against."""

EXECUTOR_METHODS = (
    "build_resolve_info",
    "collect_subfields",
    "complete_awaitable_value",
    "complete_value",
    "execute_field",
    "execute_fields",
    "handle_field_error",
    "settle_in_background",
    "track_async_work",
)
"""graphql-core `Executor` methods marked ":meta private:" that execution/executor.py overrides
(`execute_fields`) or calls; tests/api/test_private_api.py pins their parameters."""

EXECUTOR_ATTRIBUTES = (
    "async_helpers",
    "hide_suggestions",
    "is_awaitable",
    "middleware_manager",
    "schema",
    "variable_values",
)
"""Documented `Executor` attributes execution/executor.py reads (public: listed so that the test
can tell every name the executor takes from its base classes)."""

STRAWBERRY_DEFINITION: str = GraphQLCoreConverter.DEFINITION_BACKREF


def graphql_schema_of(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema Strawberry built for `schema`."""
    graphql_schema: GraphQLSchema = schema._schema
    return graphql_schema


def strawberry_schema_of(schema: GraphQLSchema) -> strawberry.Schema | None:
    """The Strawberry schema `schema` was built by, if any."""
    definition = schema.extensions.get(STRAWBERRY_DEFINITION)
    return definition if isinstance(definition, strawberry.Schema) else None


def strawberry_field_of(field: GraphQLField) -> StrawberryField | None:
    """The Strawberry field `field` was built from, if any."""
    definition = field.extensions.get(STRAWBERRY_DEFINITION)
    return definition if isinstance(definition, StrawberryField) else None


def strawberry_argument_of(argument: GraphQLArgument) -> StrawberryArgument | None:
    """The Strawberry argument `argument` was built from, if any."""
    definition = argument.extensions.get(STRAWBERRY_DEFINITION)
    return definition if isinstance(definition, StrawberryArgument) else None


def strawberry_definition_of(named_type: GraphQLNamedType) -> Any:
    """The Strawberry definition (object type, enum...) `named_type` was built from, or None."""
    return named_type.extensions.get(STRAWBERRY_DEFINITION)


__all__ = [
    "EXECUTOR_ATTRIBUTES",
    "EXECUTOR_METHODS",
    "PINNED_MINOR_VERSIONS",
    "STRAWBERRY_DEFINITION",
    "CannotGetOperationTypeError",
    "FieldDetailsList",
    "GroupedFieldSet",
    "InvalidOperationTypeError",
    "MaybeNullValidationRule",
    "OneOfInputValidationRule",
    "StrawberryArgument",
    "StrawberryExecutionContext",
    "StrawberryField",
    "StrawberryResolver",
    "graphql_schema_of",
    "strawberry_argument_of",
    "strawberry_definition_of",
    "strawberry_field_of",
    "strawberry_schema_of",
]
