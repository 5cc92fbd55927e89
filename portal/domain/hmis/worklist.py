"""The "to enter in the HMIS" worklist (issue 21): per agency, every accepted change,
check-in, accepted "where to find me" and accepted correction of the agency's clients not yet
entered in the HMIS, oldest first, with the values to key in and the client's PersonalID.

- Who sees an entry: staff who review changes (REVIEW_CHANGES), of the agency that owns the
  client, who may see that client (the access policy); where to find someone (location kinds)
  only the client's care team, as in the review queue. One scope, written once (`_scope`).
- "Done in the HMIS" is a mark (who, when), audited, a compare-and-set (of two marks at once
  one wins); it can be taken back within a day. Confirming an export marks what it carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select, update

from portal.domain.core import audit, clock, crypto
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import changed, dbs
from portal.domain.models import CareTeamMember, Client, HmisEntry
from portal.domain.records.access_policy import staff_sees, today_for
from portal.domain.selfservice import review

UNDO_WITHIN = timedelta(days=1)
CHECK_IN = "check_in"
KIND_LABELS = {CHECK_IN: _l("Check-in")}
SHOWS = ("waiting", "done")
ALREADY_MARKED = _l("Someone marked this a moment ago. Here is the list as it is now.")
TOO_LATE_TO_UNDO = _l("A mark can be taken back only within a day of making it.")
IN_AN_EXPORT = _l(
    "This change is in an export. It is done when you confirm, on the export's page, that "
    "the HMIS imported it."
)


def kind_label(kind: str) -> object:
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    registered = review.KINDS.get(kind)
    return registered.label if registered is not None else kind


def kinds() -> dict[str, object]:
    """Every kind an entry can have, with its words (for the filter)."""
    names = [name for name, kind in review.KINDS.items() if kind.to_hmis]
    return {CHECK_IN: KIND_LABELS[CHECK_IN], **{n: review.KINDS[n].label for n in names}}


def may_see(actor) -> bool:
    """Whether the actor has a worklist at all."""
    return (
        getattr(actor, "kind", None) == "staff"
        and has_capability(actor.role, Capability.REVIEW_CHANGES)
        and has_capability(actor.role, Capability.VIEW_CLIENTS)
        and bool(actor.agency_id)
    )


def worklist_criteria(agency_id, staff_id, today):
    """The rule of this module's docstring, written once (joined to clients), with values or
    bound parameters (the navigation's one statement counts with it)."""
    on_team = (
        select(CareTeamMember.id)
        .where(CareTeamMember.client_id == HmisEntry.client_id)
        .where(CareTeamMember.staff_id == staff_id)
        .exists()
    )
    return and_(
        HmisEntry.agency_id == agency_id,
        Client.deleted_at.is_(None),
        staff_sees(agency_id, today),
        or_(HmisEntry.care_team_only.is_(False), on_team),
    )


def _scope(actor) -> Select:
    """The entries `actor` may see."""
    if not may_see(actor):
        raise Forbidden(Capability.REVIEW_CHANGES)
    return (
        select(HmisEntry)
        .join(Client, Client.id == HmisEntry.client_id)
        .where(worklist_criteria(actor.agency_id, actor.id, today_for(actor)))
    )


@dataclass
class WorklistFilter:
    kind: str = ""
    accepted_by: int | None = None  # staff id
    older_than_days: int | None = None
    show: str = "waiting"  # or "done"


@dataclass
class Line:
    entry: HmisEntry
    lines: list[tuple[object, str]]  # (label, value) to key in
    staff_note: str


def _filtered(actor, filters: WorklistFilter) -> Select:
    query = _scope(actor)
    if filters.show == "done":
        query = query.where(HmisEntry.entered_at.is_not(None))
    else:
        query = query.where(HmisEntry.entered_at.is_(None))
    if filters.kind:
        query = query.where(HmisEntry.kind == filters.kind)
    if filters.accepted_by:
        query = query.where(HmisEntry.accepted_by_id == filters.accepted_by)
    if filters.older_than_days:
        cutoff = clock.now() - timedelta(days=filters.older_than_days)
        query = query.where(HmisEntry.occurred_at <= cutoff)
    return query


def worklist(actor, filters: WorklistFilter | None = None, *, limit: int = 200) -> list[Line]:
    """Waiting entries oldest first (done ones: the latest marks first), with their values."""
    filters = filters or WorklistFilter()
    query = _filtered(actor, filters)
    if filters.show == "done":
        query = query.order_by(HmisEntry.entered_at.desc(), HmisEntry.id.desc())
    else:
        query = query.order_by(HmisEntry.occurred_at, HmisEntry.id)
    return [_line(entry) for entry in dbs().scalars(query.limit(limit)).unique()]


def _line(entry: HmisEntry) -> Line:
    values = values_of(entry)
    if entry.kind == CHECK_IN:
        lines: list[tuple[object, str]] = [(_l("Checked in through the portal"), "")]
    elif values is None:
        lines = [
            (
                _l("Values"),
                str(_l("No longer kept: where someone was is kept only for a limited time.")),
            )
        ]
    else:
        lines = list(review.KINDS[entry.kind].describe(values))
    note = (values or {}).get("staff_note") or ""
    return Line(entry, lines, note)


def values_of(entry: HmisEntry) -> dict | None:
    """The values to key in; None once pruned (old places)."""
    return crypto.decrypt_json(entry.values_encrypted) if entry.values_encrypted else None


def counts(actor) -> dict[str, int]:
    """Waiting entries the actor may see, per kind, and in all (for the navigation)."""
    if not may_see(actor):
        return {}
    waiting = _scope(actor).where(HmisEntry.entered_at.is_(None)).subquery()
    rows = dbs().execute(select(waiting.c.kind, func.count()).group_by(waiting.c.kind)).all()
    result = {kind: count for kind, count in rows}
    result["all"] = sum(result.values())
    return result


def waiting_count(actor) -> int:
    return counts(actor).get("all", 0)


def get_entry(actor, public_id) -> HmisEntry:
    try:
        public_id = UUID(str(public_id))
    except ValueError:
        raise NotFound(("hmis_entry", str(public_id)[:64])) from None
    entry = dbs().scalar(_scope(actor).where(HmisEntry.public_id == public_id))
    if entry is None:
        raise NotFound(("hmis_entry", str(public_id)))
    return entry


def mark_entered(actor, entry: HmisEntry) -> None:
    """Done in the HMIS: by `actor`, now. Of two marks at once, one counts; a change an
    export carries is done when staff confirm the HMIS imported that export (entered by hand
    as well, the HMIS would have it twice)."""
    now = clock.now()
    won = changed(
        update(HmisEntry)
        .where(
            HmisEntry.id == entry.id,
            HmisEntry.entered_at.is_(None),
            HmisEntry.export_id.is_(None),
        )
        .values(entered_at=now, entered_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if won != 1:
        dbs().refresh(entry)
        raise DomainError(IN_AN_EXPORT if entry.export_id is not None else ALREADY_MARKED)
    dbs().refresh(entry)
    audit.record("hmis_entry.entered", entry.client, details=_details(entry))


def undo_entered(actor, entry: HmisEntry) -> None:
    """Take a mark made by hand back, within a day of it (a confirmed export's are not)."""
    if entry.entered_at is None:
        raise DomainError(ALREADY_MARKED)
    if entry.export_id is not None:
        raise DomainError(IN_AN_EXPORT)
    since = clock.now() - UNDO_WITHIN
    won = changed(
        update(HmisEntry)
        .where(
            HmisEntry.id == entry.id,
            HmisEntry.entered_at == entry.entered_at,
            HmisEntry.entered_at > since,
        )
        .values(entered_at=None, entered_by_id=None)
        .execution_options(synchronize_session=False)
    )
    if won != 1:
        dbs().refresh(entry)
        raise DomainError(TOO_LATE_TO_UNDO if entry.entered_at is not None else ALREADY_MARKED)
    dbs().refresh(entry)
    audit.record("hmis_entry.entered_undone", entry.client, details=_details(entry))


def can_undo(entry: HmisEntry, now: datetime | None = None) -> bool:
    moment = now or clock.now()
    return (
        entry.export_id is None
        and entry.entered_at is not None
        and entry.entered_at > moment - UNDO_WITHIN
    )


def mark_export_entered(actor, export_id: int) -> int:
    """Every entry an export carried and nobody marked yet: done now, by `actor`."""
    return changed(
        update(HmisEntry)
        .where(and_(HmisEntry.export_id == export_id, HmisEntry.entered_at.is_(None)))
        .values(entered_at=clock.now(), entered_by_id=actor.id if actor is not None else None)
        .execution_options(synchronize_session=False)
    )


def _details(entry: HmisEntry) -> dict:
    return {"entry": str(entry.public_id), "kind": entry.kind}
