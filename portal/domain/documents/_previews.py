"""Page previews for staff (PDFium) and copying a stored file out."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from portal.domain.core.errors import NotFound
from portal.domain.documents._pipeline import CHUNK, PREVIEW_BOX, _store
from portal.domain.models import (
    Document,
)

PREVIEW_PAGES = 20


def render_preview(document: Document, page: int) -> tuple[bytes, int]:
    """A PDF page as a PNG for staff review (PDFium, never the PDF in the browser), and the
    number of pages shown. Raises NotFound for a page that does not exist."""
    import io

    import pypdfium2 as pdfium

    with tempfile.TemporaryDirectory(prefix="preview-") as work:
        path = Path(work) / "document.pdf"
        with path.open("wb") as target:
            copy_to(document, target)
        pdf = pdfium.PdfDocument(str(path))
        try:
            pages = min(len(pdf), PREVIEW_PAGES)
            if not 1 <= page <= pages:
                raise NotFound(("document_page", str(page)))
            sheet = pdf[page - 1]
            width, height = sheet.get_width() or 1, sheet.get_height() or 1
            scale = min(2.0, PREVIEW_BOX[0] / width, PREVIEW_BOX[1] / height)  # bounded pixels
            image = sheet.render(scale=scale).to_pil()
            sheet.close()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), pages


def copy_to(document: Document, target: BinaryIO) -> None:
    """Stream a stored file into `target` (the app's streamed download and previews)."""
    source = _store().open(document.storage_key)
    try:
        shutil.copyfileobj(source, target, CHUNK)
    finally:
        source.close()
