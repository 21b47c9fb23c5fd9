"""The reference a clinic quotes: `DM-4F7K-92Q5`, short enough to read out on the phone.

Crockford's base32 (digits and capitals without I, L, O and U, which read as 1, 1, 0 and V); seven
random symbols (35 bits: 34 billion codes) and a check symbol (Luhn mod 32), which catches every
single mistyped symbol and most swaps of two neighbours. At ten million requests a new code meets an
existing one about once in 3,400 draws; intake's write then fails its condition and draws again
(aws.requests_table), so codes stay unique. The request's ULID remains its id and partition key;
the code points to it through a REFERENCE#<code> item.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "DM"
RANDOM_SYMBOLS = 7
GROUP = 4
# What people type for a symbol the alphabet leaves out (Crockford's decoding rules).
READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SYSTEM = random.SystemRandom()  # os.urandom: distinct in every environment resumed from a snapshot


def _check_symbol(symbols: str) -> str:
    """Luhn mod 32 over the symbols' values: the symbol that makes the weighted sum 0."""
    total = 0
    for position, symbol in enumerate(reversed(symbols)):
        addend = ALPHABET.index(symbol) * (2 if position % 2 == 0 else 1)
        total += addend // len(ALPHABET) + addend % len(ALPHABET)
    return ALPHABET[-total % len(ALPHABET)]


def _formatted(symbols: str) -> str:
    return f"{PREFIX}-{symbols[:GROUP]}-{symbols[GROUP:]}"


def new_reference(rng: random.Random | None = None) -> str:
    """A fresh code (`rng` seeded in tests, to force a collision)."""
    value = (rng or _SYSTEM).getrandbits(5 * RANDOM_SYMBOLS)
    symbols = "".join(ALPHABET[(value >> 5 * i) & 31] for i in reversed(range(RANDOM_SYMBOLS)))
    return _formatted(symbols + _check_symbol(symbols))


def parse_reference(text: str) -> str | None:
    """The code as stored, from what someone typed or said ("dm 4f7k 92q5", "4F7K-92Q5", an O for
    a 0); None when it is not one, a wrong check symbol included."""
    compact = "".join(text.split()).replace("-", "").upper().translate(READ_AS)
    if len(compact) == len(PREFIX) + RANDOM_SYMBOLS + 1 and compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    if len(compact) != RANDOM_SYMBOLS + 1 or any(symbol not in ALPHABET for symbol in compact):
        return None
    if _check_symbol(compact[:-1]) != compact[-1]:
        return None
    return _formatted(compact)


def reference_of(request: Mapping[str, Any]) -> str:
    """What a request (or an offer of it) is quoted by: its code; requests stored before codes
    existed were quoted by their id."""
    return str(request.get("reference") or request["request_id"])
