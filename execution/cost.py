"""Query cost, computed from the document before anything runs, in the manner of GitHub's and
Shopify's GraphQL APIs (the rules and their reasons: docs/query-cost.md).

- A scalar or enum field costs 0. An object field costs 1 plus its selections; the wrappers of a
  connection (`...Connection`, `...Edge`, `PageInfo`) cost 0 themselves: they hold no data.
- A connection (a field taking `first` and returning a `...Connection`) costs 1 plus `first`
  times its selections: every item may be there, each with everything selected under it.
- Any other list of objects is multiplied by its bound (LIST_BOUNDS; DEFAULT_LIST_SIZE if none).
- A mutation field costs 10 plus its selections.
- An interface or union costs as much as the most expensive of its possible types.
- `__schema` and `__type` cost 1: they are answered from memory, and graphql-core's
  MaxIntrospectionDepthRule bounds their nesting.

`first` must be within MIN_PAGE_SIZE..MAX_PAGE_SIZE (1..100) on every field that takes it;
this module checks it for literal values and variables alike, before anything runs (the
services check it again).

A document is compiled once into a small expression over its variables, cached per document
text and operation name, so that each request only evaluates that expression (microseconds).
Selections merge as graphql-core merges them at execution (fields by response key, each
fragment once per selection set), so repeating a fragment does not multiply its cost. The
compiler walks the merged selections, never more than the document written out, which
validation bounds first (QUERY_MAX_SELECTIONS, execution.admission).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_object_type,
)
from graphql.utilities import get_operation_ast

from services.pagination import MAX_PAGE_SIZE, MIN_PAGE_SIZE

OBJECT_COST = 1
MUTATION_FIELD_COST = 10
INTROSPECTION_COST = 1
DEFAULT_LIST_SIZE = 10
PAGE_SIZE_ARGUMENT = "first"
BAD_USER_INPUT = "BAD_USER_INPUT"


@dataclass(frozen=True, slots=True)
class Fixed:
    """The list never holds more than `size` items."""

    size: int


@dataclass(frozen=True, slots=True)
class LengthOf:
    """The list has one item per element of the field's list argument `argument`."""

    argument: str


@dataclass(frozen=True, slots=True)
class EnclosingArgument:
    """The list holds at most the enclosing field's integer argument `argument` (for `search`,
    whose `first` bounds its `users` and `hashtags`)."""

    argument: str


ListBound: TypeAlias = Fixed | LengthOf | EnclosingArgument

LIST_BOUNDS: Mapping[tuple[str, str], ListBound] = {
    ("Query", "nodes"): LengthOf("ids"),
    ("Post", "media"): Fixed(10),  # createPost takes 1 to 10 media items
    ("Media", "variants"): Fixed(6),  # four widths and two square thumbnails
    ("VideoPlayback", "renditions"): Fixed(4),  # 1080, 720, 480 and 360 lines at most
    ("SearchResults", "users"): EnclosingArgument(PAGE_SIZE_ARGUMENT),
    ("SearchResults", "hashtags"): EnclosingArgument(PAGE_SIZE_ARGUMENT),
    ("CreateUploadPayload", "uploadHeaders"): Fixed(4),
    ("*", "userErrors"): Fixed(3),
    ("User", "sessions"): Fixed(50),  # services.sessions.SESSIONS_LISTED
    # A photo, or a video's poster and VIDEO_MODERATION_KEYFRAMES (at most 32) keyframes.
    ("AddKnownImageFromMediaPayload", "knownImages"): Fixed(33),
    # services.ranker.explanations.TOP_CONTRIBUTIONS
    ("RankingExplanation", "contributions"): Fixed(4),
    ("ModerationCase", "reports"): Fixed(50),  # services.moderation_queue.REPORTS_SHOWN
    ("ModerationCase", "reasons"): Fixed(8),  # the ReportReason values
    ("ModerationCase", "findings"): Fixed(20),  # services.moderation_queue.FINDINGS_SHOWN
    ("ModerationCase", "subjectMedia"): Fixed(10),  # a post's carousel at most
}
"""Bounds of the lists of objects that are not connections, by (type, field); `*` matches any
type. tests/api/test_query_limits.py fails when a list of objects in the schema has none."""


