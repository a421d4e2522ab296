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
