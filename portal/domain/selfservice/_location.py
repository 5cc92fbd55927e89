"""Where to find me: a place and, if the client shares it, a point of about 100 m, seen by the
care team only and pruned after 90 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, literal, select, union_all, update

from portal.domain.core import clock, crypto, jobs
from portal.domain.core.errors import DomainError
from portal.domain.core.session import changed, dbs, read
from portal.domain.core.statuses import ReviewStatus
from portal.domain.core.validation import (
    clean_text,
)
from portal.domain.models import (
    CareTeamMember,
    Client,
    ClientLocation,
    HmisEntry,
    ReviewItem,
)
from portal.domain.records.access_policy import client_of
from portal.domain.records.coordinated_entry import record_contact
from portal.domain.selfservice._tasks import complete_tasks
from portal.domain.selfservice._vocabulary import PLACE_KINDS
from portal.domain.selfservice.review import (
    submit,
)
from portal.settings import current as current_settings

# --- where to find me --------------------------------------------------------------------


def _coordinate(value, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not (low <= number <= high) or number != number:  # NaN
        return None
    return round(number, 3)  # about 100 m: the care team needs the area, not the doorway


def coordinate_as_kept(value) -> str:
    """A coordinate as it would be kept (3 decimals), for a form shown again after a refusal;
    empty when it is not one. A finer value sent is never repeated in a page (R63)."""
    number = _coordinate(value, -180, 180)
    return "" if number is None else f"{number:.3f}"


def submit_location(
    account,
    *,
    place_kind: str,
    place: str = "",
    times: str = "",
    use_my_location: bool = False,
    latitude=None,
    longitude=None,
) -> ReviewItem:
    client = client_of(account)
    errors: list[DomainError] = []
    if place_kind not in PLACE_KINDS:
        errors.append(DomainError(_l("Choose the kind of place."), "place_kind"))
    try:
        place = clean_text(place, field="place", max_length=100, required=False)
    except DomainError as refusal:
        errors.append(refusal)
    try:
        times = clean_text(times, field="times", max_length=200, required=False)
    except DomainError as refusal:
        errors.append(refusal)
    lat = lon = None
    if use_my_location:
        lat, lon = _coordinate(latitude, -90, 90), _coordinate(longitude, -180, 180)
        if lat is None or lon is None:
            errors.append(
                DomainError(
                    _l("We could not read your location. Try again, or leave it out."),
                    "use_my_location",
                )
            )
    if errors:
        raise DomainError.all_of(errors)
    item = submit(
        account,
        client,
        "location",
        {"place_kind": place_kind, "place": place, "times": times, "lat": lat, "lon": lon},
    )
    record_contact(client, "portal_update")
    complete_tasks(client, "update_location")
    return item


@dataclass
class SharedLocation:
    details: dict
    shared_at: datetime
    status: str  # "accepted" or "pending"


def _last_location_statement():
    pending = select(
        literal(0).label("rank"),
        ReviewItem.payload_encrypted.label("sealed"),
        ReviewItem.created_at.label("at"),
        ReviewItem.id.label("id"),
    ).where(
        ReviewItem.client_id == bindparam("client_id"),
        ReviewItem.kind == "location",
        ReviewItem.status == ReviewStatus.PENDING,
    )
    accepted = select(
        literal(1),
        ClientLocation.details_encrypted,
        ClientLocation.shared_at,
        ClientLocation.id,
    ).where(ClientLocation.client_id == bindparam("client_id"))
    both = union_all(pending, accepted).subquery()
    return (
        select(both.c.rank, both.c.sealed, both.c.at)
        .order_by(both.c.rank, both.c.at.desc(), both.c.id.desc())
        .limit(1)
    )


LAST_LOCATION = _last_location_statement()


def last_location(client: Client) -> SharedLocation | None:
    """The client's own latest location: a pending one first, else the last accepted (one
    statement; the home page reads it within `home.digest`)."""
    return shared_location(read(LAST_LOCATION, client_id=client.id).first())


def shared_location(row) -> SharedLocation | None:
    if row is None or row.rank is None:
        return None
    details = crypto.decrypt_json(row.sealed) if row.sealed else {}
    return SharedLocation(details, row.at, "pending" if row.rank == 0 else "accepted")


def location_for_staff(actor, client: Client) -> SharedLocation | None:
    """Only the client's care team sees where to find them."""
    on_team = dbs().scalar(
        select(CareTeamMember.id).where(
            CareTeamMember.client_id == client.id, CareTeamMember.staff_id == actor.id
        )
    )
    if on_team is None:
        return None
    row = dbs().scalar(
        select(ClientLocation)
        .where(ClientLocation.client_id == client.id)
        .order_by(ClientLocation.shared_at.desc(), ClientLocation.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    return SharedLocation(crypto.decrypt_json(row.details_encrypted), row.shared_at, "accepted")


def prune_locations() -> int:
    """Delete location history older than `location_history_days`, and wipe the payload of
    location review items and the values of location entries for the HMIS as old (their
    status stays for the record of decisions)."""
    cutoff = clock.now() - timedelta(days=current_settings().location_history_days)
    removed = changed(delete(ClientLocation).where(ClientLocation.shared_at < cutoff))
    location_kinds = ("location", "location_correction")
    dbs().execute(
        update(ReviewItem)
        .where(ReviewItem.kind.in_(location_kinds), ReviewItem.created_at < cutoff)
        .values(payload_encrypted="", previous_encrypted=None, reject_note=None)
    )
    dbs().execute(
        update(ReviewItem)
        .where(
            ReviewItem.kind.in_(location_kinds),
            ReviewItem.created_at < cutoff,
            ReviewItem.status == ReviewStatus.PENDING,
        )
        .values(
            status=ReviewStatus.WITHDRAWN, decided_at=clock.now(), version=ReviewItem.version + 1
        )
    )
    # Where someone was, waiting to be entered in the HMIS, is kept no longer either.
    dbs().execute(
        update(HmisEntry)
        .where(HmisEntry.kind.in_(location_kinds), HmisEntry.occurred_at < cutoff)
        .values(values_encrypted=None)
    )
    return removed


@jobs.handler("locations.prune", every=timedelta(days=1))
def prune_job(payload: dict) -> None:
    prune_locations()
