"""Where document files live: a local folder or any S3-compatible store, behind one interface.

The domain code generates the keys (random, e.g. "documents/2026/11/<32 hex>"); a store refuses
anything else with ValueError, so a key can never climb out of its folder or bucket.

Every write is verified and all-or-nothing:
- LocalStore hashes while copying into a temp file beside the destination, refuses a SHA-256
  that differs from the one the caller computed, fsyncs, then hard-links it into place (the
  object appears whole or not at all, and a link never replaces an existing file).
- S3Store sends the caller's SHA-256 as `x-amz-checksum-sha256` in ONE PutObject request, so the
  server itself refuses a body that does not match (BadDigest). Measured against SeaweedFS 4.48:
  a wrong ChecksumSHA256 is refused with 400 BadDigest and nothing is stored (HEAD 404); a wrong
  Content-MD5 is refused the same way. Because the SHA-256 is verified, no Content-MD5 is sent.
  AWS S3 verifies both headers as documented.

Stores are write-once: no object is ever replaced (ObjectExists, the stored object untouched).
S3Store sends `If-None-Match: *` (S3 conditional writes; SeaweedFS answers a second PUT with 412
PreconditionFailed, measured); `S3_WRITE_ONCE=0` leaves it out for a store without them.

boto3 >= 1.36 "flexible checksums": by default botocore adds its own CRC32 header to every
upload that does not name a checksum. `request_checksum_calculation="when_required"` turns that
off, so each PutObject carries exactly one checksum: ours (measured on the wire: only
`x-amz-checksum-sha256`). `response_checksum_validation="when_supported"` keeps download
verification on: GetObject asks for the stored checksum and botocore checks it once the stream
has been read to the end (a mismatch surfaces as StorageUnavailable from `read()`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9/_-]{0,200}")
PRESIGNED_MAX_SECONDS = 60
_COPY_CHUNK = 1024 * 1024
_TEMP_PREFIX = ".upload-"  # a dot never appears in a key, so temp files can never be objects
_EXTENSION_KEY = "portal.storage"
_build_lock = threading.Lock()


class StorageUnavailable(Exception):
    """The store could not be reached, timed out, refused the request or the checksum."""


class ObjectMissing(Exception):
    """No object under that key."""


class ObjectExists(StorageUnavailable):
    """An object is already stored under the key: stores are write-once, nothing was written
    and the stored object is untouched (keys are random, so this means a bug or an attack)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime  # timezone-aware, UTC


class ObjectStore(Protocol):
    def put(self, key: str, path: Path, *, sha256: bytes, content_type: str) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def head(self, key: str) -> StoredObject | None: ...

    def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 60
    ) -> str | None: ...

    def older_than(self, cutoff: datetime) -> Iterator[StoredObject]: ...

    def check(self) -> None: ...


def validate_key(key: str) -> str:
    """The key itself, or ValueError: lowercase letters, digits, "/", "_", "-" only."""
    if (
        not isinstance(key, str)
        or not KEY_PATTERN.fullmatch(key)
        or ".." in key
        or "//" in key
        or key.endswith("/")
    ):
        raise ValueError(f"unacceptable storage key: {key!r}")
    return key


def _is_key(name: str) -> bool:
    try:
        validate_key(name)
    except ValueError:
        return False
    return True


def _utc(moment: datetime) -> datetime:
    """Aware datetimes in UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- Content-Disposition -----------------------------------------------------------------

_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_FALLBACK_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\;%]')
_FALLBACK_NAME = "document"


def _clean_filename(filename: str) -> str:
    """The last path component, NFC, without control/format characters (CR, LF, NUL, RLO…)."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _UNSAFE_CATEGORIES)
    name = " ".join(name.split())  # any run of whitespace becomes one space
    name = name.strip(" .")
    return name[:200]


def _ascii_fallback(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_name = _FALLBACK_UNSAFE.sub("_", ascii_name)
    stem, dot, extension = ascii_name.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,10}", extension):
        stem, extension = ascii_name, ""
    stem = stem.strip(" ._")
    if not re.search(r"[A-Za-z0-9]", stem):
        stem = _FALLBACK_NAME
    return f"{stem}.{extension}" if extension else stem


