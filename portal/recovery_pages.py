"""The password-recovery pages both blueprints serve, one flow for clients and staff
(portal.domain.accounts.recovery): "Forgot your password?" and the emailed reset link. Each
blueprint keeps its own route, rate limit and templates; what happens is the same.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from portal.domain.accounts import recovery
from portal.web import attempt


def forgot_password_page(kind: str, form, *, page: str, sent: str, **sent_values):
    """The same answer whether or not the address has an account (R17); only an address that
    cannot be anyone's is refused, in words."""
    if form.validate_on_submit():
        email = form.email.data or ""
        ok, _none = attempt(form, recovery.request_reset, kind, email)
        if ok:
            return render_template(sent, **sent_values)
    return render_template(page, form=form)


def reset_password_page(kind: str, token: str, form, *, page: str, expired: str, sign_in: str):
    """Opening the link changes nothing (mail scanners open links); the POST does. No
    automatic sign-in after: the person signs in with the new password."""
    if not recovery.reset_link_is_live(kind, token):
        return render_template(expired), 404
    if form.validate_on_submit():
        ok, _account = attempt(form, recovery.reset_password, kind, token, form.password.data or "")
        if ok:
            flash(_("Your new password is set. Sign in with it now."), "success")
            return redirect(url_for(sign_in), code=303)
    return render_template(page, form=form)
