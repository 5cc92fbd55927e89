"""A client's own account: recovery, password, sessions, privacy updates, closing it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal import recovery_pages
from portal.access import client_only, public
from portal.client import bp
from portal.client.forms import (
    DeactivateForm,
    EmailChangeCodeForm,
    EmailChangeForm,
    ForgotPasswordForm,
    PreferencesForm,
    PrivacyForm,
    ResetCodeForm,
    ResetPasswordForm,
)
from portal.domain.accounts import client_accounts, sessions
from portal.forms import ChangePasswordForm, ConfirmPasswordForm
from portal.i18n import LANGUAGE_NAMES
from portal.settings import current as current_settings
from portal.web import (
    attempt,
    change_own_password,
    current_session_row,
    end_own_sessions,
    per_account_limit,
    per_ip_limit,
    reauthenticate,
    recently_authenticated,
    sign_in_rate_limit,
    sign_out_response,
)

# What a client whose privacy acceptance is out of date may still reach.
PRIVACY_GATE_EXEMPT = frozenset(
    {
        "client.privacy_update",
        "client.privacy",
        "client.sign_out",
        "client.signed_out",
        "client.deactivate_account",
        "client.account_closed",
    }
)


@bp.before_request
def _privacy_gate():
    """A new privacy notice version is accepted before anything else (issue 4, step 5)."""
    if request.endpoint in PRIVACY_GATE_EXEMPT or not current_user.is_authenticated:
        return None
    if client_accounts.needs_privacy_acceptance(current_user):
        return redirect(url_for("client.privacy_update"), code=303)
    return None


# --- recovery (signed out) ------------------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
@sign_in_rate_limit
def forgot_password():
    hours = current_settings().password_reset_valid_for.total_seconds() // 3600
    return recovery_pages.forgot_password_page(
        "client",
        ForgotPasswordForm(),
        page="client/forgot_password.html",
        sent="client/forgot_password_sent.html",
        hours=int(hours),
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    return recovery_pages.reset_password_page(
        "client",
        token,
        ResetPasswordForm(),
        page="client/reset_password.html",
        expired="client/link_expired.html",
        sign_in="client.sign_in",
    )


@bp.route("/reset-code", methods=["GET", "POST"])
@public
@per_ip_limit("10 per 15 minutes")
def reset_code():
    """A printed one-time code from staff, for clients who cannot reach their email."""
    form = ResetCodeForm()
    if form.validate_on_submit():
        ok, _account = attempt(
            form, client_accounts.reset_with_code, form.code.data or "", form.password.data or ""
        )
        if ok:
            flash(_("Your new password is set. Sign in with it now."), "success")
            return redirect(url_for("client.sign_in"), code=303)
    return render_template("client/reset_code.html", form=form)


# --- own account (signed in) ----------------------------------------------------------


def _preferences_form() -> PreferencesForm:
    form = PreferencesForm()
    form.language.choices = [
        (code, LANGUAGE_NAMES.get(code, code)) for code in current_settings().languages
    ]
    if not form.is_submitted():
        form.language.data = current_user.preferred_language
    return form


@bp.post("/account/preferences")
@client_only
def save_preferences():
    """Account preferences change at once (they are not record data)."""
    form = _preferences_form()
    if form.validate_on_submit():
        ok, _r = attempt(
            form,
            client_accounts.update_preferences,
            current_user,
            language=form.language.data or "",
        )
        if ok:
            session["lang"] = current_user.preferred_language
            flash(_("Saved."), "success")
            return redirect(url_for("client.my_account"), code=303)
    return render_template("client/account.html", form=ChangePasswordForm(), preferences=form)


@bp.route("/account/email", methods=["GET", "POST"])
@client_only
@per_account_limit("5 per hour")
def change_email():
    """The sign-in email: the password (R27), then a code sent to the new address."""
    form = EmailChangeForm()
    if form.validate_on_submit() and reauthenticate(form, always=True):
        ok, _r = attempt(
            form, client_accounts.start_email_change, current_user, form.new_email.data or ""
        )
        if ok:
            return redirect(url_for("client.confirm_email_change"), code=303)
    return render_template("client/change_email.html", form=form)


@bp.route("/account/email/confirm", methods=["GET", "POST"])
@client_only
def confirm_email_change():
    if not current_user.pending_email:
        return redirect(url_for("client.change_email"), code=303)
    form = EmailChangeCodeForm()
    if form.validate_on_submit():
        ok, _r = attempt(
            form, client_accounts.confirm_email_change, current_user, form.code.data or ""
        )
        if ok:
            flash(_("Done. You sign in with your new email from now on."), "success")
            return redirect(url_for("client.my_account"), code=303)
    return render_template("client/confirm_email.html", form=form, email=current_user.pending_email)


@bp.route("/account", methods=["GET", "POST"])
@client_only
def my_account():
    form = ChangePasswordForm()
    if form.validate_on_submit() and change_own_password(form):
        flash(_("Password changed. You were signed out everywhere else."), "success")
        return redirect(url_for("client.my_account"), code=303)
    return render_template("client/account.html", form=form, preferences=_preferences_form())


def _sessions_page(form, status: int = 200):
    return (
        render_template(
            "client/sessions.html",
            rows=sessions.live_for(current_user),
            current=current_session_row(),
            describe=sessions.describe_device,
            needs_password=not recently_authenticated(),
            form=form,
        ),
        status,
    )


@bp.get("/account/sessions")
@client_only
def my_sessions():
    return _sessions_page(ConfirmPasswordForm())


@bp.post("/account/sessions/end")
@client_only
def end_my_sessions():
    """Ending other sessions needs the password again unless typed in the last 5 minutes
    (R29). Ending this very session is "Finish and log out"."""
    form = ConfirmPasswordForm()
    if not (form.validate_on_submit() and reauthenticate(form)):
        return _sessions_page(form)
    ended = end_own_sessions(request.form.get("session", ""))
    if ended is None:
        return sign_out_response(url_for("client.signed_out"))
    if ended:
        flash(
            ngettext(
                "Done. %(num)d other place is signed out.",
                "Done. %(num)d other places are signed out.",
                ended,
            ),
            "success",
        )
    return redirect(url_for("client.my_sessions"), code=303)


@bp.route("/privacy/update", methods=["GET", "POST"])
@client_only
def privacy_update():
    if not client_accounts.needs_privacy_acceptance(current_user):
        return redirect(url_for("client.home"), code=303)
    form = PrivacyForm()
    if form.validate_on_submit():
        ok, _r = attempt(
            form, client_accounts.accept_privacy_update, current_user, bool(form.accept.data)
        )
        if ok:
            return redirect(url_for("client.home"), code=303)
    return render_template("client/privacy_update.html", form=form)


@bp.route("/account/deactivate", methods=["GET", "POST"])
@client_only
def deactivate_account():
    """Confirmed twice: a ticked box, and the password unless typed in the last 5 minutes."""
    form = DeactivateForm()
    if form.validate_on_submit() and reauthenticate(form):
        ok, _r = attempt(
            form, client_accounts.deactivate_self, current_user, confirmed=bool(form.confirm.data)
        )
        if ok:
            return sign_out_response(url_for("client.account_closed"))
    return render_template(
        "client/deactivate.html", form=form, needs_password=not recently_authenticated()
    )


@bp.get("/account-closed")
@public
def account_closed():
    return render_template("client/account_closed.html")
