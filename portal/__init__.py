"""The HMIS client portal: `create_app()` builds the app in short, named steps."""

from __future__ import annotations

import logging
import sys

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import settings as settings_module
from portal.settings import RESOURCES, Settings, SettingsError


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or settings_module.from_env()
    _refuse_unsafe(settings)
    app = Flask(
        __name__,
        template_folder=str(RESOURCES / "templates"),
        static_folder=str(RESOURCES / "static"),
        instance_path=str(settings.instance_path),
    )
    _configure(app, settings)
    _configure_logging(app, settings)
    _init_database(app, settings)
    _init_extensions(app, settings)
    _init_web(app)
    _register_blueprints(app)
    _register_commands(app)
    _trust_proxies(app, settings)
    _hash_static_names(app, settings)
    return app


def _refuse_unsafe(settings: Settings) -> None:
    problems = settings.problems()
    if problems:
        raise SettingsError("Refusing to start: " + "; ".join(problems))


def _configure(app: Flask, settings: Settings) -> None:
    app.extensions["portal.settings"] = settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DEBUG=settings.debug,
        TESTING=settings.env == "test",
        SQLALCHEMY_DATABASE_URI=settings.resolved_database_url,
        # Parameters never appear in error messages or logs: they may hold PII.
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        SESSION_COOKIE_NAME=settings.cookie_name,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the server-side session
        # Referrer-Policy: no-referrer means browsers send no Referer to compare; the token
        # plus the Sec-Fetch-Site check guard writes instead.
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=False,
        # The store of per-address counts (Redis) unreachable: count in each process's memory
        # until it answers again (the per-account throttle lives in the database and holds
        # whatever happens to Redis); an error there never fails a request. Short timeouts, so
        # a hung store costs a request one second, not a worker.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_STORAGE_OPTIONS=(
            {"socket_connect_timeout": 1, "socket_timeout": 1}
            if settings.ratelimit_storage_uri.startswith(("redis", "rediss"))
            else {}
        ),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        **settings.extra,
    )
    if settings.is_sqlite:
        settings.instance_path.mkdir(parents=True, exist_ok=True)


def _engine_options(settings: Settings) -> dict:
    options: dict = {
        "hide_parameters": True,
        "pool_pre_ping": not settings.is_sqlite,
    }
    if settings.is_sqlite:
        # How long a writer waits for SQLite's one write lock before the request answers 503
        # (writers take it up front: portal.domain.core.session).
        options["connect_args"] = {"timeout": settings.sqlite_busy_timeout_ms / 1000}
    return options


def _configure_logging(app: Flask, settings: Settings) -> None:
    """JSON lines on stderr; the audit module logs one line per event (no PII by design)."""
    from portal.logs import JsonFormatter

    root = logging.getLogger("portal")
    root.setLevel(logging.INFO)
    if settings.env == "test":
        return  # pytest captures records itself
    if not any(getattr(h, "_portal", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._portal = True  # type: ignore[attr-defined]
        root.addHandler(handler)


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; take control of BEGIN (SQLAlchemy
    # recipe: portal.domain.core.session issues it) and turn on what SQLite leaves off by default.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "connect")
def _postgresql_connect(dbapi_connection, _record) -> None:
    # JIT compiles queries the planner thinks expensive; for this app's short OLTP statements it
    # only adds latency (measured: the staff inbox counts at 10,000 conversations took 27 ms,
    # 17 of them JIT, and 8 ms without). Per connection; behind a pooler in transaction mode
    # set it on the role too (README: ALTER ROLE ... SET jit = off).
    if type(dbapi_connection).__module__.startswith("psycopg"):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.autocommit = autocommit


def _init_database(app: Flask, settings: Settings) -> None:
    from portal.domain.core import session  # BEGIN (IMMEDIATE) and the write intent
    from portal.extensions import db, migrate

    session.STRICT["reads"] = settings.env == "test"
    db.init_app(app)
    with app.app_context():
        db.engine.portal_write_wait = settings.sqlite_busy_timeout_ms / 1000
    migrate.init_app(app, db, directory=str(RESOURCES / "migrations"), render_as_batch=True)


def _init_extensions(app: Flask, settings: Settings) -> None:
    from portal import i18n, web
    from portal.extensions import csrf, limiter, login_manager
    from portal.integrations import oidc

    app.before_request(web.upload_limits)  # before the CSRF check reads the body
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "client.sign_in"
    login_manager.blueprint_login_views = {"staff_bridge": "staff_bridge.sign_in"}
    login_manager.session_protection = None  # our sessions are server-side and rotated by us
    i18n.init_app(app)
    oidc.init_app(app, settings)


def _init_web(app: Flask) -> None:
    from portal import security, web
    from portal.domain import features

    features.load()  # the features' job handlers, review kinds and hooks, listed once
    web.init_app(app)
    security.init_app(app)
    web.finish_requests(app)  # last registered, so the first after-request hook to run
    app.jinja_env.globals["quick_exit_url"] = app.extensions["portal.settings"].quick_exit_url

    @app.context_processor
    def _template_globals():
        return {
            "csp_nonce": security.nonce(),
            "request_id": security.request_id(),
            "idle_seconds": web.idle_seconds(),
            "here": web.here,
        }


def _register_blueprints(app: Flask) -> None:
    from portal.api import bp as api_bp
    from portal.client import bp as client_bp
    from portal.common import bp as common_bp
    from portal.texts_hooks import bp as texts_hooks_bp
    from staff_bridge import bp as staff_bp

    app.register_blueprint(common_bp)
    app.register_blueprint(client_bp)
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(api_bp)
    app.register_blueprint(texts_hooks_bp)


def _register_commands(app: Flask) -> None:
    from portal import cli

    cli.init_app(app)


def _hash_static_names(app: Flask, settings: Settings) -> None:
    from portal import assets

    # Development edits files while the server runs: plain names there.
    assets.init_app(app, enabled=settings.env != "development" and not settings.debug)


def _trust_proxies(app: Flask, settings: Settings) -> None:
    if settings.trusted_proxy_count > 0:
        # X-Forwarded-For only: links come from BASE_URL, never from forwarded host headers.
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=settings.trusted_proxy_count,
            x_proto=0,
            x_host=0,
            x_port=0,
            x_prefix=0,
        )
