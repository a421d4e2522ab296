"""The root `Mutation` type, merged from one class per domain."""

from __future__ import annotations

from strawberry.tools import merge_types

from resolvers.account_mutations import AccountMutations
from resolvers.account_security_mutations import AccountSecurityMutations
from resolvers.known_image_mutations import KnownImageMutations
from resolvers.leaving_mutations import LeavingMutations
from resolvers.media_mutations import MediaMutations
from resolvers.moderation import ModerationMutations
from resolvers.notifications import NotificationMutations
from resolvers.post_mutations import PostMutations
from resolvers.ranker_mutations import RankerMutations
from resolvers.session_mutations import SessionMutations

Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        AccountSecurityMutations,
        SessionMutations,
        LeavingMutations,
        MediaMutations,
        PostMutations,
        NotificationMutations,
        RankerMutations,
        KnownImageMutations,
        ModerationMutations,
    ),
)
