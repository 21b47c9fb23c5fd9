"""Reference codes a clinic reads out: format, alphabet, check symbol, and reading what people type."""

from __future__ import annotations

import random
import re
from itertools import pairwise

import pytest

from directormatch.intake.contract import QuoteAccepted
from directormatch.references import ALPHABET, new_reference, parse_reference, reference_of

FORMAT = re.compile(r"DM-[0-9A-Z]{4}-[0-9A-Z]{4}")


def codes(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [new_reference(rng) for _ in range(count)]


def test_new_reference_is_dm_and_two_groups_of_four_from_crockfords_alphabet() -> None:
    # Given many fresh codes
    drawn = codes(2000)

    # Then each reads DM-XXXX-XXXX, without I, L, O or U, and every symbol of the alphabet is used
    assert all(FORMAT.fullmatch(code) for code in drawn)
    symbols = {symbol for code in drawn for symbol in code[3:].replace("-", "")}
    assert symbols == set(ALPHABET)
    assert not symbols & set("ILOU")
    assert len(ALPHABET) == 32


def test_new_reference_draws_from_the_system_source_unless_given_a_seeded_one() -> None:
    # Given two generators seeded alike, and the default source
    # When each draws
    # Then the seeded ones repeat each other (tests force collisions so) and the default never repeats
    assert codes(5, seed=11) == codes(5, seed=11)
    default = {new_reference() for _ in range(1000)}
    assert len(default) == 1000


def test_new_reference_is_what_the_openapi_document_promises() -> None:
    # Given the pattern the 201 answer's schema gives its reference
    pattern = QuoteAccepted.model_json_schema(mode="serialization")["properties"]["reference"]["pattern"]

    # Then every new code matches it
    assert all(re.fullmatch(pattern, code) for code in codes(500))


@pytest.mark.parametrize(
    "typed",
    ["DM-4F7K-92Q5", "dm-4f7k-92q5", "DM 4F7K 92Q5", "4F7K92Q5", "  dm4f7k-92q5 "],
)
def test_parse_reference_reads_case_spaces_dashes_and_no_prefix(typed: str) -> None:
    # Given a code as someone might type it (DM-4F7K-92Q5 carries a valid check symbol)
    # When it is read
    # Then it is the stored code
    assert parse_reference(typed) == "DM-4F7K-92Q5"


def test_parse_reference_reads_the_letters_crockford_leaves_out_as_their_digits() -> None:
    # Given codes holding 0 and 1, typed with O, I and L
    zero_one = [code for code in codes(400) if "0" in code[3:] and "1" in code[3:]]
    assert zero_one

    for code in zero_one:
        typed = code.replace("0", "O").replace("1", "l", 1).replace("1", "I")

        # When each is read
        # Then it is the code
        assert parse_reference(typed) == code


def test_parse_reference_catches_every_single_mistyped_symbol() -> None:
    # Given codes, each with one symbol changed to every other symbol in turn
    for code in codes(40):
        symbols = code[3:].replace("-", "")
        for position, wrong in ((p, s) for p in range(len(symbols)) for s in ALPHABET):
            if wrong == symbols[position]:
                continue
            typed = symbols[:position] + wrong + symbols[position + 1 :]

            # When it is read
            # Then the check symbol refuses it
            assert parse_reference(typed) is None, (code, typed)


def test_parse_reference_catches_most_swaps_of_neighbours() -> None:
    # Given codes with two different neighbouring symbols swapped
    swaps = caught = 0
    for code in codes(200):
        symbols = code[3:].replace("-", "")
        for i, (a, b) in enumerate(pairwise(symbols)):
            if a == b:
                continue
            swaps += 1
            caught += parse_reference(symbols[:i] + b + a + symbols[i + 2 :]) is None

    # Then nearly all are refused (Luhn mod 32 misses only swaps of a few symbol pairs)
    assert caught / swaps > 0.95


@pytest.mark.parametrize("typed", ["", "DM-", "DM-4F7K-92Q", "DM-4F7K-92Q5X", "DM-4F7K-92QU", "01JREQUEST"])
def test_parse_reference_refuses_what_is_not_a_code(typed: str) -> None:
    assert parse_reference(typed) is None


def test_reference_of_is_the_code_or_for_older_requests_the_id() -> None:
    # Given a request with a code, and one stored before codes existed
    # Then each is quoted by what its clinic was given
    assert reference_of({"request_id": "01JREQ", "reference": "DM-4F7K-92Q5"}) == "DM-4F7K-92Q5"
    assert reference_of({"request_id": "01JREQ"}) == "01JREQ"
