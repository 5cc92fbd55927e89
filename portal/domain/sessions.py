"""Server-side sessions: the store behind the web session interface.

The cookie carries a 256-bit random id; the table keeps only its SHA-256. Idle and absolute
timeouts depend on the account kind. A person's sessions can be listed and ended one by one
or all at once; ending is immediate because every request loads the row.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, select, update

from portal.domain import audit, clock, jobs
from portal.domain.models import UserSession
from portal.domain.session import dbs
from portal.settings import current as current_settings


def new_sid() -> str:
    return secrets.token_urlsafe(32)


def hash_sid(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _expired(row: UserSession, now: datetime) -> str | None:
    idle, absolute = current_settings().timeouts(row.account_kind)
    if row.ended_at is not None:
        return "ended"
    if now >= row.created_at + absolute or now >= row.expires_at:
        return "absolute_timeout"
    if now >= row.last_seen_at + idle:
        return "idle_timeout"
    return None


def load(sid: str | None) -> tuple[UserSession | None, str | None]:
    """The live row for a cookie value, or (None, why it is not live)."""
    if not sid or len(sid) > 100:
        return None, None
    row = dbs().scalar(select(UserSession).where(UserSession.sid_hash == hash_sid(sid)))
    if row is None:
        return None, None
    why = _expired(row, clock.now())
    if why is not None:
        if row.ended_at is None:
            end(row, why)
        return None, why
    return row, None


def create(
    sid: str, data: dict, *, account=None, ip: str | None = None, user_agent: str | None = None
) -> UserSession:
    now = clock.now()
    kind = account.kind if account is not None else None
    _, absolute = current_settings().timeouts(kind)
    row = UserSession(
        sid_hash=hash_sid(sid),
        account_kind=kind,
        account_id=account.id if account is not None else None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + absolute,
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
        data=data,
    )
    dbs().add(row)
    dbs().flush()
    return row


def touch(row: UserSession, data: dict | None) -> None:
    row.last_seen_at = clock.now()
    if data is not None:
        row.data = data


def end(row: UserSession, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at = clock.now()
        row.end_reason = reason
        if row.account_kind is not None:
            audit.record(
                "session.ended",
                (row.account_kind, _account_public_id(row)),
                details={"reason": reason, "session": str(row.public_id)},
            )


def _account_public_id(row: UserSession) -> str:
    from portal.domain.accounts import account_by_id

    account = account_by_id(row.account_kind, row.account_id)
    return str(account.public_id) if account else str(row.account_id)


def live_for(account) -> list[UserSession]:
    now = clock.now()
    rows = dbs().scalars(
        select(UserSession)
        .where(
            UserSession.account_kind == account.kind,
            UserSession.account_id == account.id,
            UserSession.ended_at.is_(None),
        )
        .order_by(UserSession.last_seen_at.desc())
    )
    return [row for row in rows if _expired(row, now) is None]


def end_all_for(account, reason: str, *, except_row: UserSession | None = None) -> int:
    query = update(UserSession).where(
        UserSession.account_kind == account.kind,
        UserSession.account_id == account.id,
        UserSession.ended_at.is_(None),
    )
    if except_row is not None:
        query = query.where(UserSession.id != except_row.id)
    count = dbs().execute(query.values(ended_at=clock.now(), end_reason=reason)).rowcount
    if count:
        audit.record("session.ended_all", account, details={"reason": reason, "count": count})
    return count


def end_one_for(account, session_public_id, reason: str = "ended_by_user") -> bool:
    try:
        session_public_id = UUID(str(session_public_id))
    except ValueError:
        return False
    row = dbs().scalar(
        select(UserSession).where(
            UserSession.public_id == session_public_id,
            UserSession.account_kind == account.kind,
            UserSession.account_id == account.id,
        )
    )
    if row is None or row.ended_at is not None:
        return False
    end(row, reason)
    return True


def require_rotation(account) -> None:
    """After a privilege change: every live session of the account gets a new id next request."""
    dbs().execute(
        update(UserSession)
        .where(
            UserSession.account_kind == account.kind,
            UserSession.account_id == account.id,
            UserSession.ended_at.is_(None),
        )
        .values(rotate_pending=True)
    )


def sweep() -> int:
    """Delete rows past their absolute expiry (anonymous ones included)."""
    cutoff = clock.now()
    result = dbs().execute(delete(UserSession).where(UserSession.expires_at < cutoff))
    return result.rowcount


@jobs.handler("sessions.sweep", every=timedelta(hours=1))
def _sweep_job(payload: dict) -> None:
    sweep()


_BROWSERS = (
    ("SamsungBrowser/", "Samsung Internet"),
    ("EdgA/", "Edge"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "Chromebook"),
    ("Windows", "Windows"),
    ("Macintosh", "Mac"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str | None) -> str | None:
    """'Chrome on Android': enough for a person to recognise their own phone, or None."""
    text = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in text), None)
    system = next((name for marker, name in _SYSTEMS if marker in text), None)
    if browser and system:
        return f"{browser} · {system}"
    return browser or system
