"""The plan: every row parsed and checked, resolved against stored rows, then written."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from portal.domain.core import clock, crypto
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.hmis import hud_lists
from portal.domain.hmis.importer._cells import (
    _BROKEN,
    _GONE,
    _NEW,
    _assign,
    _Cells,
    _chunks,
    _Row,
)
from portal.domain.hmis.importer._codes import (
    _ID_COLUMNS,
    CLIENT,
    EARLIEST_DOB,
    ENROLLMENT,
    EXIT,
    ID_LENGTH,
    NAME_LENGTH,
    ORGANIZATION,
    PROJECT,
    TITLE_LENGTH,
)
from portal.domain.hmis.importer._contacts import _Contacts
from portal.domain.hmis.importer._reading import _Table
from portal.domain.hmis.importer._report import FileReport
from portal.domain.models import Agency, Base, Client, Enrollment, Organization, Project
from portal.domain.records.ssn import (
    DATA_NOT_COLLECTED,
    NOT_KNOWN_QUALITIES,
    SSN,
    last_four,
    parse_ssn,
)


class _Plan:
    def __init__(
        self, agency: Agency, fiscal_year: int, export_id: str, reports: dict[str, FileReport]
    ):
        self.agency = agency
        self.lists = hud_lists.for_fiscal_year(fiscal_year)
        self.export_id = export_id
        self.reports = reports
        self.today = agency.today()
        self.rows: dict[str, dict[str, _Row]] = {name: {} for name in _ID_COLUMNS}
        self.broken: dict[str, set[str]] = {name: set() for name in _ID_COLUMNS}
        self.unreadable: set[str] = set()  # files whose ids are unknown: no reference fails
        # What is stored already, by HUD id (and what the import creates, once written).
        self.organizations: dict[str, Organization] = {}
        self.projects: dict[str, Project] = {}
        self.clients: dict[str, Client] = {}
        self.enrollments: dict[str, Enrollment] = {}
        self.enrollment_person: dict[str, str] = {}  # stored EnrollmentID -> its PersonalID
        self.live_exits: dict[str, _Row] = {}  # EnrollmentID -> its exit row, not deleted
        self.changed_clients: list[Client] = []  # stored clients a Client.csv row changed
        # CurrentLivingSituation.csv, Services.csv, Event.csv and User.csv
        self.contacts = _Contacts(self)

    def parse(self, tables: Mapping[str, _Table]) -> None:
        parsers = {
            ORGANIZATION: self._organization,
            PROJECT: self._project,
            CLIENT: self._client,
            ENROLLMENT: self._enrollment,
            EXIT: self._exit,
            **self.contacts.parsers(),
        }
        for name, table in tables.items():
            report, column = self.reports[name], _ID_COLUMNS[name]
            if not table.readable:
                self.unreadable.add(name)
            for number, raw in table.rows:
                cells = _Cells(report, number, raw)
                hud_id = cells.hud_id(column)
                if hud_id is not None and (
                    hud_id in self.rows[name] or hud_id in self.broken[name]
                ):
                    cells.error(column, "duplicate_id")
                    hud_id = None
                if cells.raw("ExportID") != self.export_id:
                    cells.error("ExportID", "unknown_export")
                row = parsers[name](cells, hud_id or "")
                if hud_id is None:
                    continue
                if cells.failed:
                    self.broken[name].add(hud_id)
                else:
                    self.rows[name][hud_id] = row
            self.broken[name] |= table.broken_ids - self.rows[name].keys()
        # One exit per enrollment (a delta export may add one and delete another).
        for row in self.rows[EXIT].values():
            if row.deleted:
                continue
            if row.refs["enrollment"] in self.live_exits:
                self._error(EXIT, row, "EnrollmentID", "duplicate_id")
            self.live_exits.setdefault(row.refs["enrollment"], row)

    def _organization(self, cells: _Cells, hud_id: str) -> _Row:
        values = {
            "name": cells.text("OrganizationName", max_length=TITLE_LENGTH, required=True),
            "victim_service_provider": cells.code(
                "VictimServiceProvider", self.lists[hud_lists.VICTIM_SERVICE_PROVIDER.name]
            )
            == 1,
        }
        return _Row(cells.number, hud_id, values, deleted=cells.deleted())

    def _project(self, cells: _Cells, hud_id: str) -> _Row:
        start = cells.date("OperatingStartDate", required=True)
        end = cells.date("OperatingEndDate")
        if start and end and end < start:
            cells.error("OperatingEndDate", "before_start_date")
        values = {
            "name": cells.text("ProjectName", max_length=TITLE_LENGTH, required=True),
            # HUD 2.02.6: may be blank when the project is not a Continuum project.
            "project_type": cells.code("ProjectType", self.lists["ProjectType"], required=False),
            "operating_start": start,
            "operating_end": end,
        }
        refs = {"organization": cells.hud_id("OrganizationID") or ""}
        return _Row(cells.number, hud_id, values, refs, deleted=cells.deleted())

    def _client(self, cells: _Cells, hud_id: str) -> _Row:
        values: dict[str, Any] = {
            "first_name": cells.text("FirstName", max_length=NAME_LENGTH),
            "middle_name": cells.text("MiddleName", max_length=NAME_LENGTH),
            "last_name": cells.text("LastName", max_length=NAME_LENGTH),
            "name_suffix": cells.text("NameSuffix", max_length=NAME_LENGTH),
            "name_quality": cells.code("NameDataQuality", self.lists["NameDataQuality"]),
        }
        dob_quality = cells.code("DOBDataQuality", self.lists["DOBDataQuality"])
        dob = cells.date("DOB")
        if dob is not None and not EARLIEST_DOB <= dob <= self.today:
            cells.error("DOB", "out_of_range")
        if dob is not None and dob_quality not in (None, 1, 2):
            cells.warn("DOB", "dob_dropped_for_quality")
            dob = None
        elif dob_quality in (1, 2) and not cells.raw("DOB"):
            cells.warn("DOBDataQuality", "dob_quality_without_dob")
            dob_quality = 99
        values["dob"], values["dob_quality"] = dob, dob_quality
        ssn_quality = cells.code("SSNDataQuality", self.lists["SSNDataQuality"])
        parsed = self._ssn(cells, ssn_quality) if ssn_quality is not None else None
        if parsed is not None:
            values["ssn"], values["ssn_quality"] = parsed.value, parsed.quality
        return _Row(
            cells.number,
            hud_id,
            values,
            deleted=cells.deleted(),
            hud_updated=cells.timestamp("DateUpdated"),
        )

    @staticmethod
    def _ssn(cells: _Cells, quality: int) -> SSN | None:
        raw = cells.raw("SSN")
        try:
            parsed = parse_ssn(raw, quality=quality)
        except DomainError:
            try:
                parse_ssn(raw)  # the format alone
            except DomainError:
                cells.error("SSN", "invalid_ssn")
                return None
            # The format is fine: the digits and the quality contradict each other.
            if quality in NOT_KNOWN_QUALITIES:
                cells.warn("SSN", "ssn_dropped_for_quality")
                return SSN(None, quality, ())
            cells.warn("SSNDataQuality", "ssn_quality_without_ssn")
            return SSN(None, DATA_NOT_COLLECTED, ())
        if parsed.warnings:
            cells.warn("SSN", "ssn_invalid_pattern")
        elif parsed.quality != quality:
            cells.warn("SSNDataQuality", "ssn_quality_changed")
        return parsed

    def _enrollment(self, cells: _Cells, hud_id: str) -> _Row:
        household = cells.raw("HouseholdID")
        if len(household) > ID_LENGTH:
            cells.error("HouseholdID", "too_long")
        values = {
            "entry_date": cells.date("EntryDate", required=True),
            "household_id": household or None,
            "relationship_to_hoh": cells.code("RelationshipToHoH", self.lists["RelationshipToHoH"]),
        }
        refs = {
            "client": cells.hud_id("PersonalID") or "",
            "project": cells.hud_id("ProjectID") or "",
        }
        return _Row(cells.number, hud_id, values, refs, deleted=cells.deleted())

    def _exit(self, cells: _Cells, hud_id: str) -> _Row:
        values = {
            "hud_exit_id": hud_id,
            "exit_date": cells.date("ExitDate", required=True),
            "destination": cells.code("Destination", self.lists["Destination"]),
        }
        refs = {
            "enrollment": cells.hud_id("EnrollmentID") or "",
            "client": cells.hud_id("PersonalID") or "",
        }
        return _Row(cells.number, hud_id, values, refs, deleted=cells.deleted())

    # -- what is stored, every reference, and what is skipped ------------------------------

    def resolve(self) -> None:
        self._load()
        for name, resolve in (
            (ORGANIZATION, self._resolve_organization),
            (PROJECT, self._resolve_project),
            (CLIENT, self._resolve_client),
            (ENROLLMENT, self._resolve_enrollment),
            (EXIT, self._resolve_exit),
        ):
            for row in self.rows[name].values():
                if not row.failed:
                    resolve(row)
        self.contacts.resolve()
        for report in self.reports.values():  # a skipped row's warnings do not matter
            skipped = {number for number, _ in report.skipped}
            report.warnings[:] = [w for w in report.warnings if w[0] not in skipped]

    def _load(self) -> None:
        """One query per table (per 5000 ids): the stored rows the files name or point at."""
        rows = self.rows
        # (model, its HUD id column, the map to fill by that id, the ids the files name)
        wanted: tuple[tuple[type[Base], Any, dict[str, Any], set[str]], ...] = (
            (
                Organization,
                Organization.hud_organization_id,
                self.organizations,
                _ids(rows[ORGANIZATION], rows[PROJECT], "organization"),
            ),
            (
                Project,
                Project.hud_project_id,
                self.projects,
                _ids(rows[PROJECT], rows[ENROLLMENT], "project"),
            ),
            (
                Client,
                Client.personal_id,
                self.clients,
                _ids(rows[CLIENT], rows[ENROLLMENT], "client") | self.contacts.referenced("client"),
            ),
        )
        for model, column, found, ids in wanted:
            for chunk in _chunks(ids):
                for obj in dbs().scalars(select(model).where(column.in_(chunk))):
                    found[getattr(obj, column.key)] = obj
        enrollment_ids = _ids(rows[ENROLLMENT], rows[EXIT], "enrollment")
        enrollment_ids |= self.contacts.referenced("enrollment")
        for chunk in _chunks(enrollment_ids):
            query = (
                select(Enrollment, Client.personal_id)
                .join(Client, Enrollment.client_id == Client.id)
                .where(Enrollment.hud_enrollment_id.in_(chunk))
            )
            for enrollment, personal_id in dbs().execute(query):
                self.enrollments[enrollment.hud_enrollment_id] = enrollment
                self.enrollment_person[enrollment.hud_enrollment_id] = personal_id
        self.contacts.load()

    def _after(self, name: str, hud_id: str, stored: Mapping[str, Any]) -> Any:
        """What `hud_id` stands for after the import: the stored object, _NEW, _GONE or
        _BROKEN; None when it is nowhere (a broken reference)."""
        if hud_id in stored:
            return stored[hud_id]
        row = self.rows[name].get(hud_id)
        if row is None:
            return _BROKEN if hud_id in self.broken[name] or name in self.unreadable else None
        if row.failed:
            return _BROKEN
        return _NEW if row.skip is None else _GONE

    def _skip(self, name: str, row: _Row, reason: str) -> None:
        row.skip = reason
        self.reports[name].skipped.append((row.number, reason))

    def _error(self, name: str, row: _Row, column: str, reason: str) -> None:
        row.failed = True
        self.reports[name].errors.append((row.number, column, reason))

    def _mine(self, agency_id: int | None) -> bool:
        return agency_id in (None, self.agency.id)

    def _organization_agency(self, hud_id: str) -> int | None:
        stored = self.organizations.get(hud_id)
        return stored.agency_id if stored is not None else None

    def _project_agency(self, hud_id: str) -> int | None:
        """The agency of the project's organization once the import is written."""
        row = self.rows[PROJECT].get(hud_id)
        stored = self.projects.get(hud_id)
        if row is not None and (row.skip is None or stored is None):
            return self._organization_agency(row.refs["organization"])
        return stored.organization.agency_id if stored is not None else None

    def _resolve_organization(self, row: _Row) -> None:
        if not self._mine(self._organization_agency(row.hud_id)):
            self._skip(ORGANIZATION, row, "organization_of_another_agency")
        elif row.deleted:
            self._skip(ORGANIZATION, row, "deleted_in_hmis")

    def _resolve_project(self, row: _Row) -> None:
        organization = self._after(ORGANIZATION, row.refs["organization"], self.organizations)
        stored = self.projects.get(row.hud_id)
        if organization is None:
            self._error(PROJECT, row, "OrganizationID", "unknown_reference")
        elif organization is _BROKEN:
            row.failed = True
        elif not self._mine(self._organization_agency(row.refs["organization"])) or (
            stored is not None and not self._mine(stored.organization.agency_id)
        ):
            self._skip(PROJECT, row, "organization_of_another_agency")
        elif organization is _GONE:
            self._skip(PROJECT, row, "references_deleted_row")
        elif row.deleted:
            self._skip(PROJECT, row, "deleted_in_hmis")

    def _resolve_client(self, row: _Row) -> None:
        stored = self.clients.get(row.hud_id)
        if stored is None:
            if row.deleted:
                self._skip(CLIENT, row, "deleted_in_hmis")
        elif stored.owning_agency_id != self.agency.id:
            self._skip(CLIENT, row, "owned_by_another_agency")
        elif row.deleted:
            pass  # soft-deleted when written
        elif stored.deleted_at is not None:
            self._skip(CLIENT, row, "deleted_in_portal")
        elif (
            stored.hud_date_updated is not None
            and row.hud_updated is not None
            and row.hud_updated < stored.hud_date_updated
        ):
            self._skip(CLIENT, row, "older_than_stored")

    def _resolve_enrollment(self, row: _Row) -> None:
        client = self._after(CLIENT, row.refs["client"], self.clients)
        project = self._after(PROJECT, row.refs["project"], self.projects)
        stored = self.enrollments.get(row.hud_id)
        if client is None:
            self._error(ENROLLMENT, row, "PersonalID", "unknown_reference")
        if project is None:
            self._error(ENROLLMENT, row, "ProjectID", "unknown_reference")
        if row.failed or _BROKEN in (client, project):
            row.failed = True
        elif not self._mine(self._project_agency(row.refs["project"])) or (
            stored is not None and not self._mine(stored.project.organization.agency_id)
        ):
            self._skip(ENROLLMENT, row, "organization_of_another_agency")
        elif _GONE in (client, project):
            self._skip(ENROLLMENT, row, "references_deleted_row")
        elif row.deleted:
            self._skip(ENROLLMENT, row, "deleted_in_hmis")

    def _resolve_exit(self, row: _Row) -> None:
        enrollment_id = row.refs["enrollment"]
        enrollment = self._after(ENROLLMENT, enrollment_id, self.enrollments)
        if enrollment is None:
            self._error(EXIT, row, "EnrollmentID", "unknown_reference")
            return
        if enrollment is _BROKEN:
            row.failed = True
            return
        person, entry, agency_id = self._enrollment_after(enrollment_id, enrollment)
        if row.refs["client"] != person:
            self._error(EXIT, row, "PersonalID", "personal_id_mismatch")
        elif row.values["exit_date"] < entry:
            self._error(EXIT, row, "ExitDate", "before_entry_date")
        elif not self._mine(agency_id):
            self._skip(EXIT, row, "organization_of_another_agency")
        elif enrollment is _GONE:
            self._skip(EXIT, row, "references_deleted_row")
        elif row.deleted and (
            enrollment is _NEW
            or enrollment.hud_exit_id != row.hud_id
            or enrollment_id in self.live_exits
        ):
            self._skip(EXIT, row, "deleted_in_hmis")

    def _enrollment_after(self, enrollment_id: str, enrollment: Any) -> tuple[str, Any, int | None]:
        """(PersonalID, EntryDate, agency) of an enrollment as it will be: the file's row when
        it is written, else the stored one (`enrollment` as `_after` gave it, not None)."""
        file_row = self.rows[ENROLLMENT].get(enrollment_id)
        if file_row is not None and (file_row.skip is None or enrollment is _GONE):
            agency_id = self._project_agency(file_row.refs["project"])
            return file_row.refs["client"], file_row.values["entry_date"], agency_id
        return (
            self.enrollment_person[enrollment_id],
            enrollment.entry_date,
            enrollment.project.organization.agency_id,
        )

    # -- phase 2: write ------------------------------------------------------------------

    def write(self) -> None:
        now = clock.now()
        session = dbs()
        self._write_organizations(now)
        session.flush()  # ids for the projects
        self._write_projects(now)
        self._write_clients(now)
        session.flush()  # ids for the enrollments
        self._write_enrollments(now)
        self._write_exits(now)
        session.flush()
        self.contacts.write(now)

    def _to_write(self, name: str) -> Iterator[_Row]:
        return (row for row in self.rows[name].values() if row.skip is None and not row.failed)

    def _count(self, name: str, created: bool, changed: bool) -> None:
        report = self.reports[name]
        if created:
            report.imported += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1

    def _write_organizations(self, now: datetime) -> None:
        for row in self._to_write(ORGANIZATION):
            organization = self.organizations.get(row.hud_id)
            created = organization is None
            if organization is None:
                organization = self.organizations[row.hud_id] = Organization(
                    hud_organization_id=row.hud_id
                )
                dbs().add(organization)
            # New and unmapped organizations become the importing agency's.
            values = {**row.values, "agency_id": organization.agency_id or self.agency.id}
            changed = _assign(organization, values, created=created)
            if changed:
                organization.imported_at = now
            self._count(ORGANIZATION, created, changed)

    def _write_projects(self, now: datetime) -> None:
        for row in self._to_write(PROJECT):
            organization = self.organizations[row.refs["organization"]]
            project = self.projects.get(row.hud_id)
            created = project is None
            if project is None:
                project = self.projects[row.hud_id] = Project(hud_project_id=row.hud_id)
                dbs().add(project)
            changed = _assign(project, row.values, created=created)
            if project.organization_id != organization.id:
                project.organization = organization
                changed = True
            if changed:
                project.imported_at = now
            self._count(PROJECT, created, changed)

    def _write_clients(self, now: datetime) -> None:
        for row in self._to_write(CLIENT):
            client = self.clients.get(row.hud_id)
            if row.deleted:  # stored (a new one was skipped): soft-delete it
                changed = False
                if client is not None and client.deleted_at is None:
                    client.mark_deleted(now)
                    changed = True
                self._count(CLIENT, False, changed)
                continue
            created = client is None
            if client is None:
                client = self.clients[row.hud_id] = Client(
                    personal_id=row.hud_id,
                    owning_agency_id=self.agency.id,
                    source="hmis_import",
                )
                dbs().add(client)
            values = {k: v for k, v in row.values.items() if k != "ssn"}
            values["hud_date_updated"] = row.hud_updated
            changed = _assign(client, values, created=created)
            ssn_value = row.values["ssn"]
            stored = crypto.decrypt_text(client.ssn_encrypted) if client.ssn_encrypted else None
            if created or stored != ssn_value:
                client.ssn_encrypted = crypto.encrypt_text(ssn_value) if ssn_value else None
                last = last_four(ssn_value)
                client.ssn_last4 = last if last and last.isdigit() else None
                changed = True
            if changed:
                client.imported_at = now
                if not created:
                    self.changed_clients.append(client)
            self._count(CLIENT, created, changed)

    def _write_enrollments(self, now: datetime) -> None:
        for row in self._to_write(ENROLLMENT):
            enrollment = self.enrollments.get(row.hud_id)
            created = enrollment is None
            if enrollment is None:
                enrollment = self.enrollments[row.hud_id] = Enrollment(hud_enrollment_id=row.hud_id)
                dbs().add(enrollment)
            values = {
                **row.values,
                "client_id": self.clients[row.refs["client"]].id,
                "project_id": self.projects[row.refs["project"]].id,
            }
            if created:  # the exit, if any, comes from Exit.csv
                values.update(hud_exit_id=None, exit_date=None, destination=None)
            changed = _assign(enrollment, values, created=created)
            if changed:
                enrollment.imported_at = now
            self._count(ENROLLMENT, created, changed)

    def _write_exits(self, now: datetime) -> None:
        for row in self._to_write(EXIT):
            enrollment = self.enrollments[row.refs["enrollment"]]
            if row.deleted:  # the exit the enrollment carries was deleted: reopen it
                values = {"hud_exit_id": None, "exit_date": None, "destination": None}
            else:
                values = row.values
            created = not row.deleted and enrollment.hud_exit_id is None
            changed = _assign(enrollment, values)
            if changed:
                enrollment.imported_at = now
            self._count(EXIT, created, changed)


def _ids(rows: Mapping[str, _Row], referring: Mapping[str, _Row], ref: str) -> set[str]:
    """The ids of a file's rows and the ids other rows point at."""
    return set(rows) | {row.refs[ref] for row in referring.values() if row.refs[ref]}
