"""graphql-transport-ws messages from clients, checked for shape before Strawberry's handler
dispatches them.

Strawberry's handler trusts a decoded message to be an object of the protocol's shape: a JSON
array, a number, a `subscribe` whose `payload.query` is not a string, an `id` that is not a
string, variables that are not an object... raised inside it (a traceback in the log, the
socket dropped without a close code, or an operation task crashing). Here every message is
checked in one place, and one of the wrong shape closes the socket with 4400 ("Invalid message
received", as the protocol says; Strawberry's `handle_invalid_message`), with a reason naming
what is wrong (never the message's own text: a close reason holds 123 bytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from resolvers.context import Context

_WITHOUT_ID = frozenset({"connection_init", "ping", "pong"})
_WITH_ID = frozenset({"subscribe", "complete"})


def client_message_problem(message: object) -> str | None:
    """What makes `message` (decoded JSON) not a graphql-transport-ws message a client may send,
    in a few words; None when its shape is right (the handler then judges its meaning: order,
    ids in use, the document). Pure."""
    if not isinstance(message, dict):
        return "not a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in _WITHOUT_ID | _WITH_ID:
        return "unknown `type`"
    if kind in _WITHOUT_ID:
        return _optional(message, "payload", dict, "`payload` must be an object or null")
    if not isinstance(message.get("id"), str):
        return "`id` must be a string"
    if kind == "complete":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "`payload` must be an object"
    if not isinstance(payload.get("query"), str):
        return "`payload.query` must be a string"
    return (
        _optional(payload, "operationName", str, "`payload.operationName` must be a string or null")
        or _optional(payload, "variables", dict, "`payload.variables` must be an object or null")
        or _optional(payload, "extensions", dict, "`payload.extensions` must be an object or null")
    )


def _optional(container: Mapping[str, object], key: str, kind: type, problem: str) -> str | None:
    value = container.get(key)
    return None if value is None or isinstance(value, kind) else problem


class CheckedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, fed only messages of the protocol's shape."""

    async def handle_message(self, message: Message) -> None:
        """Dispatch a message of the right shape; close the socket with 4400 on any other
        (side effect: the close). A `connection_init` with `payload: null` (which the protocol
        allows) is passed on as one without a payload: no credentials."""
        problem = client_message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(f"Invalid message received: {problem}")
            return
        if message.get("payload", {}) is None:
            message = cast(
                Message, {key: value for key, value in message.items() if key != "payload"}
            )
        await super().handle_message(message)


__all__ = ["CheckedTransportWSHandler", "client_message_problem"]
