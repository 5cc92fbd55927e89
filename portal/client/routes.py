"""Client pages. Onboarding (issue 4) and self-service (issue 5 on) add theirs here."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user

from portal.access import client_only, public
from portal.client import bp
from portal.forms import ActionForm, SignInForm
from portal.web import end_session, handle_sign_in, sign_in_rate_limit


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
@public
@sign_in_rate_limit
def sign_in():
    form = SignInForm()
    timed_out = session.pop("signed_out", None) if request.method == "GET" else None
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    elif form.validate_on_submit():
        done = handle_sign_in("client", form, home="client.home")
        if done is not None:
            return done
    return render_template("client/sign_in.html", form=form, timed_out=timed_out)


@bp.post("/sign-out")
@public
def sign_out():
    """'Finish and log out': ends the server session and clears what the browser kept."""
    if ActionForm().validate_on_submit():
        end_session("signed_out")
    response = redirect(url_for("client.signed_out"), code=303)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.get("/signed-out")
@public
def signed_out():
    return render_template("client/signed_out.html")


@bp.get("/home")
@client_only
def home():
    return render_template("client/home.html")
