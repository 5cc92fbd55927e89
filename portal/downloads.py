"""Serving stored documents (both blueprints): a presigned URL valid 60 seconds, or streamed by
the app, always as an attachment with its RFC 6266 name, nosniff, no caching and a sandbox CSP.
Callers check the access policy and the scan state first (portal.domain.documents)."""

from __future__ import annotations

from contextlib import contextmanager

from flask import Response, abort, redirect

from portal.domain import documents
from portal.extensions import db
from portal.integrations.storage import ObjectMissing, content_disposition, get_store
from portal.settings import current as current_settings

SANDBOX = (
    "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def how() -> str:
    settings = current_settings()
    presigned = settings.document_downloads == "presigned" and settings.storage_backend == "s3"
    return "presigned" if presigned else "stream"


@contextmanager
def _lost_is_404(document):
    """A row whose object is gone: record that for good (its own commit), then answer 404."""
    try:
        yield
    except ObjectMissing:
        document_id = document.id
        db.session.rollback()
        documents.mark_missing(db.session.get(type(document), document_id))
        db.session.commit()
        abort(404)


def _stream(document, disposition: str) -> Response:
    with _lost_is_404(document):
        source = get_store().open(document.storage_key)

    def chunks():
        try:
            while chunk := source.read(documents.CHUNK):
                yield chunk
        finally:
            source.close()

    response = Response(chunks(), mimetype=document.content_type, direct_passthrough=True)
    response.headers["Content-Disposition"] = disposition
    response.headers["Content-Length"] = str(document.size)
    response.headers["Content-Security-Policy"] = SANDBOX
    return response


def send_document(document, way: str) -> Response:
    if way == "presigned":
        url = get_store().presigned_url(
            document.storage_key,
            filename=document.file_name,
            content_type=document.content_type,
            expires=60,
        )
        if url:
            return redirect(url, 303)
    return _stream(document, content_disposition(document.file_name))


def send_preview(document, page: int) -> Response:
    """What staff look at while reviewing: the (re-encoded, metadata-free) image itself, or a
    PDF page rendered to PNG; inline, but sandboxed."""
    if document.content_type.startswith("image/"):
        return _stream(document, "inline")
    with _lost_is_404(document):
        png, _pages = documents.render_preview(document, page)
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = "inline"
    response.headers["Content-Security-Policy"] = SANDBOX
    return response
