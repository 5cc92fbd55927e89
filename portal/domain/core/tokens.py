"""Single-use secrets sent to people: 256 bits from `secrets`, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from portal.domain.core import clock
from portal.domain.core.session import changed, dbs
from portal.domain.models import AccountToken


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(purpose: str, account, valid_for: timedelta) -> str:
    """Create a token for `account`, revoking any earlier live one of the same purpose."""
    raw = new_token()
    store(purpose, account, valid_for, hash_token(raw))
    return raw


def store(purpose: str, account, valid_for: timedelta, digest: str) -> AccountToken:
    """Keep `digest` (a SHA-256 of a long token, or an HMAC of a short printed code) as the
    account's one live secret of this purpose."""
    revoke_all(account, purpose)
    token = AccountToken(
        token_hash=digest,
        purpose=purpose,
        account_kind=account.kind,
        account_id=account.id,
        expires_at=clock.now() + valid_for,
    )
    dbs().add(token)
    return token


def find_live(raw: str | None, purpose: str) -> AccountToken | None:
    """The unexpired, unused, unrevoked token, or None (one answer for every failure)."""
    if not raw or len(raw) > 128:
        return None
    return find_live_digest(hash_token(raw), purpose)


def find_live_digest(digest: str, purpose: str) -> AccountToken | None:
    token = dbs().scalar(
        select(AccountToken).where(
            AccountToken.token_hash == digest, AccountToken.purpose == purpose
        )
    )
    if token is None or token.used_at or token.revoked_at or token.expires_at <= clock.now():
        return None
    return token


def consume(token: AccountToken) -> bool:
    """Mark used; False if another request used it first (compare-and-set)."""
    won = changed(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=clock.now())
    )
    return won == 1


def revoke_all(account, purpose: str | None = None) -> None:
    query = update(AccountToken).where(
        AccountToken.account_kind == account.kind,
        AccountToken.account_id == account.id,
        AccountToken.used_at.is_(None),
        AccountToken.revoked_at.is_(None),
    )
    if purpose is not None:
        query = query.where(AccountToken.purpose == purpose)
    dbs().execute(query.values(revoked_at=clock.now()))
