"""R70: backups that restore. Documents and a signed ROI made through the domain services,
`flask backup`, `flask restore` into a fresh, empty database and a fresh store, and
`flask check-documents`; then each check failing as it should.

Every install here has a database of its own (a SQLite file, or with TEST_DATABASE_URL a
PostgreSQL database made for it by the test role, which has CREATEDB, and dropped after) and
commits for real: pg_dump runs in another process and sees only what is committed."""

from __future__ import annotations

import io
import json
import shutil
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, inspect, select

from portal import create_app
from portal.domain import documents, esign
from portal.domain.core.roles import Role
from portal.domain.models import CareTeamMember, Document, Signature
from portal.extensions import db
from portal.integrations.storage import get_store
from tests.support import Factories, make_settings

PDF = (
    b"%PDF-1.4\n1 0 obj<</Pages 2 0 R>>endobj\n2 0 obj<</Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Parent 2 0 R>>endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
)
# What must never reach the commands' output: the client's names, e-mail, the signer's typed
# name and the files' names.
FIRST, LAST, SIGNER = "Zebulon", "Quartermaine", "Zebulon Q. Quartermaine"
UPLOAD_NAME, PHOTO_NAME = "zq-pay-stub.pdf", "zq-photo-id.png"


# --- databases and installs ------------------------------------------------------------------


class Install:
    """One portal: its own database, document store and instance folder."""

    def __init__(self, root: Path, database_url: str, **overrides):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.app = create_app(make_settings(root, database_url, **overrides))

    def cli(self, *args: str):
        return self.app.test_cli_runner().invoke(args=list(args))

    def migrate(self) -> Install:
        from flask_migrate import upgrade

        with self.app.app_context():
            upgrade()
        return self

    def tables(self) -> list[str]:
        with self.app.app_context():
            return inspect(db.engine).get_table_names()

    def counts(self) -> dict[str, int]:
        """Rows per table (not the audit log, which records the backup and the restore)."""
        with self.app.app_context():
            return {
                table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in db.metadata.sorted_tables
                if table.name != "audit_events"
            }

    def objects(self) -> list[str]:
        with self.app.app_context():
            from datetime import UTC, datetime

            return sorted(o.key for o in get_store().older_than(datetime(9999, 1, 1, tzinfo=UTC)))

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def installs(tmp_path_factory, new_database):
    """Factory: Install(...) on a new database; every one is closed at the end."""
    made: list[Install] = []

    def make(name: str, **overrides) -> Install:
        install = Install(tmp_path_factory.mktemp(name), new_database(), **overrides)
        made.append(install)
        return install

    yield make
    for install in made:
        install.close()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "PNG")
    return out.getvalue()


def make_records(install: Install) -> dict:
    """A client with a PDF they sent, a photo staff added and a signed ROI (its sealed PDF in
    the store too), all through the domain services and committed."""
    app = install.app
    with app.app_context():
        make = Factories(db.session)
        agency = make.agency()
        manager = make.staff(Role.CASE_MANAGER, agency, name="Casey Case")
        record = make.client(agency, first_name=FIRST, last_name=LAST, email="zq@client.test")
        account = make.client_account(agency, client=record)
        record.care_team.append(CareTeamMember(staff=manager, is_case_manager=True))
        db.session.commit()
        with app.test_request_context():
            sent = documents.client_upload(
                account,
                stream=io.BytesIO(PDF),
                filename=UPLOAD_NAME,
                category="income",
                title=None,
                key=None,
            )
            added = documents.staff_upload(
                manager,
                record,
                stream=io.BytesIO(png()),
                filename=PHOTO_NAME,
                category="photo_id",
                title=None,
                key=None,
            )
            request = esign.request_signature(manager, record)
            esign.accept_disclosure(account, agrees="yes", word=esign.sample_word(account))
            signature = esign.sign(
                account,
                request,
                intent="yes",
                typed_name=SIGNER,
                drawn="M10 10 L100 50 L200 20",
                password_recent=True,
                session_hash="a" * 64,
                authentication={"password": "2026-11-21T10:00:00+00:00"},
            )
            db.session.commit()
            facts = {
                "upload": (str(sent.public_id), sent.storage_key, sent.sha256),
                "photo": (str(added.public_id), added.storage_key, added.sha256),
                "signature": str(signature.public_id),
                "signed_pdf": db.session.get(Document, signature.pdf_document_id).storage_key,
                "email": account.email,
            }
    return facts


