"""Staff work on client records: search, create, edit, care team, paper consent.

Every load goes through `access_policy` (the scoped query and the one check); every change
is audited with identifiers only.
"""

from portal.domain.records.clients._bulk import (
    ACCOUNT_STATES,
    BULK_LIMIT,
    chosen_clients,
    matching_clients,
)
from portal.domain.records.clients._care_team import (
    add_to_care_team,
    care_team_of,
    free_care_team_seats,
    people_to_tell,
    remove_from_care_team,
)
from portal.domain.records.clients._consent import (
    consent_in_force,
    record_paper_consent,
)
from portal.domain.records.clients._fields import (
    ClientFields,
    SsnNeedsConfirmation,
    create_client,
    fields_of,
    record_viewed,
    update_client,
)
from portal.domain.records.clients._filters import (
    filter_choices,
    masked_ssn,
    projects_for_filter,
    staff_choices_for_filter,
)
from portal.domain.records.clients._lists import (
    DOB_QUALITY,
    NAME_QUALITY,
    PAGE_SIZE,
    SSN_QUALITY,
    SSN_WARNINGS,
    ClientPage,
    ListedClient,
    search,
)

__all__ = [
    "ACCOUNT_STATES",
    "BULK_LIMIT",
    "DOB_QUALITY",
    "NAME_QUALITY",
    "PAGE_SIZE",
    "SSN_QUALITY",
    "SSN_WARNINGS",
    "ClientFields",
    "ClientPage",
    "ListedClient",
    "SsnNeedsConfirmation",
    "add_to_care_team",
    "care_team_of",
    "chosen_clients",
    "consent_in_force",
    "create_client",
    "fields_of",
    "filter_choices",
    "free_care_team_seats",
    "masked_ssn",
    "matching_clients",
    "people_to_tell",
    "projects_for_filter",
    "record_paper_consent",
    "record_viewed",
    "remove_from_care_team",
    "search",
    "staff_choices_for_filter",
    "update_client",
]
