"""A staff session begun through a single sign-on provider (issue 19): what it keeps to be
checked with the provider within the hour, in the session row's own `sso_state` column.

The state (the provider's key, its refresh token, when it was last checked, when to try
again while the provider cannot be reached) is sealed with `DATA_ENCRYPTION_KEY`. It is written
only by a compare-and-set against the value the request read, so of two requests that check
at once one writes its result and the other sees that it lost and uses what the first found;
and a request that saves the session's other data never writes it back stale. The provider is
asked with no write transaction open (a SQLite writer would hold every other writer up).
"""

from __future__ import annotations

from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import select, update

from portal.domain.core import clock, crypto
from portal.domain.core.session import changed, dbs, will_write
from portal.domain.models import UserSession


def seal(provider: str, refresh_token: str | None, **times: datetime) -> str:
    state = {"provider": provider, "refresh": refresh_token}
    state.update({name: at.isoformat() for name, at in times.items()})
    return crypto.encrypt_json(state)


def opened(sealed: str | None) -> dict | None:
    """The state sealed in a session row (None: not an SSO session, or its key was rotated
    away, which ends it at the check like a refusal)."""
    if not sealed:
        return None
    try:
        state = crypto.decrypt_json(sealed)
    except (InvalidToken, ValueError):
        return {"provider": None, "refresh": None}
    return state if isinstance(state, dict) else None


def at(state: dict, name: str) -> datetime | None:
    try:
        return datetime.fromisoformat(state.get(name) or "")
    except (TypeError, ValueError):
        return None


def begin(row: UserSession, provider: str, refresh_token: str | None) -> str:
    """A new session through `provider`: checked now (the sign-in itself)."""
    row.sso_state = seal(provider, refresh_token, checked_at=clock.now())
    return row.sso_state


def replace(row_id: int, read: str, new: str) -> bool:
    """Write `new` if the row still holds what this request `read`; False when another
    request wrote first."""
    will_write()
    return bool(
        changed(
            update(UserSession)
            .where(UserSession.id == row_id, UserSession.sso_state == read)
            .values(sso_state=new)
            .execution_options(synchronize_session=False)
        )
    )


def current(row_id: int) -> str | None:
    """What the row holds now (read as a writer: the latest committed value)."""
    will_write()
    return dbs().scalar(select(UserSession.sso_state).where(UserSession.id == row_id))
