"""Password policy (R13, R14) and Argon2id hashing (R15).

At least 15 characters counted as Unicode code points after NFKC normalisation, at most 256,
no composition rules. Refused when common (zxcvbn's 30,000-entry frequency list, also as a
repeated unit) or built from context words (the person's name, email, the agency's and the
portal's names).
"""

from __future__ import annotations

import re
import unicodedata
from contextlib import suppress
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import lazy_gettext as _l

from portal.settings import current as current_settings

MIN_LENGTH = 15
MAX_LENGTH = 256
FROM_CONTEXT = _l(
    "Do not build your password from your name, email, birth date or this portal's name."
)
PORTAL_WORDS = ("hmis", "portal", "password", "homeless", "agency", "continuum", "care")


def normalize(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _smallest_unit(text: str) -> str:
    match = re.fullmatch(r"(.+?)\1+", text)
    return match.group(1) if match else text


def _context_words(context: list[str]) -> list[str]:
    words = set(PORTAL_WORDS)
    for value in context:
        if not value:
            continue
        value = normalize(value).lower()
        words.update(w for w in re.split(r"[^\w]+", value) if len(w) >= 3)
    return sorted(words, key=len, reverse=True)


def problems(password: str, context: list[str] | tuple[str, ...] = ()) -> list:
    """Reasons (translatable) the password is refused; empty when it is acceptable."""
    normalized = normalize(password)
    length = len(normalized)
    if length < MIN_LENGTH:
        return [_l("Use at least 15 characters. Three or four words you will remember work well.")]
    if length > MAX_LENGTH:
        return [_l("Use 256 characters or fewer.")]
    lowered = normalized.lower()
    compact = re.sub(r"[\s\W_]+", "", lowered)
    common = _common_passwords()
    unit = _smallest_unit(compact)
    if (
        lowered in common
        or compact in common
        or (unit != compact and (unit in common or len(unit) <= 4))
    ):
        return [_l("This password is too common. Choose words that are less easy to guess.")]
    remainder = compact
    for word in _context_words(list(context)):
        remainder = remainder.replace(word, "")
    if len(set(remainder)) < 4 or len(re.sub(r"\d", "", remainder)) < 6:
        return [FROM_CONTEXT]
    return []


def _hasher() -> PasswordHasher:
    s = current_settings()
    return _hasher_for(s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism)


@cache
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hash_password(password: str) -> str:
    return _hasher().hash(normalize(password))


@cache
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher_for(time_cost, memory_kib, parallelism).hash("dummy password for timing")


DUMMY_VERIFICATIONS = {"count": 0}  # read by tests: the dummy hash really ran


def verify(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash a dummy verification keeps the timing even."""
    hasher = _hasher()
    if stored_hash is None:
        s = current_settings()
        DUMMY_VERIFICATIONS["count"] += 1
        with suppress(VerificationError):
            hasher.verify(
                _dummy_hash(s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism),
                normalize(password),
            )
        return False
    try:
        return hasher.verify(stored_hash, normalize(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)
