"""GraphQL execution with a fast path for plain fields.

graphql-core completes every field the same general way: it builds a resolve-info object, calls
the resolver, checks whether the result is awaitable, then walks the type (non-null, list, leaf,
abstract, object) to complete it. Most fields of a page are plain: an id, a count, the author,
the media list, read from an attribute of an object the page already holds (DESIGN.md §5), and
for them that general walk costs several times the read itself (a feed page of 20 posts has 200
such fields).

`PlainFieldExecution` completes a field itself when it is plain (resolvers/field_plans.py: an
attribute read or a simple synchronous method, of a scalar or enum, object, or list-of-objects
type). It reads the value as Strawberry would and:

- a leaf is coerced in place (not at all when coercion would return it unchanged: a `str` for
  String or ID, a `bool`, a 32-bit `int`);
- an object (or each object of a list) has its sub-selection executed as graphql-core does, with
  the same `is_type_of` check, and an error inside it is located and reported the same way.

Other fields go through graphql-core's own `execute_field`. A value the fast path does not take
as it is (null for a non-null field, an awaitable, a value of the wrong type, a coercion error)
is completed by graphql-core's `complete_value`, as `execute_field` would after calling the
resolver: the same result and the same error, and the resolver is called once. With schema
middleware (an extension's resolve hook, e.g. tracing) every field takes the general path, and
so does every list when the schema has @stream.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import (
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from graphql.type.scalars import GRAPHQL_MAX_INT as _MAX_INT
from graphql.type.scalars import GRAPHQL_MIN_INT as _MIN_INT
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.field_plans import (
    PlainLeaf,
    PlainObject,
    PlainRead,
    Plan,
    plain_field_plan,
    plans_of,
)

_TYPENAME = "__typename"
_COMPLETED = frozenset({dict, list, str, int, float, bool, type(None)})
"""Types of completed values, never awaitable (checked before calling `is_awaitable`)."""


class PlainFieldExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing plain fields without the general walk."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core hands resolvers two of this executor's bound methods: a reference cycle,
        # which left all of a request's objects (this executor, the context, its loaders and
        # rows: ~190 objects a feed request) to the cyclic garbage collector, whose young
        # collections then stopped the loop for 4-9 ms several times a second under load.
        # These helpers hold the executor weakly: a request's objects go when it ends.
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=_gather, track=_tracking_by(weakref.ref(self))
        )
        self._plans = plans_of(self.schema)
        # Per operation, keyed by identity and kept alive with the key (as graphql-core's own
        # memo of sub-selections): the plans of each grouped field set, and the coerced
        # arguments of each field group (the items of a list share both).
        self._grouped_plans: dict[
            int, tuple[GroupedFieldSet, list[tuple[str, FieldDetailsList, Plan | str]]]
        ] = {}
        self._arguments: dict[int, tuple[FieldDetailsList, dict[str, Any]]] = {}
        # The sub-selection of each object field group (None when it defers fragments).
        self._subselections: dict[int, tuple[FieldDetailsList, GroupedFieldSet | None]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """As graphql-core's `execute_fields`, with plain fields completed here; the response
        keys keep the order of the selection."""
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, plan in self._planned(
                parent_type, grouped_field_set
            ):
                result: Any
                if plan is _TYPENAME:
                    results[response_name] = parent_type.name
                    continue
                if plan is None:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                elif type(plan) is PlainLeaf:
                    result = self._complete_leaf(
                        plan, parent_type, source_value, field_details_list, path, response_name
                    )
                else:
                    result = self._complete_object(
                        plan,  # type: ignore[arg-type]
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                results[response_name] = result
                if type(result) not in _COMPLETED and is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _await_fields(results, awaitable_fields)

    def _planned(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[tuple[str, FieldDetailsList, Plan | str]]:
        """(response name, field group, plan) of each field of `grouped_field_set`; the plan is
        `_TYPENAME` for `__typename`. graphql-core hands the items of a list one and the same
        grouped field set, so this is worked out once per selection and operation."""
        memo = self._grouped_plans.get(id(grouped_field_set))
        if memo is not None:
            return memo[1]
        plans = self._plans
        planned: list[tuple[str, FieldDetailsList, Plan | str]] = []
        for response_name, field_details_list in grouped_field_set.items():
            field_name = field_details_list[0].node.name.value
            if field_name == _TYPENAME:
                planned.append((response_name, field_details_list, _TYPENAME))
                continue
            key = (parent_type.name, field_name)
            if key not in plans:
                plans[key] = plain_field_plan(self.schema, parent_type, field_name)
            planned.append((response_name, field_details_list, plans[key]))
        self._grouped_plans[id(grouped_field_set)] = (grouped_field_set, planned)
        return planned

    def _complete_leaf(
        self,
        plan: PlainLeaf,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        parent_path: Path | None,
        response_name: str,
    ) -> Any:
        """The completed value of a plain leaf (its path is only built when it is needed)."""
        read = plan.source
        try:
            if read.argument_names:
                value = self.read_value(read, source, field_details_list)
            else:  # most leaves: a read without arguments, called here directly
                value = read.read(source)
        except Exception as raw_error:
            path = Path(parent_path, response_name, parent_type.name)
            self.handle_field_error(raw_error, plan.source.field.type, field_details_list, path)
            return None
        kind = type(value)
        if kind is plan.unchanged and (kind is not int or _MIN_INT <= value <= _MAX_INT):
            return value
        if value is None and plan.nullable:
            return None
        if value is not None and not isinstance(value, Exception) and not self.is_awaitable(value):
            try:
                coerced = plan.coerce(value)
            except Exception:  # complete_value below coerces again and reports it
                coerced = None
            if coerced is not None and coerced is not Undefined:
                return coerced
        path = Path(parent_path, response_name, parent_type.name)
        return self._complete_generally(plan.source, parent_type, field_details_list, path, value)

    def _complete_object(
        self,
        plan: PlainObject,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """The completed object (or list of objects), possibly awaitable. Errors are located
        and reported as graphql-core does."""
        try:
            value = self.read_value(plan.source, source, field_details_list)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_type, field_details_list, path)
            return None
        if value is None and plan.nullable:
            return None
        if plan.item_type is None:
            if self._is_plain(plan, value):
                return self._guarded(
                    plan.field_type, field_details_list, path, position_context, value
                )
        elif type(value) is list and all(self._is_plain(plan, item) for item in value):
            try:
                items = self._complete_items(
                    plan, value, field_details_list, path, position_context
                )
            except Exception as raw_error:
                self.handle_field_error(raw_error, plan.field_type, field_details_list, path)
                return None
            if type(items) is not list and self.is_awaitable(items):
                return self._await_guarded(items, plan.field_type, field_details_list, path)
            return items
        return self._complete_generally(plan.source, parent_type, field_details_list, path, value)

    def _complete_generally(
        self,
        plan: PlainRead,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
    ) -> Any:
        """A value the fast path does not complete itself (null for a non-null field, an
        awaitable, a value of the wrong type...) completed by graphql-core, exactly as its
        `execute_field` does after calling the resolver; the resolver is not called again."""
        field = plan.field
        return_type = field.type
        info = self.build_resolve_info(field, to_nodes(field_details_list), parent_type, path)
        try:
            if self.is_awaitable(value):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, value, None
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, value, None
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_guarded(completed, return_type, field_details_list, path)
        return completed

    def read_value(self, plan: PlainRead, source: Any, field_details_list: FieldDetailsList) -> Any:
        """The field's value: its resolver called with the field's coerced arguments."""
        if not plan.argument_names:
            return plan.read(source)
        memo = self._arguments.get(id(field_details_list))
        if memo is None:
            details = field_details_list[0]
            coerced = get_argument_values(
                plan.field,
                details.node,
                self.variable_values,
                details.fragment_variable_values,
                self.hide_suggestions,
            )
            names = plan.argument_names
            memo = (field_details_list, {names[name]: value for name, value in coerced.items()})
            self._arguments[id(field_details_list)] = memo
        return plan.read(source, **memo[1])

    def _is_plain(self, plan: PlainObject, value: Any) -> bool:
        """Whether `value` can be completed as the field's object type here (not null, not
        awaitable, not an error value, and the type's own `is_type_of` agrees: Strawberry's
        checks the class, which none of those has)."""
        if plan.is_type_of is not None:
            return plan.is_type_of(value, None) is True
        return (
            value is not None and not isinstance(value, Exception) and not self.is_awaitable(value)
        )

    def _guarded(
        self,
        error_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
        value: Any,
    ) -> Any:
        """The sub-selection of `value` executed, with an error reported at `path` against
        `error_type` (null when it is nullable, raised when not), now or once awaited."""
        named = error_type.of_type if isinstance(error_type, GraphQLNonNull) else error_type
        assert isinstance(named, GraphQLObjectType)
        try:
            subselection = self._subselection(named, field_details_list)
            if subselection is None or position_context is not None:  # incremental delivery
                completed = self.collect_and_execute_subfields(
                    named, field_details_list, path, value, position_context
                )
            else:  # what graphql-core's collect_and_execute_subfields comes down to
                completed = self.execute_fields(named, value, path, subselection, None)
        except Exception as raw_error:
            self.handle_field_error(raw_error, error_type, field_details_list, path)
            return None
        if type(completed) is not dict and self.is_awaitable(completed):
            return self._await_guarded(completed, error_type, field_details_list, path)
        return completed

    def _subselection(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> GroupedFieldSet | None:
        """The fields selected on `object_type` by the field group, worked out once per
        operation (the items of a list share it); None when it defers fragments (@defer)."""
        memo = self._subselections.get(id(field_details_list))
        if memo is None:
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(
                object_type, field_details_list
            )
            memo = (field_details_list, None if new_defer_usages else grouped_field_set)
            self._subselections[id(field_details_list)] = memo
        return memo[1]

    async def _await_guarded(
        self,
        completed: Awaitable[Any],
        error_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        """`completed` awaited, with an error reported as `_guarded` does."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, error_type, field_details_list, path)
            return None

    def _complete_items(
        self,
        plan: PlainObject,
        items: list[Any],
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        """Each item's sub-selection executed; an item's error is located at the item (items
        are non-null, so it then fails the list as graphql-core's list completion does)."""
        item_type = plan.item_type
        assert item_type is not None
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        for index, item in enumerate(items):
            result = self._guarded(
                item_type, field_details_list, Path(path, index, None), position_context, item
            )
            if type(result) is not dict and self.is_awaitable(result):
                awaitable_indices.append(index)
            completed.append(result)
        if not awaitable_indices:
            return completed
        return _await_items(completed, awaitable_indices)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    """graphql-core's `gather_async_work`, which does not use its executor."""
    return gather_with_cancel(*values)


def _tracking_by(
    executor: weakref.ReferenceType[PlainFieldExecution],
) -> Callable[[Sequence[Any]], None]:
    """graphql-core's `track_async_work` of `executor`, while it exists (it exists as long as
    its operation runs: afterwards there is nothing left to settle the values for)."""

    def track(values: Sequence[Any]) -> None:
        live = executor()
        if live is not None:
            live.track_async_work(values)

    return track


async def _await_fields(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    """`results` with its awaitable values awaited, together (as graphql-core does)."""
    if len(awaitable_fields) == 1:
        field = awaitable_fields[0]
        results[field] = await results[field]
    else:
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
    return results


async def _await_items(completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
    """`completed` with its awaitable items awaited, together."""
    awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
    for index, value in zip(awaitable_indices, awaited, strict=True):
        completed[index] = value
    return completed
