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

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import shutil
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.domain.core import audit, clock, jobs
from portal.domain.core.errors import DomainError, Forbidden, NotFound, NotReady
from portal.domain.core.roles import Capability, roles_with
from portal.domain.core.session import after_rollback, dbs, will_write
from portal.domain.core.validation import clean_text, parse_uuid
from portal.domain.messaging import notifications
from portal.domain.models import (
    CareTeamMember,
    Client,
    ClientAccount,
    ClientTask,
    Document,
    StaffUser,
)
from portal.domain.records.access_policy import can, client_of, visible_clients
from portal.domain.records.coordinated_entry import record_contact
from portal.domain.selfservice import review
from portal.settings import current as current_settings

MB = 1024 * 1024
MAX_PIXELS = 40_000_000  # 40 MP: the largest phone cameras, and a bound on decoding memory
CHUNK = 256 * 1024
ORPHAN_AGE = timedelta(days=1)
MAX_PAGE_POINTS = 14_400  # 200 inches: the largest page PDF itself allows
PREVIEW_BOX = (1000, 1400)  # a preview page fits in this many pixels (width, height)

CATEGORIES = {
    "photo_id": _l("Photo ID"),
    "income": _l("Proof of income or pay stub"),
    "benefits": _l("Benefits letter"),
    "birth_certificate": _l("Birth certificate"),
    "social_security": _l("Social Security card"),
    "medical": _l("Medical"),
    "other": _l("Other"),
}
# How documents are named in lists: the categories above, and the copies the portal makes.
CATEGORY_LABELS = {**CATEGORIES, "signed": _l("Signed document")}
# What a document is, decided from its bytes; HEIF is converted to JPEG before it is stored.
STORED_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
STORED_EXTENSIONS = {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png"}
EXTENSIONS = {
    ".pdf": "pdf",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".png": "png",
    ".heic": "heif",
    ".heif": "heif",
}
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1"}
HEIF_BRANDS |= {b"msf1"}
# An inner extension that a misconfigured web server might execute or a browser render.
_DANGEROUS_WORDS = (
    "php php2 php3 php4 php5 php6 php7 php8 pht phtm phtml phar phpt pgif inc hphp ctp module "
    "asp aspx asa ascx ashx asmx axd cer config cshtm cshtml rem soap vbhtm vbhtml svc "
    "jsp jspx jsw jsv jspf cfm cfml cgi pl py rb sh bash exe dll com bat cmd scr msi vbs vbe "
    "js mjs jar ps1 psm1 hta htm html xhtml shtml shtm stm svg svgz xml xsl swf wsf lnk"
)
DANGEROUS = frozenset(_DANGEROUS_WORDS.split())
NOT_ACCEPTED = _l("This file cannot be used. Send a PDF, or a photo (JPEG, PNG or HEIC).")
NAME_MISMATCH = _l(
    "This file's name does not match what is inside it. Send the original PDF or photo."
)
DAMAGED_IMAGE = _l("We could not open this photo. It may be damaged. Take the photo again.")
DAMAGED_PDF = _l("We could not open this PDF. It may be damaged or locked with a password.")
NOT_SAVED = _l("Not saved: we could not reach our file storage. Please try again in a moment.")

CLIENT_STATES = {
    "checking": _l("Being checked"),
    "waiting": _l("Waiting for review"),
    "accepted": _l("Accepted"),
    "rejected": _l("Not accepted"),
    "quarantined": _l("Could not be accepted: it may be harmful"),
    "missing": _l("Lost on our side: please send it again"),
}
REJECT_REASONS = {
    "unreadable": _l("We could not read it. Please take a clearer photo or scan."),
    "wrong_document": _l("This is not the document we asked for."),
    "expired": _l("The document has expired."),
    "not_yours": _l("This document belongs to someone else."),
    "other": _l("Another reason, written below."),
}


def _store():
    from portal.integrations.storage import get_store

    return get_store()


def max_upload_mb() -> int:
    return current_settings().upload_max_mb


def _limits():
    settings = current_settings()
    return settings.upload_max_mb * MB, settings.client_quota_files, settings.client_quota_mb * MB


# --- names and types -------------------------------------------------------------------------


def check_name(filename: str | None) -> tuple[str, str]:
    """The name the client's phone gave: (a clean base name, the type its extension claims).
    The name is metadata only (the store's key is random); it must not smuggle anything."""
    raw = filename or ""
    if "\x00" in raw or "%00" in raw.lower():
        raise DomainError(NOT_ACCEPTED, field="file")  # a name cut short at a NUL elsewhere
    raw = "".join(" " if unicodedata.category(c) == "Cc" else c for c in raw)
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    stem, dot, extension = name.rpartition(".")
    declared = EXTENSIONS.get("." + extension.lower()) if dot else None
    if declared is None:
        raise DomainError(NOT_ACCEPTED, field="file")
    for inner in stem.split(".")[1:]:
        word = re.split(r"[^0-9a-z]", inner.lower(), maxsplit=1)[0]
        if word in DANGEROUS or inner.lower() in DANGEROUS:
            raise DomainError(NOT_ACCEPTED, field="file")
    base = re.sub(r"[^\w\- ().,]+", "_", stem).strip(" ._") or "document"
    return base[:100], declared


def sniff(head: bytes) -> str | None:
    """The type from the first bytes: PDF, JPEG, PNG or HEIF (an ISO-BMFF `ftyp` box with a
    HEIF brand), else None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 16 and head[4:8] == b"ftyp":
        box = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {
            head[i : i + 4] for i in range(16, min(box, len(head)) - 3, 4)
        }  # the major brand, then the compatible brands
        if brands & HEIF_BRANDS and b"avif" not in brands - HEIF_BRANDS:
            return "heif"
    return None


# --- the pipeline ------------------------------------------------------------------------------


@dataclass
class Prepared:
    path: Path
    kind: str  # pdf, jpeg or png: what is stored
    size: int
    sha256: bytes
    file_name: str  # shown and used on download
    pages: int | None = None

    @property
    def content_type(self) -> str:
        return STORED_TYPES[self.kind]


def _spool(stream: BinaryIO | None, folder: Path, limit: int) -> Path:
    if stream is None:
        raise DomainError(_l("Choose a file to send."), field="file")
    path = folder / "upload"
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise DomainError(_too_large(), field="file")
            out.write(chunk)
    if size == 0:
        raise DomainError(_l("Choose a file to send."), field="file")
    return path


def _too_large():
    return _l("This file is larger than %(mb)s MB. Send a smaller one.", mb=_limits()[0] // MB)


def _reencode(source: Path, folder: Path, kind: str) -> tuple[Path, str]:
    """Decode and re-encode a photo: the pixels survive, metadata (EXIF, GPS, XMP, comments,
    text chunks, ICC) does not. HEIF becomes JPEG; PNG stays PNG (transparency kept)."""
    from PIL import Image, ImageFile, ImageOps

    # A truncated image is damaged, not half a document. WeasyPrint turns this Pillow-wide
    # switch on when it is imported (signed PDFs): the upload pipeline turns it off again.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    if kind == "heif":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    target_kind = "png" if kind == "png" else "jpeg"
    target = folder / f"clean{STORED_EXTENSIONS[target_kind]}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:  # from the header, before any pixel is decoded
                    raise DomainError(
                        _l("This photo is too large (over 40 megapixels). Send a smaller one."),
                        field="file",
                    )
                image.load()
                # Turn it as the camera held it, in place (no second copy of the pixels); a
                # broken orientation tag leaves the pixels as stored.
                with contextlib.suppress(Exception):
                    ImageOps.exif_transpose(image, in_place=True)
                _save_clean(image, target, target_kind)
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(
            _l("This photo is too large (over 40 megapixels). Send a smaller one."), field="file"
        ) from None
    except Exception:
        raise DomainError(DAMAGED_IMAGE, field="file") from None
    return target, target_kind


def _save_clean(image, target: Path, kind: str) -> None:
    """Write only the pixels: Pillow would carry comments, ICC and EXIF over from `info`."""
    from PIL import Image

    if kind == "jpeg" and image.mode not in ("RGB", "L"):
        if image.mode in ("RGBA", "LA", "P", "PA"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", image.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
    elif kind == "png" and image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        image = image.convert("RGBA")
    image.info = {}
    if kind == "jpeg":
        image.save(target, "JPEG", quality=85)
    else:
        image.save(target, "PNG")


def _check_pdf(path: Path) -> int:
    """The page count of a PDF that PDFium opens; damaged or password-locked ones are refused."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
        try:
            pages = len(document)
            if pages < 1:
                raise DomainError(DAMAGED_PDF, field="file")
            for index in range(pages):  # PDF's own limit is 200 inches a side (14,400 points)
                width, height = document.get_page_size(index)
                if not (0 < width <= MAX_PAGE_POINTS and 0 < height <= MAX_PAGE_POINTS):
                    raise DomainError(DAMAGED_PDF, field="file")
            return pages
        finally:
            document.close()
    except DomainError:
        raise
    except Exception:
        raise DomainError(DAMAGED_PDF, field="file") from None


def _digest(path: Path) -> tuple[int, bytes]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.digest()


def prepare(stream: BinaryIO | None, filename: str | None, folder: Path) -> Prepared:
    """Everything before storage: spool, decide the type, clean the file. Raises DomainError
    (field "file") with a message the client can act on."""
    limit = _limits()[0]
    if stream is None or not filename:
        raise DomainError(_l("Choose a file to send."), field="file")
    base, declared = check_name(filename)
    spooled = _spool(stream, folder, limit)
    with spooled.open("rb") as head:
        found = sniff(head.read(64))
    if found is None:
        raise DomainError(NOT_ACCEPTED, field="file")
    if found != declared and {found, declared} != {"jpeg"}:
        raise DomainError(NAME_MISMATCH, field="file")
    pages = None
    if found == "pdf":
        pages = _check_pdf(spooled)
        path, kind = spooled, "pdf"
    else:
        path, kind = _reencode(spooled, folder, found)
    size, digest = _digest(path)
    if size > limit:
        raise DomainError(_too_large(), field="file")
    return Prepared(path, kind, size, digest, base + STORED_EXTENSIONS[kind], pages)


def new_storage_key() -> str:
    now = clock.now()
    return f"documents/{now:%Y/%m}/{secrets.token_hex(16)}"


def _usage(client: Client) -> tuple[int, int]:
    """What counts against the quota: the client's own uploads that are kept (staff uploads,
    rejected, quarantined and lost files do not)."""
    count, total = (
        dbs()
        .execute(
            select(func.count(Document.id), func.coalesce(func.sum(Document.size), 0)).where(
                Document.client_id == client.id,
                Document.uploaded_by_account_id.is_not(None),
                Document.review_status != "rejected",
                Document.scan_status.not_in(("infected", "missing")),
            )
        )
        .one()
    )
    return count, total


def _check_quota(client: Client, size: int) -> None:
    _limit, files, total_bytes = _limits()
    count, used = _usage(client)
    if count + 1 > files or used + size > total_bytes:
        raise DomainError(
            _l(
                "There is no room for more documents (up to %(files)s files and %(mb)s MB). "
                "Ask your case manager.",
                files=files,
                mb=total_bytes // MB,
            ),
            field="file",
        )


def clean_title(title: str | None) -> str | None:
    return clean_text(title, field="title", max_length=120, required=False) or None


def clean_category(category: str | None) -> str:
    if category not in CATEGORIES:
        raise DomainError(_l("Choose what kind of document this is."), field="category")
    return category


def _existing(client: Client, key: str) -> Document | None:
    return dbs().scalar(
        select(Document).where(Document.client_id == client.id, Document.idempotency_key == key)
    )


def _clean_key(key: str | None) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_:-]{8,64}", key or "") else secrets.token_urlsafe(24)


