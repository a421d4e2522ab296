"""Text that PostgreSQL cannot store is refused before anything runs, for every string input.

A NUL character (U+0000) cannot be stored in a PostgreSQL `text` column, and a lone surrogate
cannot be encoded as UTF-8; either used to reach the database and come back as an
INTERNAL_SERVER_ERROR. `StorableTextInputs` refuses both in one place, for every argument of
every operation (HTTP and websocket alike), with a `BAD_USER_INPUT` error that names where the
text was (`extensions.field`, the argument path) and never echoes the value (it may be a
password):

- literals in the document, by a validation rule (cached with the document's validation);
- variable values, by a walk of the request's variables (small JSON: a few microseconds).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from graphql import (
    ArgumentNode,
    GraphQLError,
    Node,
    ObjectFieldNode,
    StringValueNode,
    ValidationRule,
)
from strawberry.extensions import SchemaExtension

BAD_USER_INPUT: Final = "BAD_USER_INPUT"
UNSTORABLE_TEXT: Final = re.compile("[\x00\ud800-\udfff]")
"""NUL, and the surrogate range (only lone surrogates survive JSON decoding as such)."""
_REASON: Final = "text cannot contain NUL (U+0000) characters or unpaired surrogates"

PathPart = str | int


def _refusal(message: str, field: list[PathPart], node: Node | None = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": BAD_USER_INPUT, "field": field})


class StorableTextLiteralsRule(ValidationRule):
    """Refuses a string literal holding NUL or a lone surrogate, naming its argument path."""

    def enter_string_value(
        self,
        node: StringValueNode,
        _key: Any,
        parent: Any,
        _path: Any,
        ancestors: list[Node | tuple[Node, ...]],
    ) -> None:
        if UNSTORABLE_TEXT.search(node.value) is None:
            return
        field: list[PathPart] = [
            ancestor.name.value
            for ancestor in (*ancestors, parent)
            if isinstance(ancestor, ArgumentNode | ObjectFieldNode)
        ]
        where = ".".join(map(str, field)) or "a value"
        self.report_error(_refusal(f"Invalid value at '{where}': {_REASON}.", field, node))


def _unstorable_paths(value: object, path: list[PathPart]) -> Iterator[list[PathPart]]:
    if isinstance(value, str):
        if UNSTORABLE_TEXT.search(value) is not None:
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _unstorable_paths(item, [*path, str(key)])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, [*path, index])


def unstorable_variable(variables: Mapping[str, object] | None) -> GraphQLError | None:
    """The refusal of the first variable value (or part of one) holding unstorable text."""
    for name, value in (variables or {}).items():
        for field in _unstorable_paths(value, [name]):
            where = ".".join(map(str, field))
            return _refusal(
                f"Variable '${name}' has an invalid value at '{where}': {_REASON}.", field
            )
    return None


class StorableTextInputs(SchemaExtension):
    """Adds `StorableTextLiteralsRule` to validation and checks the variables right after it.

    Must come after the extension that validates (`DocumentRules`) in the schema's list: its
    validation hook then sees that extension's result. Side effects: none beyond the
    operation's errors."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, StorableTextLiteralsRule)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors:
            error = unstorable_variable(context.variables)
            if error is not None:
                context.pre_execution_errors = [error]
        yield
