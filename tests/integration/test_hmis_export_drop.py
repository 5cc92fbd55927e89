"""Issue 21, the daily drop: with HMIS_EXPORT_DROP naming an S3 prefix, the job makes each
active agency's export and puts it there (SeaweedFS over HTTP, the S3 API) for the HMIS to
pick up: once, under `<prefix><ExportID>.zip`, the stored export's bytes, encrypted at rest by
the server; a put that did not go is put by the next run.

The job commits itself (rows committed for real). The test thread holds no transaction while
the job runs: SQLite lets one connection write at a time."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile

import pytest
from sqlalchemy import select

from portal.domain import selfservice
from portal.domain.core import clock, crypto, jobs
from portal.domain.hmis.export import drop_job
from portal.domain.models import Client, HmisEntry, HmisExport, HmisUser, Job
from portal.integrations import s3_drop
from portal.integrations.storage import StorageUnavailable
from tests.integration.test_hmis_bridge_out import enroll
from tests.support import free_port

pytestmark = pytest.mark.real_commits

PREFIX = "hmis-out/"


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def bucket(seaweedfs):
    """A bucket of its own in the session's SeaweedFS, emptied and removed afterwards."""
    name = f"hmis-drop-{uuid.uuid4().hex[:8]}"
    seaweedfs.client.create_bucket(Bucket=name)
    yield name
    for key in keys(seaweedfs, name):
        seaweedfs.client.delete_object(Bucket=name, Key=key)
    seaweedfs.client.delete_bucket(Bucket=name)


@pytest.fixture
def settings_of(app, monkeypatch, seaweedfs, bucket):
    """`settings_of(drop=True, endpoint=None)` makes the running app's settings: the
    SeaweedFS connection (not the document store: storage_backend stays), HMIS_EXPORT_DROP
    on or off, another endpoint when given."""
    original = app.extensions["portal.settings"]
    connection = {k: v for k, v in seaweedfs.settings_overrides().items() if k != "storage_backend"}

    def change(*, drop: bool = True, endpoint: str | None = None) -> None:
        overrides = dict(connection)
        overrides["hmis_export_drop"] = f"s3://{bucket}/{PREFIX}" if drop else ""
        if endpoint is not None:
            overrides["s3_endpoint_url"] = endpoint
        monkeypatch.setitem(app.extensions, "portal.settings", original.with_overrides(**overrides))

    return change


@pytest.fixture
def puts(monkeypatch):
    """Every put the job asks for, as (url, name, bytes); the real put is made."""
    made: list[tuple[str, str, bytes]] = []
    real = s3_drop.put_bytes

    def spy(settings, url, name, content):
        made.append((url, name, content))
        return real(settings, url, name, content)

    monkeypatch.setattr(s3_drop, "put_bytes", spy)
    return made


@pytest.fixture
def hmis_user(database):
    """Each agency `agency_with_a_check_in` makes gets the HMIS's default user 29, as its
    import of the HMIS's User.csv would bring it."""
    return "29"


def agency_with_a_check_in(make, database) -> int:
    """An agency whose default HMIS user is 29 and one of whose clients, enrolled in an open
    street-outreach project, checked in: one change waits to be exported."""
    agency = make.agency()
    database.session.flush()
    database.session.add(
        HmisUser(
            agency_id=agency.id,
            hud_user_id="29",
            first_name="Intake",
            last_name="Desk",
            imported_at=clock.now(),
        )
    )
    agency.hmis_user_id = "29"
    database.session.commit()
    account = make.client_account(agency)
    enroll(database, database.session.get(Client, account.client_id), agency)
    selfservice.check_in(account)
    database.session.commit()
    return agency.id


# --- helpers ---------------------------------------------------------------------------


def keys(seaweedfs, bucket) -> list[str]:
    listing = seaweedfs.client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def exports_of(database, agency_id=None) -> list[HmisExport]:
    query = select(HmisExport).order_by(HmisExport.id)
    if agency_id is not None:
        query = query.where(HmisExport.agency_id == agency_id)
    found = list(database.session.scalars(query).unique())
    database.session.remove()  # no transaction held while the job runs (SQLite)
    return found


def run_drop(database) -> None:
    database.session.remove()
    drop_job({})
    database.session.remove()


