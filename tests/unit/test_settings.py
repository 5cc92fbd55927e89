from datetime import timedelta

import pytest

from portal import create_app
from portal.settings import DEV_SECRET_KEY, Settings, SettingsError, from_env

GOOD = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "k" * 48,
    "DATABASE_URL": "postgresql+psycopg://u:p@db/portal",
    "BASE_URL": "https://portal.example.org",
    "DATA_ENCRYPTION_KEY": "x" * 44,
    "RATELIMIT_STORAGE_URI": "redis://cache:6379/0",
    "WEB_CONCURRENCY": "4",
    "STORAGE_BACKEND": "s3",
    "S3_BUCKET": "portal-documents",
    "CLAMD_ADDRESS": "clamd:3310",
}


def test_a_complete_production_environment_has_no_problems():
    assert from_env(GOOD).problems() == []


@pytest.mark.parametrize(
    "change,problem",
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"PORTAL_DEBUG": "1"}, "debug"),
        ({"DATABASE_URL": ""}, "SQLite"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "rate-limit"),
        ({"DATA_ENCRYPTION_KEY": ""}, "DATA_ENCRYPTION_KEY"),
        ({"BASE_URL": "http://portal.example.org"}, "https"),
        ({"ARGON2_MEMORY_KIB": "1024"}, "Argon2id"),
        ({"STORAGE_BACKEND": "local"}, "local document storage"),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
        ({"S3_BUCKET": ""}, "S3_BUCKET"),
        ({"CLAMD_ADDRESS": ""}, "malware scanner"),
    ],
)
@pytest.mark.requirement("R15", "R40")
def test_production_refuses_unsafe_settings(change, problem):
    env = {**GOOD, **change}
    problems = from_env(env).problems()
    assert any(problem in p for p in problems), problems
    with pytest.raises(SettingsError):
        create_app(from_env(env))


def test_sqlite_in_production_needs_an_explicit_yes():
    env = {**GOOD, "DATABASE_URL": "", "ALLOW_SQLITE_IN_PRODUCTION": "1"}
    assert from_env(env).problems() == []


def test_unscanned_files_and_local_storage_need_an_explicit_yes_in_production():
    env = {
        **GOOD,
        "CLAMD_ADDRESS": "",
        "ALLOW_UNSCANNED_FILES": "1",
        "STORAGE_BACKEND": "local",
        "ALLOW_LOCAL_STORAGE_IN_PRODUCTION": "1",
    }
    settings = from_env(env)
    assert settings.problems() == [] and settings.accepts_unscanned_files
    assert not from_env(GOOD).accepts_unscanned_files  # production: only scanned files
    assert from_env({}).accepts_unscanned_files  # the one-command run has no scanner


def test_memory_rate_limits_are_fine_with_one_worker():
    assert (
        from_env({**GOOD, "RATELIMIT_STORAGE_URI": "memory://", "WEB_CONCURRENCY": "1"}).problems()
        == []
    )


def test_development_defaults_start_without_any_environment():
    settings = from_env({})
    assert settings.env == "development" and settings.problems() == []
    assert settings.is_sqlite and settings.cookie_name == "portal_session"


def test_timeouts_are_per_account_kind_and_configurable():
    settings = from_env({"CLIENT_IDLE_MINUTES": "10"})
    assert settings.timeouts("client") == (timedelta(minutes=10), timedelta(hours=4))
    assert settings.timeouts("staff") == (timedelta(minutes=30), timedelta(hours=12))


@pytest.mark.requirement("R23")
def test_the_cookie_is_host_prefixed_behind_tls_and_can_be_named_per_deployment():
    assert Settings(base_url="https://p.example").cookie_name == "__Host-portal"
    assert (
        Settings(base_url="https://p.example", session_cookie_name="__Host-county").cookie_name
        == "__Host-county"
    )


def test_an_unusable_number_is_reported_by_name():
    with pytest.raises(SettingsError, match="WEB_CONCURRENCY"):
        from_env({"WEB_CONCURRENCY": "many"})


