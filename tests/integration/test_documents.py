"""Issue 7: documents from the phone to the object store (local folder here; S3 and clamd in
test_documents_s3.py), staff requests, review, safe downloads."""

import hashlib
import io
import struct
import zlib
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.domain import documents
from portal.domain.core import clock
from portal.domain.core.roles import Role
from portal.domain.models import (
    AuditEvent,
    CareTeamMember,
    ClientTask,
    Consent,
    Document,
    ReviewItem,
)
from portal.integrations.storage import get_store
from tests.support import TEST_PASSWORD, shared_path, signed_in

UPLOADS = ("data", "uploads")


@contextmanager
def settings_changed(app, **overrides):
    """Run with other settings (and a store built from them)."""
    original = app.extensions["portal.settings"]
    store = app.extensions.pop("portal.storage", None)
    app.extensions["portal.settings"] = original.with_overrides(**overrides)
    try:
        yield
    finally:
        app.extensions["portal.settings"] = original
        app.extensions.pop("portal.storage", None)
        if store is not None:
            app.extensions["portal.storage"] = store


def upload(browser, data: bytes, name: str, *, path="/documents", key=None, **fields):
    form = {"category": "income", "title": "", **fields}
    if key is not None:
        form["key"] = key
    form["file"] = (io.BytesIO(data), name)
    return browser.form(path, form, content_type="multipart/form-data")


def docs(database, record):
    database.session.expire_all()
    return database.session.scalars(
        select(Document).where(Document.client_id == record.id).order_by(Document.id)
    ).all()


def stored_bytes(document) -> bytes:
    stream = get_store().open(document.storage_key)
    try:
        return stream.read()
    finally:
        stream.close()


def shared(*parts) -> bytes:
    return shared_path(*UPLOADS, *parts).read_bytes()


# --- the pipeline ------------------------------------------------------------------------------


@pytest.mark.requirement("R47", "R50")
def test_a_photo_is_stored_upright_without_its_metadata_and_waits_for_review(me, database):
    original = shared("malformed-images-pillow", "hopper_orientation_6.jpg")
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get(0x0112) == 6  # the camera held it sideways
        width, height = image.size
    sent = upload(me, original, "IMG_0001.JPG", title="My ID")
    assert sent.status_code == 303
    [document] = docs(database, me.record)
    assert (document.content_type, document.file_name) == ("image/jpeg", "IMG_0001.jpg")
    data = stored_bytes(document)
    assert hashlib.sha256(data).hexdigest() == document.sha256 and len(data) == document.size
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (height, width)  # turned as the camera held it
        assert len(image.getexif()) == 0 and "exif" not in image.info
    assert document.key_is_random if hasattr(document, "key_is_random") else True
    assert "IMG" not in document.storage_key and document.storage_key.startswith("documents/")
    item = database.session.scalar(select(ReviewItem).where(ReviewItem.kind == "document"))
    assert item is not None and item.client_id == me.record.id
    page = me.get("/documents").get_data(as_text=True)
    assert "My ID" in page and "Waiting for review" in page


@pytest.mark.requirement("R50")
def test_the_gps_tagged_photo_comes_back_without_gps(me, database):
    original = shared("malformed-images-pillow", "exif_gps.jpg")
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get_ifd(0x8825)  # GPS data is there to begin with
    assert upload(me, original, "exif_gps.jpg").status_code == 303
    [document] = docs(database, me.record)
    downloaded = me.get(f"/documents/{document.public_id}/download")
    assert downloaded.status_code == 200
    with Image.open(io.BytesIO(downloaded.data)) as image:
        assert not image.getexif().get_ifd(0x8825) and len(image.getexif()) == 0
    assert b"GPS" not in downloaded.data and b"Exif" not in downloaded.data


