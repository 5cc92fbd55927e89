"""What the portal holds that the HMIS does not: one `HmisEntry` per accepted change and per
check-in, written in the transaction of the change (issue 21). The `hmis` feature shows them
as the "to enter in the HMIS" worklist and carries them out in HUD CSV exports."""

from __future__ import annotations

from datetime import datetime

from portal.domain.core import crypto
from portal.domain.core.session import dbs
from portal.domain.models import Client, ContactEvent, HmisEntry, ReviewItem

# The kinds only the client's care team may see (where to find someone), as in the review queue.
CARE_TEAM_ONLY = frozenset({"location", "location_correction"})


def record_for_hmis(
    client: Client,
    kind: str,
    values: dict,
    *,
    occurred_at: datetime,
    accepted_by_id: int | None = None,
    review_item: ReviewItem | None = None,
    contact_event: ContactEvent | None = None,
) -> HmisEntry:
    entry = HmisEntry(
        agency_id=client.owning_agency_id,
        client_id=client.id,
        kind=kind,
        review_item_id=review_item.id if review_item is not None else None,
        contact_event_id=contact_event.id if contact_event is not None else None,
        occurred_at=occurred_at,
        accepted_by_id=accepted_by_id,
        values_encrypted=crypto.encrypt_json(values),
        care_team_only=kind in CARE_TEAM_ONLY,
    )
    dbs().add(entry)
    return entry
