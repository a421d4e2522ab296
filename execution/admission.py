"""Schema extensions that bound what one operation may ask for, before it runs:

- `DocumentRules`: the parser's token limits, then validation (cached): the document's
  selections with its fragments written out (refused before anything else beyond the limit),
  its depth and aliases (all measured in one linear pass, execution.document_measures), the
  specified rules (graphql-core's overlap check with a smaller budget of work), introspection
  refused when turned off, and "Did you mean ...?" left out of messages when field suggestions
  are turned off;
- `QueryCostLimits`: the operation's cost (execution.cost) against the per-request maximum
  and the caller's points budget (storage.query_budget), reported in `extensions.cost`.

Both are built once per schema from `ApiLimits`, and their validation rules are classes made
once, so that the validation cache (keyed by document and rule classes) keeps hitting.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OverlappingFieldsCanBeMergedRule,
    ValidationContext,
    validate,
)
from strawberry.extensions import SchemaExtension

from execution.cost import CostModel, CostPlan
from execution.document_measures import DocumentMeasures
from execution.private_api import (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
    graphql_schema_of,
)
from resolvers.context import Context
from services.auth import SESSION_ENDED, Viewer
from settings import Settings
from storage.query_budget import BudgetState, spend_query_points
from storage.redis_keys import budget_subject
from storage.revocations import is_session_revoked

MAX_COST_EXCEEDED = "MAX_COST_EXCEEDED"
MAX_SELECTIONS_EXCEEDED = "MAX_SELECTIONS_EXCEEDED"
THROTTLED = "THROTTLED"

OVERLAP_CHECK_BUDGET = 50_000
"""Units of work graphql-core's OverlappingFieldsCanBeMergedRule may spend on one document: it
compares same-named fields pairwise, and its own default (500,000) let a 2,000-token document
hold the event loop 0.8 s on the 2-core development machine; this is about 0.05 s. The feed
query of bench/graphql_feed spends none (its response names are all distinct), fifty fragments
spread on one object, each selecting `id` and `username`, 9,900; beyond the budget, the
document is refused with "Validation aborted."."""


@dataclass(frozen=True)
class ApiLimits:
    """The public API's limits, from the settings of the same names (see settings.py)."""

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_selections: int
    max_cost: int
    report_cost: bool
    budget_enabled: bool
    budget_points: int
    budget_restore_rate: int
    introspection_enabled: bool
    field_suggestions_enabled: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        return cls(
            max_depth=settings.query_max_depth,
            max_aliases=settings.query_max_aliases,
            max_tokens=settings.query_max_tokens,
            max_selections=settings.query_max_selections,
            max_cost=settings.query_max_cost,
            report_cost=settings.query_cost_in_extensions,
            budget_enabled=settings.query_budget_enabled,
            budget_points=settings.query_budget_points,
            budget_restore_rate=settings.query_budget_restore_rate,
            introspection_enabled=settings.introspection_enabled,
            field_suggestions_enabled=settings.field_suggestions_enabled,
        )

    def validation_rules(self) -> tuple[type[ASTValidationRule], ...]:
        """Rule classes to add to the specified ones (make them once: the cache keys on them).
        Depth and aliases are not rules: `_validate` measures them before running any."""
        return () if self.introspection_enabled else (NoSchemaIntrospectionCustomRule,)

    def measured_errors(self, measures: DocumentMeasures) -> list[GraphQLError]:
        """The depth and alias errors of a measured document, worded and located as
        Strawberry's QueryDepthLimiter and MaxAliasesLimiter report them (one depth error per
        operation, at the first selection beyond the limit). Pure."""
        errors = []
        for operation in measures.operations:
            if operation.measures.depth > self.max_depth:
                node = measures.first_beyond(operation.node, self.max_depth) or operation.node
                errors.append(
                    GraphQLError(
                        f"'{operation.name}' exceeds maximum operation depth of {self.max_depth}",
                        [node],
                    )
                )
        if measures.aliases > self.max_aliases:
            errors.append(
                GraphQLError(f"{measures.aliases} aliases found. Allowed: {self.max_aliases}")
            )
        return errors

    def too_many_selections(self, measures: DocumentMeasures) -> GraphQLError | None:
        """The error of a document that is too large written out (None when it is not)."""
        if measures.selections <= self.max_selections:
            return None
        # Not in `extensions`: the number may exceed what JSON encoders take as an integer.
        return GraphQLError(
            f"This document has {measures.selections} selections with its fragments written "
            f"out wherever they are spread; at most {self.max_selections} are allowed "
            "(docs/query-cost.md).",
            extensions={"code": MAX_SELECTIONS_EXCEEDED, "maximumSelections": self.max_selections},
        )


