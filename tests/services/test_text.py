"""The one rule for text people write for others (services.text.clean_text)."""

from __future__ import annotations

import pytest

from services.errors import UserError, UserErrorCode
from services.text import clean_text

FIELD = ("bio",)


def refused(message: str) -> UserError:
    return UserError(UserErrorCode.INVALID_INPUT, message, FIELD)


@pytest.mark.parametrize(
    ("raw", "multiline", "expected"),
    [
        ("  hello  ", False, "hello"),
        ("", False, None),
        (" \n\t ", True, None),
        ("line one\r\nline two", True, "line one\nline two"),
        ("tab\there", True, "tab\there"),
        ("cafe\u0301", False, "café"),  # NFC: one code point
        ("שלום world", False, "שלום world"),  # right-to-left text itself is fine
        ("a\u200db", False, "a\u200db"),  # a joiner inside visible text (emoji sequences)
        ("\u200e\u05d0", False, "\u200e\u05d0"),  # a direction mark is not an override
    ],
)
def test_clean_text_keeps_what_people_write(
    raw: str, multiline: bool, expected: str | None
) -> None:
    assert clean_text(raw, field=FIELD, max_length=20, multiline=multiline) == expected


@pytest.mark.parametrize(
    ("raw", "multiline", "message"),
    [
        ("admin\u202egnp.exe", False, "Text cannot contain bidirectional control characters."),
        ("\u2067hidden\u2069", True, "Text cannot contain bidirectional control characters."),
        ("\u202aembedded", True, "Text cannot contain bidirectional control characters."),
        ("two\nlines", False, "Text cannot contain control characters."),
        ("bell\x07", True, "Text cannot contain control characters."),
        ("esc\x1b[31m", True, "Text cannot contain control characters."),
        ("\u200b\u200b", False, "Text must contain visible characters."),
        ("\u3164", False, "Text must contain visible characters."),  # Hangul filler
        ("\u2800 \u2800", True, "Text must contain visible characters."),  # blank Braille
        ("\u0301\u0302", False, "Text must contain visible characters."),  # marks on nothing
        ("\ufeff\u2060", False, "Text must contain visible characters."),
        ("x" * 21, False, "At most 20 characters."),
    ],
)
def test_clean_text_refuses_what_deceives(raw: str, multiline: bool, message: str) -> None:
    assert clean_text(raw, field=FIELD, max_length=20, multiline=multiline) == refused(message)
