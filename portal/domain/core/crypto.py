"""Encryption of secrets kept at rest (outbox link parameters; later SSNs).

`DATA_ENCRYPTION_KEY` holds one or more comma-separated Fernet keys, newest first, so keys can
be rotated. Development derives a key from SECRET_KEY; production requires the setting.
"""

from __future__ import annotations

import base64
import json
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal.settings import current as current_settings


@cache
def _fernet(keys: str, secret_key: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal data encryption"
    ).derive(secret_key.encode())
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def _current() -> MultiFernet:
    s = current_settings()
    return _fernet(s.data_encryption_key, s.secret_key)


def encrypt_json(value: dict) -> str:
    return _current().encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> dict:
    return json.loads(_current().decrypt(token.encode()))


def encrypt_text(value: str) -> str:
    return _current().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    return _current().decrypt(token.encode()).decode()


def encrypt_bytes(value: bytes) -> bytes:
    return _current().encrypt(value)


def decrypt_bytes(token: bytes) -> bytes:
    return _current().decrypt(token)


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of a short secret (a printed code) under a key derived from SECRET_KEY,
    so a database dump alone cannot be brute-forced."""
    import hmac

    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"portal hmac {purpose}".encode()
    ).derive(current_settings().secret_key.encode())
    return hmac.new(key, value.encode(), "sha256").hexdigest()