def _save(
    client: Client,
    *,
    stream: BinaryIO,
    filename: str | None,
    category: str | None,
    title: str | None,
    key: str | None,
    agency_id: int,
    uploaded_by: dict,
    task: ClientTask | None = None,
) -> tuple[Document, bool]:
    """The shared pipeline for client and staff uploads: (document, stored now)."""
    key = _clean_key(key)
    existing = _existing(client, key)
    if existing is not None:  # the same submit again (double tap, a retried slow upload)
        return existing, False
    errors = []
    try:
        category = clean_category(category)
    except DomainError as refusal:
        errors.append(refusal)
    try:
        title = clean_title(title)
    except DomainError as refusal:
        errors.append(refusal)
    with tempfile.TemporaryDirectory(prefix="upload-") as work:
        try:
            prepared = prepare(stream, filename, Path(work))
        except DomainError as refusal:
            errors.insert(0, refusal)
        if errors:
            raise DomainError.all_of(errors)
        if "uploaded_by_account_id" in uploaded_by:  # staff uploads are the agency's choice
            _check_quota(client, prepared.size)
        storage_key = new_storage_key()
        store = _store()
        from portal.integrations.storage import StorageUnavailable

        try:
            store.put(
                storage_key,
                prepared.path,
                sha256=prepared.sha256,
                content_type=prepared.content_type,
            )
        except StorageUnavailable:
            raise DomainError(NOT_SAVED, field="file", status=503) from None
    after_rollback(lambda: _forget(storage_key))  # no row after all: no object either
    settings = current_settings()
    document = Document(
        client_id=client.id,
        agency_id=agency_id,
        category=category,
        title=title,
        file_name=prepared.file_name,
        content_type=prepared.content_type,
        size=prepared.size,
        pages=prepared.pages,
        sha256=prepared.sha256.hex(),
        storage_key=storage_key,
        scan_status="pending" if settings.clamd_address else "unscanned",
        task_id=task.id if task is not None else None,
        idempotency_key=key,
        **uploaded_by,
    )
    try:
        with dbs().begin_nested():
            dbs().add(document)
    except IntegrityError:  # the same submit, arriving twice at once: keep the first
        _forget(storage_key)
        first = _existing(client, key)
        if first is None:
            raise
        return first, False
    if settings.clamd_address:
        jobs.enqueue("documents.scan", {"document": document.id}, unique_key=f"scan:{document.id}")
    elif not settings.accepts_unscanned_files:
        document.scan_status = "pending"  # nobody can download it until a scanner says so
    return document, True