class _Variable:
    """An integer (or a list's length) taken from a variable when the request sets it."""

    __slots__ = ("check", "fallback", "length", "name")

    def __init__(self, name: str, fallback: int, *, length: bool, check: _PageCheck | None) -> None:
        self.name = name
        self.fallback = fallback
        self.length = length
        self.check = check

    def value(self, variables: Mapping[str, object]) -> int:
        raw = variables.get(self.name)
        if self.length:
            return len(raw) if isinstance(raw, list) else self.fallback
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if type(raw) is not int:
            return self.fallback  # absent or malformed: execution reports a malformed one
        if self.check is not None:
            self.check.enforce(raw)
        return raw


@dataclass(frozen=True, slots=True)
class _PageCheck:
    coordinate: str
    node: ArgumentNode

    def error(self, value: int) -> GraphQLError:
        return GraphQLError(
            f"`{PAGE_SIZE_ARGUMENT}` on `{self.coordinate}` must be between {MIN_PAGE_SIZE} and "
            f"{MAX_PAGE_SIZE} (got {value}).",
            nodes=[self.node],
            extensions={"code": BAD_USER_INPUT},
        )

    def problem(self, value: int) -> GraphQLError | None:
        """The error of a `first` out of range; None when it is within 1..MAX_PAGE_SIZE."""
        return None if MIN_PAGE_SIZE <= value <= MAX_PAGE_SIZE else self.error(value)

    def enforce(self, value: int) -> None:
        if (error := self.problem(value)) is not None:
            raise error


Size: TypeAlias = int | _Variable


class _Expr:
    __slots__ = ()

    def evaluate(self, variables: Mapping[str, object]) -> int:
        raise NotImplementedError


class _Const(_Expr):
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def evaluate(self, variables: Mapping[str, object]) -> int:
        return self.value


class _Sum(_Expr):
    __slots__ = ("constant", "terms")

    def __init__(self, constant: int, terms: tuple[_Expr, ...]) -> None:
        self.constant = constant
        self.terms = terms

    def evaluate(self, variables: Mapping[str, object]) -> int:
        return self.constant + sum(term.evaluate(variables) for term in self.terms)


class _Scaled(_Expr):
    __slots__ = ("body", "size")

    def __init__(self, size: Size, body: _Expr) -> None:
        self.size = size
        self.body = body

    def evaluate(self, variables: Mapping[str, object]) -> int:
        size = self.size if isinstance(self.size, int) else self.size.value(variables)
        return size * self.body.evaluate(variables)


class _Max(_Expr):
    __slots__ = ("options",)

    def __init__(self, options: tuple[_Expr, ...]) -> None:
        self.options = options

    def evaluate(self, variables: Mapping[str, object]) -> int:
        return max(option.evaluate(variables) for option in self.options)


_ZERO = _Const(0)


def _sum(terms: Iterable[_Expr]) -> _Expr:
    constant = 0
    rest: list[_Expr] = []
    for term in terms:
        if isinstance(term, _Const):
            constant += term.value
        elif isinstance(term, _Sum):
            constant += term.constant
            rest.extend(term.terms)
        else:
            rest.append(term)
    return _Sum(constant, tuple(rest)) if rest else _Const(constant)


def _scaled(size: Size, body: _Expr) -> _Expr:
    if isinstance(size, int) and isinstance(body, _Const):
        return _Const(size * body.value)
    return _Scaled(size, body)


def _max(options: list[_Expr]) -> _Expr:
    if not options:
        return _ZERO
    constants = [option.value for option in options if isinstance(option, _Const)]
    if len(constants) == len(options):
        return _Const(max(constants))
    return _Max(tuple(options))