def backed_up(install: Install, dest: Path) -> tuple[Path, str]:
    result = install.cli("backup", str(dest))
    assert result.exit_code == 0, result.output
    [folder] = dest.iterdir()
    return folder, result.output


def bring_seal_certificate(source: Install, target: Install) -> None:
    """The operator's step: the deployment's seal certificate goes with its secrets, not in
    the backup. Verifying needs the certificate only, not the signing key."""
    (target.root / "esign").mkdir(exist_ok=True)
    shutil.copy(source.root / "esign" / "seal.crt", target.root / "esign" / "seal.crt")


def assert_no_pii(output: str, facts: dict) -> None:
    for value in (FIRST, LAST, "Quartermaine", facts["email"], UPLOAD_NAME, "zq-photo"):
        assert value not in output


@pytest.fixture(scope="module")
def source(installs, tmp_path_factory):
    """An install with records, and its backup (a local folder store)."""
    install = installs("r70-source").migrate()
    facts = make_records(install)
    folder, output = backed_up(install, tmp_path_factory.mktemp("r70-backups"))
    return install, folder, output, facts


@pytest.fixture
def damaged_copy(source, tmp_path):
    """A copy of the source's backup, to damage."""
    _install, folder, _output, _facts = source
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    return copy


# --- the round trip --------------------------------------------------------------------------


@pytest.mark.requirement("R70")
def test_a_backup_restores_into_an_empty_database_and_folder_and_everything_matches(
    source, installs
):
    install, folder, output, facts = source
    assert_no_pii(output, facts)
    assert "3 objects" in output
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {entry["key"]: entry["sha256"] for entry in manifest["objects"]}
    for _public_id, key, sha256 in (facts["upload"], facts["photo"]):
        assert listed[key] == sha256
    assert facts["signed_pdf"] in listed
    assert manifest["alembic_revision"] and manifest["database"]["sha256"]
    assert (folder / manifest["database"]["file"]).stat().st_mode & 0o077 == 0  # owner only

    target = installs("r70-target")
    assert target.tables() == []
    bring_seal_certificate(install, target)
    restored = target.cli("restore", str(folder))
    assert restored.exit_code == 0, restored.output
    assert "3 objects" in restored.output
    print(
        f"\nbackup: {output.splitlines()[-1].strip()}\nrestore: {restored.output.splitlines()[0]}"
    )

    assert target.counts() == install.counts()
    assert target.objects() == install.objects() == sorted(listed)
    checked = target.cli("check-documents")
    assert checked.exit_code == 0, checked.output
    assert "documents   3 checked" in checked.output and "signatures  1 checked" in checked.output
    assert "everything matches" in checked.output
    assert_no_pii(restored.output + checked.output, facts)
    with target.app.app_context():  # the restored signature verifies on its own too
        signature = db.session.scalar(select(Signature))
        assert str(signature.public_id) == facts["signature"]
        assert esign.verify(signature) == []

    again = target.cli("restore", str(folder))  # never over a database that has tables
    assert again.exit_code != 0 and "tables already" in again.output


