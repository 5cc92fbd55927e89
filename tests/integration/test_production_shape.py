"""What the production stack relies on, tested without it: readiness, content-hashed static
files, rate limits that survive their store going away (the stack's own tests: tests/stack)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from portal import create_app
from portal.extensions import db, limiter
from tests.support import build_app, make_settings


def test_ready_when_the_database_answers_with_the_expected_schema(app, database):
    answer = app.test_client().get("/ready")
    assert answer.status_code == 200
    assert answer.json == {
        "status": "ready",
        "database": "ok",
        "rate_limits": "ok",
        "documents": "ok",
    }


def test_not_ready_while_the_schema_lacks_migrations_this_code_needs(app, database):
    from portal.readiness import _scripts

    older = next(iter(_scripts().get_revision(h).down_revision for h in _scripts().get_heads()))
    database.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": older})
    answer = app.test_client().get("/ready")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json["status"] == "not_ready"
    assert answer.json["database"] == "schema_older"


def test_still_ready_when_a_newer_release_has_migrated_the_schema(app, database):
    """A deploy migrates first, then restarts hosts one by one: the old code keeps serving."""
    database.session.execute(text("UPDATE alembic_version SET version_num = 'from_next_release'"))
    answer = app.test_client().get("/ready")
    assert answer.status_code == 200
    assert answer.json["database"] == "schema_newer"


def test_not_ready_without_a_database_and_the_answer_names_no_address(tmp_path):
    settings = make_settings(tmp_path, "postgresql+psycopg://nobody:secret@127.0.0.1:9/none")
    app = create_app(settings)
    answer = app.test_client().get("/ready")
    assert answer.status_code == 503
    assert answer.json == {
        "status": "not_ready",
        "database": "down",
        "rate_limits": "ok",
        "documents": "ok",
    }
    assert b"127.0.0.1" not in answer.data and b"secret" not in answer.data
    with app.app_context():
        db.engine.dispose()


def test_a_down_document_store_is_reported_but_the_node_still_serves(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    app = build_app(tmp_path, f"sqlite:///{tmp_path / 'p.sqlite3'}", storage_path=blocked)
    answer = app.test_client().get("/ready")
    assert answer.status_code == 200
    assert answer.json["documents"] == "down"
    with app.app_context():
        db.engine.dispose()


def _static_links(page: str) -> list[str]:
    return re.findall(r'/static/[^"]+', page)


def test_static_files_are_linked_by_content_hash_and_kept_for_a_year(app, database):
    client = app.test_client()
    links = _static_links(client.get("/sign-in").get_data(as_text=True))
    assert len(links) == 2
    static = Path(app.static_folder)
    for link in links:
        name, digest, suffix = link.removeprefix("/static/").rsplit(".", 2)
        original = static / f"{name}.{suffix}"
        assert digest == hashlib.sha256(original.read_bytes()).hexdigest()[:12]
        answer = client.get(link)
        assert answer.status_code == 200
        assert answer.data == original.read_bytes()
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        # The plain name still works (an old page), revalidated within the hour.
        plain = client.get(f"/static/{name}.{suffix}")
        assert plain.status_code == 200
        assert "immutable" not in plain.headers["Cache-Control"]
        # A hash that is not the file's is not the file.
        assert client.get(f"/static/{name}.{'0' * 12}.{suffix}").status_code == 404


def test_development_links_plain_names_that_follow_edits(tmp_path):
    app = create_app(
        make_settings(tmp_path, f"sqlite:///{tmp_path / 'dev.sqlite3'}").with_overrides(
            env="development"
        )
    )
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="css/portal.css") == "/static/css/portal.css"


@pytest.fixture
def shared_limiter_restored(tmp_path):
    """Flask-Limiter is one object per process, pointed at the store of the last app made:
    afterwards it goes back to an in-memory store, with no memory of the dead one."""
    yield
    create_app(make_settings(tmp_path / "after", f"sqlite:///{tmp_path / 'after.sqlite3'}"))
    limiter._storage_dead = False  # set by the fallback; init_app does not clear it


def test_rate_limits_fall_back_to_each_process_when_their_store_is_gone(
    tmp_path, shared_limiter_restored
):
    """Redis unreachable: sign-in still works and per-address failures are still counted (in
    the process, until Redis answers); the per-account throttle is in the database anyway."""
    app = build_app(
        tmp_path,
        f"sqlite:///{tmp_path / 'limits.sqlite3'}",
        ratelimit_storage_uri="redis://127.0.0.1:9/0",
        sign_in_ip_limit="3 per minute",
    )
    client = app.test_client()
    statuses = []
    for n in range(5):
        page = client.get("/staff/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        answer = client.post(
            "/staff/sign-in",
            data={"email": f"nobody{n}@example.org", "password": "wrong", "csrf_token": token},
        )
        statuses.append(answer.status_code)
    assert statuses == [200, 200, 200, 429, 429]
    assert client.get("/ready").json["rate_limits"] == "down"
    with app.app_context():
        db.engine.dispose()


def test_collect_static_writes_each_file_under_its_hashed_name_and_keeps_older_ones(app, tmp_path):
    from portal.assets import hashed_names

    dest = tmp_path / "static-root"
    old_release = dest / "static" / "css" / "portal.0123456789ab.css"
    old_release.parent.mkdir(parents=True)
    old_release.write_text("/* the release before */")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["collect-static", str(dest)])
    assert first.exit_code == 0, first.output
    names = hashed_names(Path(app.static_folder))
    for plain, hashed in names.items():
        copy = dest / "static" / hashed
        assert copy.read_bytes() == (Path(app.static_folder) / plain).read_bytes()
    assert f"{len(names)} files written" in first.output
    again = runner.invoke(args=["collect-static", str(dest)])
    assert f"0 files written, {len(names)} already there" in again.output
    assert old_release.read_text() == "/* the release before */"  # pages of the last release


def test_gunicorns_master_compiles_every_template_before_forking_workers(tmp_path):
    """gunicorn.conf.py's `when_ready` runs in the master after the app is loaded: every
    template is compiled there, so a new worker never compiles one on a client's request."""
    import runpy
    import weakref
    from types import SimpleNamespace

    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'master.sqlite3'}"))
    environment = app.jinja_env
    names = environment.list_templates(extensions=("html", "txt"))
    key = weakref.ref(environment.loader)
    assert names and not any((key, name) in environment.cache for name in names)

    config["when_ready"](SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app)))

    assert all((key, name) in environment.cache for name in names)
    assert len(names) <= environment.cache.capacity  # none pushed out by the next