@dataclass(frozen=True, slots=True)
class CostPlan:
    """The compiled cost of one operation: evaluate it with each request's variables."""

    expression: _Expr
    errors: tuple[GraphQLError, ...]
    """Literal `first` values out of range (reported before anything runs)."""
    page_sizes: tuple[_Variable, ...] = ()
    """Every `first` given by a variable, checked even where it does not scale a cost."""
    actual: ActualCostPlan | None = None
    """How to count what the response holds (`actualQueryCost`)."""

    def evaluate(self, variables: Mapping[str, object] | None) -> int:
        """The operation's cost for these variables. Raises GraphQLError (BAD_USER_INPUT) when a
        `first` is out of range. Side effects: none."""
        if self.errors:
            first = self.errors[0]
            raise GraphQLError(first.message, nodes=first.nodes, extensions=first.extensions)
        variables = variables or {}
        for page_size in self.page_sizes:
            page_size.value(variables)
        return self.expression.evaluate(variables)


def compile_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> CostPlan:
    """The cost plan of the operation `operation_name` selects in a VALID document (validation
    first: unknown fields count 0 here). Side effects: none."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return CostPlan(_ZERO, ())
    compiler = _Compiler(schema, document, operation)
    expression = compiler.operation()
    actual = ActualCostPlan(_CountingCompiler(schema, document, operation).counting())
    return CostPlan(expression, tuple(compiler.errors), tuple(compiler.page_sizes), actual)


class CostModel:
    """Cost plans of the documents a process sees, cached per (document text, operation name)
    in a bounded LRU (like the parser and validation caches)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._plans: OrderedDict[tuple[str, str | None], CostPlan] = OrderedDict()

    def plan(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: DocumentNode,
        operation_name: str | None,
    ) -> CostPlan:
        """The cached plan of this document, compiled on first use. Side effects: fills the
        cache (evicting the least recently used plan beyond `maxsize`)."""
        if query is None:
            return compile_cost(schema, document, operation_name)
        key = (query, operation_name)
        plan = self._plans.get(key)
        if plan is None:
            plan = compile_cost(schema, document, operation_name)
            self._plans[key] = plan
            if len(self._plans) > self.maxsize:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan


