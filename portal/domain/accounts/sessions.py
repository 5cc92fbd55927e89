"""Server-side sessions: the store behind the web session interface.

The cookie carries a 256-bit random id after a mark of the account kind; the table keeps only
the SHA-256 of the whole. Idle and absolute timeouts depend on the account kind. A person's
sessions can be listed and ended one by one or all at once; ending is immediate because every
request that uses the session loads the row.

Activity (`last_seen_at`) is written at most once every `TOUCH_EVERY`, inside the request's own
transaction: a request within a minute of the last write reads and writes nothing for its
session, so pages that only read stay readers. The idle timeout therefore counts from the last
write, which is at most a minute before the last activity: a session may end up to a minute
early, never late (R24), and the warning script is given the real deadline.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased, contains_eager

from portal.domain.accounts.signin import account_by_id
from portal.domain.core import audit, clock, jobs
from portal.domain.core.session import changed, dbs, read, will_write
from portal.domain.models import Agency, Client, ClientAccount, StaffUser, UserSession
from portal.settings import current as current_settings

TOUCH_EVERY = timedelta(minutes=1)


# A session id starts with a mark of its account kind, so that a request reads the session and
# its account in one statement. The table keeps the hash of the whole id, mark included: a
# changed mark names no session. A mark is only a hint: the account is joined on the row's own
# kind, so a wrong or missing mark costs a second statement, never a wrong account. ("~" is not
# in base64url, and a cookie without "." is a session id, not signed anonymous state.)
MARKS = {"staff": "s~", "client": "c~"}
ANONYMOUS_MARK = "a~"
_KIND_OF_MARK = {mark: kind for kind, mark in MARKS.items()}


def new_sid(kind: str | None = None) -> str:
    """A new session id for a session of `kind` ("staff", "client", None while anonymous)."""
    return MARKS.get(kind or "", ANONYMOUS_MARK) + secrets.token_urlsafe(32)


def kind_of_sid(sid: str | None) -> str | None:
    """The account kind a session id was made for ("staff", "client"), from its mark; None for
    an anonymous session's id (or one made before the marks)."""
    return _KIND_OF_MARK.get((sid or "")[:2])


