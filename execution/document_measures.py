"""Measures of a GraphQL document taken before it is validated, in time linear in its size:
its depth, its aliases and its selections, with fragments counted wherever they are spread.

Each fragment is measured once, and a spread adds its fragment's measures. Walking spreads
instead (as Strawberry's depth and alias validators do) costs as much as the document written
out: fragments that each spread the next one twice double it with every fragment, so that a
1 KB document held the event loop for hours. Measured here, the same document takes
microseconds, and its written-out size is a number to refuse it by (execution.admission).

A fragment spread inside itself (a cycle, which validation reports) adds nothing where it
closes the cycle; a spread of an unknown fragment adds only itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)

ANONYMOUS = "anonymous"
"""The name Strawberry's depth limiter gives an operation without one (kept in its message)."""


@dataclass(frozen=True, slots=True)
class Measures:
    """What a selection set (or a fragment, or an operation) holds, written out."""

    depth: int
    """Nesting of fields with a sub-selection, as Strawberry's QueryDepthLimiter counts it: a
    leaf adds nothing, and an introspection field (`__schema`, `__type`) neither it nor what
    is under it."""
    aliases: int
    """Aliased fields, as Strawberry's MaxAliasesLimiter counts them: a fragment's wherever it
    is spread."""
    selections: int
    """Fields, fragment spreads and inline fragments, a fragment's wherever it is spread."""


NOTHING = Measures(0, 0, 0)


@dataclass(frozen=True, slots=True)
class OperationMeasures:
    node: OperationDefinitionNode
    name: str
    measures: Measures


class DocumentMeasures:
    """The measures of one parsed document. Pure: reads the document, changes nothing.

    Built in time linear in the document: each fragment's selection set is walked once (in an
    order where a fragment comes after those it spreads, found without recursion: a chain of
    fragments may be as long as the document), and so is each operation's."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments: dict[str, FragmentDefinitionNode] = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._of_set: dict[int, Measures] = {}
        """By `id` of a selection set of this document (which holds them all alive)."""
        self._of_fragment: dict[str, Measures] = {}
        for name in _after_what_they_spread(self.fragments):
            self._of_fragment[name] = self._measure(self.fragments[name].selection_set)
        self.operations = [
            OperationMeasures(
                node=definition,
                name=definition.name.value if definition.name else ANONYMOUS,
                measures=self._measure(definition.selection_set),
            )
            for definition in document.definitions
            if isinstance(definition, OperationDefinitionNode)
        ]

    @property
    def selections(self) -> int:
        """The selections of all the document's operations, written out."""
        return sum(operation.measures.selections for operation in self.operations)

    @property
    def aliases(self) -> int:
        """The aliases of all the document's operations (MaxAliasesLimiter's total)."""
        return sum(operation.measures.aliases for operation in self.operations)

    def first_beyond(self, operation: OperationDefinitionNode, max_depth: int) -> Node | None:
        """The node QueryDepthLimiter would report first for `operation` deeper than
        `max_depth`: the first selection under the first field (in document order, fragments
        written out) that sits `max_depth` fields deep and has a sub-selection. None when
        there is none. Follows a single path down, choosing by the measured depths."""
        selections = operation.selection_set.selections
        index, level = 0, 0
        on_path: set[str] = set()
        while index < len(selections):
            selection = selections[index]
            index += 1
            if isinstance(selection, FieldNode):
                below = selection.selection_set
                if below is None or _is_introspection(selection):
                    continue
                if level == max_depth:
                    return below.selections[0]
                if level + 1 + self._depth_of(below) > max_depth:
                    selections, index, level = below.selections, 0, level + 1
            elif isinstance(selection, InlineFragmentNode):
                if level + self._depth_of(selection.selection_set) > max_depth:
                    selections, index = selection.selection_set.selections, 0
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in on_path:
                    continue
                if level + self._depth_of(fragment.selection_set) > max_depth:
                    on_path.add(name)
                    selections, index = fragment.selection_set.selections, 0
        return None  # only past a cycle of fragments, which validation reports

    def _depth_of(self, selection_set: SelectionSetNode) -> int:
        return self._of_set[id(selection_set)].depth

    def _measure(self, selection_set: SelectionSetNode) -> Measures:
        """The measures of a selection set of one definition, its fragment spreads taken from
        `_of_fragment` (recursion here follows the nesting of one definition, which the parser
        bounds). Side effect: records them, and those of the sets inside, in `_of_set`."""
        depth = aliases = selections = 0
        for selection in selection_set.selections:
            selections += 1
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    aliases += 1
                if selection.selection_set is None:
                    continue
                inner = self._measure(selection.selection_set)
                if not _is_introspection(selection):
                    depth = max(depth, 1 + inner.depth)
            elif isinstance(selection, InlineFragmentNode):
                inner = self._measure(selection.selection_set)
                depth = max(depth, inner.depth)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self._of_fragment.get(selection.name.value, NOTHING)
                depth = max(depth, inner.depth)
            else:  # pragma: no cover (no other kind of selection)
                continue
            aliases += inner.aliases
            selections += inner.selections
        measures = Measures(depth=depth, aliases=aliases, selections=selections)
        self._of_set[id(selection_set)] = measures
        return measures


def _is_introspection(field: FieldNode) -> bool:
    return field.name.value.startswith("__")


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    """The names of the fragments spread in a selection set, at any nesting (no recursion)."""
    names: list[str] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)
    return names


def _after_what_they_spread(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """The fragments' names, each after the fragments it spreads (a depth-first walk kept on a
    list, not the call stack; a spread closing a cycle is passed over)."""
    spreads = {name: _spread_names(fragment.selection_set) for name, fragment in fragments.items()}
    ordered: list[str] = []
    done: set[str] = set()
    for root in fragments:
        if root in done:
            continue
        path = [(root, iter(spreads[root]))]
        on_path = {root}
        while path:
            name, pending = path[-1]
            for spread in pending:
                if spread in spreads and spread not in done and spread not in on_path:
                    path.append((spread, iter(spreads[spread])))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.discard(name)
                done.add(name)
                ordered.append(name)
    return ordered


__all__ = ["ANONYMOUS", "DocumentMeasures", "Measures", "OperationMeasures"]