def store_generated(
    client: Client, *, agency_id: int, file_name: str, data: bytes, key: str, unavailable
) -> Document:
    """A PDF the portal made (a signed copy): stored like an upload (PUT with its SHA-256,
    then the row; gone again if the transaction rolls back), already clean and accepted."""
    digest = hashlib.sha256(data).digest()
    storage_key = new_storage_key()
    from portal.integrations.storage import StorageUnavailable

    with tempfile.TemporaryDirectory(prefix="generated-") as work:
        path = Path(work) / "document.pdf"
        path.write_bytes(data)
        try:
            _store().put(storage_key, path, sha256=digest, content_type=STORED_TYPES["pdf"])
        except StorageUnavailable:
            raise DomainError(unavailable, status=503) from None
    after_rollback(lambda: _forget(storage_key))
    document = Document(
        client_id=client.id,
        agency_id=agency_id,
        category="signed",
        file_name=file_name,
        content_type=STORED_TYPES["pdf"],
        size=len(data),
        sha256=digest.hex(),
        storage_key=storage_key,
        scan_status="clean",  # made here, not uploaded
        review_status="accepted",
        shown_to_client=True,
        idempotency_key=key,
    )
    dbs().add(document)
    dbs().flush()
    return document


def _forget(storage_key: str) -> None:
    """Best effort: an object whose row never committed. The sweeper catches what this misses."""
    from portal.integrations.storage import StorageUnavailable

    with contextlib.suppress(StorageUnavailable):
        _store().delete(storage_key)