class _Compiler:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
    ) -> None:
        self.schema = schema
        self.operation_node = operation
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.variable_defaults: dict[str, ValueNode] = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None
        }
        self.errors: list[GraphQLError] = []
        self.page_sizes: list[_Variable] = []

    def operation(self) -> _Expr:
        root = self.schema.get_root_type(self.operation_node.operation)
        if root is None:
            return _ZERO
        return self._selections([self.operation_node.selection_set], root, {})

    def _selections(
        self,
        selection_sets: list[SelectionSetNode],
        parent: GraphQLNamedType,
        enclosing: Mapping[str, Size],
    ) -> _Expr:
        if is_abstract_type(parent):
            possible = self.schema.get_possible_types(parent)
            return _max([self._object_selections(selection_sets, t, enclosing) for t in possible])
        if is_object_type(parent):
            return self._object_selections(selection_sets, parent, enclosing)
        return _ZERO

    def _object_selections(
        self,
        selection_sets: list[SelectionSetNode],
        object_type: GraphQLObjectType,
        enclosing: Mapping[str, Size],
    ) -> _Expr:
        fields: dict[str, list[FieldNode]] = {}
        self._collect(selection_sets, object_type, fields, set())
        return _sum(self._field(object_type, nodes, enclosing) for nodes in fields.values())

    def _collect(
        self,
        selection_sets: Iterable[SelectionSetNode],
        object_type: GraphQLObjectType,
        fields: dict[str, list[FieldNode]],
        visited_fragments: set[str],
    ) -> None:
        """Fields by response key, as graphql-core's collect_fields merges them. Each selection
        set is met once here (a fragment once per call, each field's own set once), so each
        field node is appended once: no look-up in `nodes`, whose `in` compared syntax trees
        deeply (quadratic in the repeats of a field: 0.4 s for `id` written 1,900 times)."""
        for selection_set in selection_sets:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    if condition is None or self._applies(condition.name.value, object_type):
                        self._collect(
                            [selection.selection_set], object_type, fields, visited_fragments
                        )
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is None or name in visited_fragments:
                        continue
                    visited_fragments.add(name)
                    if self._applies(fragment.type_condition.name.value, object_type):
                        self._collect(
                            [fragment.selection_set], object_type, fields, visited_fragments
                        )

    def _applies(self, type_name: str, object_type: GraphQLObjectType) -> bool:
        if type_name == object_type.name:
            return True
        condition = self.schema.get_type(type_name)
        return (
            condition is not None
            and is_abstract_type(condition)
            and self.schema.is_sub_type(condition, object_type)
        )

    def _field(
        self,
        parent: GraphQLObjectType,
        nodes: list[FieldNode],
        enclosing: Mapping[str, Size],
    ) -> _Expr:
        node = nodes[0]
        name = node.name.value
        if name == "__typename":
            return _ZERO
        if name in ("__schema", "__type"):
            return _Const(INTROSPECTION_COST)
        definition = parent.fields.get(name)
        if definition is None:
            return _ZERO
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return _ZERO
        first: Size | None = None
        if PAGE_SIZE_ARGUMENT in definition.args:
            first = self._page_size(parent, name, definition, node)
        children = {PAGE_SIZE_ARGUMENT: first} if first is not None else {}
        selection_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        body = self._selections(selection_sets, named, children)
        if first is not None and named.name.endswith("Connection"):
            return _sum([_Const(OBJECT_COST), _scaled(first, body)])
        if parent is self.schema.mutation_type:
            own = MUTATION_FIELD_COST
        elif named.name.endswith(("Connection", "Edge")) or named.name == "PageInfo":
            own = 0
        else:
            own = OBJECT_COST
        item = _sum([_Const(own), body])
        if is_list_type(get_nullable_type(definition.type)):
            return _scaled(self._list_size(parent, name, node, enclosing), item)
        return item

    def _page_size(
        self, parent: GraphQLObjectType, name: str, definition: GraphQLField, node: FieldNode
    ) -> Size:
        default = definition.args[PAGE_SIZE_ARGUMENT].default_value
        fallback = default if type(default) is int else DEFAULT_LIST_SIZE
        argument = _argument(node, PAGE_SIZE_ARGUMENT)
        if argument is None:
            return fallback
        check = _PageCheck(f"{parent.name}.{name}", argument)
        value = argument.value
        if isinstance(value, IntValueNode):
            literal = int(value.value)
            if (error := check.problem(literal)) is not None:
                self.errors.append(error)
                return 0
            return literal
        if isinstance(value, VariableNode):
            variable = value.name.value
            declared = self.variable_defaults.get(variable)
            if isinstance(declared, IntValueNode):
                fallback = int(declared.value)
                if (error := check.problem(fallback)) is not None:
                    self.errors.append(error)
                    return 0
            size = _Variable(variable, fallback, length=False, check=check)
            self.page_sizes.append(size)
            return size
        return fallback

    def _list_size(
        self,
        parent: GraphQLObjectType,
        name: str,
        node: FieldNode,
        enclosing: Mapping[str, Size],
    ) -> Size:
        if parent.name.endswith("Connection"):
            return 1  # the edges of a connection: the connection multiplies by `first`
        bound = LIST_BOUNDS.get((parent.name, name)) or LIST_BOUNDS.get(("*", name))
        if isinstance(bound, Fixed):
            return bound.size
        if isinstance(bound, EnclosingArgument):
            return enclosing.get(bound.argument, DEFAULT_LIST_SIZE)
        if isinstance(bound, LengthOf):
            argument = _argument(node, bound.argument)
            if argument is None:
                return DEFAULT_LIST_SIZE
            if isinstance(argument.value, ListValueNode):
                return len(argument.value.values)
            if isinstance(argument.value, VariableNode):
                variable = argument.value.name.value
                declared = self.variable_defaults.get(variable)
                fallback = (
                    len(declared.values)
                    if isinstance(declared, ListValueNode)
                    else DEFAULT_LIST_SIZE
                )
                return _Variable(variable, fallback, length=True, check=None)
            return 1  # a single value coerced into a one-item list
        return DEFAULT_LIST_SIZE


class _Counted:
    """How to count what one object of a type holds, compiled once per operation: its fields
    that cost something (leaves cost nothing and are left out), each with its response key, its
    own cost and how to count its value."""

    __slots__ = ("fields",)

    def __init__(self, fields: tuple[tuple[str, int, _Counting], ...]) -> None:
        self.fields = fields

    def count(self, data: object) -> int:
        """The cost of `data`, one object of the response (anything else costs nothing)."""
        if data.__class__ is not dict:
            return 0
        total = 0
        for key, own, child in self.fields:
            value = data.get(key)
            if value is None:
                continue
            if value.__class__ is list:
                for item in value:
                    if item is not None:
                        total += own + child.count(item)
            else:
                total += own + child.count(value)
        return total


