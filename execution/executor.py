"""GraphQL execution with a fast path for plain fields.

graphql-core completes every field the same general way: it builds a resolve-info object, calls
the resolver, checks whether the result is awaitable, then walks the type (non-null, list, leaf,
abstract, object) to complete it. Most fields of a page are plain: an id, a count, the author,
the media list, read from an attribute of an object the page already holds
(docs/architecture.md), and for them that general walk costs several times the read itself (a
feed page of 20 posts has 200 such fields).

`PlainFieldExecution` completes a field itself when it is plain (execution/field_plans.py: an
attribute read or a simple synchronous method, of a scalar or enum, object, or list-of-objects
type). It reads the value as Strawberry would and:

- a leaf is coerced in place (not at all when coercion would return it unchanged: a `str` for
  String or ID, a `bool`, a 32-bit `int`);
- an object (or each object of a list) has its sub-selection executed as graphql-core does, with
  the same `is_type_of` check, and an error inside it is located and reported the same way.

Each selection is worked out once per operation into steps (`_Step`: the field's plan, its
coerced arguments, the steps of its sub-selection), which an object's fields, and the items of
a list, then run without looking anything up.

Other fields go through graphql-core's own `execute_field`. A value the fast path does not take
as it is (null for a non-null field, an awaitable, a value of the wrong type, a coercion error)
is completed by graphql-core's `complete_value`, as `execute_field` would after calling the
resolver: the same result and the same error, and the resolver is called once. With schema
middleware (an extension's resolve hook, e.g. tracing), and on a schema with @defer or @stream
or exception handlers (execution/field_plans.py: `plans_of`), every field takes the general
path; so the fast path never meets incremental delivery.

It relies on graphql-core's and Strawberry's executor internals: each one it uses is listed,
with the versions it was checked against, in execution/private_api.py.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import GRAPHQL_MAX_INT as _MAX_INT
from graphql import GRAPHQL_MIN_INT as _MIN_INT
from graphql import (
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    Undefined,
    get_argument_values,
)
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel

from execution.field_plans import (
    PlainLeaf,
    PlainObject,
    PlainRead,
    Plan,
    Plans,
    plain_field_plan,
    plans_of,
)
from execution.private_api import FieldDetailsList, GroupedFieldSet, StrawberryExecutionContext

_TYPENAME = "__typename"
_COMPLETED = frozenset({dict, list, str, int, float, bool, type(None)})
"""Types of completed values, never awaitable (checked before calling `is_awaitable`)."""


def _not_plain(*_: Any, **__: Any) -> Any:
    """The `read` of a step the fast path does not complete: never called."""
    raise AssertionError("read of a field that takes the general path")


class _Never:
    """A type no value has: the `unchanged` of a leaf whose coercion always runs."""


_NO_ARGUMENTS: dict[str, Any] = {}
_LEAF, _OBJECT, _GENERAL = "leaf", "object", "general"
_KIND: dict[type, str] = {PlainLeaf: _LEAF, PlainObject: _OBJECT, type(None): _GENERAL}


class _Step:
    """One field of a selection as this operation runs it: its plan (execution/field_plans.py),
    its coerced arguments once read, and for an object field the steps of its sub-selection
    once collected. The items of a list share their steps."""

    __slots__ = (
        "arguments",
        "children",
        "field_details_list",
        "kind",
        "name",
        "object_type",
        "plan",
        "read",
        "unchanged",
    )

    def __init__(self, name: str, field_details_list: FieldDetailsList, plan: Plan | str) -> None:
        self.name = name
        self.field_details_list = field_details_list
        self.plan = plan
        self.kind = _KIND[type(plan)] if plan is not _TYPENAME else _TYPENAME
        self.read: Callable[..., Any] = _not_plain
        self.unchanged: type = _Never
        self.arguments: dict[str, Any] | None = None
        self.children: list[_Step] | None = None  # collected when first needed
        self.object_type: GraphQLObjectType | None = None
        if isinstance(plan, PlainLeaf | PlainObject):
            self.read = plan.source.read
            if not plan.source.argument_names:
                self.arguments = _NO_ARGUMENTS
        if isinstance(plan, PlainLeaf) and plan.unchanged is not None:
            self.unchanged = plan.unchanged
        if isinstance(plan, PlainObject):
            named = plan.item_type or plan.field_type
            if isinstance(named, GraphQLNonNull):
                named = named.of_type
            assert isinstance(named, GraphQLObjectType)
            self.object_type = named


class PlainFieldExecution(StrawberryExecutionContext):
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
        middleware = self.middleware_manager
        self._plans: Plans | None = (
            None if middleware is not None and middleware.middlewares else plans_of(self.schema)
        )
        """The schema's plans; None when every field takes the general path."""
        # The steps of each grouped field set met by graphql-core's own calls, keyed by
        # identity and kept alive with the key (as graphql-core's memo of sub-selections).
        self._steps_of: dict[int, tuple[GroupedFieldSet, list[_Step]]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """As graphql-core's `execute_fields`, with plain fields completed here; the response
        keys keep the order of the selection. (`position_context` is incremental delivery's,
        None without it: the fast path runs only then.)"""
        plans = self._plans
        if plans is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        memo = self._steps_of.get(id(grouped_field_set))
        if memo is None:
            memo = (grouped_field_set, self._steps(plans, parent_type, grouped_field_set))
            self._steps_of[id(grouped_field_set)] = memo
        return self._execute_steps(memo[1], parent_type, source_value, path)

    def _steps(
        self, plans: Plans, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[_Step]:
        """The step of each field of `grouped_field_set` (its plan is `_TYPENAME` for
        `__typename`); fills `plans` with the plans of fields met the first time."""
        steps = []
        for response_name, field_details_list in grouped_field_set.items():
            field_name = field_details_list[0].node.name.value
            if field_name == _TYPENAME:
                steps.append(_Step(response_name, field_details_list, _TYPENAME))
                continue
            key = (parent_type.name, field_name)
            if key not in plans:
                plans[key] = plain_field_plan(parent_type, field_name)
            steps.append(_Step(response_name, field_details_list, plans[key]))
        return steps

    def _execute_steps(
        self,
        steps: list[_Step],
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """The fields of `source`, completed; awaitable when one of them is."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for step in steps:
                result: Any
                kind = step.kind
                if kind is _LEAF:
                    # Most leaves: read and returned as they are, without a call of their own.
                    try:
                        if step.arguments is _NO_ARGUMENTS:
                            value = step.read(source)
                        else:
                            value = self._read(step, source)
                    except Exception as raw_error:
                        self._leaf_error(step, parent_type, path, raw_error)
                        result = None
                    else:
                        value_type = type(value)
                        if value_type is step.unchanged and (
                            value_type is not int or _MIN_INT <= value <= _MAX_INT
                        ):
                            results[step.name] = value
                            continue
                        result = self._complete_leaf(step, parent_type, path, value)
                elif kind is _OBJECT:
                    result = self._complete_object(
                        step,
                        parent_type,
                        source,
                        Path(path, step.name, parent_type.name),
                    )
                elif kind is _TYPENAME:
                    results[step.name] = parent_type.name
                    continue
                else:
                    result = self.execute_field(
                        parent_type,
                        source,
                        step.field_details_list,
                        Path(path, step.name, parent_type.name),
                        None,
                    )
                    if result is Undefined:
                        continue
                results[step.name] = result
                if type(result) not in _COMPLETED and is_awaitable(result):
                    awaitable_fields.append(step.name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _await_fields(results, awaitable_fields)

    def _read(self, step: _Step, source: Any) -> Any:
        """The field's value: its resolver called with the field's coerced arguments (coerced
        once per operation; a coercion error is raised each time, as graphql-core does)."""
        arguments = step.arguments
        if arguments is None:
            plan = step.plan
            assert isinstance(plan, PlainLeaf | PlainObject)
            details = step.field_details_list[0]
            coerced = get_argument_values(
                plan.source.field,
                details.node,
                self.variable_values,
                details.fragment_variable_values,
                self.hide_suggestions,
            )
            names = plan.source.argument_names
            arguments = step.arguments = {names[name]: value for name, value in coerced.items()}
        return step.read(source, **arguments)

    def _leaf_error(
        self, step: _Step, parent_type: GraphQLObjectType, path: Path | None, raw_error: Exception
    ) -> None:
        """A leaf whose resolver raised: reported as graphql-core does (raised on when the
        field is non-null)."""
        plan = step.plan
        assert isinstance(plan, PlainLeaf)
        field_path = Path(path, step.name, parent_type.name)
        self.handle_field_error(
            raw_error, plan.source.field.type, step.field_details_list, field_path
        )

    def _complete_leaf(
        self, step: _Step, parent_type: GraphQLObjectType, path: Path | None, value: Any
    ) -> Any:
        """A leaf's value that coercion may change (or reject), completed."""
        plan = step.plan
        assert isinstance(plan, PlainLeaf)
        if value is None and plan.nullable:
            return None
        if value is not None and not isinstance(value, Exception) and not self.is_awaitable(value):
            try:
                coerced = plan.coerce(value)
            except Exception:  # complete_value below coerces again and reports it
                coerced = None
            if coerced is not None and coerced is not Undefined:
                return coerced
        field_path = Path(path, step.name, parent_type.name)
        return self._complete_generally(
            plan.source, parent_type, step.field_details_list, field_path, value
        )

    def _complete_object(
        self,
        step: _Step,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path,
    ) -> Any:
        """The completed object (or list of objects), possibly awaitable. Errors are located
        and reported as graphql-core does."""
        plan = step.plan
        assert isinstance(plan, PlainObject)
        try:
            value = (
                step.read(source) if step.arguments is _NO_ARGUMENTS else self._read(step, source)
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_type, step.field_details_list, path)
            return None
        if value is None and plan.nullable:
            return None
        is_type_of = plan.is_type_of
        if plan.item_type is None:
            if (
                is_type_of(value, None) is True
                if is_type_of is not None
                else self._is_plain_value(value)
            ):
                return self._guarded(step, plan.field_type, path, value)
        elif type(value) is list and (
            all(is_type_of(item, None) is True for item in value)
            if is_type_of is not None
            else all(self._is_plain_value(item) for item in value)
        ):
            try:
                items = self._complete_items(step, value, path)
            except Exception as raw_error:
                self.handle_field_error(raw_error, plan.field_type, step.field_details_list, path)
                return None
            if type(items) is not list and self.is_awaitable(items):
                return self._await_guarded(items, plan.field_type, step.field_details_list, path)
            return items
        return self._complete_generally(
            plan.source, parent_type, step.field_details_list, path, value
        )

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
        nodes = [details.node for details in field_details_list]
        info = self.build_resolve_info(field, nodes, parent_type, path)
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

    def _is_plain_value(self, value: Any) -> bool:
        """Whether `value` can be completed as an object type without `is_type_of` here (not
        null, not awaitable, not an error value). With `is_type_of`, the type's own check
        decides: Strawberry's checks the class, which none of those has."""
        return (
            value is not None and not isinstance(value, Exception) and not self.is_awaitable(value)
        )

    def _guarded(
        self,
        step: _Step,
        error_type: GraphQLOutputType,
        path: Path,
        value: Any,
    ) -> Any:
        """The sub-selection of `value` executed, with an error reported at `path` against
        `error_type` (null when it is nullable, raised when not), now or once awaited."""
        object_type = step.object_type
        assert object_type is not None
        try:
            children = step.children
            if children is None:
                children = step.children = self._children(step, object_type)
            # what graphql-core's collect_and_execute_subfields comes down to
            completed = self._execute_steps(children, object_type, value, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, error_type, step.field_details_list, path)
            return None
        if type(completed) is not dict and self.is_awaitable(completed):
            return self._await_guarded(completed, error_type, step.field_details_list, path)
        return completed

    def _children(self, step: _Step, object_type: GraphQLObjectType) -> list[_Step]:
        """The steps of the fields the step selects on `object_type`."""
        plans = self._plans
        assert plans is not None  # the fast path runs only with plans
        grouped_field_set = self.collect_subfields(object_type, step.field_details_list)[0]
        return self._steps(plans, object_type, grouped_field_set)

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
        step: _Step,
        items: list[Any],
        path: Path,
    ) -> AwaitableOrValue[list[Any]]:
        """Each item's sub-selection executed; an item's error is located at the item (items
        are non-null, so it then fails the list as graphql-core's list completion does)."""
        plan = step.plan
        assert isinstance(plan, PlainObject)
        assert plan.item_type is not None
        item_type = plan.item_type
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        for index, item in enumerate(items):
            result = self._guarded(step, item_type, Path(path, index, None), item)
            if type(result) is not dict and self.is_awaitable(result):
                awaitable_indices.append(index)
            completed.append(result)
        if not awaitable_indices:
            return completed
        return _await_items(completed, awaitable_indices)


class PlainFieldExecutionWithoutSuggestions(PlainFieldExecution):
    """`PlainFieldExecution` whose errors suggest no names ("Did you mean ...?"): variable
    values are coerced while graphql-core builds the executor, arguments while it runs, and
    both hide their suggestions, for queries, mutations and subscriptions alike."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        """graphql-core's documented `Executor.build`, with `hide_suggestions` on."""
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


def plain_field_execution(*, field_suggestions: bool) -> type[PlainFieldExecution]:
    """The executor class of a schema whose errors may (or may not) suggest names."""
    return PlainFieldExecution if field_suggestions else PlainFieldExecutionWithoutSuggestions


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
