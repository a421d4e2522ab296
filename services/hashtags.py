"""Hashtags and @mentions in captions and comments."""

from __future__ import annotations

import re

# A tag is `#` then letters, digits or underscores of any script, not glued to a preceding word
# character (so "a#b" and URLs' fragments do not count). Case-folded, unique, in order.
_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,100})")
MAX_HASHTAGS = 30


def parse_hashtags(text: str | None) -> list[str]:
    if not text:
        return []
    seen: dict[str, None] = {}
    for match in _HASHTAG.finditer(text):
        tag = match.group(1).casefold()
        if not tag.replace("_", "").isdigit():  # "#1" is a number, not a tag
            seen.setdefault(tag)
    return list(seen)[:MAX_HASHTAGS]


# @username: the username alphabet (a-z 0-9 . _), not glued to a preceding word character
# (so e-mail addresses do not mention anyone); a trailing dot ends a sentence, not a name.
_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9._]{1,30})")
MAX_MENTIONS = 20


def parse_mentions(text: str | None) -> list[str]:
    """Usernames mentioned in the text, lower-cased, unique, in order."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        seen.setdefault(match.group(1).rstrip(".").lower())
    return [name for name in seen if name][:MAX_MENTIONS]
