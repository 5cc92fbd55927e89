"""The one review queue: everything a client enters through the portal waits here (issue 5).

- A client's submission becomes a `ReviewItem` of a registered kind (payload encrypted, with
  the record's values at that time for a side-by-side view). A newer submission of the same
  kind supersedes a pending one, so staff decide on the latest only.
- Staff of the owning agency with REVIEW_CHANGES accept (optionally after editing), or reject
  with a reason the client sees. Accepting applies the change to the record in the same
  transaction. A decision is a compare-and-set on (status, version): of two staff deciding at
  once exactly one wins, the other is told.
- Location items are seen and decided only by the client's care team.
- Later issues add kinds with `register()`, not queues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import contains_eager, lazyload, load_only

from portal.domain.core import audit, clock, crypto
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import changed, dbs
from portal.domain.core.statuses import ReviewStatus
from portal.domain.core.validation import clean_text
from portal.domain.models import CareTeamMember, Client, ClientAccount, ReviewItem
from portal.domain.models.clients import CLIENT_LISTED
from portal.domain.selfservice._to_hmis import record_for_hmis

REJECT_REASONS = {
    "could_not_confirm": _l("We could not confirm this information."),
    "incomplete": _l("Some of the information is missing or unclear."),
    "not_yours": _l("This information belongs to someone else's record."),
    "other": _l("Another reason, written below."),
}
ALREADY_DECIDED = _l("Someone else decided on this change a moment ago. Here is what they decided.")


@dataclass
class ReviewKind:
    label: object
    apply: Callable[[Client, dict, ReviewItem], None]  # change the record (accepting)
    snapshot: Callable[[Client], dict]  # the record's current values, for side by side
    describe: Callable[[dict], list[tuple[object, str]]]  # (label, value) lines to show
    clean: Callable[[dict], dict] = field(default=lambda payload: payload)  # staff edits
    care_team_only: bool = False
    changes_record: bool = True  # False: accepting acknowledges (staff fix the record themselves)
    supersedes: bool = True  # False: each submission stands alone (documents)
    reasons: dict | None = None  # reject reasons of this kind (default REJECT_REASONS)
    on_reject: Callable[[ReviewItem, dict], None] | None = None  # follow a rejection through
    to_hmis: bool = False  # an accepted one waits to be entered in the HMIS (issue 21)

    @property
    def reject_reasons(self) -> dict:
        return self.reasons or REJECT_REASONS


KINDS: dict[str, ReviewKind] = {}


def register(name: str, kind: ReviewKind) -> None:
    KINDS[name] = kind


def _can_review(actor) -> bool:
    return getattr(actor, "kind", None) == "staff" and has_capability(
        actor.role, Capability.REVIEW_CHANGES
    )


def _on_care_team(staff_id):
    return (
        select(CareTeamMember.id)
        .where(CareTeamMember.client_id == ReviewItem.client_id)
        .where(CareTeamMember.staff_id == staff_id)
        .exists()
    )


def queue_scope(actor) -> Select:
    """Items the actor may see: their agency's clients; location kinds for the care team."""
    if not _can_review(actor) or not actor.agency_id:
        raise Forbidden(Capability.REVIEW_CHANGES)
    return (
        select(ReviewItem)
        .join(Client, Client.id == ReviewItem.client_id)
        .where(queue_criteria(actor.agency_id, actor.id, care_team_only_kinds()))
    )


def care_team_only_kinds() -> list[str]:
    """The kinds only the client's care team sees (where to find someone), as registered."""
    return sorted(name for name, kind in KINDS.items() if kind.care_team_only)


def queue_criteria(agency_id, staff_id, team_only):
    """The rule of `queue_scope` (joined to clients), with values or bound parameters (a
    statement built once passes `team_only` at run time: kinds register after it is built)."""
    return and_(
        ReviewItem.agency_id == agency_id,
        Client.deleted_at.is_(None),
        or_(ReviewItem.kind.not_in(team_only), _on_care_team(staff_id)),
    )


@dataclass
class QueueFilter:
    kind: str = ""
    care_team_member: int | None = None  # staff id
    older_than_days: int | None = None


