"""Importing Open Referral HSDS into the resource directory (issue 9).

Sources: an HSDS 3 CSV datapackage (a folder or a zip of CSV files), the HSDS 3 JSON shapes
(a full or list service, organization, location, service_at_location, taxonomy term, or the
`tabular.json` of all tables), and legacy HSDS 1.1 feeds (`regular_schedules`,
`postal_addresses`, `physical_addresses`, integer ids).

Rules:
- Upserts by id, so importing the same data again changes nothing (every row "unchanged").
  Ids that are not UUIDs (HSDS 1.1 integers) become uuid5 ids, stable for the directory; rows
  without an id get one from their content.
- Every reference is checked against the rows of this import and the directory's rows. A row
  whose required reference (or required value) is missing is skipped, and the report says why;
  an optional reference that points nowhere is cleared, with a warning.
- Tables and columns the portal does not keep are ignored with a warning.
- A legacy feed that names organizations it does not include gets one stand-in organization
  per missing id (so every service is kept); a legacy feed without `service_at_location` offers
  each service it brings at the locations of its organization that it brings (their schedules
  are the service's hours). Only what the import brings is linked: a service it does not bring,
  or one whose places were stated (by a `service_at_location` row or an administrator), keeps
  exactly its places, and a service is never linked twice to the same location.
- The whole import is one transaction: the caller commits.
"""

from portal.domain.directory.importer._report import (
    ImportRefused,
    ImportReport,
    TableReport,
)
from portal.domain.directory.importer._run import (
    INSERT_DEFAULTS,
    directory_for,
    import_tables,
)
from portal.domain.directory.importer._sources import (
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_ROWS,
    MAX_TOTAL_BYTES,
    NESTED,
    NESTED_ONE,
    read_csv_bytes,
    read_folder,
    read_json,
    read_source,
    read_zip,
)
from portal.domain.directory.importer._specs import (
    ATTRIBUTE_ENTITIES,
    EXAMPLES,
    LEGACY_NAMESPACE,
    LEGACY_TABLES,
    NOT_KEPT,
    ORDER,
    SPECS,
    TABLE_NAMES,
    Spec,
)
from portal.domain.directory.importer._values import parse_time

__all__ = [
    "ATTRIBUTE_ENTITIES",
    "EXAMPLES",
    "INSERT_DEFAULTS",
    "LEGACY_NAMESPACE",
    "LEGACY_TABLES",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_ROWS",
    "MAX_TOTAL_BYTES",
    "NESTED",
    "NESTED_ONE",
    "NOT_KEPT",
    "ORDER",
    "SPECS",
    "TABLE_NAMES",
    "ImportRefused",
    "ImportReport",
    "Spec",
    "TableReport",
    "directory_for",
    "import_tables",
    "parse_time",
    "read_csv_bytes",
    "read_folder",
    "read_json",
    "read_source",
    "read_zip",
]
