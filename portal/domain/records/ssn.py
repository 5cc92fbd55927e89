"""Social Security numbers: parse staff or import input, check it, and show no more than the
last four (HUD HMIS Data Dictionary 3.02; product.md "SSN data entry"; R38, R63).

Stored form: exactly 9 characters of ``0-9`` or ``X`` (no dashes, no spaces, upper-case X), or
``None`` when nothing is stored. Data quality codes: 1 full SSN reported, 2 approximate or
partial, 8 client doesn't know, 9 client prefers not to answer, 99 data not collected.

Patterns that make an SSN invalid (area 000, 666 or 9xx; group 00; serial 0000; one digit
repeated; digits in sequence; published numbers) *warn* and still save: the rule codes are
returned in ``SSN.warnings`` and the quality becomes 2. Format problems are refused with a
``DomainError(field="ssn")`` that says what to enter instead.

Decisions (each with its reason):

- Dashes and single spaces: accepted only where the 3-2-4 layout puts them (``123-45-6789``,
  ``123 45 6789``; each separator optional, mixed is fine) and removed, so ``123 45 6789`` is
  ``123456789`` (quality 2, warns ``sequential``). Anywhere else they are refused
  (``1234-56-789``, ``12-34-5678``): a misplaced separator usually means a lost or extra digit.
- Leading and trailing whitespace is trimmed (``" 012456789 "`` -> ``012456789``, quality 1):
  it comes from copy and paste and carries no meaning.
- Fullwidth digits U+FF10 to U+FF19 (and fullwidth X/x, hyphen, ideographic space) are mapped
  to ASCII by an explicit table, so fullwidth 012456789 -> ``012456789``, quality 1: CJK
  input modes type them, Unicode NFKC defines them as the same digits, and the Chinese and
  Korean languages are on the roadmap. General NFKC is not applied, so superscripts, circled
  and mathematical digits stay refused.
- Arabic-Indic digits (U+0660 to U+0669) and every other non-ASCII digit are refused, although
  ``str.isdigit()`` and ``int()`` accept them: they are distinct characters that NFKC does not
  fold, accepting one script means accepting some 70, and staff re-typing 9 digits is cheap.
  Only the ASCII class ``[0-9]`` is ever used (never ``\\d``, ``isdigit()`` or ``int()``).
- HUD partial values with x for unknown digits (``12345xxxx``, ``xxxxx6789``, any position) are
  accepted as partial: value upper-cased (``12345XXXX``), quality 2. Rules whose field is fully
  known are still checked (``XXXXX0000`` warns ``serial_0000``; a leading 9 warns ``area_9xx``).
- The last four digits alone (``1234``) are accepted: value ``XXXXX1234``, quality 2.
- Other placeholders for unknown digits (``*``, ``#``, ``?``, letters such as ``O``) are refused
  with a message asking for X: a stray letter is more often a typo (``O`` for ``0``) than an
  intended unknown digit, and R38 allows only digits and x.
- All nine unknown (``XXXXXXXXX``) is stored as ``"XXXXXXXXX"``, not ``None``, with quality 8
  (or the 8, 9 or 99 the caller gave): it is the same form consent refusal stores, it is a valid
  HUD CSV value, it round-trips through ``parse_ssn``, and it keeps "staff asked, nothing was
  known" apart from a blank (``None``, not collected). It reveals nothing.
- Empty or blank input: ``None`` with the given quality 8, 9 or 99, and 99 (data not collected)
  when no quality is given; with quality 1 or 2 it is refused (those qualities need digits).
- Quality 1 with an X or a broken rule is downgraded to 2 (the rule codes are in warnings);
  quality 1 or 2 with all nine X becomes 8 (nothing is known, per the product rule).
- Quality 8, 9 or 99 together with digits is refused: the two halves contradict each other
  and the code cannot tell which is wrong (an importer may re-parse with ``quality=None``).
- Consent refused wins over everything: the input is not even checked (it is discarded), the
  value is ``"XXXXXXXXX"`` and the quality 9, whatever quality was passed.
- ``published_number`` covers 078-05-1120 (Woolworth wallet card), 219-09-9999 (SSA pamphlet)
  and 987-65-4320 to 4329 (reserved by SSA for advertising; these also break ``area_9xx``).
- ``sequential`` means all nine digits run up or down by one, wrapping 9 -> 0 and 0 -> 9
  (``123456789``, ``234567890``, ``876543210``, ``098765432``), as the shared test data says.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.domain.core.errors import DomainError

FIELD = "ssn"

FULL = 1
APPROXIMATE_OR_PARTIAL = 2
CLIENT_DOESNT_KNOW = 8
CLIENT_PREFERS_NOT_TO_ANSWER = 9
DATA_NOT_COLLECTED = 99
NOT_KNOWN_QUALITIES = frozenset(
    {CLIENT_DOESNT_KNOW, CLIENT_PREFERS_NOT_TO_ANSWER, DATA_NOT_COLLECTED}
)
QUALITIES = frozenset({FULL, APPROXIMATE_OR_PARTIAL}) | NOT_KNOWN_QUALITIES

ALL_UNKNOWN = "XXXXXXXXX"

# Rule codes, in the order they are reported (the codes of the shared test data).
AREA_000 = "area_000"
AREA_666 = "area_666"
AREA_9XX = "area_9xx"
GROUP_00 = "group_00"
SERIAL_0000 = "serial_0000"
REPEATED_DIGITS = "repeated_digits"
SEQUENTIAL = "sequential"
PUBLISHED_NUMBER = "published_number"

PUBLISHED_NUMBERS = frozenset(
    {"078051120", "219099999"} | {f"98765432{last}" for last in "0123456789"}
)

_ASCII_DIGITS = "0123456789"
_LONGEST_INPUT = 32  # anything longer is refused before any pattern runs

# Fullwidth forms typed by CJK input modes -> ASCII. Deliberately not general NFKC.
_FULLWIDTH = str.maketrans(
    {
        **{chr(0xFF10 + n): str(n) for n in range(10)},
        "\uff38": "X",  # FULLWIDTH LATIN CAPITAL LETTER X
        "\uff58": "x",  # FULLWIDTH LATIN SMALL LETTER X
        "\uff0d": "-",  # FULLWIDTH HYPHEN-MINUS
        "\u3000": " ",  # IDEOGRAPHIC SPACE
    }
)

_NINE = re.compile(r"([0-9xX]{3})[- ]?([0-9xX]{2})[- ]?([0-9xX]{4})")
_LAST_FOUR = re.compile(r"[0-9xX]{4}")
_ALLOWED_CHARACTERS = re.compile(r"[0-9xX \-]*")

_ENTER_NINE_OR_FOUR = _l("Enter 9 digits, or the last 4 digits. Use X for digits you do not know.")
_ONLY_DIGITS_AND_X = _l("Use only the digits 0 to 9, and X for digits you do not know.")
_DIGITS_NEED_QUALITY = _l(
    "An SSN with digits needs the data quality full or approximate/partial. "
    "Change the data quality, or clear the SSN."
)
_QUALITY_NEEDS_DIGITS = _l(
    "Enter the SSN, or change the data quality to client doesn't know, client prefers not "
    "to answer, or data not collected."
)
_UNKNOWN_QUALITY = _l("Choose the SSN data quality from the list.")


@dataclass(frozen=True)
class SSN:
    value: str | None  # 9 chars of 0-9 or X, or None
    quality: int  # 1, 2, 8, 9 or 99
    warnings: tuple[str, ...]  # rule codes of the invalid patterns found; empty when none


def parse_ssn(raw: str | None, *, quality: int | None = None, consent_refused: bool = False) -> SSN:
    """Normalise staff or import input. Raises DomainError(field="ssn") for unusable formats."""
    if consent_refused:
        return SSN(ALL_UNKNOWN, CLIENT_PREFERS_NOT_TO_ANSWER, ())
    if quality is not None and (isinstance(quality, bool) or quality not in QUALITIES):
        raise DomainError(_UNKNOWN_QUALITY, field=FIELD)

    value = _normalise(raw)
    if value is None:
        if quality in (FULL, APPROXIMATE_OR_PARTIAL):
            raise DomainError(_QUALITY_NEEDS_DIGITS, field=FIELD)
        return SSN(None, DATA_NOT_COLLECTED if quality is None else quality, ())

    if value == ALL_UNKNOWN:
        kept = quality if quality in NOT_KNOWN_QUALITIES else CLIENT_DOESNT_KNOW
        return SSN(ALL_UNKNOWN, kept, ())
    if quality in NOT_KNOWN_QUALITIES:
        raise DomainError(_DIGITS_NEED_QUALITY, field=FIELD)

    partial = "X" in value
    warnings = _field_rules(value) if partial else invalid_rules(value)
    if quality is None or quality == FULL:
        quality = APPROXIMATE_OR_PARTIAL if partial or warnings else FULL
    return SSN(value, quality, warnings)


def invalid_rules(digits: str) -> tuple[str, ...]:
    """Rule codes an all-digit 9-character SSN breaks (area_000, area_666, area_9xx, group_00,
    serial_0000, repeated_digits, sequential, published_number); empty when none."""
    if len(digits) != 9 or any(c not in _ASCII_DIGITS for c in digits):
        raise ValueError("invalid_rules needs exactly 9 ASCII digits")
    rules = list(_field_rules(digits))
    if len(set(digits)) == 1:
        rules.append(REPEATED_DIGITS)
    if _is_sequential(digits):
        rules.append(SEQUENTIAL)
    if digits in PUBLISHED_NUMBERS:
        rules.append(PUBLISHED_NUMBER)
    return tuple(rules)


def last_four(value: str | None) -> str | None:
    """What staff may see: the last four characters (may contain X), or None."""
    if value is None:
        return None
    kept = [c.upper() for c in value if c in _ASCII_DIGITS or c in "xX"]
    if not kept:
        return None
    return "".join(kept[-4:]).rjust(4, "X")


def masked(value: str | None) -> str:
    """For display: 'XXX-XX-1234' style, never the full number ('' when nothing is stored)."""
    shown = last_four(value)
    return "" if shown is None else f"XXX-XX-{shown}"


def _normalise(raw: str | None) -> str | None:
    """The stored form of the input (9 chars of 0-9/X), None when blank; refuses bad formats."""
    text = (raw or "").translate(_FULLWIDTH).strip()
    if not text:
        return None
    if len(text) > _LONGEST_INPUT:
        raise DomainError(_ENTER_NINE_OR_FOUR, field=FIELD)
    if not _ALLOWED_CHARACTERS.fullmatch(text):
        raise DomainError(_ONLY_DIGITS_AND_X, field=FIELD)
    if match := _NINE.fullmatch(text):
        return "".join(match.groups()).upper()
    if _LAST_FOUR.fullmatch(text):
        return "XXXXX" + text.upper()
    raise DomainError(_ENTER_NINE_OR_FOUR, field=FIELD)


def _field_rules(value: str) -> tuple[str, ...]:
    """Area, group and serial rules; a field containing X is not judged (except a leading 9)."""
    area, group, serial = value[:3], value[3:5], value[5:]
    rules = []
    if area == "000":
        rules.append(AREA_000)
    elif area == "666":
        rules.append(AREA_666)
    elif area[0] == "9":
        rules.append(AREA_9XX)
    if group == "00":
        rules.append(GROUP_00)
    if serial == "0000":
        rules.append(SERIAL_0000)
    return tuple(rules)


def _is_sequential(digits: str) -> bool:
    steps = {(ord(b) - ord(a)) % 10 for a, b in itertools.pairwise(digits)}
    return steps in ({1}, {9})