# Every file in ../shared/data/uploads and what happens to it (the documented outcomes):
# accepted as is (PDF) or re-encoded (photos); "stripped": accepted, and the metadata that
# carried a payload (EXIF, PNG text chunks, comments) is gone; refused with a message.
OUTCOMES = {
    "eicar/eicar-payloadsallthethings.txt": "refused",  # not a document type (clamd: see S3 file)
    "eicar/eicar.b64": "refused",
    "eicar/eicar.com.txt": "refused",
    "magic-bytes-minimal/Mpeg4.mp4": "refused",
    "magic-bytes-minimal/SOURCE-README.md": "refused",
    "magic-bytes-minimal/bmp.bmp": "refused",
    "magic-bytes-minimal/bzip2.bz2": "refused",
    "magic-bytes-minimal/gif-transparent.gif": "refused",
    "magic-bytes-minimal/gif.gif": "refused",
    "magic-bytes-minimal/gzip.gz": "refused",
    "magic-bytes-minimal/heif.heif": "accepted",  # converted to JPEG
    "magic-bytes-minimal/html5.html": "refused",
    "magic-bytes-minimal/ico.ico": "refused",
    "magic-bytes-minimal/jpeg.jpg": "accepted",
    "magic-bytes-minimal/jpeg2.jp2": "refused",
    "magic-bytes-minimal/json.json": "refused",
    "magic-bytes-minimal/jxl.jxl": "refused",
    "magic-bytes-minimal/mp3.mp3": "refused",
    "magic-bytes-minimal/pdf.pdf": "accepted",
    "magic-bytes-minimal/png-transparent.png": "accepted",
    "magic-bytes-minimal/png-truncated.png": "accepted",  # the smallest PNG Pillow decodes
    "magic-bytes-minimal/rar5.rar": "refused",
    "magic-bytes-minimal/rtf.rtf": "refused",
    "magic-bytes-minimal/svg.svg": "refused",
    "magic-bytes-minimal/tar.tar": "refused",
    "magic-bytes-minimal/tiff.tif": "refused",
    "magic-bytes-minimal/wav.wav": "refused",
    "magic-bytes-minimal/webm.webm": "refused",
    "magic-bytes-minimal/webp.webp": "refused",
    "magic-bytes-minimal/xhtml5.xhtml": "refused",
    "magic-bytes-minimal/xml-1.0-valid.xml": "refused",
    "magic-bytes-minimal/zip.zip": "refused",
    "malformed-images-pillow/apng_syntax_num_frames_zero.png": "refused",  # damaged
    "malformed-images-pillow/broken.png": "refused",
    "malformed-images-pillow/broken_data_stream.png": "refused",
    "malformed-images-pillow/broken_exif_dpi.jpg": "stripped",
    "malformed-images-pillow/crash-4fb027452e6988530aa5dabee76eecacb3b79f8a.j2k": "refused",
    "malformed-images-pillow/crash-86214e58da443d2b80820cff9677a38a33dcbbca.tif": "refused",
    "malformed-images-pillow/decompression_bomb.gif": "refused",
    "malformed-images-pillow/decompression_bomb.ico": "refused",
    "malformed-images-pillow/decompression_bomb_extents.gif": "refused",
    "malformed-images-pillow/duplicate_xref_entry.pdf": "accepted",  # PDFium repairs it
    "malformed-images-pillow/empty_gps_ifd.jpg": "stripped",
    "malformed-images-pillow/exif-dpi-zerodivision.jpg": "stripped",
    "malformed-images-pillow/exif-ifd-offset.jpg": "stripped",
    "malformed-images-pillow/exif_gps.jpg": "stripped",
    "malformed-images-pillow/hopper.gif": "refused",
    "malformed-images-pillow/hopper.jpg": "accepted",
    "malformed-images-pillow/hopper.png": "accepted",
    "malformed-images-pillow/hopper.webp": "refused",
    "malformed-images-pillow/hopper_orientation_6.jpg": "stripped",
    "malformed-images-pillow/invalid-exif-without-x-resolution.jpg": "stripped",
    "malformed-images-pillow/invalid-exif.jpg": "stripped",
    "malicious-content/dangerous-extensions-asp.lst": "refused",
    "malicious-content/dangerous-extensions-php.lst": "refused",
    "malicious-content/ghostscript_postscript_disguised_as.jpg": "refused",  # not a JPEG inside
    "malicious-content/imagemagick_CVE-2022-44268_tEXt_profile.png": "stripped",
    "malicious-content/imagemagick_text_etc_passwd.svg": "refused",
    "malicious-content/imagetragick_mvg_disguised_as.jpg": "refused",
    "malicious-content/php_in_exif.jpg": "stripped",
    "malicious-content/php_in_gif_global_color_table.gif": "refused",
    "malicious-content/php_in_metadata.png": "stripped",
    # Pixels built to survive re-encoding: kept (they are pixels), served only as an attachment
    # with its image type and nosniff, never executed.
    "malicious-content/php_survives_recompress.jpg": "accepted",
    "malicious-content/php_survives_resize_32x32.png": "accepted",
    "malicious-content/ssi_include.shtml": "refused",
    "metadata-xss/payload_in_all_known_exif_corrupted.jpg": "stripped",
    "metadata-xss/payload_in_all_known_metadata.jpg": "stripped",
    "metadata-xss/payload_in_all_known_metadata.png": "stripped",
    "metadata-xss/payload_text_xss.png": "stripped",
    "metadata-xss/xss_comment_exif_metadata_double_quote.png": "stripped",
}
METADATA_KEYS = {"exif", "comment", "xmp", "icc_profile", "Description", "Comment", "profile"}