class _CountedAbstract:
    """An interface or union: the response names no type unless asked (`__typename`), so the
    costliest reading counts."""

    __slots__ = ("options",)

    def __init__(self, options: tuple[_Counted, ...]) -> None:
        self.options = options

    def count(self, data: object) -> int:
        return max((option.count(data) for option in self.options), default=0)


_Counting = _Counted | _CountedAbstract
_NOTHING_TO_COUNT = _Counted(())


class _CountingCompiler(_Compiler):
    """Compiles an operation's `ActualCostPlan`: the rules of the requested cost, with every
    list (the edges and nodes of a connection too) to be counted by the items it really has."""

    def counting(self) -> _Counting:
        root = self.schema.get_root_type(self.operation_node.operation)
        if root is None:
            return _NOTHING_TO_COUNT
        return self._counting([self.operation_node.selection_set], root)

    def _counting(
        self, selection_sets: list[SelectionSetNode], named: GraphQLNamedType
    ) -> _Counting:
        if is_abstract_type(named):
            possible = self.schema.get_possible_types(named)
            return _CountedAbstract(tuple(self._object(selection_sets, t) for t in possible))
        if is_object_type(named):
            return self._object(selection_sets, named)
        return _NOTHING_TO_COUNT

    def _object(
        self, selection_sets: list[SelectionSetNode], object_type: GraphQLObjectType
    ) -> _Counted:
        fields: dict[str, list[FieldNode]] = {}
        self._collect(selection_sets, object_type, fields, set())
        counted: list[tuple[str, int, _Counting]] = []
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name in ("__schema", "__type"):
                counted.append((key, INTROSPECTION_COST, _NOTHING_TO_COUNT))
                continue
            definition = object_type.fields.get(name)
            if definition is None:
                continue
            named = get_named_type(definition.type)
            if is_leaf_type(named):
                continue
            if object_type is self.schema.mutation_type:
                own = MUTATION_FIELD_COST
            elif named.name.endswith(("Connection", "Edge")) or named.name == "PageInfo":
                own = OBJECT_COST if PAGE_SIZE_ARGUMENT in definition.args else 0
            else:
                own = OBJECT_COST
            children = [n.selection_set for n in nodes if n.selection_set is not None]
            counted.append((key, own, self._counting(children, named)))
        return _Counted(tuple(counted))


@dataclass(frozen=True, slots=True)
class ActualCostPlan:
    """What an operation's response costs, compiled once (cached with its CostPlan): each
    request then walks only the fields that cost something."""

    counting: _Counting | None
    """None when the document selects no operation of that name."""

    def cost_of(self, data: Mapping[str, object] | None) -> int | None:
        """The cost of the response `data` (None when nothing ran: no data). Like the requested
        cost, except that every list counts the items it holds, not its bound: a connection
        asked for 20 that returned 3 costs as 3; a null object costs nothing. Pure."""
        if self.counting is None or data is None:
            return None
        return self.counting.count(dict(data))


def compile_actual_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> ActualCostPlan:
    """The actual-cost plan of the operation `operation_name` selects in a VALID document."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return ActualCostPlan(None)
    return ActualCostPlan(_CountingCompiler(schema, document, operation).counting())


def actual_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    data: Mapping[str, object] | None,
) -> int | None:
    """`compile_actual_cost(...).cost_of(data)`, uncached (requests use their CostPlan's)."""
    return compile_actual_cost(schema, document, operation_name).cost_of(data)


def _argument(node: FieldNode, name: str) -> ArgumentNode | None:
    return next((a for a in node.arguments or () if a.name.value == name), None)


__all__ = [
    "LIST_BOUNDS",
    "ActualCostPlan",
    "CostModel",
    "CostPlan",
    "actual_cost",
    "compile_actual_cost",
    "compile_cost",
]
