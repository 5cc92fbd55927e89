"""Signed PDFs (groundwork for issue 8): HTML to PDF with WeasyPrint, a PDF digital signature
("seal") with pyHanko under the deployment's signing certificate, and verification.

- `render(html)`: WeasyPrint (Pango, fontconfig). The stylesheet names DejaVu Sans first and the
  Noto CJK families after it, so Latin, Vietnamese and Cyrillic names use DejaVu and Korean,
  Chinese and Japanese fall through to Noto (`fonts-dejavu-core`, `fonts-noto-cjk`). Measured:
  a family stack that names a font which is not installed lets fontconfig mix fallbacks glyph by
  glyph, and pypdf then extracts "J o s é" with spaces; a stack of installed fonts extracts
  names exactly.
- `seal(pdf, signer)`: an invisible PAdES B-B signature (SHA-256) over the whole file.
- `verify(pdf, trust_roots)`: recomputes the signed byte ranges and checks the signature and
  the certificate path; says exactly what does not hold.
- `printable(text)`: whether every character has a glyph in those fonts. Measured: one
  character without a glyph anywhere (an Arabic ligature, Deseret) makes WeasyPrint write a
  custom CMap encoding for the whole font, and pypdf then extracts every word of the page as
  garbage; names are checked before they reach a PDF.
- `make_local_certificate(folder)`: a self-signed signing certificate for local use (the
  `flask esign-certificate` command); production brings its own.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

FAMILIES = ("DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK KR", "Noto Sans CJK JP")
FONT_STACK = ", ".join(f"'{family}'" for family in FAMILIES)
RENDER_OPTIONS: dict = {}
BASE_CSS = f"""
@page {{ size: Letter; margin: 2cm; }}
body {{ font-family: {FONT_STACK}; font-size: 11pt; line-height: 1.45; }}
"""


class FontsMissing(RuntimeError):
    """A font family of FAMILIES is not installed (fontconfig would substitute another)."""


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    """Every code point the fonts of FAMILIES have a glyph for."""
    from fontTools.ttLib import TTFont

    points: set[int] = set()
    for family in FAMILIES:
        found = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["fc-match", "-f", "%{family[0]}|%{file}|%{index}", family],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.split("|")
        if len(found) != 3 or found[0] != family:
            raise FontsMissing(f"font {family!r} is not installed")
        font = TTFont(found[1], fontNumber=int(found[2] or 0), lazy=True)
        try:
            points.update(font.getBestCmap() or {})
        finally:
            font.close()
    return frozenset(points)


def printable(text: str) -> bool:
    """True when every character of `text` has a glyph in the document fonts."""
    covered = _covered()
    return all(ord(c) in covered or c.isspace() for c in text)


def render(html: str) -> bytes:
    """A PDF of `html` (a whole document); nothing is fetched from outside."""
    import weasyprint
    from PIL import ImageFile

    # WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES on import, for the whole process; our
    # documents hold no raster images, and uploads must refuse truncated ones: off again.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    class NoFetching(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"external resources are not fetched: {url[:40]}")

    document = weasyprint.HTML(string=html, url_fetcher=NoFetching())
    return document.write_pdf(stylesheets=[weasyprint.CSS(string=BASE_CSS)], **RENDER_OPTIONS)


@dataclass(frozen=True)
class Signer:
    key_path: Path
    cert_path: Path

    def load(self):
        from pyhanko.sign import signers

        return signers.SimpleSigner.load(str(self.key_path), str(self.cert_path))


def _outside_any_event_loop(function, *args, **kwargs):
    """pyHanko's synchronous API calls `asyncio.run`, which refuses to run in a thread whose
    event loop is running (an async server, Playwright's sync API in tests): run it in a
    thread of its own then."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def seal(pdf: bytes, signer: Signer, *, reason: str = "Signed in the HMIS portal") -> bytes:
    """`pdf` with an invisible digital signature over all of it."""
    return _outside_any_event_loop(_seal, pdf, signer, reason)


def _seal(pdf: bytes, signer: Signer, reason: str) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(field_name="PortalSeal", reason=reason)
    return signers.sign_pdf(writer, metadata, signer=signer.load()).getvalue()


@dataclass
class Verification:
    signed: bool = False
    intact: bool = False  # the signed bytes hash to what the signature covers
    valid: bool = False  # the signature is cryptographically sound
    trusted: bool = False  # the certificate chains to a configured trust root
    whole_file: bool = False  # nothing was added after the signature
    signer: str = ""
    signed_at: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted and self.whole_file


def verify(pdf: bytes, trust_roots: list[Path]) -> Verification:
    return _outside_any_event_loop(_verify, pdf, trust_roots)


def _verify(pdf: bytes, trust_roots: list[Path]) -> Verification:
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    result = Verification()
    try:
        signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    except Exception as exc:
        result.problems.append(f"the file cannot be read as a PDF ({type(exc).__name__})")
        return result
    if not signatures:
        result.problems.append("the file carries no digital signature")
        return result
    signature = signatures[-1]
    result.signed = True
    roots = [load_cert_from_pemder(str(path)) for path in trust_roots]
    try:
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots))
    except Exception as exc:
        result.problems.append(f"the signature could not be checked ({type(exc).__name__})")
        return result
    result.intact, result.valid, result.trusted = status.intact, status.valid, status.trusted
    result.signer = status.signing_cert.subject.human_friendly
    result.signed_at = status.signer_reported_dt
    coverage = str(getattr(status, "coverage", ""))
    result.whole_file = coverage.endswith("ENTIRE_FILE")
    if not result.intact:
        result.problems.append("the document changed after it was signed (the hash differs)")
    if not result.valid:
        result.problems.append("the signature value does not match the signer's key")
    if not result.trusted:
        result.problems.append("the signing certificate does not chain to a trusted root")
    if result.intact and not result.whole_file:
        result.problems.append("content was added to the file after it was signed")
    return result


def make_local_certificate(
    folder: Path, *, common_name: str = "HMIS portal seal (local)", days: int = 3650
) -> Signer:
    """A self-signed certificate and its key (PEM, key readable by the owner only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,  # non-repudiation: what pyHanko expects of a signer
        key_cert_sign=True,
        crl_sign=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    signer = Signer(folder / "seal.key", folder / "seal.crt")
    signer.key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer.key_path.chmod(0o600)
    signer.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return signer