def _queue_statement():
    """The pending queue (queue_scope's rule with the agency and staff member as parameters),
    oldest first, loading only what the queue page shows; filters add to it."""
    return (
        select(ReviewItem)
        .join(Client, Client.id == ReviewItem.client_id)
        .where(
            queue_criteria(
                bindparam("agency_id"),
                bindparam("staff_id"),
                bindparam("team_only", expanding=True),
            ),
            ReviewItem.status == ReviewStatus.PENDING,
        )
        .options(
            load_only(
                ReviewItem.id,
                ReviewItem.public_id,
                ReviewItem.client_id,
                ReviewItem.kind,
                ReviewItem.status,
                ReviewItem.created_at,
            ),
            contains_eager(ReviewItem.client).load_only(*CLIENT_LISTED),
            lazyload(ReviewItem.decided_by),
        )
        .order_by(ReviewItem.created_at, ReviewItem.id)
        .limit(bindparam("limit"))
    )


_QUEUE = _queue_statement()


def pending(actor, filters: QueueFilter | None = None, *, limit: int = 200) -> list[ReviewItem]:
    """Oldest first."""
    if not _can_review(actor) or not actor.agency_id:
        raise Forbidden(Capability.REVIEW_CHANGES)
    filters = filters or QueueFilter()
    query = _QUEUE
    if filters.kind in KINDS:
        query = query.where(ReviewItem.kind == filters.kind)
    if filters.care_team_member:
        query = query.where(
            select(CareTeamMember.id)
            .where(CareTeamMember.client_id == ReviewItem.client_id)
            .where(CareTeamMember.staff_id == filters.care_team_member)
            .exists()
        )
    if filters.older_than_days:
        query = query.where(
            ReviewItem.created_at <= clock.now() - timedelta(days=filters.older_than_days)
        )
    params = {
        "agency_id": actor.agency_id,
        "staff_id": actor.id,
        "team_only": care_team_only_kinds(),
        "limit": limit,
    }
    return list(dbs().scalars(query, params).unique())


def pending_count(actor) -> int:
    if not _can_review(actor) or not actor.agency_id:
        return 0
    query = queue_scope(actor).where(ReviewItem.status == ReviewStatus.PENDING)
    return dbs().scalar(select(func.count()).select_from(query.subquery())) or 0


def pending_for_client(actor, client: Client) -> list[ReviewItem]:
    """The client's items waiting for review that the actor may decide (else none)."""
    if not _can_review(actor) or not actor.agency_id:
        return []
    return list(
        dbs().scalars(
            queue_scope(actor)
            .where(ReviewItem.client_id == client.id, ReviewItem.status == ReviewStatus.PENDING)
            .order_by(ReviewItem.created_at)
        )
    )


def get_item(actor, public_id) -> ReviewItem:
    try:
        public_id = UUID(str(public_id))
    except ValueError:
        raise NotFound(("review_item", str(public_id)[:64])) from None
    item = dbs().scalar(queue_scope(actor).where(ReviewItem.public_id == public_id))
    if item is None:
        raise NotFound(("review_item", str(public_id)))
    return item


def payload_of(item: ReviewItem) -> dict:
    """What the client sent; {} once pruned (old location history)."""
    return crypto.decrypt_json(item.payload_encrypted) if item.payload_encrypted else {}


def previous_of(item: ReviewItem) -> dict:
    return crypto.decrypt_json(item.previous_encrypted) if item.previous_encrypted else {}


# --- the client side -----------------------------------------------------------------


def submit(
    account, client: Client, kind: str, payload: dict, *, agency_id: int | None = None
) -> ReviewItem:
    """Stage a change for review; a pending one of the same kind is superseded."""
    if kind not in KINDS:
        raise ValueError(f"unknown review kind {kind!r}")
    now = clock.now()
    if KINDS[kind].supersedes:
        dbs().execute(
            update(ReviewItem)
            .where(
                ReviewItem.client_id == client.id,
                ReviewItem.kind == kind,
                ReviewItem.status == ReviewStatus.PENDING,
            )
            .values(status=ReviewStatus.SUPERSEDED, decided_at=now, version=ReviewItem.version + 1)
        )
    item = ReviewItem(
        client_id=client.id,
        agency_id=agency_id or client.owning_agency_id,
        kind=kind,
        payload_encrypted=crypto.encrypt_json(payload),
        previous_encrypted=crypto.encrypt_json(KINDS[kind].snapshot(client)),
        submitted_by_account_id=account.id if account is not None else None,
    )
    dbs().add(item)
    dbs().flush()
    audit.record(
        "review.submitted",
        client,
        actor=account,
        details={"kind": kind, "item": str(item.public_id)},
    )
    return item


