"""Issue 7 with the real components: the app storing documents in SeaweedFS over HTTP (S3 API)
and scanning them with a real clamd (INSTREAM)."""

import contextlib
import hashlib
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from portal.domain import documents
from portal.domain.core import clock, jobs
from portal.domain.models import AuditEvent, ReviewItem, StaffNotification
from portal.integrations.storage import get_store
from tests.integration.test_documents import docs, settings_changed, shared, upload
from tests.support import TEST_PASSWORD

PDF = (
    b"%PDF-1.4\n1 0 obj<</Pages 2 0 R>>endobj\n2 0 obj<</Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Parent 2 0 R>>endobj\ntrailer <</Root 1 0 R>>\n"
)


def run_jobs(database) -> None:
    database.session.expire_all()
    jobs.run_pending()
    database.session.commit()
    database.session.expire_all()


@pytest.mark.requirement("R26", "R48")
def test_documents_live_in_s3_encrypted_verified_and_served_for_60_seconds(
    app, me, seaweedfs, database
):
    photo = shared("malformed-images-pillow", "exif_gps.jpg")
    with settings_changed(app, **seaweedfs.settings_overrides()):
        assert upload(me, photo, "id.jpg", category="photo_id").status_code == 303
        [document] = docs(database, me.record)
        head = seaweedfs.client.head_object(
            Bucket=seaweedfs.bucket, Key=document.storage_key, ChecksumMode="ENABLED"
        )
        assert head["ServerSideEncryption"] == "AES256"
        assert head["ContentLength"] == document.size
        body = seaweedfs.client.get_object(Bucket=seaweedfs.bucket, Key=document.storage_key)
        assert hashlib.sha256(body["Body"].read()).hexdigest() == document.sha256

        streamed = me.get(f"/documents/{document.public_id}/download")
        assert streamed.status_code == 200 and hashlib.sha256(streamed.data).hexdigest() == (
            document.sha256
        )
        with settings_changed(
            app, **seaweedfs.settings_overrides(), document_downloads="presigned"
        ):
            redirect = me.get(f"/documents/{document.public_id}/download")
        assert redirect.status_code == 303
        url = redirect.headers["Location"]
        assert url.startswith(seaweedfs.endpoint)
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["60"]
        with urllib.request.urlopen(url, timeout=10) as fetched:  # noqa: S310 - our test server
            assert hashlib.sha256(fetched.read()).hexdigest() == document.sha256
            assert fetched.headers["Content-Disposition"].startswith("attachment;")
            assert fetched.headers["Cache-Control"] == "no-store, private"
        anonymous = f"{seaweedfs.endpoint}/{seaweedfs.bucket}/{document.storage_key}"
        try:
            urllib.request.urlopen(anonymous, timeout=10)  # noqa: S310
            raise AssertionError("the bucket answered an anonymous GET")
        except urllib.error.HTTPError as refused:
            assert refused.code == 403


@pytest.mark.requirement("R66")
def test_the_sweeper_removes_orphans_from_s3(app, make, me, seaweedfs, database, frozen_clock):
    clock.freeze(datetime.now(UTC))
    with settings_changed(app, **seaweedfs.settings_overrides()):
        kept = make.document(me.record)
        orphan = documents.new_storage_key()
        path = Path(app.instance_path) / "orphan-s3.bin"
        path.write_bytes(b"a crash between PUT and commit")
        get_store().put(
            orphan,
            path,
            sha256=hashlib.sha256(path.read_bytes()).digest(),
            content_type="application/pdf",
        )
        with app.test_request_context():
            documents.sweep_orphans()
            assert get_store().head(orphan) is not None  # younger than a day: left alone
            clock.advance(timedelta(days=2))
            removed = documents.sweep_orphans()
        assert removed >= 1
        assert get_store().head(orphan) is None
        assert get_store().head(kept.storage_key) is not None


