"""Making an export: the entries not yet exported, in order, claimed by exactly one export;
the zip written, encrypted and kept; downloads, confirmation and expiry."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import metadata
from uuid import UUID
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import lazyload

from portal.domain.core import audit, clock, crypto
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import changed, dbs, lock_row
from portal.domain.hmis import worklist
from portal.domain.hmis.export._layout import (
    CLS_CSV,
    COLUMNS,
    CONTACT_CSV,
    CSV_VERSION,
    EXPORT_CSV,
    EXPORT_DIRECTIVE,
    EXPORT_PERIOD_TYPE,
    EXPORTED_KINDS,
    HASH_STATUS,
    SOFTWARE_NAME,
    SOURCE_TYPE,
    USER_CSV,
)
from portal.domain.hmis.export._rows import (
    NO_ENROLLMENT,
    NO_HMIS_USER,
    NOT_EXPORTABLE,
    VALUES_PRUNED,
    Planned,
    cls_row,
    contact_enrollment,
    contact_row,
    hud_timestamp,
    living_situation,
    location_details,
)
from portal.domain.models import Agency, Client, Enrollment, HmisEntry, HmisExport, HmisUser
from portal.domain.records.coordinated_entry import csv_safe
from portal.settings import current as current_settings

NOTHING_TO_EXPORT = _l("Nothing was accepted since the last export: there is nothing to export.")
_CLAIM_CHUNK = 5000  # ids per claim statement (SQLite builds can allow as few as 32,766)
MAX_ENTRIES = 50_000  # exportable entries per export; the rest go in the next one
# A fixed moment for every member of the zip: the same rows make the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _may_export(actor) -> bool:
    return (
        actor is None  # the command line and the daily job
        or (
            getattr(actor, "kind", None) == "staff"
            and has_capability(actor.role, Capability.IMPORT_HMIS)
            and bool(actor.agency_id)
        )
    )


def _version() -> str:
    try:
        return metadata.version("hmis-portal")[:16]
    except metadata.PackageNotFoundError:
        return "dev"


def _local_day(moment, agency: Agency):
    return moment.astimezone(ZoneInfo(agency.timezone)).date()


def _hud_export_id(agency: Agency, sequence: int) -> str:
    return f"portal-{agency.public_id.hex[:12]}-{sequence}"


@dataclass
class _Users:
    """UserID for an entry: the accepting staff member's HMIS user (by email, among the users
    the agency's own imports brought), else the agency's default; and the User.csv rows of
    the ids named."""

    agency: Agency
    by_email: dict[str, HmisUser]
    by_id: dict[str, HmisUser]

    @classmethod
    def load(cls, agency: Agency) -> _Users:
        users = list(
            dbs().scalars(
                select(HmisUser)
                .where(HmisUser.agency_id == agency.id)
                .order_by(HmisUser.hud_user_id)
            )
        )
        by_email: dict[str, HmisUser] = {}
        for user in users:  # two users of one email: the first by id, every time
            if user.email:
                by_email.setdefault(user.email, user)
        return cls(agency, by_email, {u.hud_user_id: u for u in users})

    def for_entry(self, entry: HmisEntry) -> str | None:
        staff = entry.accepted_by
        if staff is not None and staff.email.lower() in self.by_email:
            return self.by_email[staff.email.lower()].hud_user_id
        default = self.agency.hmis_user_id
        return default if default in self.by_id else None


def _plan(
    agency: Agency, users: _Users, entries: list[HmisEntry], export_id: str, *, rows: bool = True
) -> list[Planned]:
    """Each entry's rows, or why it cannot be exported yet. With `rows` False only the
    reasons are found (nothing decrypted: the exports page counts them on every view)."""
    planned = []
    enrollments: dict[tuple[int, date], Enrollment | None] = {}  # one query per client and day
    for entry in entries:
        item = Planned(entry)
        on = _local_day(entry.occurred_at, agency)
        user_id = users.for_entry(entry)
        enrollment = None
        if item.is_cls:
            key = (entry.client_id, on)
            if key not in enrollments:
                enrollments[key] = contact_enrollment(entry.client, on)
            enrollment = enrollments[key]
        if entry.values_encrypted is None:
            item.refused = VALUES_PRUNED
        elif user_id is None:
            item.refused = NO_HMIS_USER
        elif item.is_cls and enrollment is None:
            item.refused = NO_ENROLLMENT
        elif rows:
            _fill(item, on, user_id, enrollment, export_id)
        planned.append(item)
    return planned


def _fill(item: Planned, on: date, user_id: str, enrollment, export_id: str) -> None:
    entry = item.entry
    values = worklist.values_of(entry) or {}
    if enrollment is not None:
        item.cls = cls_row(
            row_id=entry.public_id.hex,
            enrollment_id=enrollment.hud_enrollment_id,
            personal_id=entry.client.personal_id,
            information_date=on,
            situation=living_situation(entry.kind, values),
            details=location_details(entry.kind, values),
            created=entry.created_at,
            user_id=user_id,
            export_id=export_id,
        )
    else:
        item.contact = contact_row(
            entry, values, information_date=on, user_id=user_id, export_id=export_id
        )


def _csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, content)
    return out.getvalue()


def _export_row(agency: Agency, actor, export_id: str, first_day) -> dict[str, str]:
    now = clock.now()
    return {
        "ExportID": export_id,
        "SourceType": str(SOURCE_TYPE),
        "SourceID": agency.public_id.hex[:32],
        "SourceName": agency.name,
        "SourceContactFirst": "",
        "SourceContactLast": "",
        "SourceContactPhone": "",
        "SourceContactExtension": "",
        "SourceContactEmail": actor.email if actor is not None else "",
        "ExportDate": hud_timestamp(now),
        "ExportStartDate": first_day.isoformat(),
        "ExportEndDate": agency.today().isoformat(),
        "SoftwareName": SOFTWARE_NAME,
        "SoftwareVersion": _version(),
        "CSVVersion": CSV_VERSION,
        "ExportPeriodType": str(EXPORT_PERIOD_TYPE),
        "ExportDirective": str(EXPORT_DIRECTIVE),
        "HashStatus": str(HASH_STATUS),
        "ImplementationID": SOFTWARE_NAME,
    }


def _stamp(moment) -> str:
    return hud_timestamp(moment) if moment is not None else ""


def _user_rows(users: _Users, ids: set[str], export_id: str) -> list[dict[str, str]]:
    rows = []
    for user_id in sorted(ids):
        user = users.by_id[user_id]
        rows.append(
            {
                "UserID": user.hud_user_id,
                "UserFirstName": user.first_name or "",
                "UserLastName": user.last_name or "",
                "UserPhone": user.phone or "",
                "UserExtension": user.extension or "",
                "UserEmail": user.email or "",
                "DateCreated": _stamp(user.hud_date_created),
                "DateUpdated": _stamp(user.hud_date_updated),
                "DateDeleted": "",
                "ExportID": export_id,
            }
        )
    return rows


def _waiting(agency: Agency, *, lock: bool = False) -> list[HmisEntry]:
    """The agency's entries neither exported nor entered by hand, of clients not deleted, in
    the order accepted. With `lock`, their rows are locked until the commit (PostgreSQL), so
    a "done in the HMIS" mark made meanwhile waits for the export and then finds it made."""
    query = (
        select(HmisEntry)
        .join(Client, Client.id == HmisEntry.client_id)
        .where(
            HmisEntry.agency_id == agency.id,
            HmisEntry.export_id.is_(None),
            HmisEntry.entered_at.is_(None),
            HmisEntry.kind.in_(sorted(EXPORTED_KINDS)),
            Client.deleted_at.is_(None),
        )
        .order_by(HmisEntry.created_at, HmisEntry.id)
        # Waiting: nobody entered it and no export has it, so there is nothing to join.
        .options(lazyload(HmisEntry.entered_by), lazyload(HmisEntry.export))
    )
    if lock:
        query = query.with_for_update(of=HmisEntry)
    return list(dbs().scalars(query).unique())


def make_export(agency: Agency, actor=None, *, through: str = "staff") -> HmisExport:
    """Export what is waiting: each entry in exactly one export (the agency's row is locked,
    so two exports at once take turns, and each entry is claimed by a compare-and-set).
    Entries that cannot be exported yet stay for a later one, counted by reason."""
    if not _may_export(actor) or (actor is not None and actor.agency_id != agency.id):
        raise Forbidden(Capability.IMPORT_HMIS)
    lock_row(agency)
    sequence = (
        dbs().scalar(select(func.max(HmisExport.sequence)).where(HmisExport.agency_id == agency.id))
        or 0
    ) + 1
    export_id = _hud_export_id(agency, sequence)
    users = _Users.load(agency)
    everything = _plan(agency, users, _waiting(agency, lock=True), export_id)
    planned = [p for p in everything if p.refused is None][:MAX_ENTRIES]
    if not planned:
        raise DomainError(NOTHING_TO_EXPORT)
    files, rows = _files(agency, actor, users, planned, export_id)
    content = _zip(files)
    settings = current_settings()
    export = HmisExport(
        agency_id=agency.id,
        sequence=sequence,
        hud_export_id=export_id,
        made_by_id=actor.id if actor is not None else None,
        made_through=through,
        content_encrypted=crypto.encrypt_bytes(content),
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        counts={
            "rows": rows,
            "entries": len(planned),
            "not_exportable": _refused(everything),
        },
        expires_at=clock.now() + timedelta(days=settings.hmis_export_keep_days),
    )
    dbs().add(export)
    dbs().flush()
    ids = [p.entry.id for p in planned]
    claimed = 0
    for start in range(0, len(ids), _CLAIM_CHUNK):  # within SQLite's bound-parameter limit
        claimed += changed(
            update(HmisEntry)
            .where(
                HmisEntry.id.in_(ids[start : start + _CLAIM_CHUNK]),
                HmisEntry.export_id.is_(None),
                HmisEntry.entered_at.is_(None),
            )
            .values(export_id=export.id)
            .execution_options(synchronize_session=False)
        )
    if claimed != len(ids):  # cannot happen under the lock; never export a row twice
        raise RuntimeError("an entry was exported by another export at the same time")
    audit.record(
        "hmis.exported",
        agency,
        actor=actor,
        details={"export": str(export.public_id), "through": through, **export.counts},
    )
    return export


# What the client typed, in the file people open in a spreadsheet: a cell starting like a
# formula is quoted with "'". Phone numbers are E.164 (a "+" and digits) and stay as they are.
_TYPED = ("Email", "AddressLine1", "AddressLine2", "City", "PostalCode")


def _spreadsheet_safe(row: dict[str, str]) -> dict[str, str]:
    return {k: csv_safe(v) if k in _TYPED else v for k, v in row.items()}


def _files(
    agency: Agency, actor, users: _Users, planned: list[Planned], export_id: str
) -> tuple[dict[str, bytes], dict[str, int]]:
    """The files by name, and their rows counted."""
    cls_rows = [p.cls for p in planned if p.cls is not None]
    contact_rows = [_spreadsheet_safe(p.contact) for p in planned if p.contact is not None]
    named = {row["UserID"] for row in [*cls_rows, *contact_rows]}
    first_day = min(_local_day(p.entry.occurred_at, agency) for p in planned)
    tables = {
        EXPORT_CSV: [_export_row(agency, actor, export_id, first_day)],
        CLS_CSV: cls_rows,
        USER_CSV: _user_rows(users, named, export_id),
        CONTACT_CSV: contact_rows,
    }
    files = {name: _csv(COLUMNS[name], rows) for name, rows in tables.items()}
    return files, {name: len(rows) for name, rows in tables.items()}


def not_exportable(agency: Agency) -> dict[str, int]:
    """Waiting entries that no export can carry yet, by reason."""
    return _refused(_plan(agency, _Users.load(agency), _waiting(agency), "", rows=False))


def _refused(planned: list[Planned]) -> dict[str, int]:
    found = dict.fromkeys(NOT_EXPORTABLE, 0)
    for item in planned:
        if item.refused is not None:
            found[item.refused] += 1
    return found


def _scope(actor):
    if not _may_export(actor) or actor is None:
        raise Forbidden(Capability.IMPORT_HMIS)
    return select(HmisExport).where(HmisExport.agency_id == actor.agency_id)


def exports(actor, *, limit: int = 50) -> list[HmisExport]:
    return list(
        dbs().scalars(_scope(actor).order_by(HmisExport.sequence.desc()).limit(limit)).unique()
    )


def get_export(actor, public_id) -> HmisExport:
    try:
        public_id = UUID(str(public_id))
    except ValueError:
        raise NotFound(("hmis_export", str(public_id)[:64])) from None
    export = dbs().scalar(_scope(actor).where(HmisExport.public_id == public_id))
    if export is None:
        raise NotFound(("hmis_export", str(public_id)))
    return export


GONE = _l("This export is older than the days exports are kept, so its file is gone.")


def content_of(export: HmisExport, actor=None, *, through: str = "staff") -> bytes:
    """The zip, exactly as made; the caller has re-authenticated the actor. Audited."""
    if export.content_encrypted is None:
        raise DomainError(GONE)
    content = crypto.decrypt_bytes(export.content_encrypted)
    audit.record(
        "hmis_export.downloaded",
        export,
        actor=actor,
        details={"through": through, "size": export.size, **export.counts.get("rows", {})},
    )
    return content


def confirm_imported(actor, export: HmisExport) -> int:
    """Staff say the HMIS imported this export: its entries are done. Returns how many."""
    won = changed(
        update(HmisExport)
        .where(HmisExport.id == export.id, HmisExport.confirmed_at.is_(None))
        .values(confirmed_at=clock.now(), confirmed_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if won != 1:
        return 0
    marked = worklist.mark_export_entered(actor, export.id)
    dbs().refresh(export)
    audit.record("hmis_export.confirmed", export, details={"entries": marked})
    return marked


def expire_exports() -> int:
    """Forget the files of exports past their days (their counts and audit trail stay); an
    export made for the S3 drop and not delivered yet is kept until it is."""
    return changed(
        update(HmisExport)
        .where(
            HmisExport.expires_at <= clock.now(),
            HmisExport.content_encrypted.is_not(None),
            # An export for the S3 drop is kept until it is delivered: its changes are in it.
            or_(HmisExport.made_through != "job", HmisExport.dropped_at.is_not(None)),
        )
        .values(content_encrypted=None)
    )
