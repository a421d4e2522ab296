"""The records the domain hands to the layers above it (resolvers, schema, workers).

Today each is the row type its storage module builds from PostgreSQL, re-exported here so that
the GraphQL layer depends on the domain's names and never imports storage (an import-linter
contract in pyproject.toml). A record whose public shape must differ from its row gets a class
of its own here, and the services that return it map rows to it.
"""

from storage.pg.appeals import AppealRecord
from storage.pg.comments import CommentRecord
from storage.pg.hashtags import HashtagRecord
from storage.pg.media import MediaRecord, StoredRendition, StoredVariant
from storage.pg.moderation_cases import ActionRecord, CaseRecord, FindingRecord, ReportRecord
from storage.pg.notifications import NotificationRecord
from storage.pg.posts import PostRecord
from storage.pg.sessions import SessionListing
from storage.pg.users import UserRecord

__all__ = [
    "ActionRecord",
    "AppealRecord",
    "CaseRecord",
    "CommentRecord",
    "FindingRecord",
    "HashtagRecord",
    "MediaRecord",
    "NotificationRecord",
    "PostRecord",
    "ReportRecord",
    "SessionListing",
    "StoredRendition",
    "StoredVariant",
    "UserRecord",
]
