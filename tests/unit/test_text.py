"""The one text rule (directormatch.text): what it refuses, why, and what it gives back (pure)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directormatch import text

PROPERTY_SETTINGS = settings(max_examples=500, deadline=None)

# What the rule refuses, written out here rather than read from the module under test.
C0_C1 = [*range(0x00, 0x20), *range(0x7F, 0xA0)]
SEPARATORS = [0x2028, 0x2029]
BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
ZERO_WIDTH = [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
ZWJ = "\u200d"
EMOJI_SEQUENCES = [
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family: man, woman, girl, boy
    "\U0001f469\U0001f3fd\u200d\u2695\ufe0f",  # woman health worker, medium skin tone
    "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
    "\u2764\ufe0f\u200d\U0001f525",  # heart on fire
    "\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1",  # people holding hands
]
HOSTILE = [chr(c) for c in (*C0_C1, *SEPARATORS, *BIDI, *ZERO_WIDTH, 0xD800, 0xDFFF, 0xAD)]


def oracle_problems(value: str, multiline: bool = False) -> list[str]:
    """What the rule forbids, found without the module's own categories: the characters listed
    above, any surrogate, and a ZWJ whose neighbours are letters, digits, spaces or nothing."""
    problems = []
    for position, char in enumerate(value):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            problems.append("surrogate")
        elif code in C0_C1 and not (multiline and char in "\n\t"):
            problems.append("control")
        elif code in SEPARATORS or code in BIDI:
            problems.append("separator or bidi")
        elif code in ZERO_WIDTH and char != ZWJ:
            problems.append("zero width")
        elif char == ZWJ:
            before = value[:position].rstrip("\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")
            after = value[position + 1 : position + 2]
            plain = [c for c in (before[-1:] or " ", after or " ") if unicodedata.category(c)[0] in "LNZ"]
            if plain:
                problems.append("joiner outside emoji")
    return problems


# Any characters, mixed with the hostile ones, emoji sequences, a combining accent and CR LF.
texts = st.lists(
    st.one_of(st.characters(), st.sampled_from([*HOSTILE, *EMOJI_SEQUENCES, "e\u0301", "\r\n"]))
).map("".join)


@PROPERTY_SETTINGS
@given(value=texts, multiline=st.booleans())
def test_checked_gives_nfc_text_with_nothing_forbidden_or_refuses_with_a_known_reason(
    value: str, multiline: bool
) -> None:
    # Given any text, hostile characters and emoji sequences among others
    # When the rule checks it
    reason = text.refusal(value, multiline)
    if reason is not None:
        # Then a refusal names one of the rule's reasons
        assert reason in text.MESSAGES
        return
    accepted = text.checked(value, multiline)

    # Then what it accepts comes back in NFC, holding nothing the rule forbids
    assert unicodedata.is_normalized("NFC", accepted)
    assert oracle_problems(accepted, multiline) == []
    # And checking again changes nothing
    assert text.checked(accepted, multiline) == accepted


@PROPERTY_SETTINGS
@given(value=texts, multiline=st.booleans())
def test_checked_refuses_every_text_holding_a_forbidden_character(value: str, multiline: bool) -> None:
    # Given a text holding something the rule forbids (other than a CR, which multi-line text reads
    # as a line break)
    found = oracle_problems(value.replace("\r", "\n") if multiline else value, multiline)

    # When the rule checks it, then it is refused
    if found:
        with pytest.raises(text.TextRefused):
            text.checked(value, multiline)


@PROPERTY_SETTINGS
@given(value=texts)
def test_scrubbed_text_always_passes_the_rule(value: str) -> None:
    # Given any text (as stored before the rule, or written around it)
    # When it is scrubbed
    scrubbed = text.scrubbed(value)

    # Then the rule accepts it unchanged
    assert text.checked(scrubbed) == scrubbed
    # And text the rule accepts is scrubbed to just what the rule gives
    if text.refusal(value) is None:
        assert scrubbed == text.checked(value)


@pytest.mark.parametrize("sequence", EMOJI_SEQUENCES)
def test_checked_accepts_emoji_joined_by_zero_width_joiners(sequence: str) -> None:
    # Given a clinic name holding an emoji ZWJ sequence
    name = f"Family Care {sequence} Clinic"

    # When it is checked, then it is kept whole
    assert text.checked(name) == name


@pytest.mark.parametrize(
    "value",
    [
        "Blue\u200dbonnet",
        f"{ZWJ}\U0001f468",
        f"\U0001f468{ZWJ}",
        f"\U0001f468{ZWJ} \U0001f469",
        f"{ZWJ}{ZWJ}",
    ],
)
def test_checked_refuses_a_zero_width_joiner_outside_an_emoji_sequence(value: str) -> None:
    # Given a joiner between letters, at an edge, before a space, or doubled
    # When it is checked, then it is refused as a zero-width character
    with pytest.raises(text.TextRefused) as refused:
        text.checked(value)
    assert refused.value.reason == text.ZERO_WIDTH


@pytest.mark.parametrize(
    ("char", "reason"),
    [
        (chr(0xD800), text.LONE_SURROGATE),
        (chr(0xDFFF), text.LONE_SURROGATE),
        ("\x00", text.CONTROL_CHARACTERS),
        ("\x1b", text.CONTROL_CHARACTERS),
        ("\x7f", text.CONTROL_CHARACTERS),
        ("\x85", text.CONTROL_CHARACTERS),
        ("\x9b", text.CONTROL_CHARACTERS),
        ("\t", text.CONTROL_CHARACTERS),
        ("\n", text.CONTROL_CHARACTERS),
        ("\r", text.CONTROL_CHARACTERS),
        ("\u2028", text.LINE_SEPARATOR),
        ("\u2029", text.LINE_SEPARATOR),
        *((chr(code), text.BIDI_CONTROL) for code in BIDI),
        ("\u200e", text.BIDI_CONTROL),
        ("\u200b", text.ZERO_WIDTH),
        ("\u200c", text.ZERO_WIDTH),
        ("\u2060", text.ZERO_WIDTH),
        ("\ufeff", text.ZERO_WIDTH),
        ("\u00ad", text.ZERO_WIDTH),
        ("\U000e0041", text.ZERO_WIDTH),
    ],
    ids=lambda v: f"U+{ord(v):04X}" if isinstance(v, str) and len(v) == 1 else str(v),
)
def test_checked_refuses_each_forbidden_class_in_one_line_text(char: str, reason: str) -> None:
    # Given a one-line name with the character in its middle
    # When it is checked
    with pytest.raises(text.TextRefused) as refused:
        text.checked(f"Maria {char} Delgado")

    # Then it is refused for that class, in words
    assert refused.value.reason == reason
    assert refused.value.message == text.MESSAGES[reason]


def test_checked_multi_line_keeps_line_feeds_and_tabs_and_reads_cr_lf_as_line_feed() -> None:
    # Given notes typed in a textarea, as a browser posts them (CR LF), with a tab
    notes = "Botox\tand fillers\r\nTwo sites\rThird line\n"

    # When they are checked as multi-line text
    accepted = text.checked(notes, multiline=True)

    # Then line breaks are line feeds, and the tab stays
    assert accepted == "Botox\tand fillers\nTwo sites\nThird line\n"


@pytest.mark.parametrize("char", ["\x00", "\x0b", "\x85", "\u2028", "\u202e", "\u200b"])
def test_checked_multi_line_still_refuses_other_controls_separators_and_invisibles(char: str) -> None:
    with pytest.raises(text.TextRefused) as refused:
        text.checked(f"first line\n{char}second", multiline=True)
    assert refused.value.reason != text.LONE_SURROGATE
    if char in "\x00\x0b\x85":
        assert refused.value.message == text.MULTI_LINE_CONTROL_MESSAGE


def test_checked_gives_nfc() -> None:
    # Given a name typed with a combining accent (NFD), and the same name precomposed
    decomposed, composed = "Jose\u0301 Marti\u0301nez", "Jos\u00e9 Mart\u00ednez"

    # When both are checked, then both come back the same, precomposed
    assert text.checked(decomposed) == text.checked(composed) == composed


def test_scrubbed_makes_breaks_spaces_drops_invisibles_and_replaces_surrogates() -> None:
    # Given a stored name carrying one of each
    stored = "A\u2028B\r\nC\u200bD\u202eE\ud800F"

    # When it is scrubbed, then breaks are spaces, invisibles are gone, a surrogate is U+FFFD
    assert text.scrubbed(stored) == "A B  CDE\ufffdF"


def test_refused_ranges_cover_each_class_and_leave_surrogates_and_ordinary_text_out() -> None:
    # Given the ranges the OpenAPI document's patterns exclude
    ranges = text.refused_ranges()
    multi = text.refused_ranges(multiline=True)

    def covered(code: int, where: tuple[tuple[int, int], ...]) -> bool:
        return any(first <= code <= last for first, last in where)

    # Then every listed character is in them, the joiner too (the document is the stricter)
    for code in (*C0_C1, *SEPARATORS, *BIDI, *ZERO_WIDTH):
        assert covered(code, ranges)
    # And surrogates, letters, spaces and emoji are not
    for char in ("\ud800", "a", "\u00e9", " ", "\u00a0", "\U0001f468"):
        assert not covered(ord(char), ranges)
    # And multi-line text may hold line feeds, tabs and carriage returns, nothing else of C0
    assert [c for c in range(0x20) if not covered(c, multi)] == [0x09, 0x0A, 0x0D]
