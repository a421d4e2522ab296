"""Mutations of the learned ranker's client side: impression reports."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.global_ids import decode_id_of_type
from schema.ranker import RecordImpressionsInput, RecordImpressionsPayload
from services.errors import DomainError, UserError, UserErrorCode
from services.ranker import impressions
from services.ranker.impressions import ImpressionDeps, ReportedImpression


@strawberry.type
class RankerMutations:
    @strawberry.mutation(
        description="Report which feed posts were on screen, for how long, and whether the "
        "viewer opened the author's profile from them (batches of up to 100 posts the viewer "
        "may see; sending a batch again records nothing new, a longer time or a profile "
        "opening updates it). They train the feed's ranking."
    )
    async def record_impressions(
        self, info: Info[Context, None], input: RecordImpressionsInput
    ) -> RecordImpressionsPayload:
        viewer = info.context.require_viewer()
        resources = info.context.resources
        try:
            reported = []
            for index, item in enumerate(input.impressions):
                post_id = decode_id_of_type(item.post_id, "Post")
                if post_id is None:
                    raise DomainError(
                        UserError(
                            UserErrorCode.NOT_FOUND,
                            "No such post.",
                            ("impressions", str(index), "postId"),
                        )
                    )
                reported.append(
                    ReportedImpression(post_id, item.position, item.visible_ms, item.opened_profile)
                )
            recorded = await impressions.record_impressions(
                ImpressionDeps(
                    resources.db,
                    resources.redis,
                    resources.rate_limiter,
                    resources.rate_limit_policy,
                ),
                viewer.user_id,
                reported,
            )
        except DomainError as error:
            return RecordImpressionsPayload.refused(error, input)
        return RecordImpressionsPayload(
            recorded=recorded, client_mutation_id=input.client_mutation_id
        )
