"""Which fields the plain-field execution (execution/executor.py) completes itself, and how.

A field is plain when Strawberry would only read an attribute (its default resolver), or call
a synchronous method taking `self` and arguments of built-in scalar types (which Strawberry
passes unconverted), with no field extensions, permissions or exception handlers; and when its
type is a scalar or enum, a list of non-null scalars or enums, an object type (with no
hand-written `is_type_of`), or a list of non-null objects. Each plan is worked out once per
schema and field.

A schema with incremental delivery (@defer, @stream) or exception handlers has no plans at
all: every field takes graphql-core's general path there.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    is_leaf_type,
)

from execution.private_api import (
    StrawberryResolver,
    strawberry_argument_of,
    strawberry_definition_of,
    strawberry_field_of,
    strawberry_schema_of,
)


class PlainRead(NamedTuple):
    """How a plain field's value is read: `read(source, **arguments)`, with the arguments (when
    the field has any) renamed from their GraphQL names to the resolver's parameter names."""

    read: Callable[..., Any]
    field: GraphQLField
    argument_names: dict[str, str]


class PlainLeaf(NamedTuple):
    """A scalar or enum field, or a list of non-null ones: how to read it, coerce it (a list
    item by item), and whether null is allowed."""

    source: PlainRead
    coerce: Callable[[Any], Any]
    nullable: bool
    unchanged: type | None
    """The Python type whose values this scalar's coercion returns as they are (a `str` for
    String and ID, a `bool` for Boolean, an `int` within 32 bits for Int), so it is skipped."""


_UNCHANGED_BY_COERCION: tuple[tuple[GraphQLScalarType, type], ...] = (
    (GraphQLString, str),
    (GraphQLID, str),
    (GraphQLBoolean, bool),
    (GraphQLInt, int),
)


class PlainObject(NamedTuple):
    """An object (or list of non-null objects) field."""

    source: PlainRead
    field_type: GraphQLOutputType
    is_type_of: Callable[[Any, Any], Any] | None
    nullable: bool
    item_type: GraphQLNonNull[GraphQLObjectType] | None  # set for a list field


Plan = PlainLeaf | PlainObject | None

Plans = dict[tuple[str, str], Plan]
"""A schema's plans by (type name, field name), filled as fields are first met."""

_plans_by_schema: weakref.WeakKeyDictionary[GraphQLSchema, Plans | None] = (
    weakref.WeakKeyDictionary()
)
_INCREMENTAL_DIRECTIVES = ("defer", "stream")
_UNKNOWN = object()


def plans_of(schema: GraphQLSchema) -> Plans | None:
    """The schema's plans (the schema never changes once built), or None when no field of it
    may take the fast path: with @defer or @stream (incremental delivery, whose bookkeeping
    only graphql-core's general path does) or with Strawberry exception handlers (which wrap
    resolvers)."""
    known = _plans_by_schema.get(schema, _UNKNOWN)
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    strawberry_schema = strawberry_schema_of(schema)
    fast = (
        strawberry_schema is not None
        and not strawberry_schema.exception_handlers
        and not any(schema.get_directive(name) for name in _INCREMENTAL_DIRECTIVES)
    )
    plans: Plans | None = {} if fast else None
    _plans_by_schema[schema] = plans
    return plans


def plain_field_plan(parent_type: GraphQLObjectType, name: str) -> Plan:
    """How the fast path completes `parent_type.name`, or None when the field needs the general
    path (an async or info-taking resolver, an abstract type, nullable list items...). Only
    for a schema `plans_of` gives plans for."""
    field = parent_type.fields.get(name)
    source = None if field is None else plain_read(field)
    if field is None or source is None:
        return None
    field_type = field.type
    nullable = not isinstance(field_type, GraphQLNonNull)
    named = field_type if nullable else field_type.of_type
    if is_leaf_type(named):
        assert isinstance(named, GraphQLLeafType)
        unchanged = next((kind for scalar, kind in _UNCHANGED_BY_COERCION if named is scalar), None)
        return PlainLeaf(source, named.coerce_output_value, nullable, unchanged)
    item_type = None
    if isinstance(named, GraphQLList):
        if not isinstance(named.of_type, GraphQLNonNull):
            return None
        if is_leaf_type(named.of_type.of_type):
            item = named.of_type.of_type
            assert isinstance(item, GraphQLLeafType)
            return PlainLeaf(
                source, partial(_coerce_items, item.coerce_output_value), nullable, None
            )
        item_type = named.of_type
        named = item_type.of_type
    if not isinstance(named, GraphQLObjectType):
        return None
    if _has_custom_is_type_of(named):
        return None  # it may read the resolve info, which the fast path does not build
    return PlainObject(source, field_type, named.is_type_of, nullable, item_type)


_PLAIN_ARGUMENT_TYPES = (int, float, str, bool)


def plain_read(field: GraphQLField) -> PlainRead | None:
    """How to read `field` without Strawberry's general resolver wrapper, or None when it needs
    that wrapper: Strawberry's default attribute read, or a synchronous method resolver taking
    only `self` and arguments of built-in scalar types (which Strawberry passes unconverted),
    with no field extensions (permissions are one)."""
    definition = strawberry_field_of(field)
    if definition is None or definition.extensions:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        name = definition.python_name
        if definition.default_resolver is getattr:
            # What Strawberry's default resolver does, without its three calls per read.
            return PlainRead(operator.attrgetter(name), field, {})
        default_resolver = definition.default_resolver
        return PlainRead(lambda source: default_resolver(source, name), field, {})
    if (
        not isinstance(resolver, StrawberryResolver)
        or definition.is_async
        or resolver.self_parameter is None
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or any(argument.type not in _PLAIN_ARGUMENT_TYPES for argument in definition.arguments)
    ):
        return None
    names = {}
    for graphql_name, argument in field.args.items():
        strawberry_argument = strawberry_argument_of(argument)
        if strawberry_argument is None:
            return None
        names[graphql_name] = strawberry_argument.python_name
    return PlainRead(resolver, field, names)


def _coerce_items(coerce: Callable[[Any], Any], value: Any) -> list[Any]:
    """Each item of a list of non-null leaves, coerced. Raises for a value that is not a list,
    and for an item coercion rejects or turns into null (the general path then completes it
    and reports the error as graphql-core does)."""
    if not isinstance(value, list):
        raise TypeError("not a list")
    coerced = [coerce(item) for item in value]
    if any(item is None or item is Undefined for item in coerced):
        raise TypeError("a null item")
    return coerced


def _has_custom_is_type_of(object_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` was written by hand (Strawberry's own only checks the
    value's class and ignores the info)."""
    if object_type.is_type_of is None:
        return False
    definition = strawberry_definition_of(object_type)
    return definition is None or getattr(definition, "is_type_of", None) is not None