@pytest.mark.requirement("R45", "R50")
def test_every_shared_upload_gets_its_documented_outcome(me, database):
    root = shared_path(*UPLOADS)
    files = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("LICENSE")
    )
    assert files == sorted(OUTCOMES), "a file without a documented outcome"
    for name, outcome in OUTCOMES.items():
        before = len(docs(database, me.record))
        response = upload(me, (root / name).read_bytes(), Path(name).name)
        rows = docs(database, me.record)
        if outcome == "refused":
            assert response.status_code == 400, name
            assert "There is a problem" in response.get_data(as_text=True), name
            assert len(rows) == before, name
            continue
        assert response.status_code == 303, (name, response.status_code)
        document = rows[-1]
        data = stored_bytes(document)
        if document.content_type.startswith("image/"):
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                assert not (METADATA_KEYS & set(image.info)), (name, image.info.keys())
                assert len(image.getexif()) == 0, name
        if outcome == "stripped":
            for marker in (b"<script", b"<?php", b"GPS", b"/etc/passwd", b"alert("):
                assert marker not in data, (name, marker)


@pytest.mark.requirement("R45")
def test_names_that_hide_another_type_are_refused(me, database):
    jpeg = shared("magic-bytes-minimal", "jpeg.jpg")
    png = shared("magic-bytes-minimal", "png-transparent.png")
    lists = [
        shared("malicious-content", f"dangerous-extensions-{kind}.lst").decode()
        for kind in ("php", "asp")
    ]
    extensions = [line.strip() for text in lists for line in text.splitlines() if line.strip()]
    names = [f"photo{ext}" for ext in extensions] + [f"photo{ext}.jpg" for ext in extensions]
    names = [n.replace("\\x00", "\x00") for n in names]
    cases = [(jpeg, n) for n in names] + [
        (b"MZ\x90\x00" + b"\x00" * 60, "setup.pdf"),  # an .exe named .pdf
        (png, "scan.pdf"),  # a PNG named .pdf
        (shared("magic-bytes-minimal", "svg.svg"), "logo.svg"),
        (b"%PDF-1.4\n%%EOF\n", "a.pdf.php"),
        (b"%PDF-1.4\n%%EOF\n", "a.php%00.pdf"),
        (jpeg, "photo"),  # no extension at all
    ]
    for data, name in cases:
        response = upload(me, data, name)
        assert response.status_code == 400, name
    assert docs(database, me.record) == []


@pytest.mark.requirement("R47")
def test_the_file_name_is_metadata_only_and_never_reaches_a_header(me, database):
    pdf = shared("magic-bytes-minimal", "pdf.pdf")
    # A browser sends " CR LF in a multipart file name as %22 %0D %0A (HTML's form encoding).
    names = ("../../etc/passwd.pdf", "a%22%0D%0AX-Injected: y.pdf", "Café niño.pdf")
    for name in names:
        assert upload(me, pdf, name).status_code == 303, name
    for document in docs(database, me.record):
        assert "/" not in document.file_name and "\r" not in document.file_name
        assert ".." not in document.storage_key and "passwd" not in document.storage_key
        response = me.get(f"/documents/{document.public_id}/download")
        assert "X-Injected" not in response.headers
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and "\n" not in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == document.file_name
    assert "Café niño.pdf" in {d.file_name for d in docs(database, me.record)}
    # Raw control characters (another client might send them) never survive into the name.
    base, kind = documents.check_name('a"\r\nX-Injected: y.pdf')
    assert kind == "pdf" and not any(c in base for c in '"\r\n:')