@pytest.mark.requirement("R49", "R57")
def test_clamd_quarantines_eicar_and_clears_a_clean_file(
    app, me, clamd, case_manager_user, database
):
    infected = PDF + b"%" + clamd.eicar + b"\n%%EOF\n"  # a PDF that carries the test string
    with settings_changed(app, **clamd.settings_overrides()):
        assert upload(me, infected, "stub.pdf").status_code == 303
        assert upload(me, PDF + b"%%EOF\n", "clean.pdf").status_code == 303
        bad, good = docs(database, me.record)
        assert bad.scan_status == good.scan_status == "pending"
        assert me.get(f"/documents/{bad.public_id}/download").status_code == 409
        assert "Being checked" in me.get("/documents").get_data(as_text=True)
        assert database.session.scalar(select(ReviewItem.id)) is None  # nothing to review yet
        run_jobs(database)
        bad, good = docs(database, me.record)
        assert bad.scan_status == "infected" and "Eicar" in bad.scan_signature
        assert good.scan_status == "clean"
        assert me.get(f"/documents/{bad.public_id}/download").status_code == 409
        assert me.get(f"/documents/{good.public_id}/download").status_code == 200
        assert "Could not be accepted" in me.get("/documents").get_data(as_text=True)
        [item] = database.session.scalars(select(ReviewItem)).all()
        assert documents.document_of_item(item).id == good.id
        note = database.session.scalar(
            select(StaffNotification).where(StaffNotification.kind == "document_quarantined")
        )
        assert note is not None and note.staff_id == case_manager_user.id
        assert database.session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "document.quarantined")
        )


@pytest.mark.requirement("R49")
def test_a_scanner_that_is_down_keeps_files_pending(app, me, clamd, database, frozen_clock):
    clock.freeze(datetime.now(UTC))
    with settings_changed(app, **clamd.settings_overrides()):
        assert upload(me, PDF + b"%%EOF\n", "stub.pdf").status_code == 303
        with clamd.stopped():
            run_jobs(database)
            [document] = docs(database, me.record)
            assert document.scan_status == "pending"  # fail closed
            assert me.get(f"/documents/{document.public_id}/download").status_code == 409
        clock.advance(timedelta(minutes=5))  # the retry's time
        run_jobs(database)
        [document] = docs(database, me.record)
        assert document.scan_status == "clean"
        # Five minutes on, the password again before a file opens (R27), then the file.
        opening = f"/documents/{document.public_id}/open"
        assert me.get(f"/documents/{document.public_id}/download").headers["Location"] == opening
        assert me.form(opening, {"password": TEST_PASSWORD}).status_code == 303
        assert me.get(f"/documents/{document.public_id}/download").status_code == 200


@pytest.mark.requirement("R66")
def test_a_store_killed_mid_upload_leaves_no_row_and_no_object(
    app, me, seaweedfs_instance, tmp_path, database
):
    import os
    import threading

    server = seaweedfs_instance()
    big = tmp_path / "big.pdf"
    with big.open("wb") as out:  # a real PDF PDFium opens, padded after its end to 150 MiB
        out.write(PDF + b"%%EOF\n%")
        block = os.urandom(1024 * 1024)
        for _ in range(150):
            out.write(block)

    def received() -> int:
        total = 0
        for folder, _, names in os.walk(server.data_dir):
            for name in names:
                with contextlib.suppress(OSError):  # a file the server is rewriting
                    total += os.path.getsize(os.path.join(folder, name))
        return total

    with settings_changed(app, **server.settings_overrides(), upload_max_mb=200):
        with app.app_context():
            store = get_store()
        sending = threading.Event()
        store.client.meta.events.register("before-send.s3.PutObject", lambda **_: sending.set())
        seen = {}

        def killer():
            if not sending.wait(60):
                return
            baseline = received()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and received() - baseline < 8 << 20:
                time.sleep(0.005)
            seen["received"] = received() - baseline
            server.kill()

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        with big.open("rb") as data:
            response = me.form(
                "/documents",
                {"category": "income", "file": (data, "big.pdf")},
                content_type="multipart/form-data",
            )
        thread.join(10)
        assert seen.get("received", 0) > 0, "killed before any byte arrived"
        assert response.status_code == 503 and "Not saved" in response.get_data(as_text=True)
        assert docs(database, me.record) == []
        server.start()  # same data and ports: what did the store keep?
        listing = server.client.list_objects_v2(Bucket=server.bucket, Prefix="documents/")
        assert listing.get("KeyCount", 0) == 0
