"""Documents: uploads from the phone to the object store, staff requests, safe downloads (issue 7).

The upload pipeline, in this order, so a failure anywhere leaves no trace:
1. The upload is copied in chunks to a temporary file (memory stays bounded whatever the size),
   refused past `upload_max_mb`.
2. The type comes from the content (magic bytes), and the file name's extension must agree;
   dangerous inner extensions (`a.php.jpg`), NUL bytes and control characters are refused.
3. Images are decoded under a 40 MP limit and re-encoded, which drops EXIF, GPS and every other
   metadata chunk (a photo's location can reveal where someone sleeps); HEIC/HEIF becomes JPEG.
   PDFs must open (PDFium) so staff can preview them.
4. One PUT under a random key with the SHA-256 the store verifies; then the database row.
   If the transaction rolls back, the object is deleted; a daily sweeper deletes objects older
   than a day that no row references (a crash between the two steps).
5. A worker job scans the stored file with clamd (INSTREAM). Until it is clean the file cannot
   be downloaded; infected files are quarantined (kept, never served) and the care team told;
   a scanner that cannot be reached keeps files pending (fail closed).

Client uploads then wait in the review queue (kind "document"): staff accept, or reject with a
reason the client sees. Staff uploads to a record are accepted at once.
"""

from portal.domain.documents._downloads import (
    download_for_client,
    download_for_staff,
    downloadable,
)
from portal.domain.documents._jobs import (
    NOTICES,
    delete_stored_after_commit,
    mark_missing,
    rescan_pending_job,
    scan_job,
    sweep_job,
    sweep_orphans,
)
from portal.domain.documents._pipeline import (
    CATEGORIES,
    CATEGORY_LABELS,
    CHUNK,
    CLIENT_STATES,
    DAMAGED_IMAGE,
    DAMAGED_PDF,
    DANGEROUS,
    EXTENSIONS,
    HEIF_BRANDS,
    MAX_PAGE_POINTS,
    MAX_PIXELS,
    MB,
    NAME_MISMATCH,
    NOT_ACCEPTED,
    NOT_SAVED,
    ORPHAN_AGE,
    PREVIEW_BOX,
    REJECT_REASONS,
    STORED_EXTENSIONS,
    STORED_TYPES,
    Prepared,
    check_name,
    clean_category,
    clean_title,
    max_upload_mb,
    new_storage_key,
    prepare,
    sniff,
    store_generated,
)
from portal.domain.documents._previews import (
    PREVIEW_PAGES,
    copy_to,
    render_preview,
)
from portal.domain.documents._review import (
    REVIEW_KIND,
    document_of_item,
)
from portal.domain.documents._uploads import (
    NO_REQUEST,
    answered_request,
    client_document,
    client_documents,
    client_scope,
    client_state,
    client_upload,
    open_document_tasks,
    open_task,
    record_scope,
    request_documents,
    staff_document,
    staff_documents,
    staff_upload,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "CHUNK",
    "CLIENT_STATES",
    "DAMAGED_IMAGE",
    "DAMAGED_PDF",
    "DANGEROUS",
    "EXTENSIONS",
    "HEIF_BRANDS",
    "MAX_PAGE_POINTS",
    "MAX_PIXELS",
    "MB",
    "NAME_MISMATCH",
    "NOTICES",
    "NOT_ACCEPTED",
    "NOT_SAVED",
    "NO_REQUEST",
    "ORPHAN_AGE",
    "PREVIEW_BOX",
    "PREVIEW_PAGES",
    "REJECT_REASONS",
    "REVIEW_KIND",
    "STORED_EXTENSIONS",
    "STORED_TYPES",
    "Prepared",
    "answered_request",
    "check_name",
    "clean_category",
    "clean_title",
    "client_document",
    "client_documents",
    "client_scope",
    "client_state",
    "client_upload",
    "copy_to",
    "delete_stored_after_commit",
    "document_of_item",
    "download_for_client",
    "download_for_staff",
    "downloadable",
    "mark_missing",
    "max_upload_mb",
    "new_storage_key",
    "open_document_tasks",
    "open_task",
    "prepare",
    "record_scope",
    "render_preview",
    "request_documents",
    "rescan_pending_job",
    "scan_job",
    "sniff",
    "staff_document",
    "staff_documents",
    "staff_upload",
    "store_generated",
    "sweep_job",
    "sweep_orphans",
]
