"""The upload pipeline: names and types, the spool, re-encoding, PDF checks, the quota,
storing (and forgetting on rollback)."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
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

from portal.domain.core import clock, jobs
from portal.domain.core.errors import DomainError
from portal.domain.core.session import after_rollback, dbs
from portal.domain.core.statuses import DocumentReview, ScanStatus
from portal.domain.core.validation import clean_text
from portal.domain.models import (
    Client,
    ClientTask,
    Document,
)
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
                Document.review_status != DocumentReview.REJECTED,
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
    if key is not None and re.fullmatch(r"[A-Za-z0-9_:-]{8,64}", key):
        return key
    return secrets.token_urlsafe(24)


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
        scan_status=ScanStatus.PENDING if settings.clamd_address else ScanStatus.UNSCANNED,
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
        document.scan_status = ScanStatus.PENDING  # nobody can download it until a scanner says so
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
        scan_status=ScanStatus.CLEAN,  # made here, not uploaded
        review_status=DocumentReview.ACCEPTED,
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