def content_disposition(filename: str) -> str:
    """RFC 6266: 'attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded>'.

    The ASCII fallback replaces anything outside printable ASCII and the characters " \\ ; %;
    control characters (CR/LF included) are dropped from both forms, as is any folder part.
    Empty or unusable names become "document".
    """
    name = _clean_filename(filename) or _FALLBACK_NAME
    fallback = _ascii_fallback(name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- a local folder ----------------------------------------------------------------------


def _makedirs(path: Path, root: Path) -> None:
    """Create `path` (inside `root`) level by level, each new folder 0o700."""
    missing = []
    current = path
    while current != root and not current.exists():
        missing.append(current)
        current = current.parent
    if not root.exists():
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    """Files under one folder (development, small single-server deployments)."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # Belt and braces: the key pattern already rules out escaping the root.
        if self.root not in path.parents:
            raise ValueError(f"unacceptable storage key: {key!r}")
        return path

    def put(self, key: str, path: Path, *, sha256: bytes, content_type: str) -> None:
        destination = self._path(key)
        temp_name = None
        try:
            _makedirs(destination.parent, self.root)
            fd, temp_name = tempfile.mkstemp(
                prefix=_TEMP_PREFIX, suffix=".part", dir=destination.parent
            )  # mode 0o600
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
                while chunk := source.read(_COPY_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                if not hmac.compare_digest(digest.digest(), sha256):
                    raise StorageUnavailable(f"checksum mismatch storing {key}")
                os.fsync(out.fileno())
            try:  # write-once: a link fails where a file exists, and appears complete or not
                os.link(temp_name, destination)
            except FileExistsError:
                raise ObjectExists(f"an object is already stored under {key}") from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot store {key}: {exc.strerror or exc}") from exc
        finally:
            if temp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name)
        # The object is complete and in place; syncing its folder only matters for power loss.
        with contextlib.suppress(OSError):
            _fsync_dir(destination.parent)

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            return open(path, "rb")  # the caller closes the stream
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectMissing(key) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key}: {exc.strerror or exc}") from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {key}: {exc.strerror or exc}") from exc

    def head(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageUnavailable(f"cannot stat {key}: {exc.strerror or exc}") from exc
        if not path.is_file():
            return None
        return StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 60
    ) -> str | None:
        validate_key(key)
        return None  # the app streams local files itself

    def older_than(self, cutoff: datetime) -> Iterator[StoredObject]:
        cutoff = _utc(cutoff)
        if not self.root.exists():
            return

        def fail(exc: OSError) -> None:
            raise StorageUnavailable(f"cannot list {self.root}: {exc.strerror or exc}") from exc

        for folder, _dirs, files in os.walk(self.root, onerror=fail):
            for name in files:
                path = Path(folder, name)
                key = path.relative_to(self.root).as_posix()
                if not _is_key(key):  # temp files and anything not put here
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    fail(exc)
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                if modified < cutoff:
                    yield StoredObject(key, stat.st_size, modified)

    def check(self) -> None:
        try:
            _makedirs(self.root, self.root)
            with tempfile.TemporaryFile(prefix=_TEMP_PREFIX, dir=self.root) as probe:
                probe.write(b"ok")
        except OSError as exc:
            raise StorageUnavailable(f"{self.root} is not writable: {exc.strerror or exc}") from exc


# --- S3 and compatible stores ------------------------------------------------------------


def _client_error_code(exc) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_not_found(exc) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _client_error_code(exc) in {"NoSuchKey", "404", "NotFound"} or status == 404


class _S3Stream(io.RawIOBase):
    """A GetObject body; failures (cut connection, bad checksum) become StorageUnavailable."""

    def __init__(self, body, key: str, errors: tuple[type[BaseException], ...]):
        super().__init__()
        self._body = body
        self._key = key
        self._errors = errors

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except self._errors as exc:
            raise StorageUnavailable(f"reading {self._key} failed: {exc}") from exc
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class S3Store:
    """One bucket of an S3-compatible store (AWS, SeaweedFS, MinIO, Ceph…)."""

    def __init__(self, settings):
        import boto3
        import botocore.exceptions
        import urllib3.exceptions
        from botocore.config import Config

        if not settings.s3_bucket:
            raise ValueError("S3 storage needs a bucket (S3_BUCKET)")
        self.bucket = settings.s3_bucket
        self.sse = settings.s3_sse
        self.sse_kms_key_id = settings.s3_sse_kms_key_id
        self.write_once = settings.s3_write_once
        self._ClientError = botocore.exceptions.ClientError
        self._errors: tuple[type[BaseException], ...] = (
            botocore.exceptions.BotoCoreError,
            botocore.exceptions.ClientError,
            urllib3.exceptions.HTTPError,
            OSError,
        )
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": settings.s3_addressing_style or "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            # See the module docstring: only our SHA-256 goes up, downloads are verified.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_supported",
        )
        options: dict = {"region_name": settings.s3_region or None, "config": config}
        if settings.s3_endpoint_url:
            options["endpoint_url"] = settings.s3_endpoint_url
        if settings.s3_access_key_id and settings.s3_secret_access_key:
            options["aws_access_key_id"] = settings.s3_access_key_id
            options["aws_secret_access_key"] = settings.s3_secret_access_key
        # A session of our own: boto3's default session is shared, mutable global state.
        self.client = boto3.session.Session().client("s3", **options)

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r})"

    @property
    def transport_errors(self) -> tuple[type[BaseException], ...]:
        """What a call on `client` raises when the store cannot be reached or refuses it (for
        code that uses the client for another bucket: the HMIS landing place and drop)."""
        return self._errors

    def put(self, key: str, path: Path, *, sha256: bytes, content_type: str) -> None:
        validate_key(key)
        if len(sha256) != 32:
            raise ValueError("sha256 must be the 32-byte digest")
        extra: dict = {}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
            if self.sse == "aws:kms" and self.sse_kms_key_id:
                extra["SSEKMSKeyId"] = self.sse_kms_key_id
        if self.write_once:
            extra["IfNoneMatch"] = "*"  # never replace an object (S3 conditional writes)
        try:
            with open(path, "rb") as body:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    ChecksumSHA256=base64.b64encode(sha256).decode("ascii"),
                    **extra,
                )
        except self._ClientError as exc:
            error = exc.response.get("Error", {})
            meta = exc.response.get("ResponseMetadata", {})
            status = meta.get("HTTPStatusCode") or 0
            retried = bool(meta.get("RetryAttempts"))
            if error.get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                if retried and self._holds(key, sha256):
                    return  # an earlier attempt of this very put got through
                # An object under the key (or one being written): someone else's, left alone.
                raise ObjectExists(f"an object is already stored under {key}") from exc
            if retried or not 400 <= status < 500:
                # A 4xx to the only attempt stored nothing; after a retry or a 5xx an attempt
                # may have, and the key is this put's own (random): make sure it is gone.
                with contextlib.suppress(*self._errors):
                    self.client.delete_object(Bucket=self.bucket, Key=key)
            raise StorageUnavailable(f"cannot store {key}: {self._describe(exc)}") from exc
        except self._errors as exc:
            # The request may have completed on the server before it failed for us: make sure
            # nothing is left under the key (best effort; the orphan sweeper is the backstop).
            with contextlib.suppress(*self._errors):
                self.client.delete_object(Bucket=self.bucket, Key=key)
            raise StorageUnavailable(f"cannot store {key}: {self._describe(exc)}") from exc

    def _holds(self, key: str, sha256: bytes) -> bool:
        """Whether the object under the key has exactly this SHA-256 (asked of the store)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except self._errors:
            return False
        return head.get("ChecksumSHA256") == base64.b64encode(sha256).decode("ascii")

    def open(self, key: str) -> BinaryIO:
        validate_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except self._ClientError as exc:
            if _is_not_found(exc):
                raise ObjectMissing(key) from exc
            raise StorageUnavailable(f"cannot read {key}: {self._describe(exc)}") from exc
        except self._errors as exc:
            raise StorageUnavailable(f"cannot read {key}: {self._describe(exc)}") from exc
        return _S3Stream(response["Body"], key, self._errors)  # type: ignore[return-value]

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except self._ClientError as exc:
            if _is_not_found(exc):
                return
            raise StorageUnavailable(f"cannot delete {key}: {self._describe(exc)}") from exc
        except self._errors as exc:
            raise StorageUnavailable(f"cannot delete {key}: {self._describe(exc)}") from exc

    def head(self, key: str) -> StoredObject | None:
        validate_key(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except self._ClientError as exc:
            if _is_not_found(exc):
                return None
            raise StorageUnavailable(f"cannot stat {key}: {self._describe(exc)}") from exc
        except self._errors as exc:
            raise StorageUnavailable(f"cannot stat {key}: {self._describe(exc)}") from exc
        return StoredObject(key, int(response["ContentLength"]), _utc(response["LastModified"]))

    def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires: int = 60
    ) -> str | None:
        validate_key(key)
        lifetime = max(1, min(int(expires), PRESIGNED_MAX_SECONDS))
        try:
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentDisposition": content_disposition(filename),
                    "ResponseContentType": content_type,
                    # Shared phones and shelter computers: never keep a copy in a cache.
                    "ResponseCacheControl": "no-store, private",
                },
                ExpiresIn=lifetime,
            )
        except self._errors as exc:
            raise StorageUnavailable(f"cannot sign a URL for {key}: {exc}") from exc

    def older_than(self, cutoff: datetime) -> Iterator[StoredObject]:
        cutoff = _utc(cutoff)
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
            for page in pages:
                for item in page.get("Contents", ()):
                    modified = _utc(item["LastModified"])
                    if modified < cutoff and _is_key(item["Key"]):
                        yield StoredObject(item["Key"], int(item["Size"]), modified)
        except self._errors as exc:
            raise StorageUnavailable(f"cannot list {self.bucket}: {self._describe(exc)}") from exc

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors as exc:
            raise StorageUnavailable(
                f"bucket {self.bucket} unreachable: {self._describe(exc)}"
            ) from exc

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, self._ClientError):
            return _client_error_code(exc) or "error"
        return type(exc).__name__


# --- wiring --------------------------------------------------------------------------------


def make_store(settings) -> ObjectStore:
    if settings.storage_backend == "local":
        return LocalStore(settings.resolved_storage_path)
    if settings.storage_backend == "s3":
        return S3Store(settings)
    raise ValueError(f"unknown storage backend: {settings.storage_backend!r}")


def get_store() -> ObjectStore:
    """The running app's store, built on first use and kept for the app's lifetime."""
    from flask import current_app

    from portal.settings import current

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get(_EXTENSION_KEY)
    if store is None:
        with _build_lock:
            store = app.extensions.get(_EXTENSION_KEY)
            if store is None:
                store = make_store(current())
                app.extensions[_EXTENSION_KEY] = store
    return store