@pytest.mark.requirement("R70")
def test_a_backup_of_an_s3_bucket_restores_into_a_new_bucket_and_everything_matches(
    seaweedfs, installs, tmp_path
):
    buckets = [f"r70-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for bucket in buckets:
        seaweedfs.client.create_bucket(Bucket=bucket)
    s3 = seaweedfs.settings_overrides()
    install = installs("r70-s3-source", **{**s3, "s3_bucket": buckets[0]}).migrate()
    facts = make_records(install)
    folder, output = backed_up(install, tmp_path / "backups")
    assert "3 objects" in output

    target = installs("r70-s3-target", **{**s3, "s3_bucket": buckets[1]})
    bring_seal_certificate(install, target)
    restored = target.cli("restore", str(folder))
    assert restored.exit_code == 0, restored.output
    print(
        f"\nbackup: {output.splitlines()[-1].strip()}\nrestore: {restored.output.splitlines()[0]}"
    )
    head = seaweedfs.client.head_object(Bucket=buckets[1], Key=facts["signed_pdf"])
    assert head["ContentType"] == "application/pdf"
    assert target.objects() == install.objects()
    checked = target.cli("check-documents")
    assert checked.exit_code == 0 and "everything matches" in checked.output, checked.output


# --- the checks fail when they should --------------------------------------------------------


@pytest.mark.requirement("R70")
def test_a_flipped_byte_in_a_restored_object_is_named_and_the_check_exits_1(source, installs):
    install, folder, _output, facts = source
    target = installs("r70-flipped")
    bring_seal_certificate(install, target)
    assert target.cli("restore", str(folder)).exit_code == 0
    stored = target.root / "documents" / facts["signed_pdf"]  # the local store's file
    data = bytearray(stored.read_bytes())
    data[len(data) // 3] ^= 0x01
    stored.write_bytes(bytes(data))

    checked = target.cli("check-documents")
    assert checked.exit_code == 1
    problems = checked.output.split("do not match:")[1]
    assert facts["signed_pdf"] in problems and "SHA-256 differs from the row" in problems
    assert f"signature {facts['signature']}" in problems
    assert "changed after it was signed" in problems
    for _public_id, key, _sha256 in (facts["upload"], facts["photo"]):
        assert key not in problems  # the others still match
    assert_no_pii(checked.output, facts)

    (target.root / "documents" / facts["upload"][1]).unlink()  # and a file gone altogether
    checked = target.cli("check-documents")
    assert checked.exit_code == 1
    assert f"document {facts['upload'][0]} ({facts['upload'][1]}): missing" in checked.output


@pytest.mark.parametrize("damage", ["an object deleted", "a byte of the dump flipped"])
def test_restore_refuses_a_backup_with_a_file_missing_or_changed_and_touches_nothing(
    source, installs, damaged_copy, damage
):
    _install, _folder, _output, facts = source
    manifest = json.loads((damaged_copy / "manifest.json").read_text())
    if damage == "an object deleted":
        named = facts["photo"][1]
        (damaged_copy / "objects" / named).unlink()
    else:
        named = manifest["database"]["file"]
        dump = damaged_copy / named
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0x01
        dump.write_bytes(bytes(data))
    target = installs("r70-refused")
    refused = target.cli("restore", str(damaged_copy))
    assert refused.exit_code != 0 and "Nothing was restored" in refused.output
    assert named in refused.output
    assert target.tables() == [] and target.objects() == []


def test_restore_refuses_a_half_made_backup_without_its_manifest(source, installs, damaged_copy):
    (damaged_copy / "manifest.json").unlink()
    target = installs("r70-unfinished")
    refused = target.cli("restore", str(damaged_copy))
    assert refused.exit_code != 0 and "did not finish" in refused.output
    assert target.tables() == [] and target.objects() == []


def test_restore_says_so_when_the_seal_certificate_is_not_in_place(source, installs):
    _install, folder, _output, facts = source
    target = installs("r70-no-seal")
    restored = target.cli("restore", str(folder))
    assert restored.exit_code == 0, restored.output
    assert "seal certificate" in restored.output
    assert_no_pii(restored.output, facts)


def test_a_backup_that_fails_half_way_leaves_nothing_behind(source, tmp_path):
    install, _folder, _output, _facts = source
    store = _StoreThatFails(install)
    install.app.extensions["portal.storage"] = store
    try:
        failed = install.cli("backup", str(tmp_path))
    finally:
        install.app.extensions["portal.storage"] = store.real
    assert failed.exit_code != 0 and "No backup was made" in failed.output
    assert store.opened == 2 and list(tmp_path.iterdir()) == []


class _StoreThatFails:
    """The install's store, cut off after the first object (as if S3 went away)."""

    def __init__(self, install: Install):
        with install.app.app_context():
            self.real = get_store()
        self.opened = 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def open(self, key: str):
        from portal.integrations.storage import StorageUnavailable

        self.opened += 1
        if self.opened > 1:
            raise StorageUnavailable(f"cannot read {key}: EndpointConnectionError")
        return self.real.open(key)
