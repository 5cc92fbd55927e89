"""The HMIS's own contacts and users: CurrentLivingSituation.csv, Services.csv and Event.csv
(rows on an enrollment, each a dated contact) and User.csv; and what writing them changes
beyond their rows: the clients' last contact, and review items the import makes stale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from itertools import zip_longest
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, or_, select

from portal.domain.core import clock, crypto
from portal.domain.core.session import dbs
from portal.domain.core.statuses import ReviewStatus
from portal.domain.hmis import hud_lists
from portal.domain.hmis.importer._cells import _BROKEN, _GONE, _assign, _Cells, _chunks, _Row
from portal.domain.hmis.importer._codes import (
    CLIENT,
    EMAIL_LENGTH,
    ENROLLMENT,
    EVENT,
    EXTENSION_LENGTH,
    ID_LENGTH,
    LIVING_SITUATION,
    LOCATION_DETAILS_LENGTH,
    NAME_LENGTH,
    PHONE_LENGTH,
    SERVICES,
    USER,
    VERIFIED_BY_LENGTH,
)
from portal.domain.models import (
    Agency,
    Enrollment,
    HmisContact,
    HmisEntry,
    HmisLivingSituation,
    HmisUser,
    Organization,
    Project,
    ReviewItem,
)
from portal.domain.records.coordinated_entry import record_hmis_contact

if TYPE_CHECKING:
    from portal.domain.hmis.importer._plan import _Plan

CONTACT_FILES = (LIVING_SITUATION, SERVICES, EVENT)
# HmisContact.source of the two files kept as dated contacts only.
_SOURCE = {SERVICES: "services", EVENT: "event"}
# Client.last_contact_kind of a contact each file records.
_KIND = {LIVING_SITUATION: "hmis_cls", SERVICES: "hmis_service", EVENT: "hmis_event"}
# The review kinds a newer living situation makes stale, and those a changed client row does.
LOCATION_KINDS = ("location", "location_correction")
CLIENT_KINDS = ("correction",)
_NO_YES_COLUMNS = {
    "leave_situation_14_days": "LeaveSituation14Days",
    "subsequent_residence": "SubsequentResidence",
    "resources_to_obtain": "ResourcesToObtain",
    "lease_own_60_day": "LeaseOwn60Day",
    "moved_two_or_more": "MovedTwoOrMore",
}


def start_of_day(day: date, timezone: str) -> datetime:
    """The moment `day` begins in `timezone`, in UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