# --- the client side ---------------------------------------------------------------------------


def client_scope(client: Client):
    """What a client sees of their documents: what they sent, and what staff chose to share."""
    return select(Document).where(
        Document.client_id == client.id,
        Document.uploaded_by_account_id.is_not(None) | Document.shown_to_client.is_(True),
    )


def record_scope(client: Client):
    return select(Document).where(Document.client_id == client.id)


def open_document_tasks(client: Client) -> list[ClientTask]:
    return list(
        dbs().scalars(
            select(ClientTask)
            .where(
                ClientTask.client_id == client.id,
                ClientTask.kind == "document",
                ClientTask.status == "open",
            )
            .order_by(ClientTask.due_on.is_(None), ClientTask.due_on, ClientTask.id)
        )
    )


NO_REQUEST = "none"  # the client said an upload answers none of their open requests


def answered_request(client: Client, task_id, category: str | None) -> ClientTask | None:
    """The open document request an upload answers: the one the client came from or chose;
    with no choice, the only open request for this kind of document (two or more: the client
    is asked which); none when they said it answers none."""
    if task_id == NO_REQUEST:
        return None
    if task_id:
        return open_task(client, task_id)
    same_kind = [t for t in open_document_tasks(client) if category and t.category == category]
    if len(same_kind) > 1:
        raise DomainError(
            _l("Your care team asked for more than one of these. Choose which one this is."),
            field="task",
        )
    return same_kind[0] if same_kind else None


