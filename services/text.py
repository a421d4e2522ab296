"""Text people write for others to read (names, bios, captions, alt texts, comments): one rule.

`clean_text` normalises it (Unicode NFC, CRLF to LF, surrounding white space dropped) and refuses
what would deceive or annoy the reader rather than say something:

- bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which make
  text display in an order other than the one it is stored in ("Trojan Source");
- control characters (a line break and a tab are allowed in multi-line text);
- text made only of invisible characters (format characters such as zero-width spaces,
  combining marks with nothing to combine with, Hangul fillers, the blank Braille pattern):
  it would look empty while not being empty.

(NUL and lone surrogates never get this far: execution.text_inputs refuses them for every input.)
"""

from __future__ import annotations

import unicodedata
from typing import Final

from services.errors import UserError, UserErrorCode

BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SHOWN_AS_NOTHING: Final = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Characters of visible categories that render as blank space: Hangul fillers, blank Braille."""
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"})
_MULTILINE_CONTROLS: Final = frozenset("\n\t")


def _is_invisible(char: str) -> bool:
    return char in _SHOWN_AS_NOTHING or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def _problem(field: tuple[str, ...], message: str) -> UserError:
    return UserError(UserErrorCode.INVALID_INPUT, message, field)


def clean_text(
    value: str, *, field: tuple[str, ...], max_length: int, multiline: bool
) -> str | UserError | None:
    """`value` normalised and stripped; None when nothing is left; a UserError (INVALID_INPUT
    at `field`) when it holds bidirectional controls or control characters, is made only of
    invisible characters, or is longer than `max_length` characters once cleaned. Pure."""
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if not text:
        return None
    allowed = _MULTILINE_CONTROLS if multiline else frozenset()
    for char in text:
        if char in BIDI_CONTROLS:
            return _problem(field, "Text cannot contain bidirectional control characters.")
        if unicodedata.category(char) == "Cc" and char not in allowed:
            return _problem(field, "Text cannot contain control characters.")
    if all(_is_invisible(char) for char in text):
        return _problem(field, "Text must contain visible characters.")
    if len(text) > max_length:
        return _problem(field, f"At most {max_length} characters.")
    return text
