"""The landing place the HMIS puts its exports in (issue 21): a local folder, or an S3 prefix
(`s3://bucket/prefix/`, reached with the document store's S3 connection settings: endpoint,
region, credentials, addressing style). Lists the .zip files there and copies one into a
temporary file while hashing it.

Only .zip files directly in the folder (or under the prefix) count; names starting with "."
are left alone (a copy in progress: rsync, scp and most upload tools write a dot file and
rename it when done)."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from portal.integrations.storage import S3Store, StorageUnavailable

_CHUNK = 1024 * 1024
_SPOOL = 16 * 1024 * 1024  # a zip up to this size stays in memory; larger ones go to disk


@dataclass(frozen=True)
class Landed:
    """One .zip in the landing place."""

    name: str  # the file name, without folders
    key: str  # its path, or its S3 key
    size: int
    modified: datetime  # timezone-aware, UTC


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def _split(location: str) -> tuple[str, str]:
    parts = urlsplit(location)
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parts.netloc, prefix


def _wanted(name: str) -> bool:
    return name.lower().endswith(".zip") and not name.startswith(".")


def _store(settings: Any, location: str) -> S3Store:
    bucket, _prefix = _split(location)
    return S3Store(replace(settings, s3_bucket=bucket))


def list_zips(settings: Any, location: str) -> list[Landed]:
    """The .zip files in the landing place, oldest first (then by name): exports are imported
    in the order the HMIS made them. StorageUnavailable when it cannot be read."""
    found = _list_s3(settings, location) if is_s3(location) else _list_folder(Path(location))
    return sorted(found, key=lambda landed: (landed.modified, landed.name))


def _list_folder(folder: Path) -> list[Landed]:
    try:
        paths = [path for path in folder.iterdir() if _wanted(path.name) and path.is_file()]
        found = []
        for path in paths:
            stat = path.stat()
            modified = datetime.fromtimestamp(stat.st_mtime, UTC)
            found.append(Landed(path.name, str(path), stat.st_size, modified))
    except OSError as exc:
        raise StorageUnavailable(f"cannot list the folder: {type(exc).__name__}") from exc
    return found


def _list_s3(settings: Any, location: str) -> list[Landed]:
    store = _store(settings, location)
    bucket, prefix = _split(location)
    found = []
    try:
        pages = store.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        )
        for page in pages:
            for item in page.get("Contents", ()):
                name = item["Key"][len(prefix) :]
                if _wanted(name):
                    modified = item["LastModified"].astimezone(UTC)
                    found.append(Landed(name, item["Key"], int(item["Size"]), modified))
    except store.transport_errors as exc:
        raise StorageUnavailable(f"cannot list {bucket}: {type(exc).__name__}") from exc
    return found


def fetch(settings: Any, location: str, landed: Landed) -> tuple[IO[bytes], str]:
    """(a temporary copy of the file, positioned at its start; its SHA-256 in hex). The
    caller closes the copy. StorageUnavailable when it cannot be read (gone meanwhile too)."""
    copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - the caller closes it
    digest = hashlib.sha256()
    try:
        if is_s3(location):
            _copy_s3(settings, location, landed, copy, digest)
        else:
            with open(landed.key, "rb") as source:
                _copy(source, copy, digest)
    except (OSError, StorageUnavailable) as exc:
        copy.close()
        raise StorageUnavailable(f"cannot read {landed.name}: {type(exc).__name__}") from exc
    copy.seek(0)
    return copy, digest.hexdigest()


def _copy_s3(settings: Any, location: str, landed: Landed, copy: IO[bytes], digest: Any) -> None:
    store = _store(settings, location)
    bucket, _prefix = _split(location)
    try:
        body = store.client.get_object(Bucket=bucket, Key=landed.key)["Body"]
        try:
            _copy(body, copy, digest)
        finally:
            body.close()
    except store.transport_errors as exc:
        raise StorageUnavailable(type(exc).__name__) from exc


def _copy(source: Any, target: IO[bytes], digest: Any) -> None:
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        target.write(chunk)
