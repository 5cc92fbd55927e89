"""Typed settings, read once from the environment.

`PORTAL_ENV` picks the profile (development, test, production). Every other value has a
development default so one command starts the portal; production refuses to start while a
default that matters for security is still in place (`Settings.problems`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
# A wheel carries templates/, static/, translations/ and migrations/ inside the package (the
# build puts them in portal/bundled/, catalogs compiled); a checkout has them beside it.
BUNDLED = PACKAGE_ROOT / "bundled"
INSTALLED = BUNDLED.is_dir()
RESOURCES = BUNDLED if INSTALLED else PROJECT_ROOT
# Where data lives unless INSTANCE_PATH says: the checkout's instance/, or for an installed
# app Flask's convention for installed packages (sys.prefix/var/<name>-instance).
DEFAULT_INSTANCE = (
    Path(sys.prefix) / "var" / "hmis-portal-instance" if INSTALLED else PROJECT_ROOT / "instance"
)
DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - the refused default, by design
ENVIRONMENTS = ("development", "test", "production")


class SettingsError(RuntimeError):
    """The environment describes a deployment the portal refuses to run."""


# The `amr` values (RFC 8176) that say a provider trusted for it used more than one factor:
# "mfa" only by default (a code, a key or a fingerprint alone may be the only factor used).
DEFAULT_MFA_AMR = ("mfa",)


@dataclass(frozen=True)
class SsoProvider:
    """One identity provider staff may sign in through (OpenID Connect), as the deployment
    configures it in STAFF_SSO_PROVIDERS (a JSON list of objects with these keys)."""

    key: str  # in the portal's addresses: /staff/sso/<key>/...
    name: str  # on the button: "Sign in with <name>"
    discovery_url: str  # .../.well-known/openid-configuration
    client_id: str
    client_secret: str
    # The email domains this provider may vouch for (a first sign-in links only these).
    domains: tuple[str, ...]
    # Optionally the one agency (by name) whose staff sign in here; accounts are created
    # on first sign-in only through a provider of one agency.
    agency: str = ""
    # Whether its email links a first sign-in without `email_verified: true` (Entra ID sends
    # none): "verified" (the default) or "always".
    trust_email: str = "verified"
    # Whether its own multi-factor counts as the portal's second factor, and which `amr` or
    # `acr` values say it was used.
    trust_mfa: bool = False
    mfa_amr: tuple[str, ...] = DEFAULT_MFA_AMR
    mfa_acr: tuple[str, ...] = ()
    scope: str = "openid email profile offline_access"
    # The ID tokens' issuer; by default what the discovery URL names (OpenID Connect Discovery:
    # the URL is the issuer followed by /.well-known/openid-configuration).
    issuer: str = ""

    @property
    def expected_issuer(self) -> str:
        if self.issuer:
            return self.issuer
        return self.discovery_url.split("/.well-known/openid-configuration", 1)[0]

    @classmethod
    def from_json(cls, item: dict) -> SsoProvider:
        if not isinstance(item, dict):
            raise ValueError("each provider is an object")
        wanted = {f.name for f in fields(cls)}
        unknown = set(item) - wanted
        if unknown:
            raise ValueError(f"unknown provider keys: {sorted(unknown)}")
        values = dict(item)
        for name in ("domains", "mfa_amr", "mfa_acr"):
            if name in values:
                values[name] = tuple(str(v).strip().lower() for v in values[name])
        if not isinstance(values.get("trust_mfa", False), bool):
            raise ValueError("trust_mfa is true or false")
        try:
            provider = cls(**values)
        except TypeError as exc:  # a required key is missing
            raise ValueError(str(exc)) from exc
        if not re.fullmatch(r"[a-z0-9-]{1,40}", provider.key):
            raise ValueError("a provider key is 1-40 lower-case letters, digits or dashes")
        if provider.trust_email not in ("verified", "always"):
            raise ValueError("trust_email is verified or always")
        if not provider.domains:
            raise ValueError("a provider needs the email domains it may vouch for")
        if "openid" not in provider.scope.split():
            raise ValueError("a provider's scope includes openid")
        if "/.well-known/openid-configuration" not in provider.discovery_url:
            raise ValueError("discovery_url ends in /.well-known/openid-configuration")
        return provider


def _sso_providers(value: str) -> tuple[SsoProvider, ...]:
    try:
        items = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(items, list):
        raise ValueError("a JSON list of providers")
    providers = tuple(SsoProvider.from_json(item) for item in items)
    if len({p.key for p in providers}) != len(providers):
        raise ValueError("two providers share a key")
    # An account is bound to (issuer, subject): two providers of one issuer could each sign in
    # the other's people.
    if len({p.expected_issuer for p in providers}) != len(providers):
        raise ValueError("two providers share an issuer")
    return providers


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str = DEV_SECRET_KEY
    debug: bool = False
    database_url: str = ""
    allow_sqlite_in_production: bool = False
    # On SQLite a request that writes waits this long for the write lock, then answers 503.
    sqlite_busy_timeout_ms: int = 5000
    base_url: str = "http://127.0.0.1:5000"
    # "Leave quickly" on every client page lands here: an ordinary site someone looking over a
    # shoulder would not wonder about (GOV.UK's "Exit this page" sends people to the weather).
    quick_exit_url: str = "https://www.weather.gov/"
    instance_path: Path = DEFAULT_INSTANCE
    session_cookie_name: str = ""
    # Key for secrets kept at rest (outbox parameters, later SSNs). Fernet, urlsafe base64.
    data_encryption_key: str = ""
    # Mail: "file" writes .eml files (development), "smtp" delivers.
    mail_transport: str = "file"
    mail_from: str = "HMIS Portal <no-reply@portal.invalid>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    # Texts (issue 22; README "Texts"): "" sends none, "kannel" or "twilio" a gateway, "file"
    # writes each text under the instance folder (development).
    sms_transport: str = ""
    sms_brand: str = "HMIS portal"  # how every text begins, so people know who writes
    sms_from: str = ""  # the sending number (E.164), or a Twilio Messaging Service SID
    sms_kannel_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    sms_kannel_username: str = ""
    sms_kannel_password: str = ""
    # Kannel signs nothing: its POSTs carry this secret, and come from these addresses.
    sms_hook_secret: str = ""
    sms_hook_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    sms_twilio_api: str = "https://api.twilio.com"
    sms_twilio_account_sid: str = ""
    sms_twilio_auth_token: str = ""
    sms_timeout_seconds: float = 10.0
    sms_per_phone_hour: int = 3
    sms_per_phone_day: int = 8
    sms_per_agency_hour: int = 300
    # Answer STOP, START and HELP (off where the provider answers them itself).
    sms_keyword_replies: bool = True
    # Rate limits (Flask-Limiter). Shelter Wi-Fi is shared, so per-IP limits are generous.
    ratelimit_storage_uri: str = "memory://"
    web_concurrency: int = 1
    # Web processes the command line or environment asks for (gunicorn -w, WEB_CONCURRENCY):
    # more than one cannot share an in-memory rate-limit store.
    detected_processes: int = 1
    # Failed sign-ins per address (successes never count: shelter Wi-Fi is shared).
    sign_in_ip_limit: str = "30 per 15 minutes"
    trusted_proxy_count: int = 0
    # Sessions, per account kind: (idle, absolute).
    staff_idle: timedelta = timedelta(minutes=30)
    staff_absolute: timedelta = timedelta(hours=12)
    client_idle: timedelta = timedelta(minutes=15)
    client_absolute: timedelta = timedelta(hours=4)
    # Tokens
    staff_invite_valid_for: timedelta = timedelta(hours=24)
    password_reset_valid_for: timedelta = timedelta(hours=24)
    # Client invitations: the link lasts 72 h (issue 4 overrides R3's 24 h); a printed code 7 days.
    client_invite_valid_for: timedelta = timedelta(hours=72)
    invite_code_valid_for: timedelta = timedelta(days=7)
    identity_check_valid_for: timedelta = timedelta(days=7)
    # Recovery without email and reinstatement need an identity check this recent.
    fresh_identity_check_within: timedelta = timedelta(minutes=30)
    reset_code_valid_for: timedelta = timedelta(hours=24)
    # Where-to-find-me history is pruned after this many days (issue 5).
    location_history_days: int = 90
    # Retention (R64, issue 20; README "Retention"): what the daily purge keeps how long.
    # Soft-deleted client records go at their purge date (7 years after deletion).
    retention_inactive_years: int = 7  # what the portal holds of a client gone this long
    retention_closed_account_years: int = 1  # a closed account's sign-in data
    retention_sent_mail_days: int = 30  # sent email in the outbox (address, first name)
    retention_max_per_run: int = 1000  # more than this of one kind waits for an operator
    # HUD CSV exports to the HMIS (issue 21): kept this many days, then only their counts;
    # a daily export into an S3 prefix ("s3://bucket/prefix/") for the HMIS to pick up.
    hmis_export_keep_days: int = 30
    hmis_export_drop: str = ""
    # HMIS exports to import (issue 21): a folder, or an "s3://bucket/prefix/" URL (with the
    # document store's S3 connection settings), looked at every 15 minutes for .zip files;
    # each content is imported once, for the agency named. Empty: nothing is watched.
    hmis_import_watch: str = ""
    hmis_import_watch_agency: str = ""
    # Messaging (issue 6): staff answer a client within this many business days (weekends and
    # the public holidays of HOLIDAY_CALENDAR, e.g. "US" or "US-CA", in the agency's time zone).
    response_target_business_days: int = 2
    holiday_calendar: str = "US"
    # Documents (issue 7): where files live, what is accepted, and the malware scanner.
    storage_backend: str = "local"  # "local" (a folder) or "s3" (any S3-compatible store)
    storage_path: Path | None = None  # the local folder; INSTANCE_PATH/documents by default
    allow_local_storage_in_production: bool = False
    s3_endpoint_url: str = ""  # empty: AWS itself
    s3_region: str = "us-east-1"
    s3_bucket: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_addressing_style: str = "auto"  # "path" for MinIO, Ceph and SeaweedFS
    s3_sse: str = (
        "AES256"  # server-side encryption: "AES256", "aws:kms" or "" (the store's default)
    )
    s3_sse_kms_key_id: str = ""
    s3_write_once: bool = True  # If-None-Match: * on every PUT; 0 for a store without it
    document_downloads: str = "stream"  # "stream" through the app, or "presigned" (S3, 60 s)
    upload_max_mb: int = 25  # per file (issue 7 overrides R46's 10 MB)
    client_quota_files: int = 50
    client_quota_mb: int = 250
    clamd_address: str = ""  # "host:port" or a unix socket path; empty: no scanner
    allow_unscanned_files: bool | None = None  # None: only outside production
    # Argon2id cost. Production minimum is R15's m=19 MiB, t=2, p=1; tests lower it. The
    # default, 46 MiB twice over, costs about 150 ms of one core here (benchmarks/argon2_cost.py)
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 47104
    argon2_parallelism: int = 1
    default_timezone: str = "America/Los_Angeles"
    languages: tuple[str, ...] = ("en", "es")
    worker_poll_seconds: float = 2.0
    # A failed job (mail the server refused, a scan with the scanner down) is tried again after
    # the first wait, doubling up to the longest (R68: 1 min to 1 h). Fault runs shorten them.
    job_retry_first: timedelta = timedelta(minutes=1)
    job_retry_longest: timedelta = timedelta(hours=1)
    # Staff single sign-on (issue 19): the identity providers, and how often a session begun
    # through one is checked with it again (someone disabled there loses the portal by then).
    sso_providers: tuple[SsoProvider, ...] = ()
    sso_recheck: timedelta = timedelta(minutes=60)
    extra: dict[str, Any] = field(default_factory=dict)

    # --- derived -------------------------------------------------------------------------
    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_tls(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def passkey_party(self) -> tuple[str, str] | None:
        """The portal as a WebAuthn relying party: (RP ID, the one origin accepted), from
        BASE_URL's host name and scheme://host:port; None at an IP address, which cannot be
        one."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return (host, f"{parts.scheme}://{parts.netloc}") if host else None
        return None

    @property
    def cookie_name(self) -> str:
        if self.session_cookie_name:
            return self.session_cookie_name
        # __Host- cookies must be Secure, so the prefix is only used behind TLS.
        return "__Host-portal" if self.uses_tls else "portal_session"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_path / 'portal.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def memory_rate_limits(self) -> bool:
        return self.ratelimit_storage_uri.startswith("memory://")

    @property
    def resolved_storage_path(self) -> Path:
        return self.storage_path or self.instance_path / "documents"

    @property
    def accepts_unscanned_files(self) -> bool:
        """With no scanner, files are downloadable unscanned only where this says so."""
        if self.allow_unscanned_files is None:
            return not self.is_production
        return self.allow_unscanned_files

    def timeouts(self, account_kind: str | None) -> tuple[timedelta, timedelta]:
        if account_kind == "staff":
            return self.staff_idle, self.staff_absolute
        return self.client_idle, self.client_absolute

    def _sms_problems(self) -> list[str]:
        """Texts are checked in every profile: a half-set gateway would fail in the worker."""
        found = []
        if self.sms_transport not in ("", "file", "kannel", "twilio"):
            found.append("SMS_TRANSPORT must be empty, file, kannel or twilio")
        if self.sms_transport == "file" and self.is_production:
            found.append("SMS_TRANSPORT=file only writes texts to a folder: not in production")
        if self.sms_transport in ("kannel", "twilio") and not self.sms_from:
            found.append("SMS_FROM (the sending number) is required with a gateway")
        if self.sms_transport == "kannel" and (
            not self.sms_kannel_username or len(self.sms_hook_secret) < 24
        ):
            found.append(
                "Kannel needs SMS_KANNEL_USERNAME and an SMS_HOOK_SECRET of 24+ characters"
            )
        if self.sms_transport == "twilio" and not (
            self.sms_twilio_account_sid and self.sms_twilio_auth_token
        ):
            found.append("Twilio needs SMS_TWILIO_ACCOUNT_SID and SMS_TWILIO_AUTH_TOKEN")
        if min(self.sms_per_phone_hour, self.sms_per_phone_day, self.sms_per_agency_hour) < 1:
            found.append(
                "SMS_PER_PHONE_HOUR, SMS_PER_PHONE_DAY and SMS_PER_AGENCY_HOUR: at least 1"
            )
        return found

    def problems(self) -> list[str]:  # noqa: C901 - a flat list of one-line production checks
        """What makes this configuration unsafe for production (empty when fine)."""
        found = []
        if self.env not in ENVIRONMENTS:
            found.append(f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if self.retention_inactive_years < 7:
            found.append("RETENTION_INACTIVE_YEARS must be 7 or more (signatures are kept 7 years)")
        if min(self.retention_closed_account_years, self.retention_sent_mail_days - 1) < 0:
            found.append("RETENTION_CLOSED_ACCOUNT_YEARS and RETENTION_SENT_MAIL_DAYS: too small")
        if self.retention_max_per_run < 1:
            found.append("RETENTION_MAX_PER_RUN must be at least 1")
        if self.hmis_export_keep_days < 1:
            found.append("HMIS_EXPORT_KEEP_DAYS must be at least 1")
        found += self._sms_problems()
        if self.hmis_export_drop and not (
            self.hmis_export_drop.startswith("s3://") and self.hmis_export_drop[5:].strip("/")
        ):
            found.append("HMIS_EXPORT_DROP must be an s3://bucket/prefix/ URL, or empty")
        if bool(self.hmis_import_watch) != bool(self.hmis_import_watch_agency.strip()):
            found.append("HMIS_IMPORT_WATCH and HMIS_IMPORT_WATCH_AGENCY are set together or not")
        if self.hmis_import_watch.startswith("s3://") and not self.hmis_import_watch[5:].strip("/"):
            found.append("HMIS_IMPORT_WATCH must name a bucket: s3://bucket/prefix/")
        if not self.is_production:
            return found
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            found.append("SECRET_KEY is missing, the default, or shorter than 32 characters")
        if self.debug:
            found.append("debug must be off in production")
        if self.is_sqlite and not self.allow_sqlite_in_production:
            found.append("SQLite in production needs ALLOW_SQLITE_IN_PRODUCTION=1")
        if self.memory_rate_limits and max(self.web_concurrency, self.detected_processes) > 1:
            found.append(
                "an in-memory rate-limit store cannot be shared by several worker processes:"
                " set RATELIMIT_STORAGE_URI=redis://..."
            )
        if not self.data_encryption_key:
            found.append("DATA_ENCRYPTION_KEY is required in production")
        if not self.uses_tls:
            found.append("BASE_URL must be https:// in production")
        if self.storage_backend not in ("local", "s3"):
            found.append("STORAGE_BACKEND must be local or s3")
        if self.storage_backend == "local" and not self.allow_local_storage_in_production:
            found.append(
                "local document storage in production needs ALLOW_LOCAL_STORAGE_IN_PRODUCTION=1"
            )
        if self.storage_backend == "s3" and not self.s3_bucket:
            found.append("S3_BUCKET is required with STORAGE_BACKEND=s3")
        if not self.clamd_address and not self.accepts_unscanned_files:
            found.append("no malware scanner: set CLAMD_ADDRESS, or ALLOW_UNSCANNED_FILES=1")
        if not self.quick_exit_url.startswith("https://"):
            found.append("QUICK_EXIT_URL must be an https:// address of another site")
        if self.argon2_memory_kib < 19456 or self.argon2_time_cost < 2:
            found.append("Argon2id parameters are below m=19 MiB, t=2")
        for provider in self.sso_providers:
            if not provider.discovery_url.startswith("https://") or not provider.client_secret:
                found.append(
                    f"single sign-on provider {provider.key} needs an https:// discovery URL "
                    "and a client secret"
                )
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            found.append("DEFAULT_TIMEZONE is not an IANA time zone")
        return found

    def with_overrides(self, **overrides: Any) -> Settings:
        known = {f.name for f in fields(self)}
        extra = dict(self.extra)
        for key in list(overrides):
            if key not in known:
                extra[key] = overrides.pop(key)
        return replace(self, extra=extra, **overrides)


def _minutes(value: str) -> timedelta:
    return timedelta(minutes=float(value))


_ENV_READERS: dict[str, tuple[str, Any]] = {
    # field name: (environment variable, parser)
    "env": ("PORTAL_ENV", str),
    "secret_key": ("SECRET_KEY", str),
    "debug": ("PORTAL_DEBUG", _bool),
    "database_url": ("DATABASE_URL", str),
    "allow_sqlite_in_production": ("ALLOW_SQLITE_IN_PRODUCTION", _bool),
    "sqlite_busy_timeout_ms": ("SQLITE_BUSY_TIMEOUT_MS", int),
    "base_url": ("BASE_URL", lambda v: v.rstrip("/")),
    "quick_exit_url": ("QUICK_EXIT_URL", str),
    "instance_path": ("INSTANCE_PATH", Path),
    "session_cookie_name": ("SESSION_COOKIE_NAME", str),
    "data_encryption_key": ("DATA_ENCRYPTION_KEY", str),
    "mail_transport": ("MAIL_TRANSPORT", str),
    "mail_from": ("MAIL_FROM", str),
    "smtp_host": ("SMTP_HOST", str),
    "smtp_port": ("SMTP_PORT", int),
    "smtp_username": ("SMTP_USERNAME", str),
    "smtp_password": ("SMTP_PASSWORD", str),
    "smtp_starttls": ("SMTP_STARTTLS", _bool),
    "sms_transport": ("SMS_TRANSPORT", str),
    "sms_brand": ("SMS_BRAND", str),
    "sms_from": ("SMS_FROM", str),
    "sms_kannel_url": ("SMS_KANNEL_URL", str),
    "sms_kannel_username": ("SMS_KANNEL_USERNAME", str),
    "sms_kannel_password": ("SMS_KANNEL_PASSWORD", str),
    "sms_hook_secret": ("SMS_HOOK_SECRET", str),
    "sms_hook_allow": (
        "SMS_HOOK_ALLOW",
        lambda v: tuple(a.strip() for a in v.split(",") if a.strip()),
    ),
    "sms_twilio_api": ("SMS_TWILIO_API", lambda v: v.rstrip("/")),
    "sms_twilio_account_sid": ("SMS_TWILIO_ACCOUNT_SID", str),
    "sms_twilio_auth_token": ("SMS_TWILIO_AUTH_TOKEN", str),
    "sms_timeout_seconds": ("SMS_TIMEOUT_SECONDS", float),
    "sms_per_phone_hour": ("SMS_PER_PHONE_HOUR", int),
    "sms_per_phone_day": ("SMS_PER_PHONE_DAY", int),
    "sms_per_agency_hour": ("SMS_PER_AGENCY_HOUR", int),
    "sms_keyword_replies": ("SMS_KEYWORD_REPLIES", _bool),
    "ratelimit_storage_uri": ("RATELIMIT_STORAGE_URI", str),
    "web_concurrency": ("WEB_CONCURRENCY", int),
    "sign_in_ip_limit": ("SIGN_IN_IP_LIMIT", str),
    "trusted_proxy_count": ("TRUSTED_PROXY_COUNT", int),
    "staff_idle": ("STAFF_IDLE_MINUTES", _minutes),
    "staff_absolute": ("STAFF_ABSOLUTE_MINUTES", _minutes),
    "client_idle": ("CLIENT_IDLE_MINUTES", _minutes),
    "client_absolute": ("CLIENT_ABSOLUTE_MINUTES", _minutes),
    "staff_invite_valid_for": ("STAFF_INVITE_HOURS", lambda v: timedelta(hours=float(v))),
    "password_reset_valid_for": ("PASSWORD_RESET_HOURS", lambda v: timedelta(hours=float(v))),
    "client_invite_valid_for": ("CLIENT_INVITE_HOURS", lambda v: timedelta(hours=float(v))),
    "invite_code_valid_for": ("INVITE_CODE_DAYS", lambda v: timedelta(days=float(v))),
    "identity_check_valid_for": ("IDENTITY_CHECK_DAYS", lambda v: timedelta(days=float(v))),
    "fresh_identity_check_within": ("FRESH_IDENTITY_CHECK_MINUTES", _minutes),
    "reset_code_valid_for": ("RESET_CODE_HOURS", lambda v: timedelta(hours=float(v))),
    "location_history_days": ("LOCATION_HISTORY_DAYS", int),
    "retention_inactive_years": ("RETENTION_INACTIVE_YEARS", int),
    "retention_closed_account_years": ("RETENTION_CLOSED_ACCOUNT_YEARS", int),
    "retention_sent_mail_days": ("RETENTION_SENT_MAIL_DAYS", int),
    "retention_max_per_run": ("RETENTION_MAX_PER_RUN", int),
    "hmis_export_keep_days": ("HMIS_EXPORT_KEEP_DAYS", int),
    "hmis_export_drop": ("HMIS_EXPORT_DROP", str),
    "hmis_import_watch": ("HMIS_IMPORT_WATCH", str),
    "hmis_import_watch_agency": ("HMIS_IMPORT_WATCH_AGENCY", str),
    "response_target_business_days": ("RESPONSE_TARGET_BUSINESS_DAYS", int),
    "holiday_calendar": ("HOLIDAY_CALENDAR", str),
    "storage_backend": ("STORAGE_BACKEND", str),
    "storage_path": ("STORAGE_PATH", Path),
    "allow_local_storage_in_production": ("ALLOW_LOCAL_STORAGE_IN_PRODUCTION", _bool),
    "s3_endpoint_url": ("S3_ENDPOINT_URL", str),
    "s3_region": ("S3_REGION", str),
    "s3_bucket": ("S3_BUCKET", str),
    "s3_access_key_id": ("S3_ACCESS_KEY_ID", str),
    "s3_secret_access_key": ("S3_SECRET_ACCESS_KEY", str),
    "s3_addressing_style": ("S3_ADDRESSING_STYLE", str),
    "s3_sse": ("S3_SSE", str),
    "s3_sse_kms_key_id": ("S3_SSE_KMS_KEY_ID", str),
    "s3_write_once": ("S3_WRITE_ONCE", _bool),
    "document_downloads": ("DOCUMENT_DOWNLOADS", str),
    "upload_max_mb": ("UPLOAD_MAX_MB", int),
    "client_quota_files": ("CLIENT_QUOTA_FILES", int),
    "client_quota_mb": ("CLIENT_QUOTA_MB", int),
    "clamd_address": ("CLAMD_ADDRESS", str),
    "allow_unscanned_files": ("ALLOW_UNSCANNED_FILES", _bool),
    "argon2_time_cost": ("ARGON2_TIME_COST", int),
    "argon2_memory_kib": ("ARGON2_MEMORY_KIB", int),
    "argon2_parallelism": ("ARGON2_PARALLELISM", int),
    "default_timezone": ("DEFAULT_TIMEZONE", str),
    "worker_poll_seconds": ("WORKER_POLL_SECONDS", float),
    "job_retry_first": ("JOB_RETRY_FIRST_SECONDS", lambda v: timedelta(seconds=float(v))),
    "job_retry_longest": ("JOB_RETRY_LONGEST_SECONDS", lambda v: timedelta(seconds=float(v))),
    "sso_providers": ("STAFF_SSO_PROVIDERS", _sso_providers),
    "sso_recheck": ("SSO_RECHECK_MINUTES", _minutes),
}


_WORKER_FLAGS = ("-w", "--workers")


def detect_processes(environ: dict[str, str], argv: list[str]) -> int:
    """How many web processes this start asks for, as far as it can be seen: gunicorn's
    `-w N` / `--workers N` on its command line or in GUNICORN_CMD_ARGS, and WEB_CONCURRENCY
    (gunicorn's own default). A gunicorn config file is read by gunicorn only; for that the
    app also checks each request's `wsgi.multiprocess` (portal.web)."""
    counts = [1]
    args = list(argv[1:]) if argv and "gunicorn" in Path(argv[0]).name else []
    args += shlex.split(environ.get("GUNICORN_CMD_ARGS", ""))
    for index, arg in enumerate(args):
        value = None
        if arg in _WORKER_FLAGS and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-w") and arg[2:].isdigit():
            value = arg[2:]
        if value is not None and value.isdigit():
            counts.append(int(value))
    if environ.get("WEB_CONCURRENCY", "").isdigit():
        counts.append(int(environ["WEB_CONCURRENCY"]))
    return max(counts)


def from_env(environ: dict[str, str] | None = None, argv: list[str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    argv = list(sys.argv if argv is None else argv)
    values: dict[str, Any] = {}
    for name, (variable, parse) in _ENV_READERS.items():
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{variable} has an unusable value") from exc
    values["detected_processes"] = detect_processes(environ, argv)
    return Settings(**values)


def current() -> Settings:
    """The settings of the running app (request, CLI command or worker)."""
    return current_app.extensions["portal.settings"]
