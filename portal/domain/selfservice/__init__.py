"""What a signed-in client does for themselves (issue 5), and the staff requests around it.

- Contact details (phones in E.164 with type and "voicemail / texts OK", contact email,
  mailing address, preferred contact method) and where to find me are record data: they are
  staged in the review queue (`portal.domain.selfservice.review`) and change the record only
  when staff accept them. Submitting counts as contact with the care team.
- Check-in is one tap: a contact event. Coordinated entry reads `Client.last_contact_at`.
- Staff ask a client to update their location or contact details (`ClientTask`); the task is
  done when the client submits that kind of change.
- A client asks for their record (`RecordRequest`); staff fulfil it.
- Corrections: only to data the client contributed through the portal.
- Locations are encrypted, shown to the care team only, and pruned after
  `location_history_days`.
"""

from portal.domain.selfservice._corrections import (
    correctable,
    request_correction,
)
from portal.domain.selfservice._details import (
    LAST_CHECK_IN,
    ContactDetails,
    PhoneEntry,
    check_in,
    current_details,
    last_check_in,
    portal_phones,
    submit_contact_details,
)
from portal.domain.selfservice._kinds import (
    REVIEW_KINDS,
    describe_address,
    describe_location,
    describe_phone,
)
from portal.domain.selfservice._location import (
    LAST_LOCATION,
    SharedLocation,
    coordinate_as_kept,
    last_location,
    location_for_staff,
    prune_job,
    prune_locations,
    shared_location,
    submit_location,
)
from portal.domain.selfservice._record_requests import (
    NOTICES,
    fulfil_record_request,
    open_record_request_count,
    open_record_requests,
    record_request_criteria,
    record_requests_of,
    request_record,
)
from portal.domain.selfservice._tasks import (
    TASK_ORDER,
    cancel_task,
    complete_tasks,
    create_task,
    open_tasks,
)
from portal.domain.selfservice._vocabulary import (
    ADDRESS_FIELDS,
    CONTACT_METHODS,
    FIELD_LABELS,
    MAX_PHONES,
    NOTHING_CHANGED,
    PHONE_KINDS,
    PLACE_KINDS,
    RECORD_DELIVERY,
    RECORD_PARTS,
    TASK_KINDS,
)

__all__ = [
    "ADDRESS_FIELDS",
    "CONTACT_METHODS",
    "FIELD_LABELS",
    "LAST_CHECK_IN",
    "LAST_LOCATION",
    "MAX_PHONES",
    "NOTHING_CHANGED",
    "NOTICES",
    "PHONE_KINDS",
    "PLACE_KINDS",
    "RECORD_DELIVERY",
    "RECORD_PARTS",
    "REVIEW_KINDS",
    "TASK_KINDS",
    "TASK_ORDER",
    "ContactDetails",
    "PhoneEntry",
    "SharedLocation",
    "cancel_task",
    "check_in",
    "complete_tasks",
    "coordinate_as_kept",
    "correctable",
    "create_task",
    "current_details",
    "describe_address",
    "describe_location",
    "describe_phone",
    "fulfil_record_request",
    "last_check_in",
    "last_location",
    "location_for_staff",
    "open_record_request_count",
    "open_record_requests",
    "open_tasks",
    "portal_phones",
    "prune_job",
    "prune_locations",
    "record_request_criteria",
    "record_requests_of",
    "request_correction",
    "request_record",
    "shared_location",
    "submit_contact_details",
    "submit_location",
]