def open_task(client: Client, task_id) -> ClientTask | None:
    """The client's open document request with this public id (else None)."""
    if not task_id:
        return None
    task = dbs().scalar(
        select(ClientTask).where(
            ClientTask.public_id == parse_uuid(task_id),
            ClientTask.client_id == client.id,
            ClientTask.kind == "document",
        )
    )
    return task if task is not None and task.status == "open" else None


def client_upload(
    account: ClientAccount,
    *,
    stream: BinaryIO,
    filename: str | None,
    category: str | None,
    title: str | None,
    key: str | None,
    task_id=None,
) -> Document:

    client = client_of(account)
    task = answered_request(client, task_id, category)
    if task is not None and not category:
        category = task.category
    document, new = _save(
        client,
        stream=stream,
        filename=filename,
        category=category,
        title=title or (task.title if task is not None else None),
        key=key,
        agency_id=task.agency_id if task is not None else client.owning_agency_id,
        uploaded_by={"uploaded_by_account_id": account.id},
        task=task,
    )
    if not new:
        return document
    if task is not None:
        task.status = "done"
        task.done_at = clock.now()
        audit.record(
            "client_task.done",
            client,
            actor=account,
            details={"kind": "document", "task": str(task.public_id)},
        )
    if document.scan_status == "unscanned":
        _to_review(document, account)
    record_contact(client, "portal_update")
    audit.record(
        "document.uploaded",
        client,
        actor=account,
        details={
            "document": str(document.public_id),
            "category": document.category,
            "type": document.content_type,
            "size": document.size,
            "by": "client",
        },
    )
    return document


def client_documents(account) -> list[Document]:

    return list(
        dbs().scalars(
            client_scope(client_of(account)).order_by(
                Document.created_at.desc(), Document.id.desc()
            )
        )
    )


def client_document(account, public_id) -> Document:

    document = dbs().scalar(
        client_scope(client_of(account)).where(Document.public_id == parse_uuid(public_id))
    )
    if document is None:
        raise NotFound(("document", str(public_id)[:64]))
    return document


def client_state(document: Document) -> str:
    if document.scan_status == "infected":
        return "quarantined"
    if document.scan_status == "missing":
        return "missing"
    if document.scan_status == "pending":
        return "checking"
    return document.review_status


# --- the staff side ----------------------------------------------------------------------------


def staff_documents(actor, client: Client) -> list[Document]:
    if not can(actor, "documents", client):
        raise Forbidden(Capability.VIEW_CLIENTS)
    return list(
        dbs().scalars(record_scope(client).order_by(Document.created_at.desc(), Document.id.desc()))
    )


