"""Putting a file into an S3 prefix that another system picks up (the HMIS's import of the
portal's exports, issue 21): the document store's connection settings and server-side
encryption, another bucket and prefix (`s3://bucket/prefix/`), the file's SHA-256 checked by
the server."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from urllib.parse import urlsplit

from portal.integrations.storage import S3Store, StorageUnavailable


def split_url(url: str) -> tuple[str, str]:
    """("bucket", "prefix/") of "s3://bucket/prefix/"."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError("an S3 prefix is written s3://bucket/prefix/")
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parts.netloc, prefix


def put_bytes(settings, url: str, name: str, content: bytes) -> str:
    """Store `content` as `name` under the prefix of `url`, encrypted at rest by the server
    (S3_SSE, AES256 when unset). Returns the key. StorageUnavailable when it did not go."""
    bucket, prefix = split_url(url)
    store = S3Store(replace(settings, s3_bucket=bucket))
    key = prefix + name
    extra = {"ServerSideEncryption": settings.s3_sse or "AES256"}
    if settings.s3_sse == "aws:kms" and settings.s3_sse_kms_key_id:
        extra["SSEKMSKeyId"] = settings.s3_sse_kms_key_id
    try:
        store.client.put_object(
            Bucket=bucket,
            Key=key,
            Body=content,
            ContentType="application/zip",
            ChecksumSHA256=base64.b64encode(hashlib.sha256(content).digest()).decode("ascii"),
            **extra,
        )
    except store.transport_errors as exc:
        raise StorageUnavailable(f"could not put {key}") from exc
    return key