def items_for_client(client: Client, *, limit: int = 50) -> list[ReviewItem]:
    """What the client sees of their own submissions (newest first; superseded left out)."""
    return list(
        dbs().scalars(
            select(ReviewItem)
            .where(ReviewItem.client_id == client.id, ReviewItem.status != ReviewStatus.SUPERSEDED)
            .order_by(ReviewItem.created_at.desc(), ReviewItem.id.desc())
            .limit(limit)
        )
    )


def latest_pending(client: Client, kind: str) -> ReviewItem | None:
    return dbs().scalar(
        select(ReviewItem)
        .where(
            ReviewItem.client_id == client.id,
            ReviewItem.kind == kind,
            ReviewItem.status == ReviewStatus.PENDING,
        )
        .order_by(ReviewItem.id.desc())
        .limit(1)
    )


# --- the staff side ------------------------------------------------------------------


def _decide(actor, item: ReviewItem, version: int, status: str, **values) -> None:
    """Compare-and-set: only the first decision on this version of the item counts."""
    won = changed(
        update(ReviewItem)
        .where(
            ReviewItem.id == item.id,
            ReviewItem.status == ReviewStatus.PENDING,
            ReviewItem.version == version,
        )
        .values(
            status=status,
            version=ReviewItem.version + 1,
            decided_at=clock.now(),
            decided_by_id=actor.id,
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    if won != 1:
        raise DomainError(ALREADY_DECIDED)
    dbs().refresh(item)


def accept(
    actor, item: ReviewItem, version: int, *, edited: dict | None = None, hmis_note: str = ""
) -> None:
    """Accept (after staff edits, if any). `hmis_note`: for a correction, what staff will
    change in the HMIS (shown on the worklist, never to the client)."""
    kind = KINDS[item.kind]
    payload = payload_of(item)
    if edited is not None:
        payload = kind.clean(edited)  # raises DomainError for bad edits, before anything
    note = clean_text(hmis_note, field="hmis_note", max_length=500, required=False)
    _decide(actor, item, version, "accepted", edited=edited is not None)
    if edited is not None:
        item.payload_encrypted = crypto.encrypt_json(payload)
    kind.apply(item.client, payload, item)
    if kind.to_hmis:
        values = {**payload, "staff_note": note} if not kind.changes_record else payload
        record_for_hmis(
            item.client,
            item.kind,
            values,
            occurred_at=item.created_at,
            accepted_by_id=actor.id,
            review_item=item,
        )
    audit.record(
        "review.accepted",
        item.client,
        details={
            "kind": item.kind,
            "item": str(item.public_id),
            "edited": edited is not None,
            "source": "portal",
            "submitted_by": _account_ref(item),
        },
    )


def _account_ref(item: ReviewItem) -> str | None:

    if item.submitted_by_account_id is None:
        return None
    account = dbs().get(ClientAccount, item.submitted_by_account_id)
    return str(account.public_id) if account is not None else None


def record_viewed(actor, item: ReviewItem) -> None:
    audit.record(
        "review.viewed", item.client, details={"kind": item.kind, "item": str(item.public_id)}
    )


def reject(actor, item: ReviewItem, version: int, *, reason: str, note: str = "") -> None:

    kind = KINDS[item.kind]
    if reason not in kind.reject_reasons:
        raise DomainError(_l("Choose a reason the client will see."), field="reason")
    note = clean_text(note, field="note", max_length=500, required=reason == "other")
    _decide(actor, item, version, "rejected", reject_reason=reason, reject_note=note or None)
    if kind.on_reject is not None:
        kind.on_reject(item, payload_of(item))
    audit.record(
        "review.rejected",
        item.client,
        details={"kind": item.kind, "item": str(item.public_id), "reason": reason},
    )


def mark_portal_field(client: Client, name: str, item: ReviewItem) -> None:
    """Remember that the record's `name` now holds a value the client gave through the portal."""
    fields = dict(client.portal_fields or {})
    fields[name] = {"at": clock.now().isoformat(), "item": str(item.public_id)}
    client.portal_fields = fields
