"""Routes shared by clients and staff: language choice, liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, redirect, request, session
from sqlalchemy import text

from portal import readiness
from portal.access import public
from portal.extensions import db
from portal.security import safe_next
from portal.settings import current as current_settings
from portal.web import mark_active

bp = Blueprint("common", __name__)


@bp.post("/language")
@public
def choose_language():
    lang = request.form.get("lang", "")
    if lang in current_settings().languages:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")), code=303)


@bp.post("/session/keep-alive")
@public
def keep_alive():
    """'Stay signed in' from the timeout warning: the idle timeout starts again now."""
    mark_active()
    return "", 204


@bp.get("/health")
@public
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/ready")
@public
def ready():
    """200 when this node can serve, 503 (with each part's state) when it cannot."""
    ready, parts = readiness.report()
    body = {"status": "ready" if ready else "not_ready", **parts}
    if ready:
        return body
    return body, 503, {"Retry-After": "5", "Cache-Control": "no-store"}
