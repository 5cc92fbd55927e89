"""Client pages. Onboarding (issue 4) and self-service (issue 5 on) add theirs here."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import public
from portal.client import bp
from portal.settings import current as current_settings
from portal.web import (
    reads_first,
    sign_in_page,
    sign_in_rate_limit,
    sign_out_response,
    without_csrf_token,
)


@bp.get("/")
@public
def start():
    if current_user.is_authenticated and current_user.kind == "client":
        return redirect(url_for("client.home"))
    return render_template("client/start.html")


@bp.get("/privacy")
@public
def privacy():
    return render_template("client/privacy.html")


@bp.route("/sign-in", methods=["GET", "POST"])
@reads_first  # the password is checked before the write lock is taken
@public
@sign_in_rate_limit
def sign_in():
    return sign_in_page("client", template="client/sign_in.html", home="client.home")


@bp.post("/sign-out")
@public
def sign_out():
    """'Finish and log out': ends the server session and clears what the browser kept."""
    return sign_out_response(url_for("client.signed_out"))


@bp.post("/leave")
@without_csrf_token
@public
def leave_quickly():
    """ "Leave quickly" (every client page, or Shift pressed three times): ends the session at
    once and sends the browser to an ordinary site. No CSRF token is asked for: a refusal
    would keep a person on the page they need to hide, and all a forged request could do is
    end its sender's own session (Fetch-Metadata still refuses cross-site POSTs). The page's
    script sends it as a beacon while it leaves: that gets 204, not a redirect the beacon would
    follow to the other site (which the page's connect-src refuses)."""
    if request.headers.get("Sec-Fetch-Mode", "navigate") != "navigate":
        return sign_out_response(None)
    return sign_out_response(current_settings().quick_exit_url)


@bp.get("/signed-out")
@public
def signed_out():
    return render_template("client/signed_out.html")
