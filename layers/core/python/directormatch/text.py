"""The one rule for text people send us, whatever it reaches next: an email header, a page, a record.

Refused, each with its own reason (the API's error `type`, which clients word their answer by):

- lone_surrogate: half of a UTF-16 pair. JSON's "\\ud800" decodes to one; it has no UTF-8 form, so
  it can be neither stored nor sent.
- control_characters: C0 and C1 controls (category Cc). One-line text (names, emails) keeps none;
  multi-line text (notes) keeps line feeds and tabs, and reads CR LF or a lone CR as a line feed
  (browsers post a textarea's line breaks as CR LF).
- line_separator: U+2028 and U+2029. Email headers (and str.splitlines) read them as line breaks.
- bidi_control: the invisible marks, embeddings, overrides and isolates that reorder the text shown
  (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
- zero_width: every other invisible format character (category Cf: zero-width space and joiners,
  word joiner, byte-order mark, soft hyphen, ...), except a zero-width joiner between two emoji,
  which joins them into one (a family, a profession, a rainbow flag).

Accepted text comes back in Unicode NFC, so the same name typed on two keyboards is stored the same.
Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from functools import cache

LONE_SURROGATE = "lone_surrogate"
CONTROL_CHARACTERS = "control_characters"
LINE_SEPARATOR = "line_separator"
BIDI_CONTROL = "bidi_control"
ZERO_WIDTH = "zero_width"

# Written to follow the field's name: "clinic.name must not contain ...".
MESSAGES = {
    LONE_SURROGATE: "must not contain a lone UTF-16 surrogate (half of a character)",
    CONTROL_CHARACTERS: "must not contain line breaks or control characters",
    LINE_SEPARATOR: "must not contain Unicode line or paragraph separators (U+2028, U+2029)",
    BIDI_CONTROL: "must not contain invisible text-direction controls",
    ZERO_WIDTH: "must not contain zero-width or other invisible characters",
}
MULTI_LINE_CONTROL_MESSAGE = "must not contain control characters (line breaks and tabs are fine)"

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH_JOINER = "\u200d"
# What may stand between an emoji and a joiner that follows it: the emoji presentation selector
# and the five skin-tone modifiers.
EMOJI_TRAILERS = "\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"
# checked() has read every CR as a line feed before it looks; the CR is here for refused_ranges.
MULTI_LINE_KEEPS = frozenset("\n\t\r")


class TextRefused(ValueError):
    """Text the rule refuses: `reason` is one of the reasons above, `message` says it in words."""

    def __init__(self, reason: str, multiline: bool = False) -> None:
        multi_line_control = multiline and reason == CONTROL_CHARACTERS
        self.reason = reason
        self.message = MULTI_LINE_CONTROL_MESSAGE if multi_line_control else MESSAGES[reason]
        super().__init__(self.message)


def checked(value: str, multiline: bool = False) -> str:
    """`value` in NFC, or TextRefused naming the first kind of character the rule refuses."""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    for position, char in enumerate(value):
        reason = _refused(value, position, char, multiline)
        if reason:
            raise TextRefused(reason, multiline)
    return unicodedata.normalize("NFC", value)


def refusal(value: str, multiline: bool = False) -> str | None:
    """The reason `value` is refused, or None when the rule accepts it."""
    try:
        checked(value, multiline)
    except TextRefused as refused:
        return refused.reason
    return None


def scrubbed(value: str) -> str:
    """`value` made to pass the one-line rule instead of being refused, for text already stored or
    written by another path: a lone surrogate becomes U+FFFD, a control or separator a space, an
    invisible character nothing."""
    kept = []
    for position, char in enumerate(value):
        reason = _refused(value, position, char, multiline=False)
        if reason == LONE_SURROGATE:
            kept.append("\ufffd")
        elif reason in (CONTROL_CHARACTERS, LINE_SEPARATOR):
            kept.append(" ")
        elif reason is None:
            kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def unicode_safe(value: str) -> str:
    """`value` with each lone UTF-16 surrogate (no UTF-8 form) replaced by U+FFFD. The rule refuses
    them, but an item stored before, or written by another path, must not make every email or page
    quoting it fail with UnicodeEncodeError (DynamoDB Local stores them; moto refuses them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _refused(text: str, position: int, char: str, multiline: bool) -> str | None:
    category = unicodedata.category(char)
    if category == "Cs":
        return LONE_SURROGATE
    if category == "Cc":
        return None if multiline and char in MULTI_LINE_KEEPS else CONTROL_CHARACTERS
    if category in ("Zl", "Zp"):
        return LINE_SEPARATOR
    if category != "Cf":
        return None
    if char in BIDI_CONTROLS:
        return BIDI_CONTROL
    if char == ZERO_WIDTH_JOINER and _joins_emoji(text, position):
        return None
    return ZERO_WIDTH


def _joins_emoji(text: str, position: int) -> bool:
    """A joiner with an emoji (a symbol, category So, with its selector or skin tone) on its left and
    an emoji on its right."""
    before = text[:position].rstrip(EMOJI_TRAILERS)
    after = text[position + 1 : position + 2]
    return bool(before and after) and _is_emoji(before[-1]) and _is_emoji(after)


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So"


@cache
def refused_ranges(multiline: bool = False) -> tuple[tuple[int, int], ...]:
    """Every code point the rule refuses wherever it stands, as (first, last) ranges, for the
    patterns of the OpenAPI document: they refuse every zero-width joiner, even between emoji
    (stricter than the rule), and leave surrogates out, which regex engines reading code points
    (Rust's, ECMA's with the u flag) cannot name."""
    kept = MULTI_LINE_KEEPS if multiline else frozenset()
    ranges: list[tuple[int, int]] = []
    for code in _refused_code_points():
        if chr(code) in kept:
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return tuple(ranges)


@cache
def _refused_code_points() -> tuple[int, ...]:
    """Surrogates aside. Reads the whole code space (a fifth of a second or so): called when the
    document is made, never at import."""
    refused_categories = ("Cc", "Zl", "Zp", "Cf")
    return tuple(code for code in range(0x110000) if unicodedata.category(chr(code)) in refused_categories)
