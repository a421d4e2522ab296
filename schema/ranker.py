"""GraphQL types of the learned ranker's client side: impression reports, and why a post is
in the viewer's feed (#22)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.errors import MutationInput, Payload
from services.ranker import explanations


@strawberry.type(description="One feature's share of a post's ranking score.")
class FeatureContribution:
    feature: str = strawberry.field(description="The feature's name, e.g. `recency`.")
    value: float = strawberry.field(description="Its value when the post was served.")
    contribution: float = strawberry.field(
        description="How much it added to (or took from) the score."
    )


@strawberry.type(description="Why the viewer's ranked feed served a post, and how high.")
class RankingExplanation:
    ranker: str = strawberry.field(
        description="`formula` (the hand-weighted score) or `model` (a learned model)."
    )
    model_version: int | None = strawberry.field(description="The model's version; null: formula.")
    served_at: datetime = strawberry.field(description="When the page with the post was served.")
    score: float = strawberry.field(
        description="The post's score (a model's in log-odds): baseline + every feature's "
        "contribution."
    )
    baseline: float = strawberry.field(description="The score without any feature.")
    contributions: list[FeatureContribution] = strawberry.field(
        description="The features that weighed most, largest magnitude first."
    )

    @classmethod
    def of(cls, found: explanations.RankingExplanation) -> RankingExplanation:
        return cls(
            ranker="formula" if found.model_version is None else "model",
            model_version=found.model_version,
            served_at=found.served_at,
            score=found.score,
            baseline=found.baseline,
            contributions=[
                FeatureContribution(
                    feature=part.feature, value=part.value, contribution=part.contribution
                )
                for part in found.contributions
            ],
        )


@strawberry.input(description="One post the client had on screen.")
class ImpressionInput:
    post_id: strawberry.ID
    position: int = strawberry.field(description="The post's index in the feed, from 0.")
    visible_ms: int = strawberry.field(description="How long it was on screen, milliseconds.")
    opened_profile: bool = strawberry.field(
        default=False,
        description="The viewer opened the author's profile from this post (report the "
        "impression again with true when it happens later).",
    )


@strawberry.input
class RecordImpressionsInput(MutationInput):
    impressions: list[ImpressionInput] = strawberry.field(description="1 to 100 impressions.")


@strawberry.type
class RecordImpressionsPayload(Payload):
    recorded: int | None = strawberry.field(
        default=None, description="How many were new (a repeated report records nothing)."
    )
