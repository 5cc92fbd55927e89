"""Directory uploads by agency administrators (HSDS files)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.domain.accounts.staff import require
from portal.domain.core.errors import DomainError
from portal.domain.core.roles import Capability
from portal.domain.directory import importer as directory_import
from portal.domain.directory.admin._spotlight import _spotlight_changed

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PER_PAGE = 25
UPLOAD_KINDS = (".zip", ".json", ".csv")


# --- uploads -----------------------------------------------------------------------------------


def import_upload(actor, file_name: str, data: bytes) -> directory_import.ImportReport:
    """An HSDS datapackage (zip), an HSDS JSON file or one HSDS CSV table, into the agency's
    directory. A file the importer cannot read changes nothing."""
    require(actor, Capability.MANAGE_DIRECTORY)
    name = (file_name or "").lower()
    try:
        if name.endswith(".zip"):
            tables = directory_import.read_zip(data)
        elif name.endswith(".json"):
            tables = directory_import.read_json(data)
        elif name.endswith(".csv"):
            tables = directory_import.read_csv_bytes(name, data)
        else:
            raise directory_import.ImportRefused("kind")
        directory = directory_import.directory_for(actor.agency)
        _spotlight_changed()
        return directory_import.import_tables(directory, tables, actor=actor)
    except directory_import.ImportRefused:
        raise DomainError(
            _l(
                "This file cannot be read as HSDS data. Use a zip of HSDS CSV files, an HSDS "
                "JSON file, or one HSDS CSV table (for example services.csv)."
            ),
            field="file",
        ) from None