class BoundedOverlappingFieldsRule(OverlappingFieldsCanBeMergedRule):
    """graphql-core's OverlappingFieldsCanBeMergedRule (its work grows faster than the document:
    it compares same-named fields pairwise) with OVERLAP_CHECK_BUDGET units of work instead of
    its module-wide default; beyond them the validation ends with "Validation aborted."."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_CHECK_BUDGET


class _SameDocument:
    """A parsed document as a cache key, by identity: graphql-core hashes a document by walking
    its whole syntax tree (tens of microseconds for a feed query), while the parser cache hands
    out the same object for the same text. The key holds the document, so its id stays unique
    while the cache keeps the entry."""

    __slots__ = ("document",)

    def __init__(self, document: DocumentNode) -> None:
        self.document = document

    def __hash__(self) -> int:
        return id(self.document)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SameDocument) and other.document is self.document


def _validate(
    limits: ApiLimits,
    schema: GraphQLSchema,
    document: _SameDocument,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """The document's errors: measured first (linear in its size), a document too large
    written out is refused alone, before any rule runs; then the depth and alias errors and
    those of the rules. Pure."""
    measures = DocumentMeasures(document.document)
    if (too_large := limits.too_many_selections(measures)) is not None:
        return [too_large]
    # The two rules Strawberry's own validation step appends (strawberry.schema.schema).
    rules = (
        *(
            BoundedOverlappingFieldsRule if r is OverlappingFieldsCanBeMergedRule else r
            for r in rules
        ),
        MaybeNullValidationRule,
        OneOfInputValidationRule,
    )
    errors = limits.measured_errors(measures)
    return errors + validate(schema, document.document, rules, hide_suggestions=hide_suggestions)


class DocumentRules(SchemaExtension):
    """Parser limits and cached validation with Shutter's rules (replaces Strawberry's
    ValidationCache, which cannot hide suggestions). Side effects: fills the shared LRU."""

    def __init__(
        self,
        *,
        limits: ApiLimits,
        rules: tuple[type[ASTValidationRule], ...],
        cached_validate: Callable[..., list[GraphQLError]],
    ) -> None:
        super().__init__()
        self.limits = limits
        self.rules = rules
        self.cached_validate = cached_validate

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        # Refused while lexing, before any AST exists: long documents cost nothing to refuse.
        # (graphql-core 3.3's options; Strawberry's ParseOptions type knows only `max_tokens`,
        # which also counts comments and is deprecated.)
        options: dict[str, object] = context.parse_options  # type: ignore[assignment]
        options["max_lexical_tokens"] = self.limits.max_tokens
        options["max_comments"] = self.limits.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None  # parsed before validation
        context.pre_execution_errors = self.cached_validate(
            graphql_schema_of(context.schema),
            _SameDocument(context.graphql_document),
            context.validation_rules,
            not self.limits.field_suggestions_enabled,
        )
        yield


def document_rules(limits: ApiLimits, cache_size: int) -> Callable[[], DocumentRules]:
    """A factory of DocumentRules sharing one set of rule classes and one validation cache."""
    rules = limits.validation_rules()
    cached_validate = lru_cache(maxsize=cache_size)(partial(_validate, limits))

    def factory() -> DocumentRules:
        return DocumentRules(limits=limits, rules=rules, cached_validate=cached_validate)

    return factory


class QueryCostLimits(SchemaExtension):
    """Refuses, before execution, an operation whose cost exceeds the per-request maximum
    (MAX_COST_EXCEEDED) or the caller's remaining budget (THROTTLED), and reports the cost in
    `extensions.cost` of every response of an operation that passed validation.

    Side effects: one Redis script call per operation when the budget is on (it takes the cost
    from the budget of the viewer, or of the client address when anonymous, and checks the
    session of the request's access token: see `_spend`); with the budget off, that check alone.
    """

    def __init__(self, *, limits: ApiLimits, model: CostModel) -> None:
        super().__init__()
        self.limits = limits
        self.model = model
        self.report: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        assert execution.graphql_document is not None
        plan = self.model.plan(
            graphql_schema_of(execution.schema),
            execution.query,
            execution.graphql_document,
            execution.operation_name,
        )
        cost = plan.evaluate(execution.variables)  # raises for a `first` out of range
        limits = self.limits
        too_costly = cost > limits.max_cost
        budget = await self._spend(0 if too_costly else cost)
        self.report = _report(cost, limits, budget)
        if too_costly:
            raise GraphQLError(
                f"This operation costs {cost} points; at most {limits.max_cost} are allowed per "
                "request (docs/query-cost.md). Ask for fewer items (`first`) or fewer fields.",
                extensions={
                    "code": MAX_COST_EXCEEDED,
                    "cost": cost,
                    "maximumCost": limits.max_cost,
                },
            )
        if budget is not None and not budget.allowed:
            missing = cost - budget.available
            retry_after = max(1, math.ceil(missing / limits.budget_restore_rate))
            raise GraphQLError(
                f"Throttled: this operation costs {cost} points and {int(budget.available)} are "
                f"available; the budget refills {limits.budget_restore_rate} points per second.",
                extensions={"code": THROTTLED, "retryAfterSeconds": retry_after},
            )
        yield
        self._report_actual_cost(plan, cost)

    def _report_actual_cost(self, plan: CostPlan, requested: int) -> None:
        """Sets `actualQueryCost` from what the response holds (never above the requested
        cost). The difference is not refunded to the budget: that would take a Redis call for
        nearly every operation (a page shorter than `first`, fewer userErrors than their bound),
        docs/query-cost.md. Side effects: none beyond the report."""
        execution = self.execution_context
        result = execution.result
        if self.report is None or not self.limits.report_cost or result is None:
            return
        data = getattr(result, "data", None)
        actual = (
            None
            if plan.actual is None
            else plan.actual.cost_of(data if isinstance(data, dict) else None)
        )
        self.report["actualQueryCost"] = None if actual is None else min(actual, requested)

    async def _spend(self, cost: int) -> BudgetState | None:
        """Pay for the operation, and check the session of a viewer the request's token claims
        (Context.session_unchecked) in the same Redis call: a revoked session makes the
        request anonymous, which pays instead (a second call, for revoked tokens only)."""
        context = self.execution_context.context
        if not isinstance(context, Context):
            return None
        unchecked = context.viewer if context.session_unchecked else None
        if not self.limits.budget_enabled:
            if unchecked and await is_session_revoked(
                context.resources.redis, unchecked.session_id
            ):
                context.refuse_viewer(SESSION_ENDED)
            context.session_unchecked = False
            return None
        budget = await self._spend_as(context, cost, unchecked)
        if budget.session_revoked:
            context.refuse_viewer(SESSION_ENDED)
            budget = await self._spend_as(context, cost, None)
        context.session_unchecked = False
        return budget

    async def _spend_as(self, context: Context, cost: int, unchecked: Viewer | None) -> BudgetState:
        return await spend_query_points(
            context.resources.redis,
            budget_subject(context.viewer_id, context.client_ip),
            cost=cost,
            capacity=self.limits.budget_points,
            restore_rate=self.limits.budget_restore_rate,
            unless_revoked=unchecked.session_id if unchecked else None,
        )

    def get_results(self) -> dict[str, Any]:
        if self.report is None or not self.limits.report_cost:
            return {}
        return {"cost": self.report}


def _report(cost: int, limits: ApiLimits, budget: BudgetState | None) -> dict[str, Any]:
    """`extensions.cost`, in the shape of Shopify's API (docs/query-cost.md). `actualQueryCost`
    is null until the operation ran (set after execution); `throttleStatus` is null when the
    budget is off."""
    throttle_status = None
    if budget is not None:
        throttle_status = {
            "maximumAvailable": limits.budget_points,
            "currentlyAvailable": int(budget.available),
            "restoreRate": limits.budget_restore_rate,
        }
    return {
        "requestedQueryCost": cost,
        "actualQueryCost": None,
        "throttleStatus": throttle_status,
    }


__all__ = [
    "MAX_COST_EXCEEDED",
    "MAX_SELECTIONS_EXCEEDED",
    "OVERLAP_CHECK_BUDGET",
    "THROTTLED",
    "ApiLimits",
    "BoundedOverlappingFieldsRule",
    "DocumentRules",
    "QueryCostLimits",
    "document_rules",
]
