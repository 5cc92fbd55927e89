"""The document stores against real back ends: a local folder and SeaweedFS (S3), no mocks."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import stat
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from flask import Flask

from portal.integrations.storage import (
    LocalStore,
    ObjectExists,
    ObjectMissing,
    S3Store,
    StorageUnavailable,
    StoredObject,
    content_disposition,
    get_store,
    make_store,
)
from tests.components import free_port
from tests.support import make_settings


def new_key(prefix: str = "documents/2026/11") -> str:
    return f"{prefix}/{uuid.uuid4().hex}"


def write_file(folder: Path, data: bytes) -> tuple[Path, bytes]:
    path = folder / f"upload-{uuid.uuid4().hex}.bin"
    path.write_bytes(data)
    return path, hashlib.sha256(data).digest()


def read_all(stream, chunk: int = 64 * 1024) -> bytes:
    parts = []
    try:
        while part := stream.read(chunk):
            parts.append(part)
    finally:
        stream.close()
    return b"".join(parts)


def http_get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - test URLs
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def s3_settings(tmp_path: Path, server, **overrides):
    return make_settings(tmp_path, "sqlite://", **{**server.settings_overrides(), **overrides})


@pytest.fixture
def s3_store(seaweedfs, tmp_path) -> S3Store:
    return S3Store(s3_settings(tmp_path, seaweedfs))


@pytest.fixture
def local_store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "documents")


@pytest.fixture
def uploads(tmp_path) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


# --- S3 (SeaweedFS) --------------------------------------------------------------------------


def test_s3_put_open_head_delete_round_trip(s3_store, uploads):
    data = os.urandom(300_000)
    path, digest = write_file(uploads, data)
    key = new_key()
    before = datetime.now(UTC) - timedelta(seconds=2)

    s3_store.put(key, path, sha256=digest, content_type="application/pdf")

    found = s3_store.head(key)
    assert isinstance(found, StoredObject)
    assert found.key == key and found.size == len(data)
    assert found.last_modified.utcoffset() == timedelta(0)
    assert before <= found.last_modified <= datetime.now(UTC) + timedelta(seconds=2)
    assert read_all(s3_store.open(key), chunk=10_000) == data

    s3_store.delete(key)
    assert s3_store.head(key) is None
    s3_store.delete(key)  # idempotent
    with pytest.raises(ObjectMissing):
        s3_store.open(key)
    s3_store.check()


@pytest.mark.requirement("R66")
def test_s3_wrong_sha256_is_refused_by_the_server_and_leaves_nothing(s3_store, seaweedfs, uploads):
    path, _ = write_file(uploads, b"%PDF-1.7 the real bytes")
    key = new_key()

    with pytest.raises(StorageUnavailable, match="BadDigest"):
        s3_store.put(
            key, path, sha256=hashlib.sha256(b"other").digest(), content_type="application/pdf"
        )

    assert s3_store.head(key) is None
    listing = seaweedfs.client.list_objects_v2(Bucket=seaweedfs.bucket, Prefix=key)
    assert listing.get("KeyCount", 0) == 0


@pytest.mark.requirement("R48")
def test_s3_objects_are_encrypted_at_rest_with_our_checksum(s3_store, seaweedfs, uploads):
    path, digest = write_file(uploads, b"hello")
    key = new_key()
    s3_store.put(key, path, sha256=digest, content_type="image/jpeg")

    head = seaweedfs.client.head_object(Bucket=seaweedfs.bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "image/jpeg"
    assert head["ChecksumSHA256"] == base64.b64encode(digest).decode()
    s3_store.delete(key)


@pytest.mark.requirement("R48")
def test_s3_bucket_is_private(s3_store, seaweedfs, uploads):
    path, digest = write_file(uploads, b"secret")
    key = new_key()
    s3_store.put(key, path, sha256=digest, content_type="text/plain")

    assert http_get(f"{seaweedfs.endpoint}/{seaweedfs.bucket}/{key}")[0] == 403
    assert http_get(f"{seaweedfs.endpoint}/{seaweedfs.bucket}/")[0] == 403
    s3_store.delete(key)


@pytest.mark.requirement("R26", "R47")
def test_s3_presigned_get_serves_the_file_as_an_attachment(s3_store, uploads):
    data = b"%PDF-1.7 presigned"
    path, digest = write_file(uploads, data)
    key = new_key()
    s3_store.put(key, path, sha256=digest, content_type="application/octet-stream")

    url = s3_store.presigned_url(key, filename="Café niño.pdf", content_type="application/pdf")
    status, headers, body = http_get(url)

    assert status == 200 and body == data
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Caf%C3%A9%20ni%C3%B1o.pdf" in disposition
    assert headers["Content-Type"] == "application/pdf"
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["60"]
    long = s3_store.presigned_url(
        key, filename="a.pdf", content_type="application/pdf", expires=3600
    )
    assert parse_qs(urlsplit(long).query)["X-Amz-Expires"] == ["60"]
    s3_store.delete(key)


@pytest.mark.requirement("R48")
def test_s3_presigned_get_refuses_tampering_and_expiry(s3_store, uploads):
    path, digest = write_file(uploads, b"data")
    key = new_key()
    s3_store.put(key, path, sha256=digest, content_type="text/plain")
    url = s3_store.presigned_url(key, filename="a.txt", content_type="text/plain")

    marker = "X-Amz-Signature="
    at = url.index(marker) + len(marker)
    tampered = url[:at] + ("0" if url[at] != "0" else "1") + url[at + 1 :]
    assert http_get(tampered)[0] == 403
    other_key = url.replace(key, new_key())  # a valid signature for another object
    assert http_get(other_key)[0] == 403

    short = s3_store.presigned_url(key, filename="a.txt", content_type="text/plain", expires=1)
    time.sleep(2.1)
    status, _, body = http_get(short)
    assert status == 403 and b"expired" in body.lower()
    s3_store.delete(key)


def test_s3_older_than_lists_only_objects_before_the_cutoff(s3_store, uploads):
    prefix = f"test/older/{uuid.uuid4().hex}"
    path, digest = write_file(uploads, b"x")
    old, new = f"{prefix}/old", f"{prefix}/new"
    s3_store.put(old, path, sha256=digest, content_type="text/plain")
    time.sleep(1.1)  # S3 timestamps have whole seconds
    cutoff = datetime.now(UTC)
    time.sleep(1.1)
    s3_store.put(new, path, sha256=digest, content_type="text/plain")

    listed = {item.key: item for item in s3_store.older_than(cutoff)}
    assert old in listed and new not in listed
    assert listed[old].size == 1 and listed[old].last_modified < cutoff
    everything = {item.key for item in s3_store.older_than(datetime.now(UTC) + timedelta(hours=1))}
    assert {old, new} <= everything
    for key in (old, new):
        s3_store.delete(key)


def test_s3_failures_are_storage_unavailable(seaweedfs, tmp_path, uploads):
    path, digest = write_file(uploads, b"data")
    wrong_secret = S3Store(s3_settings(tmp_path, seaweedfs, s3_secret_access_key="not-it"))
    with pytest.raises(StorageUnavailable, match="SignatureDoesNotMatch"):
        wrong_secret.put(new_key(), path, sha256=digest, content_type="text/plain")
    with pytest.raises(StorageUnavailable):
        S3Store(s3_settings(tmp_path, seaweedfs, s3_bucket="no-such-bucket")).check()
    nowhere = S3Store(
        s3_settings(tmp_path, seaweedfs, s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    )
    with pytest.raises(StorageUnavailable):
        nowhere.check()
    with pytest.raises(StorageUnavailable):
        nowhere.head(new_key())


def test_s3_upload_killed_midway_fails_and_leaves_no_object(seaweedfs_instance, tmp_path, uploads):
    server = seaweedfs_instance()
    store = S3Store(s3_settings(tmp_path, server))
    block = os.urandom(1024 * 1024)
    path = uploads / "big.bin"
    with open(path, "wb") as out:
        for _ in range(200):  # 200 MiB: a put takes ~1 s here, long enough to cut it short
            out.write(block)
    digest = hashlib.sha256(block * 200).digest()
    key = new_key()

    def stored_bytes() -> int:
        total = 0
        for folder, _, names in os.walk(server.data_dir):
            for name in names:
                with contextlib.suppress(OSError):
                    total += os.path.getsize(os.path.join(folder, name))
        return total

    sending = threading.Event()

    def on_send(**_):
        sending.set()  # returns None: botocore goes on and sends the request

    store.client.meta.events.register("before-send.s3.PutObject", on_send)
    seen = {}

    def killer():
        if not sending.wait(30):
            return
        baseline = stored_bytes()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and stored_bytes() - baseline < 16 * 1024 * 1024:
            time.sleep(0.005)
        seen["received"] = stored_bytes() - baseline
        server.kill()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    with pytest.raises(StorageUnavailable):
        store.put(key, path, sha256=digest, content_type="application/pdf")
    thread.join(10)
    assert seen.get("received", 0) > 0, "the server was killed before any data arrived"

    server.start()  # same data dir and ports
    fresh = S3Store(s3_settings(tmp_path, server))
    assert fresh.head(key) is None
    listing = server.client.list_objects_v2(Bucket=server.bucket)
    assert key not in {item["Key"] for item in listing.get("Contents", ())}
    small, small_digest = write_file(uploads, b"after the restart")
    fresh.put(key, small, sha256=small_digest, content_type="text/plain")
    assert read_all(fresh.open(key)) == b"after the restart"


# --- the local folder ----------------------------------------------------------------------


def test_local_put_open_head_delete_round_trip(local_store, uploads):
    data = os.urandom(200_000)
    path, digest = write_file(uploads, data)
    key = new_key()

    local_store.put(key, path, sha256=digest, content_type="application/pdf")

    stored = local_store.root / key
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    for folder in (local_store.root / "documents", stored.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    found = local_store.head(key)
    assert found.key == key and found.size == len(data)
    assert found.last_modified.tzinfo is not None
    assert abs(found.last_modified - datetime.now(UTC)) < timedelta(seconds=10)
    assert read_all(local_store.open(key), chunk=7_000) == data
    assert local_store.presigned_url(key, filename="a.pdf", content_type="application/pdf") is None

    local_store.delete(key)
    assert local_store.head(key) is None
    local_store.delete(key)  # idempotent
    with pytest.raises(ObjectMissing):
        local_store.open(key)
    local_store.check()


def test_local_checksum_mismatch_is_refused_and_leaves_no_file(local_store, uploads):
    path, _ = write_file(uploads, b"the real bytes")
    key = new_key()

    with pytest.raises(StorageUnavailable, match="checksum"):
        local_store.put(key, path, sha256=hashlib.sha256(b"other").digest(), content_type="x/y")

    assert local_store.head(key) is None
    leftovers = [name for _, _, names in os.walk(local_store.root) for name in names]
    assert leftovers == []  # no object, no temp file


def test_local_objects_appear_whole_or_not_at_all(local_store, uploads):
    """A reader racing a put sees no object or the whole object, never a part of it."""
    data = b"A" * 4_000_000
    path, digest = write_file(uploads, data)
    keys = [new_key() for _ in range(10)]
    seen: list[bytes] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            for key in keys:
                with contextlib.suppress(ObjectMissing):
                    seen.append(read_all(local_store.open(key), chunk=100_000))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for key in keys:
            local_store.put(key, path, sha256=digest, content_type="x/y")
    finally:
        stop.set()
        thread.join(10)
    assert seen and all(content == data for content in seen)


@pytest.mark.parametrize("which", ["local", "s3"])
@pytest.mark.requirement("R55")
def test_stores_are_write_once(which, request, uploads):
    """R55: an object is never replaced; the second put fails and the first bytes stay."""
    store = request.getfixturevalue("local_store" if which == "local" else "s3_store")
    first_path, first_digest = write_file(uploads, b"signed copy")
    second_path, second_digest = write_file(uploads, b"forged copy")
    key = new_key("signed/2026/11")
    store.put(key, first_path, sha256=first_digest, content_type="application/pdf")
    with pytest.raises(ObjectExists):
        store.put(key, second_path, sha256=second_digest, content_type="application/pdf")
    assert read_all(store.open(key)) == b"signed copy"


def test_local_older_than_skips_newer_files_and_temp_files(local_store, uploads):
    path, digest = write_file(uploads, b"x")
    old, new = new_key(), new_key()
    local_store.put(old, path, sha256=digest, content_type="x/y")
    local_store.put(new, path, sha256=digest, content_type="x/y")
    long_ago = time.time() - 3 * 86400
    os.utime(local_store.root / old, (long_ago, long_ago))
    temp = (local_store.root / old).parent / ".upload-abandoned.part"
    temp.write_bytes(b"partial")
    os.utime(temp, (long_ago, long_ago))

    listed = list(local_store.older_than(datetime.now(UTC) - timedelta(days=1)))

    assert [item.key for item in listed] == [old]
    assert listed[0].size == 1
    assert listed[0].last_modified < datetime.now(UTC) - timedelta(days=2)
    assert list(LocalStore(local_store.root / "never-made").older_than(datetime.now(UTC))) == []


def test_local_check_fails_when_the_folder_cannot_be_made(tmp_path, uploads):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    store = LocalStore(blocker / "documents")
    with pytest.raises(StorageUnavailable):
        store.check()
    path, digest = write_file(uploads, b"x")
    with pytest.raises(StorageUnavailable):
        store.put(new_key(), path, sha256=digest, content_type="x/y")


# --- keys ------------------------------------------------------------------------------------

BAD_KEYS = [
    "",
    "../etc/passwd",
    "documents/../../etc/passwd",
    "documents/..",
    "/documents/x",
    "/etc/passwd",
    "Documents/x",
    "documents/ABC",
    "documents//x",
    "documents/x/",
    "documents/x.pdf",
    "documents/x\n",
    "documents\\x",
    "documents/x y",
    "documents/é",
    "-x" + "a" * 201,
    "a" * 202,
]


@pytest.fixture(scope="module")
def offline_s3(tmp_path_factory) -> S3Store:
    """An S3 store pointing at nothing: refusing a key needs no network."""
    return S3Store(
        make_settings(
            tmp_path_factory.mktemp("offline"),
            "sqlite://",
            storage_backend="s3",
            s3_bucket="b",
            s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
            s3_access_key_id="k",
            s3_secret_access_key="s",
        )
    )


@pytest.mark.parametrize("key", BAD_KEYS)
def test_both_stores_refuse_bad_keys(key, local_store, offline_s3, tmp_path, uploads):
    path, digest = write_file(uploads, b"x")
    for store in (local_store, offline_s3):
        with pytest.raises(ValueError):
            store.put(key, path, sha256=digest, content_type="x/y")
        with pytest.raises(ValueError):
            store.open(key)
        with pytest.raises(ValueError):
            store.head(key)
        with pytest.raises(ValueError):
            store.delete(key)
        with pytest.raises(ValueError):
            store.presigned_url(key, filename="a", content_type="x/y")
    assert not any(tmp_path.glob("etc"))


def test_longest_key_is_accepted(local_store, uploads):
    key = "a" * 201
    path, digest = write_file(uploads, b"x")
    local_store.put(key, path, sha256=digest, content_type="x/y")
    assert local_store.head(key).size == 1


# --- Content-Disposition -----------------------------------------------------------------------


def _parts(header: str) -> tuple[str, str]:
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    encoded = header.split("filename*=UTF-8''", 1)[1]
    return fallback, encoded


@pytest.mark.parametrize(
    ("filename", "fallback", "decoded"),
    [
        ("report.pdf", "report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini", "boot.ini"),
        ('a"\r\nX: y.pdf', "a_X: y.pdf", 'a"X: y.pdf'),
        ("Café niño.pdf", "Cafe nino.pdf", "Café niño.pdf"),
        ("", "document", "document"),
        ("..", "document", "document"),
        ("\r\n", "document", "document"),
        ("证件.jpg", "document.jpg", "证件.jpg"),
        ("evil\u202egpj.exe", "evilgpj.exe", "evilgpj.exe"),
        ("semi;colon\\back.txt", "back.txt", "back.txt"),
        ("semi;colon%.txt", "semi_colon.txt", "semi;colon%.txt"),
    ],
)
@pytest.mark.requirement("R47")
def test_content_disposition(filename, fallback, decoded):
    header = content_disposition(filename)
    assert "\r" not in header and "\n" not in header
    header.encode("ascii")  # the whole value is plain ASCII
    got_fallback, encoded = _parts(header)
    assert got_fallback == fallback
    assert not set(got_fallback) & set('"\\;')
    assert all(" " <= ch <= "~" for ch in got_fallback)
    assert unquote(encoded) == decoded
    assert " " not in encoded and "'" not in encoded


# --- wiring ----------------------------------------------------------------------------------


def test_make_store_and_get_store_follow_the_settings(tmp_path, seaweedfs):
    local_settings = make_settings(tmp_path, "sqlite://")
    store = make_store(local_settings)
    assert isinstance(store, LocalStore)
    assert store.root == local_settings.resolved_storage_path.resolve()
    assert isinstance(make_store(s3_settings(tmp_path, seaweedfs)), S3Store)
    with pytest.raises(ValueError):
        make_store(make_settings(tmp_path, "sqlite://", storage_backend="ftp"))

    app = Flask(__name__)
    app.extensions["portal.settings"] = s3_settings(tmp_path, seaweedfs)
    with app.app_context():
        first = get_store()
        assert isinstance(first, S3Store) and get_store() is first
        assert app.extensions["portal.storage"] is first
        first.check()


def test_s3_knows_whether_a_key_holds_exactly_these_bytes(s3_store, uploads):
    """After a retried conditional put answers 412, the store is asked whether the object is
    this put's own (same SHA-256): then the put succeeded, else it is someone else's."""
    path, digest = write_file(uploads, b"the signed copy")
    key = new_key("signed/2026/11")
    s3_store.put(key, path, sha256=digest, content_type="application/pdf")
    assert s3_store._holds(key, digest)
    assert not s3_store._holds(key, hashlib.sha256(b"another").digest())
    assert not s3_store._holds(new_key(), digest)
