"""Groundwork of issue 8: WeasyPrint renders names in every script the fonts cover so that
pypdf extracts them exactly; pyHanko seals the PDF and verification says what does not hold."""

import html
import io
import json
import unicodedata

import pytest
from pypdf import PdfReader

from portal.domain.core.errors import DomainError
from portal.domain.core.validation import clean_text
from portal.integrations import pdf
from tests.support import missing, shared_path

NAMES = [  # the portal's languages and the names its clients carry
    "María José Peña Ortiz",
    "Nguyễn Thị Minh Khai",
    "Đặng Văn Hùng",
    "김민준",
    "王小明",
    "田中 太郎",
    "محمد علي",
    "Иван Петров",
    "Ελένη Παπαδοπούλου",
    "Siobhán Ní Bhriain",
    "Zoë O’Brien-Smith",
    "Łukasz Żółć",
]


@pytest.fixture(scope="module")
def fonts():
    try:
        pdf._covered()
    except (pdf.FontsMissing, FileNotFoundError) as exc:
        missing("fonts", f"{exc} (apt-get install fonts-dejavu-core fonts-noto-cjk)")


def extracted_lines(names):
    body = "".join(f'<p class="name">{html.escape(n)}</p>' for n in names)
    style = ".name { white-space: nowrap; font-variant-ligatures: none; }"
    document = pdf.render(f"<html><head><style>{style}</style></head><body>{body}</body></html>")
    reader = PdfReader(io.BytesIO(document))
    return "\n".join(page.extract_text() for page in reader.pages).split("\n")


def test_names_in_every_language_extract_exactly(fonts):
    lines = extracted_lines(NAMES)
    assert [n for n in NAMES if n not in lines] == []


def test_printable_naughty_strings_extract_exactly(fonts):
    """The BLNS strings as a name field would keep them (NFC, one line, no control or format
    characters) that the fonts can print. Right-to-left text with vowel points is left out:
    pypdf drops a point there (measured: בָּרָא comes back as בָרָא); plain Hebrew and Arabic
    are in NAMES."""
    strings = json.loads(shared_path("data", "blns", "blns.json").read_text(encoding="utf-8"))
    names = []
    for raw in strings:
        try:
            name = clean_text(raw, field="name", max_length=100)
        except DomainError:  # too long or empty: a name field refuses it
            continue
        categories = {unicodedata.category(c) for c in name}
        bidi_marks = any(unicodedata.bidirectional(c) in ("R", "AL") for c in name) and any(
            unicodedata.category(c) == "Mn" for c in name
        )
        if "Cf" in categories or bidi_marks or not pdf.printable(name):
            continue
        names.append(name)
    assert len(names) > 400
    wrong = []
    for start in range(0, len(names), 25):
        chunk = names[start : start + 25]
        lines = extracted_lines(chunk)
        wrong += [n for n in chunk if n not in lines]
    assert wrong == []


def test_unprintable_characters_are_known_before_rendering(fonts):
    assert pdf.printable("José 王小明 김민준")
    assert not pdf.printable("ﷺ")  # no font here has it: WeasyPrint would garble the page
    assert not pdf.printable("𐐜𐐔𐐇𐐝")


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return pdf.make_local_certificate(tmp_path_factory.mktemp("esign"))


@pytest.mark.requirement("R55")
def test_a_sealed_pdf_verifies_and_any_change_is_named(fonts, signer, tmp_path_factory):
    sealed = pdf.seal(pdf.render("<html><body><p>Release of Information</p></body></html>"), signer)
    result = pdf.verify(sealed, [signer.cert_path])
    assert result.ok and result.problems == [] and "HMIS portal seal" in result.signer

    flipped = bytearray(sealed)
    flipped[len(flipped) // 3] ^= 0x01  # one bit inside the signed bytes
    result = pdf.verify(bytes(flipped), [signer.cert_path])
    assert not result.ok and not result.intact
    assert "changed after it was signed" in " ".join(result.problems)

    appended = pdf.verify(sealed + b"\n%% added later\n", [signer.cert_path])
    assert not appended.ok and "added to the file after it was signed" in " ".join(
        appended.problems
    )

    stranger = pdf.make_local_certificate(tmp_path_factory.mktemp("stranger"))
    untrusted = pdf.verify(sealed, [stranger.cert_path])
    assert untrusted.intact and not untrusted.trusted and not untrusted.ok

    unsigned = pdf.verify(pdf.render("<html><body>x</body></html>"), [signer.cert_path])
    assert not unsigned.signed and unsigned.problems == ["the file carries no digital signature"]


def test_nothing_outside_is_fetched(fonts):
    page = '<html><body><img src="http://127.0.0.1:9/tracker.png"><p>Local only</p></body></html>'
    text = PdfReader(io.BytesIO(pdf.render(page))).pages[0].extract_text()
    assert "Local only" in text


def test_the_certificate_command_makes_a_usable_seal(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["esign-certificate", "--folder", str(tmp_path)])
    assert result.exit_code == 0, result.output
    signer = pdf.Signer(tmp_path / "seal.key", tmp_path / "seal.crt")
    assert oct(signer.key_path.stat().st_mode & 0o777) == "0o600"
    sealed = pdf.seal(pdf.render("<html><body>ok</body></html>"), signer)
    assert pdf.verify(sealed, [signer.cert_path]).ok
    again = app.test_cli_runner().invoke(args=["esign-certificate", "--folder", str(tmp_path)])
    assert again.exit_code != 0 and "already" in again.output  # never overwrites a key


def test_sealing_works_where_an_event_loop_is_running(fonts, signer):
    """Inside an async server (or beside Playwright's sync API) pyHanko's `asyncio.run` would
    refuse; sealing and verifying still work."""
    import asyncio

    async def inside_a_loop():
        sealed = pdf.seal(pdf.render("<html><body>async</body></html>"), signer)
        return pdf.verify(sealed, [signer.cert_path])

    def in_a_thread_with_its_own_loop():
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(inside_a_loop())
        finally:
            loop.close()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(in_a_thread_with_its_own_loop).result().ok