def staff_document(actor, public_id) -> Document:
    """A document the actor may see: one of their agency's clients (owning agency only)."""

    visible = visible_clients(actor).with_only_columns(Client.id)
    document = dbs().scalar(
        select(Document).where(
            Document.public_id == parse_uuid(public_id), Document.client_id.in_(visible)
        )
    )
    if document is None or not can(actor, "documents", document.client):
        raise NotFound(("document", str(public_id)[:64]))
    return document


def staff_upload(
    actor,
    client: Client,
    *,
    stream: BinaryIO,
    filename: str | None,
    category: str | None,
    title: str | None,
    key: str | None,
    shown_to_client: bool = False,
) -> Document:
    if not can(actor, "edit", client):
        raise Forbidden(Capability.EDIT_CLIENTS)
    document, new = _save(
        client,
        stream=stream,
        filename=filename,
        category=category,
        title=title,
        key=key,
        agency_id=actor.agency_id,
        uploaded_by={"uploaded_by_staff_id": actor.id},
    )
    if new:
        document.review_status = "accepted"  # staff put it there themselves
        document.shown_to_client = bool(shown_to_client)
        audit.record(
            "document.uploaded",
            client,
            details={
                "document": str(document.public_id),
                "category": document.category,
                "type": document.content_type,
                "size": document.size,
                "by": "staff",
            },
        )
    return document


def _open_request(client: Client, category: str, title: str) -> ClientTask | None:
    return dbs().scalar(
        select(ClientTask).where(
            ClientTask.client_id == client.id,
            ClientTask.kind == "document",
            ClientTask.status == "open",
            ClientTask.category == category,
            ClientTask.title == title,
        )
    )


def request_documents(
    actor,
    clients: list[Client],
    *,
    category: str | None,
    title: str | None,
    due_on,
    note: str | None,
) -> list[ClientTask]:
    """Ask one or several clients for a document; it shows on their dashboard."""
    errors = []
    try:
        category = clean_category(category)
    except DomainError as refusal:
        errors.append(refusal)
    try:
        title = clean_text(
            title,
            field="title",
            max_length=120,
            message=_l("Say which document, for example: pay stubs from October."),
        )
    except DomainError as refusal:
        errors.append(refusal)
    try:
        note = clean_text(note, field="note", max_length=500, required=False) or None
    except DomainError as refusal:
        errors.append(refusal)
    if due_on is not None and due_on < actor.agency.today():
        errors.append(DomainError(_l("Choose a date from today on."), field="due_on"))
    if errors:
        raise DomainError.all_of(errors)
    if not clients:
        raise DomainError(_l("Nobody matches. Change the filters."))
    tasks = []
    for client in clients:
        if not can(actor, "edit", client):
            continue  # access changed since the list was shown
        if _open_request(client, category, title) is not None:
            tasks.append(_open_request(client, category, title))
            continue  # asked already (or the same form sent twice): one request stands
        task = ClientTask(
            client_id=client.id,
            agency_id=actor.agency_id,
            kind="document",
            category=category,
            title=title,
            note=note,
            due_on=due_on,
            created_by_id=actor.id,
        )
        dbs().add(task)
        dbs().flush()
        audit.record(
            "client_task.created",
            client,
            details={"kind": "document", "category": category, "task": str(task.public_id)},
        )
        tasks.append(task)
    if not tasks:
        raise Forbidden(Capability.EDIT_CLIENTS)
    return tasks


# --- downloads ---------------------------------------------------------------------------------


