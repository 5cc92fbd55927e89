"""Whether a document may be downloaded, and by whom (audited)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.domain.core import audit
from portal.domain.core.errors import NotReady
from portal.domain.core.statuses import ScanStatus
from portal.domain.documents._uploads import client_document, staff_document
from portal.domain.models import (
    Document,
)
from portal.settings import current as current_settings

# --- downloads ---------------------------------------------------------------------------------


def downloadable(document: Document) -> bool:
    return document.scan_status == ScanStatus.CLEAN or (
        document.scan_status == ScanStatus.UNSCANNED and current_settings().accepts_unscanned_files
    )


def _served(document: Document, actor, how: str) -> Document:
    if not downloadable(document):
        raise NotReady(_l("This file is still being checked. Try again in a few minutes."))
    audit.record(
        "document.downloaded",
        document.client,
        actor=actor,
        details={"document": str(document.public_id), "how": how},
    )
    return document


def download_for_client(account, public_id, how: str) -> Document:
    return _served(client_document(account, public_id), account, how)


def download_for_staff(actor, public_id, how: str) -> Document:
    return _served(staff_document(actor, public_id), actor, how)