@pytest.mark.parametrize(
    ("argv", "environ", "processes"),
    [
        (["/srv/.venv/bin/gunicorn", "-w", "4", "wsgi:app"], {}, 4),
        (["/srv/.venv/bin/gunicorn", "--workers=3", "wsgi:app"], {}, 3),
        (["/srv/.venv/bin/gunicorn", "-w2", "wsgi:app"], {}, 2),
        (["/srv/.venv/bin/gunicorn", "wsgi:app"], {"GUNICORN_CMD_ARGS": "--workers 5"}, 5),
        (["/srv/.venv/bin/gunicorn", "wsgi:app"], {}, 1),
        (["/srv/.venv/bin/flask", "-w", "4"], {}, 1),  # not gunicorn's flag
        (["/srv/.venv/bin/python", "worker"], {"WEB_CONCURRENCY": "6"}, 6),
    ],
)
def test_the_web_processes_a_start_asks_for_are_detected(argv, environ, processes):
    from portal.settings import detect_processes

    assert detect_processes(environ, argv) == processes


def test_memory_rate_limits_are_refused_when_gunicorn_is_told_to_run_several_workers():
    """WEB_CONCURRENCY says one, the command line says four: the command line wins."""
    environ = {**GOOD, "RATELIMIT_STORAGE_URI": "memory://", "WEB_CONCURRENCY": "1"}
    problems = from_env(environ, argv=["/srv/bin/gunicorn", "-w", "4", "wsgi:app"]).problems()
    assert any("rate-limit" in p for p in problems)
    assert from_env(environ, argv=["/srv/bin/gunicorn", "wsgi:app"]).problems() == []


SSO = {
    "key": "harbor",
    "name": "Harbor work account",
    "discovery_url": "https://login.example.org/harbor/v2.0/.well-known/openid-configuration",
    "client_id": "portal",
    "client_secret": "secret",
    "domains": ["Harbor.org"],
}


def test_single_sign_on_providers_come_from_json():
    import json

    (provider,) = from_env({"STAFF_SSO_PROVIDERS": json.dumps([SSO])}).sso_providers
    assert provider.domains == ("harbor.org",) and provider.trust_email == "verified"
    assert provider.expected_issuer == "https://login.example.org/harbor/v2.0"
    assert provider.mfa_amr == ("mfa",) and not provider.trust_mfa
    assert from_env(GOOD).sso_recheck == timedelta(minutes=60)


@pytest.mark.parametrize(
    "change",
    [
        {"trust_mfa": "false"},  # a string is not a yes or a no
        {"trust_email": "sometimes"},
        {"domains": []},
        {"scope": "email profile"},
        {"key": "Harbor Work"},
        {"discovery_url": "https://login.example.org/harbor"},
        {"surprise": 1},
        {"client_id": None, "client_secret": None},
    ],
)
def test_an_unusable_provider_is_refused_at_start(change):
    import json

    provider = {k: v for k, v in {**SSO, **change}.items() if v is not None}
    with pytest.raises(SettingsError, match="STAFF_SSO_PROVIDERS"):
        from_env({"STAFF_SSO_PROVIDERS": json.dumps([provider])})


def test_two_providers_may_not_share_a_key_or_an_issuer():
    import json

    twin = {**SSO, "key": "harbor-two"}
    with pytest.raises(SettingsError):
        from_env({"STAFF_SSO_PROVIDERS": json.dumps([SSO, twin])})  # one issuer
    with pytest.raises(SettingsError):
        from_env({"STAFF_SSO_PROVIDERS": json.dumps([SSO, {**SSO, "issuer": "https://x"}])})


def test_production_refuses_a_provider_over_plain_http():
    import json

    plain = {**SSO, "discovery_url": "http://login.example.org/.well-known/openid-configuration"}
    environ = {**GOOD, "STAFF_SSO_PROVIDERS": json.dumps([plain])}
    assert any("harbor" in p for p in from_env(environ).problems())