def downloadable(document: Document) -> bool:
    return document.scan_status == "clean" or (
        document.scan_status == "unscanned" and current_settings().accepts_unscanned_files
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


# --- review ------------------------------------------------------------------------------------


def _to_review(document: Document, account: ClientAccount | None) -> None:
    review.submit(
        account,
        document.client,
        "document",
        {"document": str(document.public_id)},
        agency_id=document.agency_id,
    )


def document_of_item(item) -> Document | None:
    key = review.payload_of(item).get("document")
    if not key:
        return None
    return dbs().scalar(
        select(Document).where(
            Document.public_id == parse_uuid(key), Document.client_id == item.client_id
        )
    )


def _accept(client: Client, payload: dict, item) -> None:
    document = document_of_item(item)
    if document is not None:
        document.review_status = "accepted"
        audit.record("document.accepted", client, details={"document": str(document.public_id)})


def _reopen_task(document: Document) -> None:
    """The document that answered a request was not accepted: the request is open again."""
    if document.task_id is None:
        return
    task = dbs().get(ClientTask, document.task_id)
    if task is not None and task.status == "done":
        task.status = "open"
        task.done_at = None
        audit.record("client_task.reopened", document.client, details={"task": str(task.public_id)})


def _rejected(item, payload: dict) -> None:
    document = document_of_item(item)
    if document is not None:
        document.review_status = "rejected"
        document.reject_reason = item.reject_reason
        document.reject_note = item.reject_note
        _reopen_task(document)
        audit.record(
            "document.rejected",
            item.client,
            details={"document": str(document.public_id), "reason": item.reject_reason},
        )


def _describe(payload: dict) -> list[tuple[object, str]]:
    key = payload.get("document")
    document = (
        dbs().scalar(select(Document).where(Document.public_id == parse_uuid(key))) if key else None
    )
    if document is None:
        return []
    lines = [(_l("Kind of document"), str(CATEGORIES.get(document.category, document.category)))]
    if document.title:
        lines.append((_l("Title"), document.title))
    lines.append((_l("File"), f"{document.file_name} · {document.size // 1024 + 1} KB"))
    return lines


REVIEW_KIND = review.ReviewKind(
    label=_l("Document"),
    apply=_accept,
    snapshot=lambda client: {},
    describe=_describe,
    changes_record=False,
    supersedes=False,
    reasons=REJECT_REASONS,
    on_reject=_rejected,
)


# --- worker jobs -------------------------------------------------------------------------------


@jobs.handler("documents.scan", max_attempts=12, reads_first=True)
def scan_job(payload: dict) -> None:
    """Scan one stored file. A scanner that cannot be reached raises: the job retries with
    backoff and the file stays pending (never served); a sweep re-queues what is left. The
    file streams to clamd before anything is written (SQLite's write lock is not held)."""
    from portal.integrations import clamd
    from portal.integrations.storage import ObjectMissing

    document = dbs().get(Document, payload["document"])
    if document is None or document.scan_status not in ("pending", "unscanned"):
        return
    address = current_settings().clamd_address
    if not address:
        raise clamd.ScannerUnavailable("no scanner configured")
    try:
        stream = _store().open(document.storage_key)
    except ObjectMissing:
        mark_missing(document)
        return
    try:
        result = clamd.scan(address, stream)
    finally:
        stream.close()
    will_write()
    document.scanned_at = clock.now()
    details = {"document": str(document.public_id)}
    if result.clean:
        document.scan_status = "clean"
        audit.record("document.scanned", document.client, details={**details, "result": "clean"})
        if document.uploaded_by_account_id is not None and document.review_status == "waiting":
            _to_review(document, dbs().get(ClientAccount, document.uploaded_by_account_id))
        return
    document.scan_status = "infected"
    document.scan_signature = (result.signature or "unknown")[:120]
    audit.record(
        "document.quarantined",
        document.client,
        details={**details, "signature": document.scan_signature},
    )
    _reopen_task(document)
    for staff in _people_to_tell(document):
        notifications.notify(
            staff,
            "document_quarantined",
            link=f"/staff/clients/{document.client.public_id}#documents",
        )


def mark_missing(document: Document) -> None:
    """The row's object is gone from the store (restored from an old backup, deleted by hand):
    never served, audited, the care team told, the client asked again."""
    import logging

    logging.getLogger("portal.documents").error(
        "stored object missing", extra={"document": str(document.public_id)}
    )
    if document.scan_status == "missing":
        return
    will_write()
    document.scan_status = "missing"
    audit.record("document.missing", document.client, details={"document": str(document.public_id)})
    _reopen_task(document)
    for staff in _people_to_tell(document):
        notifications.notify(
            staff, "document_missing", link=f"/staff/clients/{document.client.public_id}#documents"
        )


def _care_team(document: Document):

    return list(
        dbs().scalars(
            select(StaffUser)
            .join(CareTeamMember, CareTeamMember.staff_id == StaffUser.id)
            .where(
                CareTeamMember.client_id == document.client_id,
                StaffUser.agency_id == document.agency_id,
                StaffUser.is_active.is_(True),
            )
        )
    )


def _people_to_tell(document: Document):
    """The client's care team in the document's agency; without one, its reviewers."""

    team = _care_team(document)
    if team:
        return team
    return list(
        dbs().scalars(
            select(StaffUser).where(
                StaffUser.agency_id == document.agency_id,
                StaffUser.is_active.is_(True),
                StaffUser.role.in_([str(r) for r in roles_with(Capability.REVIEW_CHANGES)]),
            )
        )
    )


@jobs.handler("documents.rescan_pending", every=timedelta(minutes=30))
def rescan_pending_job(payload: dict) -> None:
    """Files still pending (the scanner was down past the scan job's retries) are tried again."""
    if not current_settings().clamd_address:
        return
    waiting = Document.scan_status.in_(("pending", "unscanned"))  # unscanned: before a scanner
    for document_id in dbs().scalars(select(Document.id).where(waiting).limit(500)):
        jobs.enqueue("documents.scan", {"document": document_id}, unique_key=f"scan:{document_id}")


def sweep_orphans() -> int:
    """Delete stored objects older than a day that no document row references (a crash between
    the PUT and the commit). Returns how many were deleted."""
    store = _store()
    removed = 0
    batch: list[str] = []

    def flush() -> int:
        known = set(
            dbs().scalars(select(Document.storage_key).where(Document.storage_key.in_(batch)))
        )
        gone = 0
        for key in batch:
            if key not in known:
                store.delete(key)
                gone += 1
        batch.clear()
        return gone

    for stored in store.older_than(clock.now() - ORPHAN_AGE):
        if not stored.key.startswith("documents/"):
            continue  # not ours: other objects in a shared bucket are left alone
        batch.append(stored.key)
        if len(batch) >= 500:
            removed += flush()
    if batch:
        removed += flush()
    if removed:
        audit.record(
            "documents.orphans_removed", ("storage", "documents"), details={"count": removed}
        )
    return removed


@jobs.handler("documents.sweep_orphans", every=timedelta(days=1), reads_first=True)
def sweep_job(payload: dict) -> None:
    sweep_orphans()


PREVIEW_PAGES = 20


def render_preview(document: Document, page: int) -> tuple[bytes, int]:
    """A PDF page as a PNG for staff review (PDFium, never the PDF in the browser), and the
    number of pages shown. Raises NotFound for a page that does not exist."""
    import io

    import pypdfium2 as pdfium

    with tempfile.TemporaryDirectory(prefix="preview-") as work:
        path = Path(work) / "document.pdf"
        with path.open("wb") as target:
            copy_to(document, target)
        pdf = pdfium.PdfDocument(str(path))
        try:
            pages = min(len(pdf), PREVIEW_PAGES)
            if not 1 <= page <= pages:
                raise NotFound(("document_page", str(page)))
            sheet = pdf[page - 1]
            width, height = sheet.get_width() or 1, sheet.get_height() or 1
            scale = min(2.0, PREVIEW_BOX[0] / width, PREVIEW_BOX[1] / height)  # bounded pixels
            image = sheet.render(scale=scale).to_pil()
            sheet.close()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), pages


def copy_to(document: Document, target: BinaryIO) -> None:
    """Stream a stored file into `target` (the app's streamed download and previews)."""
    source = _store().open(document.storage_key)
    try:
        shutil.copyfileobj(source, target, CHUNK)
    finally:
        source.close()