# --- the tests -------------------------------------------------------------------------


def test_with_the_setting_off_the_job_does_nothing(
    database, make, hmis_user, settings_of, puts, seaweedfs, bucket
):
    agency_id = agency_with_a_check_in(make, database)
    settings_of(drop=False)

    run_drop(database)

    assert puts == [] and keys(seaweedfs, bucket) == []
    assert exports_of(database) == []
    waiting = database.session.scalars(select(HmisEntry)).all()
    assert [(e.agency_id, e.export_id) for e in waiting] == [(agency_id, None)]


def test_an_agency_with_changes_waiting_gets_one_export_put_once(
    database, make, hmis_user, settings_of, puts, seaweedfs, bucket
):
    busy_id = agency_with_a_check_in(make, database)
    idle_id = make.agency().id  # active, nothing waiting
    settings_of()

    run_drop(database)

    [export] = exports_of(database)
    assert export.agency_id == busy_id and export.made_through == "job"
    assert exports_of(database, idle_id) == []  # nothing waiting: no export
    key = f"{PREFIX}{export.hud_export_id}.zip"
    assert keys(seaweedfs, bucket) == [key]
    content = crypto.decrypt_bytes(export.content_encrypted)
    stored = seaweedfs.client.get_object(Bucket=bucket, Key=key)
    assert stored["Body"].read() == content
    assert stored["ContentType"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        [row] = csv.DictReader(io.StringIO(archive.read("Export.csv").decode("utf-8")))
    assert row["ExportID"] == export.hud_export_id
    # Server-side encryption requested (S3_SSE is AES256 here). SeaweedFS (weed 4.48) echoes
    # `x-amz-server-side-encryption: AES256` on HEAD only for an object put with that header
    # (an object put without it answers with none, tried by hand), so this shows the request.
    head = seaweedfs.client.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentLength"] == export.size == len(content)
    assert export.dropped_at is not None
    entries = database.session.scalars(select(HmisEntry)).all()
    assert [e.export_id for e in entries] == [export.id]
    database.session.remove()
    assert [(url, name, body) for url, name, body in puts] == [
        (f"s3://{bucket}/{PREFIX}", f"{export.hud_export_id}.zip", content)
    ]

    run_drop(database)  # the next day: nothing new waiting, nothing left to put

    assert len(puts) == 1
    assert keys(seaweedfs, bucket) == [key]
    [again] = exports_of(database)
    assert (again.id, again.dropped_at) == (export.id, export.dropped_at)


def test_a_put_that_did_not_go_is_put_by_the_next_run(
    database, make, hmis_user, settings_of, puts, seaweedfs, bucket
):
    agency_with_a_check_in(make, database)
    settings_of(endpoint=f"http://127.0.0.1:{free_port()}")  # nothing listens there

    with pytest.raises(StorageUnavailable):
        run_drop(database)
    database.session.remove()

    [export] = exports_of(database)  # made and committed before the put
    assert export.dropped_at is None and export.content_encrypted is not None
    content = crypto.decrypt_bytes(export.content_encrypted)
    assert keys(seaweedfs, bucket) == []

    # The worker's run of it (as a reader first): it fails and is queued again, the error
    # named by its class only.
    jobs.enqueue("hmis.exports_drop", {})
    database.session.commit()
    database.session.remove()
    assert jobs.run_one() is True
    database.session.remove()
    job = database.session.scalar(select(Job).where(Job.kind == "hmis.exports_drop"))
    assert (job.status, job.attempts, job.last_error) == ("queued", 1, "StorageUnavailable")
    assert [e.dropped_at for e in exports_of(database)] == [None]

    settings_of()  # the endpoint is back
    run_drop(database)

    [dropped] = exports_of(database)
    assert dropped.id == export.id and dropped.dropped_at is not None
    key = f"{PREFIX}{export.hud_export_id}.zip"
    assert keys(seaweedfs, bucket) == [key]
    assert seaweedfs.client.get_object(Bucket=bucket, Key=key)["Body"].read() == content
    # every attempt asked to put the same bytes under the same name
    assert {(name, body) for _, name, body in puts} == {(f"{export.hud_export_id}.zip", content)}
    assert len(puts) == 3