class _Contacts:
    """The plan's part for the four files: parse, load, resolve, write."""

    def __init__(self, plan: _Plan):
        self.plan = plan
        # What is stored, by HUD id, with the agency of the stored row's enrollment.
        self.stored: dict[str, dict[str, Any]] = {name: {} for name in (*CONTACT_FILES, USER)}
        self.stored_agency: dict[str, dict[str, int | None]] = {n: {} for n in CONTACT_FILES}
        # Rows written and not deleted: (file, PersonalID, date) for "last contact".
        self.contacts: list[tuple[str, str, date]] = []
        self.situations: dict[str, date] = {}  # PersonalID -> newest changed InformationDate

    # -- phase 1: parse and check ------------------------------------------------------------

    def parsers(self) -> dict[str, Callable[[_Cells, str], _Row]]:
        return {
            LIVING_SITUATION: self._living_situation,
            SERVICES: self._service,
            EVENT: self._event,
            USER: self._user,
        }

    def _day(self, cells: _Cells, column: str) -> date | None:
        """A contact's date: required, and not after the agency's today."""
        day = cells.date(column, required=True)
        if day is not None and day > self.plan.today:
            cells.error(column, "out_of_range")
        return day

    @staticmethod
    def _optional_id(cells: _Cells, column: str) -> str | None:
        value = cells.raw(column)
        if len(value) > ID_LENGTH:
            cells.error(column, "too_long")
        return value or None

    @staticmethod
    def _on_enrollment(cells: _Cells, hud_id: str, values: dict[str, Any]) -> _Row:
        refs = {
            "enrollment": cells.hud_id("EnrollmentID") or "",
            "client": cells.hud_id("PersonalID") or "",
        }
        return _Row(
            cells.number,
            hud_id,
            values,
            refs,
            deleted=cells.deleted(),
            hud_updated=values.get("hud_date_updated"),
        )

    def _living_situation(self, cells: _Cells, hud_id: str) -> _Row:
        lists = self.plan.lists
        values: dict[str, Any] = {
            "information_date": self._day(cells, "InformationDate"),
            "living_situation": cells.code(
                "CurrentLivingSituation", lists[hud_lists.CURRENT_LIVING_SITUATION.name]
            ),
            "subsidy_type": cells.code(
                "CLSSubsidyType", lists[hud_lists.RENTAL_SUBSIDY_TYPE.name], required=False
            ),
            "verified_by": cells.text("VerifiedBy", max_length=VERIFIED_BY_LENGTH),
            "location_details": cells.text("LocationDetails", max_length=LOCATION_DETAILS_LENGTH),
            "hud_date_created": cells.timestamp("DateCreated"),
            "hud_date_updated": cells.timestamp("DateUpdated"),
            "hud_user_id": self._optional_id(cells, "UserID"),
        }
        no_yes = lists[hud_lists.NO_YES_REASONS.name]
        for attribute, column in _NO_YES_COLUMNS.items():
            values[attribute] = cells.code(column, no_yes, required=False)
        return self._on_enrollment(cells, hud_id, values)

    def _service(self, cells: _Cells, hud_id: str) -> _Row:
        values = {
            "contact_date": self._day(cells, "DateProvided"),
            "type_code": cells.code("RecordType", self.plan.lists[hud_lists.RECORD_TYPE.name]),
        }
        return self._on_enrollment(cells, hud_id, values)

    def _event(self, cells: _Cells, hud_id: str) -> _Row:
        values = {
            "contact_date": self._day(cells, "EventDate"),
            "type_code": cells.code("Event", self.plan.lists[hud_lists.EVENT_TYPE.name]),
        }
        return self._on_enrollment(cells, hud_id, values)

    def _user(self, cells: _Cells, hud_id: str) -> _Row:
        email = cells.text("UserEmail", max_length=EMAIL_LENGTH)
        updated = cells.timestamp("DateUpdated")
        values = {
            "first_name": cells.text("UserFirstName", max_length=NAME_LENGTH),
            "last_name": cells.text("UserLastName", max_length=NAME_LENGTH),
            "phone": cells.text("UserPhone", max_length=PHONE_LENGTH),
            "extension": cells.text("UserExtension", max_length=EXTENSION_LENGTH),
            "email": email.lower() if email else None,
            "hud_date_created": cells.timestamp("DateCreated"),
            "hud_date_updated": updated,
        }
        return _Row(cells.number, hud_id, values, deleted=cells.deleted(), hud_updated=updated)

    # -- what is stored ----------------------------------------------------------------------

    def referenced(self, ref: str) -> set[str]:
        """The EnrollmentIDs or PersonalIDs the contact rows point at."""
        rows = self.plan.rows
        return {row.refs[ref] for n in CONTACT_FILES for row in rows[n].values() if row.refs[ref]}

    def load(self) -> None:
        """One query per table (per 5000 ids), each stored row with its enrollment's agency."""
        rows = self.plan.rows
        for chunk in _chunks(rows[LIVING_SITUATION]):
            query = _with_agency(
                select(HmisLivingSituation, Organization.agency_id), HmisLivingSituation
            )
            for stored, agency_id in dbs().execute(
                query.where(HmisLivingSituation.hud_id.in_(chunk))
            ):
                self.stored[LIVING_SITUATION][stored.hud_id] = stored
                self.stored_agency[LIVING_SITUATION][stored.hud_id] = agency_id
        by_source = {source: name for name, source in _SOURCE.items()}
        for services, events in zip_longest(_chunks(rows[SERVICES]), _chunks(rows[EVENT])):
            wanted = [
                and_(HmisContact.source == _SOURCE[name], HmisContact.hud_id.in_(ids))
                for name, ids in ((SERVICES, services), (EVENT, events))
                if ids
            ]
            query = _with_agency(select(HmisContact, Organization.agency_id), HmisContact)
            for stored, agency_id in dbs().execute(query.where(or_(false(), *wanted))):
                self.stored[by_source[stored.source]][stored.hud_id] = stored
                self.stored_agency[by_source[stored.source]][stored.hud_id] = agency_id
        for chunk in _chunks(rows[USER]):
            query = select(HmisUser).where(
                HmisUser.agency_id == self.plan.agency.id, HmisUser.hud_user_id.in_(chunk)
            )
            for user in dbs().scalars(query):
                self.stored[USER][user.hud_user_id] = user

    # -- references, and what is skipped -----------------------------------------------------

    def resolve(self) -> None:
        for name in CONTACT_FILES:
            for row in self.plan.rows[name].values():
                if not row.failed:
                    self._resolve_contact(name, row)
        for row in self.plan.rows[USER].values():
            if not row.failed:
                self._resolve_stored(USER, row)

    def _resolve_contact(self, name: str, row: _Row) -> None:
        plan = self.plan
        enrollment_id = row.refs["enrollment"]
        enrollment = plan._after(ENROLLMENT, enrollment_id, plan.enrollments)
        if enrollment is None:
            plan._error(name, row, "EnrollmentID", "unknown_reference")
            return
        if enrollment is _BROKEN:
            row.failed = True
            return
        person, _entry, agency_id = plan._enrollment_after(enrollment_id, enrollment)
        stored_agency = self.stored_agency[name].get(row.hud_id)
        if row.refs["client"] != person:
            plan._error(name, row, "PersonalID", "personal_id_mismatch")
        elif not plan._mine(agency_id) or not plan._mine(stored_agency):
            plan._skip(name, row, "organization_of_another_agency")
        elif enrollment is _GONE and not row.deleted:
            plan._skip(name, row, "references_deleted_row")
        elif not row.deleted and (gone := self._client_gone(person)):
            plan._skip(name, row, gone)
        else:
            self._resolve_stored(name, row)

    def _client_gone(self, person: str) -> str | None:
        """Why no contact is kept for this client: soft-deleted in the portal, or by this
        import (its Client.csv row is deleted in the HMIS)."""
        client = self.plan.clients.get(person)
        file_row = self.plan.rows[CLIENT].get(person)
        if file_row is not None and file_row.deleted and file_row.skip is None:
            return "references_deleted_row"
        if client is not None and client.deleted_at is not None:
            return "deleted_in_portal"
        return None

    def _resolve_stored(self, name: str, row: _Row) -> None:
        """A deleted row deletes the stored one (a new one is skipped); an older row than the
        one stored is skipped."""
        stored = self.stored[name].get(row.hud_id)
        if row.deleted:
            if stored is None:
                self.plan._skip(name, row, "deleted_in_hmis")
            return
        stored_updated = getattr(stored, "hud_date_updated", None)
        if stored_updated and row.hud_updated and row.hud_updated < stored_updated:
            self.plan._skip(name, row, "older_than_stored")

    # -- phase 2: write ----------------------------------------------------------------------

    def write(self, now: datetime) -> None:
        """After the enrollments are written and flushed: the rows, then each client's last
        contact, then the review items the import makes stale."""
        self._write_living_situations(now)
        for name in (SERVICES, EVENT):
            self._write_contacts(name, now)
        self._write_users(now)
        dbs().flush()
        self._last_contacts()
        self._flag_review_items()

    def _delete(self, name: str, row: _Row) -> bool:
        """A deleted row: its stored one goes (counted updated). True when it was one."""
        if not row.deleted:
            return False
        dbs().delete(self.stored[name][row.hud_id])
        self.plan._count(name, False, True)
        return True

    def _stored_or_new(self, name: str, row: _Row, model: type, **keys: Any) -> tuple[Any, bool]:
        """The stored row, or a new one of `model` made with `keys` (added): (row, created)."""
        stored = self.stored[name].get(row.hud_id)
        if stored is not None:
            return stored, False
        stored = self.stored[name][row.hud_id] = model(**keys)
        dbs().add(stored)
        return stored, True

    def _write_living_situations(self, now: datetime) -> None:
        plan = self.plan
        # The portal's own rows coming back (an export's CurrentLivingSitID is its change's
        # id): what the client said through the portal, not the HMIS changing it.
        own = _portal_changes({row.hud_id for row in plan._to_write(LIVING_SITUATION)})
        for row in plan._to_write(LIVING_SITUATION):
            if self._delete(LIVING_SITUATION, row):
                continue
            enrollment = plan.enrollments[row.refs["enrollment"]]
            situation, created = self._stored_or_new(
                LIVING_SITUATION, row, HmisLivingSituation, hud_id=row.hud_id
            )
            values = {k: v for k, v in row.values.items() if k != "location_details"}
            values.update(client_id=enrollment.client_id, enrollment_id=enrollment.id)
            changed = _assign(situation, values, created=created)
            details = row.values["location_details"]
            encrypted = situation.location_details_encrypted
            if created or (crypto.decrypt_text(encrypted) if encrypted else None) != details:
                situation.location_details_encrypted = (
                    crypto.encrypt_text(details) if details else None
                )
                changed = True
            if changed:
                situation.imported_at = now
            if changed and row.hud_id not in own:
                person, day = row.refs["client"], row.values["information_date"]
                self.situations[person] = max(day, self.situations.get(person, day))
            plan._count(LIVING_SITUATION, created, changed)
            self.contacts.append(
                (LIVING_SITUATION, row.refs["client"], row.values["information_date"])
            )

    def _write_contacts(self, name: str, now: datetime) -> None:
        plan = self.plan
        for row in plan._to_write(name):
            if self._delete(name, row):
                continue
            enrollment = plan.enrollments[row.refs["enrollment"]]
            contact, created = self._stored_or_new(
                name, row, HmisContact, source=_SOURCE[name], hud_id=row.hud_id
            )
            values = {
                **row.values,
                "client_id": enrollment.client_id,
                "enrollment_id": enrollment.id,
            }
            changed = _assign(contact, values, created=created)
            if changed:
                contact.imported_at = now
            plan._count(name, created, changed)
            self.contacts.append((name, row.refs["client"], row.values["contact_date"]))

    def _write_users(self, now: datetime) -> None:
        for row in self.plan._to_write(USER):
            if self._delete(USER, row):
                continue
            user, created = self._stored_or_new(
                USER, row, HmisUser, hud_user_id=row.hud_id, agency_id=self.plan.agency.id
            )
            changed = _assign(user, row.values, created=created)
            if changed:
                user.imported_at = now
            self.plan._count(USER, created, changed)

    def _last_contacts(self) -> None:
        """Each contact row's day, from the start of that day in the agency's time zone, is
        the client's last contact when it is later than the one known (a portal contact that
        is later stays)."""
        timezone = self.plan.agency.timezone
        for name, person, day in self.contacts:
            record_hmis_contact(self.plan.clients[person], start_of_day(day, timezone), _KIND[name])

    def _flag_review_items(self) -> None:
        """Mark the pending review items the import made stale (see the package docstring)."""
        clients = self.plan.clients
        situations = {clients[person].id: day for person, day in self.situations.items()}
        corrected = {client.id for client in self.plan.changed_clients}
        ids = sorted(situations.keys() | corrected)
        for start in range(0, len(ids), 5000):
            query = (
                select(ReviewItem, Agency.timezone)
                .join(Agency, Agency.id == ReviewItem.agency_id)
                .where(
                    ReviewItem.client_id.in_(ids[start : start + 5000]),
                    ReviewItem.status == ReviewStatus.PENDING,
                    ReviewItem.kind.in_(LOCATION_KINDS + CLIENT_KINDS),
                )
            )
            for item, timezone in dbs().execute(query):
                if _is_stale(item, timezone, situations, corrected):
                    item.hmis_changed_at = clock.now()


def _portal_changes(hud_ids: set[str]) -> set[str]:
    """Of these CurrentLivingSitIDs, the ones that are the ids of the portal's own changes."""
    ids = []
    for hud_id in hud_ids:
        try:
            ids.append(UUID(hex=hud_id))
        except ValueError:
            continue
    found: set[str] = set()
    for start in range(0, len(ids), 5000):
        query = select(HmisEntry.public_id).where(
            HmisEntry.public_id.in_(ids[start : start + 5000])
        )
        found |= {public_id.hex for public_id in dbs().scalars(query)}
    return found


def _is_stale(
    item: ReviewItem, timezone: str, situations: dict[int, date], corrected: set[int]
) -> bool:
    if item.kind in CLIENT_KINDS:
        return item.client_id in corrected
    day = situations.get(item.client_id)
    sent = item.created_at.astimezone(ZoneInfo(timezone)).date()
    return day is not None and day >= sent


def _with_agency(query: Any, model: Any) -> Any:
    """`query` joined to the agency of its row's enrollment (its project's organization)."""
    return (
        query.join(Enrollment, Enrollment.id == model.enrollment_id)
        .join(Project, Project.id == Enrollment.project_id)
        .join(Organization, Organization.id == Project.organization_id)
    )