def hash_sid(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _expired(row: UserSession | Row, now: datetime) -> str | None:
    idle, absolute = current_settings().timeouts(row.account_kind)
    if row.ended_at is not None:
        return "ended"
    if now >= row.created_at + absolute or now >= row.expires_at:
        return "absolute_timeout"
    if now >= row.last_seen_at + idle:
        return "idle_timeout"
    return None


# Every request that uses its session reads its row and its account: one statement, built once
# per account kind (the id's mark says which). The row as plain columns (it is read far more
# often than written, and what writes it says so by id); the account as ORM objects with its
# agency and, for a client, their own record (and its owning agency), which the ORM then finds
# in the session instead of asking again. A row whose id has no mark (made before the marks)
# is read alone and its account by a second statement. An outer join of both account kinds in
# one statement was measured slower (2.0-2.9 ms against 1.3-1.4 ms on PostgreSQL): a hundred
# columns.
_ROW = select(UserSession.__table__).where(UserSession.sid_hash == bindparam("sid_hash"))


def _with_account(kind: str, *entities, joins=()):
    statement = (
        select(*UserSession.__table__.c, *entities)
        .select_from(UserSession)
        .where(UserSession.sid_hash == bindparam("sid_hash"))
    )
    account = entities[0]
    statement = statement.outerjoin(
        account, and_(UserSession.account_kind == kind, account.id == UserSession.account_id)
    )
    for target, on in joins:
        statement = statement.outerjoin(target, on)
    return statement


def _client_statements():
    owning_agency = aliased(Agency)
    joins = (
        (Client, Client.id == ClientAccount.client_id),
        (owning_agency, owning_agency.id == Client.owning_agency_id),
    )
    eager = contains_eager(Client.owning_agency.of_type(owning_agency))
    alone = (
        select(ClientAccount, Client)
        .outerjoin(*joins[0])
        .outerjoin(*joins[1])
        .options(eager)
        .where(ClientAccount.id == bindparam("account_id"))
    )
    return alone, _with_account("client", ClientAccount, Client, joins=joins).options(eager)


_CLIENT, _ROW_AND_CLIENT = _client_statements()
_STAFF = select(StaffUser).where(StaffUser.id == bindparam("account_id"))
_ROW_AND_ACCOUNT = {"staff": _with_account("staff", StaffUser), "client": _ROW_AND_CLIENT}
_ROW_WIDTH = len(UserSession.__table__.c)


def load(sid: str | None):
    """The live row for a cookie value (its columns), or (None, why it is not live). When the
    id's mark names the account kind, the account is read with it (`load_account` then reads
    nothing)."""
    if not sid or len(sid) > 100:
        return None, None
    statement = _ROW_AND_ACCOUNT.get(_KIND_OF_MARK.get(sid[:2], ""))
    if statement is None:
        row = read(_ROW, sid_hash=hash_sid(sid)).first()
    else:
        row = dbs().execute(statement, {"sid_hash": hash_sid(sid)}).first()
    if row is None:
        return None, None
    why = _expired(row, clock.now())
    if why is not None:
        if row.ended_at is None:
            will_write()
            _end_if_live(row.id, why)
        return None, why
    if statement is not None and row[_ROW_WIDTH] is not None:
        _keep_signed_in(row.account_kind, row.account_id, tuple(row[_ROW_WIDTH:]))
    return row, None


def _keep_signed_in(kind, account_id, found: tuple) -> None:
    # The ORM's identity map holds objects weakly: keep them for this request's session.
    dbs().info["signed_in"] = ((kind, account_id), found)


def load_account(kind: str | None, account_id: int | None) -> None:
    """Read a session's account (and a client's own record) into the ORM session, so that
    `accounts.account_by_id` and the client's scoped record find them without asking again."""
    if account_id is None or kind not in ("staff", "client"):
        return
    kept = dbs().info.get("signed_in")
    if kept is not None and kept[0] == (kind, account_id):
        return
    statement = _STAFF if kind == "staff" else _CLIENT
    found = dbs().execute(statement, {"account_id": account_id}).first()
    _keep_signed_in(kind, account_id, tuple(found) if found is not None else ())


def _end_if_live(row_id: int, reason: str) -> None:
    """End a session unless another request ended it first (a compare-and-set)."""
    ended = changed(
        update(UserSession)
        .where(UserSession.id == row_id, UserSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=reason)
    )
    row = dbs().get(UserSession, row_id)
    if ended and row is not None and row.account_kind is not None:
        audit.record(
            "session.ended",
            (row.account_kind, _account_public_id(row)),
            details={"reason": reason, "session": str(row.public_id)},
        )


def keep_alive(row: UserSession) -> datetime | None:
    """Note activity if the last note is `TOUCH_EVERY` old; returns when the session will
    time out for idleness (None: it was ended a moment ago by another request)."""
    now = clock.now()
    idle, _absolute = current_settings().timeouts(row.account_kind)
    if now - row.last_seen_at < TOUCH_EVERY:
        return row.last_seen_at + idle
    return keep_alive_now(row.id, row.account_kind)


def keep_alive_now(row_id: int, account_kind: str | None) -> datetime | None:
    """Note activity now, whenever the last note was ("stay signed in")."""
    will_write()
    now = clock.now()
    touched = changed(
        update(UserSession)
        .where(UserSession.id == row_id, UserSession.ended_at.is_(None))
        .values(last_seen_at=now)
    )
    if not touched:
        return None
    idle, _absolute = current_settings().timeouts(account_kind)
    return now + idle


def save(row_id: int, *, data: dict | None = None, sid: str | None = None) -> None:
    """Write a session's changed data and, after a rotation, the hash of its new id."""
    values: dict = {}
    if data is not None:
        values["data"] = data
    if sid is not None:
        values["sid_hash"] = hash_sid(sid)
        values["rotate_pending"] = False
    if values:
        dbs().execute(
            update(UserSession)
            .where(UserSession.id == row_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


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


def replace(row: UserSession) -> None:
    """The row of a browser that is signing in, replaced by a new one (no fixation): a signed-in
    row ends ("rotated", audited); a row kept before anyone signed in (a staff member's second
    step, an invitation being redeemed) holds nothing worth keeping and is deleted."""
    if row.account_kind is None:
        dbs().delete(row)
    else:
        end(row, "rotated")


def _account_public_id(row: UserSession) -> str:

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
    count = changed(query.values(ended_at=clock.now(), end_reason=reason))
    if count:
        audit.record("session.ended_all", account, details={"reason": reason, "count": count})
    return count


def end_password_sessions(agency: Agency, reason: str, *, except_row=None) -> int:
    """End the sessions of `agency`'s staff that did not begin through a single sign-on
    provider (when the agency starts requiring one); `except_row` (the administrator's own)
    stays."""
    staff_ids = select(StaffUser.id).where(StaffUser.agency_id == agency.id)
    query = update(UserSession).where(
        UserSession.account_kind == "staff",
        UserSession.account_id.in_(staff_ids),
        UserSession.ended_at.is_(None),
        UserSession.sso_state.is_(None),
    )
    if except_row is not None:
        query = query.where(UserSession.id != except_row.id)
    return changed(
        query.values(ended_at=clock.now(), end_reason=reason).execution_options(
            synchronize_session=False
        )
    )


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
    return changed(delete(UserSession).where(UserSession.expires_at < cutoff))


@jobs.handler("sessions.sweep", every=timedelta(hours=1))
def sweep_job(payload: dict) -> None:
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