def big_png(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` (the pixels are never there)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.requirement("R46")
def test_size_limits(app, me, database):
    response = upload(me, big_png(20_000, 20_000), "huge.png")
    assert response.status_code == 400 and "40 megapixels" in response.get_data(as_text=True)
    with settings_changed(app, upload_max_mb=1):
        too_big = upload(me, b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 300 * 1024), "big.pdf")
        assert too_big.status_code == 413
        just_over = upload(me, b"%PDF-1.4\n" + b"0" * (1024 * 1024), "big.pdf")
        assert just_over.status_code == 400 and "larger than 1 MB" in just_over.get_data(
            as_text=True
        )
    assert docs(database, me.record) == []


@pytest.mark.requirement("R46")
def test_the_quota_per_client(app, me, database):
    pdf = shared("magic-bytes-minimal", "pdf.pdf")
    with settings_changed(app, client_quota_files=2):
        assert upload(me, pdf, "one.pdf").status_code == 303
        assert upload(me, pdf, "two.pdf").status_code == 303
        third = upload(me, pdf, "three.pdf")
        assert third.status_code == 400 and "no room" in third.get_data(as_text=True)
    assert len(docs(database, me.record)) == 2


@pytest.mark.requirement("R67")
def test_a_replayed_upload_stores_one_file(me, database):
    pdf = shared("magic-bytes-minimal", "pdf.pdf")
    for _ in range(3):
        assert upload(me, pdf, "stub.pdf", key="replayed-upload-key-1").status_code == 303
    assert len(docs(database, me.record)) == 1


@pytest.mark.requirement("R66")
def test_storage_down_saves_nothing_and_keeps_the_form(app, me, database):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here
    with settings_changed(
        app,
        storage_backend="s3",
        s3_endpoint_url=f"http://127.0.0.1:{port}",
        s3_bucket="nowhere",
        s3_access_key_id="k",
        s3_secret_access_key="s",
        s3_addressing_style="path",
    ):
        response = upload(
            me,
            shared("magic-bytes-minimal", "pdf.pdf"),
            "stub.pdf",
            category="benefits",
            title="SNAP",
        )
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and "Not saved" in page
    assert 'value="benefits" selected' in page and 'value="SNAP"' in page
    assert docs(database, me.record) == []


@pytest.mark.requirement("R66")
def test_a_rolled_back_upload_leaves_no_object(app, me, database):
    pdf = shared("magic-bytes-minimal", "pdf.pdf")
    before = {o.key for o in get_store().older_than(clock.now() + timedelta(days=1))}
    with app.test_request_context():
        documents.client_upload(
            me.account,
            stream=io.BytesIO(pdf),
            filename="stub.pdf",
            category="income",
            title=None,
            key="rolled-back-upload",
        )
        created = {o.key for o in get_store().older_than(clock.now() + timedelta(days=1))} - before
        assert len(created) == 1  # stored, row flushed
        database.session.rollback()  # the commit never happens (database down, a crash...)
    after = {o.key for o in get_store().older_than(clock.now() + timedelta(days=1))}
    assert not (created & after)


def test_the_sweeper_deletes_objects_no_row_references(app, make, me, database, frozen_clock):
    from datetime import UTC, datetime

    clock.freeze(datetime.now(UTC))  # the store's times are real ones
    kept = make.document(me.record)
    orphan = documents.new_storage_key()
    path = Path(app.instance_path) / "orphan.bin"
    path.write_bytes(b"left behind")
    get_store().put(orphan, path, sha256=hashlib.sha256(b"left behind").digest(), content_type="x")
    with app.test_request_context():
        assert documents.sweep_orphans() == 0 or get_store().head(orphan) is not None  # too young
        clock.advance(timedelta(days=2))
        documents.sweep_orphans()
    assert get_store().head(orphan) is None
    assert get_store().head(kept.storage_key) is not None


# --- downloads and the access policy -----------------------------------------------------------


@pytest.mark.requirement("R48")
def test_downloads_are_attachments_with_safe_headers(me, make, database):
    document = make.document(me.record, account=me.account)
    response = me.get(f"/documents/{document.public_id}/download")
    assert response.status_code == 200 and response.data == b"%PDF-1.4\n%%EOF\n"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="pay-stub.pdf"')


@pytest.mark.requirement("R49")
def test_a_file_still_being_checked_is_not_served(me, make, case_manager, database):
    document = make.document(me.record, scan_status="pending")
    assert me.get(f"/documents/{document.public_id}/download").status_code == 409
    assert case_manager.get(f"/staff/documents/{document.public_id}/download").status_code == 409
    quarantined = make.document(me.record, scan_status="infected")
    assert me.get(f"/documents/{quarantined.public_id}/download").status_code == 409
    assert "Could not be accepted" in me.get("/documents").get_data(as_text=True)


@pytest.mark.requirement("R30", "R48")
def test_nobody_outside_the_policy_lists_downloads_or_guesses_documents(
    app, me, make, agency_a, agency_b, database
):
    document = make.document(me.record)
    other_account = make.client_account(agency_a)
    other = signed_in(app, other_account)
    assert other.get(f"/documents/{document.public_id}/download").status_code == 404
    assert "pay-stub.pdf" not in other.get("/documents").get_data(as_text=True)
    staff_b = signed_in(app, make.staff(Role.CASE_MANAGER, agency_b))
    assert staff_b.get(f"/staff/documents/{document.public_id}/download").status_code == 404
    assert staff_b.get(f"/staff/clients/{me.record.public_id}/documents").status_code == 404
    # A serving agency with an ROI in force sees the client, not their documents.
    partner = make.staff(Role.CASE_MANAGER, agency_b, name="Pat Partner")
    me.record.care_team.append(CareTeamMember(staff=partner, is_case_manager=False))
    database.session.add(
        Consent(
            client_id=me.record.id,
            recorded_by_agency_id=agency_a.id,
            permission=True,
            refused=False,
            starts_on=clock.now().date() - timedelta(days=1),
            ends_on=clock.now().date() + timedelta(days=30),
        )
    )
    database.session.commit()
    partner_browser = signed_in(app, partner)
    assert partner_browser.get(f"/staff/clients/{me.record.public_id}").status_code == 200
    assert partner_browser.get(f"/staff/documents/{document.public_id}/download").status_code == 404
    assert partner_browser.get(f"/staff/clients/{me.record.public_id}/documents").status_code == 403
    guessed = "00000000-0000-4000-8000-000000000000"
    assert me.get(f"/documents/{guessed}/download").status_code == 404
    assert me.get("/documents/not-a-uuid/download").status_code == 404


# --- requests, review, staff uploads -----------------------------------------------------------


@pytest.mark.requirement("R48")
def test_a_document_request_is_answered_by_an_upload_then_reviewed(me, case_manager, database):
    record = me.record
    asked = case_manager.form(
        f"/staff/clients/{record.public_id}/documents/request",
        {"category": "income", "title": "Pay stubs from October", "note": "Both pages please"},
    )
    assert asked.status_code == 303
    home = me.get("/home").get_data(as_text=True)
    assert "Send a document: Pay stubs from October" in home
    task = database.session.scalar(select(ClientTask).where(ClientTask.kind == "document"))
    sent = upload(
        me,
        shared("magic-bytes-minimal", "pdf.pdf"),
        "stub.pdf",
        task=str(task.public_id),
        category="",
    )
    assert sent.status_code == 303
    database.session.expire_all()
    assert database.session.get(ClientTask, task.id).status == "done"
    [document] = docs(database, record)
    assert document.task_id == task.id and document.title == "Pay stubs from October"
    item = database.session.scalar(select(ReviewItem).where(ReviewItem.kind == "document"))
    page = case_manager.get(f"/staff/review/{item.public_id}").get_data(as_text=True)
    assert f"/staff/documents/{document.public_id}/preview?page=1" in page
    preview = case_manager.get(f"/staff/documents/{document.public_id}/preview?page=1")
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "image/png"
    assert preview.headers["Content-Security-Policy"].startswith("sandbox")
    assert (
        case_manager.get(f"/staff/documents/{document.public_id}/preview?page=9").status_code == 404
    )
    decided = case_manager.form(
        f"/staff/review/{item.public_id}",
        {"action": "reject", "reason": "unreadable", "version": str(item.version)},
    )
    assert decided.status_code == 303
    page = me.get("/documents").get_data(as_text=True)
    assert "Not accepted" in page and "clearer photo" in page


def test_accepting_a_document_shows_the_client_accepted(me, case_manager, database):
    upload(me, shared("magic-bytes-minimal", "jpeg.jpg"), "id.jpg", category="photo_id")
    item = database.session.scalar(select(ReviewItem).where(ReviewItem.kind == "document"))
    preview = case_manager.get(
        f"/staff/documents/{documents.document_of_item(item).public_id}/preview"
    )
    assert preview.headers["Content-Type"] == "image/jpeg"
    assert preview.headers["Content-Disposition"] == "inline"
    assert (
        case_manager.form(
            f"/staff/review/{item.public_id}", {"action": "accept", "version": str(item.version)}
        ).status_code
        == 303
    )
    assert "Accepted" in me.get("/documents").get_data(as_text=True)


def test_staff_upload_to_a_record_and_ask_several_clients(
    me, case_manager, make, agency_a, database
):
    record = me.record
    saved = upload(
        case_manager,
        shared("magic-bytes-minimal", "pdf.pdf"),
        "lease.pdf",
        path=f"/staff/clients/{record.public_id}/documents",
        category="other",
        title="Lease",
    )
    assert saved.status_code == 303
    [document] = docs(database, record)
    assert document.review_status == "accepted" and document.uploaded_by_account_id is None
    other = make.client(agency_a, last_name="Second")
    preview = case_manager.get("/staff/documents/request").get_data(as_text=True)
    assert "Second" in preview
    from bs4 import BeautifulSoup

    shown = [
        i["value"] for i in BeautifulSoup(preview, "html.parser").select('input[name="recipient"]')
    ]
    done = case_manager.form(
        "/staff/documents/request",
        {"recipient": shown, "category": "benefits", "title": "Benefits letter 2026"},
    )
    assert done.status_code == 303
    asked = database.session.scalars(
        select(ClientTask.client_id).where(ClientTask.kind == "document")
    ).all()
    assert set(asked) == {record.id, other.id}
    missing = case_manager.form(
        "/staff/documents/request", {"recipient": shown, "category": "", "title": ""}
    )
    assert missing.status_code == 200
    assert database.session.scalar(select(func.count(ClientTask.id))) == 2


# --- the review's findings, kept fixed ---------------------------------------------------------


def one_page_pdf(width: int, height: int) -> bytes:
    box = f"[0 0 {width} {height}]".encode()
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox" + box + b">>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def test_a_pdf_page_too_large_to_preview_is_refused(me, database):
    response = upload(me, one_page_pdf(500, 2_000_000), "tall.pdf")
    assert response.status_code == 400 and "could not open this PDF" in response.get_data(
        as_text=True
    )
    assert upload(me, one_page_pdf(612, 792), "letter.pdf").status_code == 303


def test_a_rejected_answer_reopens_the_request(me, case_manager, database):
    asked = case_manager.form(
        f"/staff/clients/{me.record.public_id}/documents/request",
        {"category": "income", "title": "Pay stubs"},
    )
    assert asked.status_code == 303
    again = case_manager.form(  # the same form sent twice: one request
        f"/staff/clients/{me.record.public_id}/documents/request",
        {"category": "income", "title": "Pay stubs"},
    )
    assert again.status_code == 303
    [task] = database.session.scalars(select(ClientTask)).all()
    upload(me, shared("magic-bytes-minimal", "pdf.pdf"), "stub.pdf", task=str(task.public_id))
    database.session.expire_all()
    assert database.session.get(ClientTask, task.id).status == "done"
    item = database.session.scalar(select(ReviewItem).where(ReviewItem.kind == "document"))
    case_manager.form(
        f"/staff/review/{item.public_id}",
        {"action": "reject", "reason": "wrong_document", "version": str(item.version)},
    )
    database.session.expire_all()
    assert database.session.get(ClientTask, task.id).status == "open"
    assert "Send a document: Pay stubs" in me.get("/home").get_data(as_text=True)
    assert "This is not the document we asked for." in me.get("/documents").get_data(as_text=True)
    # Another reason: the client reads staff's note, not the staff form's label (issue 17).
    upload(me, shared("magic-bytes-minimal", "pdf.pdf"), "stub2.pdf", task=str(task.public_id))
    item = database.session.scalars(
        select(ReviewItem).where(ReviewItem.kind == "document").order_by(ReviewItem.id.desc())
    ).first()
    case_manager.form(
        f"/staff/review/{item.public_id}",
        {
            "action": "reject",
            "reason": "other",
            "note": "Bring the stubs from this month.",
            "version": str(item.version),
        },
    )
    page = me.get("/documents").get_data(as_text=True)
    assert "Bring the stubs from this month." in page and "written below" not in page


def test_staff_uploads_are_hidden_from_the_client_unless_shared(me, case_manager, database):
    page = f"/staff/clients/{me.record.public_id}/documents"
    pdf = shared("magic-bytes-minimal", "pdf.pdf")
    upload(case_manager, pdf, "internal.pdf", path=page, category="other")
    upload(case_manager, pdf, "for-you.pdf", path=page, category="other", shown_to_client="y")
    internal, shared_copy = docs(database, me.record)
    staff_listing = case_manager.get(page).get_data(as_text=True)
    assert "Not shown to the client" in staff_listing and staff_listing.count("Download") >= 2
    listing = me.get("/documents").get_data(as_text=True)
    assert "for-you.pdf" in listing and "internal.pdf" not in listing
    assert me.get(f"/documents/{internal.public_id}/download").status_code == 404
    assert me.get(f"/documents/{shared_copy.public_id}/download").status_code == 200


def test_a_lost_object_is_recorded_and_answers_404(me, make, case_manager_user, database):
    from portal.domain.models import StaffNotification

    document = make.document(me.record, account=me.account)
    get_store().delete(document.storage_key)
    assert me.get(f"/documents/{document.public_id}/download").status_code == 404
    database.session.expire_all()
    assert database.session.get(Document, document.id).scan_status == "missing"
    assert "please send it again" in me.get("/documents").get_data(as_text=True)
    assert database.session.scalar(
        select(StaffNotification.id).where(
            StaffNotification.kind == "document_missing",
            StaffNotification.staff_id == case_manager_user.id,
        )
    )


@pytest.mark.requirement("R46")
def test_the_quota_counts_what_the_client_sent_and_is_kept(app, me, make, case_manager, database):
    pdf = shared("magic-bytes-minimal", "pdf.pdf")
    make.document(me.record)  # a staff copy: not the client's quota
    with settings_changed(app, client_quota_files=1):
        assert upload(me, pdf, "one.pdf").status_code == 303
        [_, first] = docs(database, me.record)
        first.review_status = "rejected"
        database.session.commit()
        assert upload(me, pdf, "two.pdf").status_code == 303  # a rejected file frees its place
        assert upload(me, pdf, "three.pdf").status_code == 400


def test_a_truncated_photo_is_refused_even_after_weasyprint_was_imported(me, database):
    """WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on at import, process-wide."""
    import weasyprint  # noqa: F401 - the import is the point
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as WeasyPrint leaves it
    broken = shared("malformed-images-pillow", "broken_data_stream.png")
    assert upload(me, broken, "scan.png").status_code == 400
    assert docs(database, me.record) == []


def _ask(case_manager, me, category: str, title: str) -> None:
    asked = case_manager.form(
        f"/staff/clients/{me.record.public_id}/documents/request",
        {"category": category, "title": title},
    )
    assert asked.status_code == 303


def _task_states(database) -> dict[str, str]:
    database.session.expire_all()
    return {t.title: t.status for t in database.session.scalars(select(ClientTask))}


def test_an_upload_from_the_documents_page_answers_the_request_of_its_kind(
    me, case_manager, database
):
    """Issue 17: an upload from the page (not from the request's own link) left the request
    shown just above it open."""
    _ask(case_manager, me, "income", "Pay stubs")
    _ask(case_manager, me, "photo_id", "Your ID")
    page = me.get("/documents").get_data(as_text=True)
    assert "Is this something your care team asked for?" in page and "Yes: Pay stubs" in page
    pdf = shared("magic-bytes-minimal", "pdf.pdf")
    assert upload(me, pdf, "stub.pdf", category="income").status_code == 303
    assert _task_states(database) == {"Pay stubs": "done", "Your ID": "open"}
    item = database.session.scalar(select(ReviewItem).where(ReviewItem.kind == "document"))
    assert item is not None  # staff review it as the answer to their request


def test_with_two_requests_of_one_kind_the_client_is_asked_which(me, case_manager, database):
    _ask(case_manager, me, "income", "Pay stubs")
    _ask(case_manager, me, "income", "Benefits letter")
    pdf = shared("magic-bytes-minimal", "pdf.pdf")
    unsure = upload(me, pdf, "stub.pdf", category="income")
    assert unsure.status_code == 400
    assert "Choose which one this is." in unsure.get_data(as_text=True)
    assert docs(database, me.record) == [] and set(_task_states(database).values()) == {"open"}
    [letter] = [
        t for t in database.session.scalars(select(ClientTask)) if t.title == "Benefits letter"
    ]
    chosen = upload(me, pdf, "letter.pdf", category="income", task=str(letter.public_id))
    assert chosen.status_code == 303
    assert _task_states(database) == {"Pay stubs": "open", "Benefits letter": "done"}
    other = upload(me, pdf, "other.pdf", category="income", task="none")
    assert other.status_code == 303
    assert _task_states(database) == {"Pay stubs": "open", "Benefits letter": "done"}
    assert len(docs(database, me.record)) == 2


@pytest.mark.requirement("R27")
def test_a_document_opens_only_with_the_password_typed_in_the_last_5_minutes(
    frozen_clock, me, make, database, case_manager
):
    photo_id = make.document(me.record, account=me.account)
    photo_id.category = "other"  # the client chose the category: none is exempt
    pay_stub = make.document(me.record, account=me.account)
    database.session.commit()
    download = f"/documents/{photo_id.public_id}/download"
    assert me.get(download).status_code == 200  # the password was typed at sign-in
    frozen_clock.advance(timedelta(minutes=5, seconds=1))  # the phone left signed in
    asked = me.get(download)
    assert asked.status_code == 303
    assert asked.headers["Location"] == f"/documents/{photo_id.public_id}/open"
    page = me.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Type your password to open it" in page and 'autocomplete="current-password"' in page
    wrong = me.form(asked.headers["Location"], {"password": "not my password at all"})
    assert wrong.status_code == 200 and "Your password is not right" in wrong.get_data(as_text=True)
    assert me.get(download).status_code == 303  # still asked
    right = me.form(asked.headers["Location"], {"password": TEST_PASSWORD})
    assert right.status_code == 303 and right.headers["Location"] == download
    assert me.get(download).status_code == 200
    served = database.session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "document.downloaded")
    ).all()
    assert [d["document"] for d in served] == [str(photo_id.public_id)] * 2  # no download asked
    frozen_clock.advance(timedelta(minutes=4))
    assert me.get(f"/documents/{pay_stub.public_id}/download").status_code == 200  # still fresh
    frozen_clock.advance(timedelta(minutes=2))
    assert me.get(f"/documents/{pay_stub.public_id}/download").status_code == 303  # asked again
    # Staff reviewing it are not asked (their work; agency computers; audited).
    assert case_manager.get(f"/staff/documents/{photo_id.public_id}/download").status_code == 200
    # Another client's document is not theirs to be asked about.
    other = make.document(make.client(me.record.owning_agency))
    assert me.get(f"/documents/{other.public_id}/open").status_code == 404
