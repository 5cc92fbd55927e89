"""Passkeys (WebAuthn) on the staff bridge (issue 19): adding one from My account, and using
one as the second step of a sign-in. The pages work without JavaScript (they say passkeys need
it, and the authenticator app stays); the browser's part is in static/js/portal.js."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import public, staff_only
from portal.domain.accounts import passkeys, signin
from portal.web import (
    attempt,
    end_second_step,
    keep_challenge,
    sign_in_rate_limit,
    take_challenge,
)
from staff_bridge import bp
from staff_bridge.forms import PasskeyForm, SecondFactorForm
from staff_bridge.second_factor import (
    NO_STORE,
    TOO_MANY_TRIES,
    code_page,
    pending,
    recovery_codes_page,
    start,
    unless_confirmed,
)


@bp.post("/sign-in/passkey")
@public
@sign_in_rate_limit
def sign_in_passkey():
    member, state = pending("code")
    if member is None:
        return redirect(url_for("staff_bridge.sign_in"), code=303)
    form = PasskeyForm()
    if form.validate_on_submit():
        answer = form.answer.data or ""
        result = signin.finish_with_passkey(member, answer, take_challenge("sign_in"))
        if result.ok:
            return redirect(start(member, state), code=303)
        if result.refusal == "throttled":
            end_second_step()  # after the wait, the password again
            code_form = SecondFactorForm()
            code_form.form_errors.append(str(TOO_MANY_TRIES))
            return code_page(member, code_form)
    code_form = SecondFactorForm()
    code_form.form_errors.append(_("That passkey did not work. Try it again, or type a code."))
    return code_page(member, code_form)


@bp.route("/account/passkeys/new", methods=["GET", "POST"])
@staff_only()
def add_passkey():
    """Add a passkey: after the password (and a code) unless given in the last 5 minutes."""
    asked = unless_confirmed("staff_bridge.add_passkey")
    if asked is not None:
        return asked
    form = PasskeyForm()
    if form.validate_on_submit():
        ok, codes = attempt(
            form,
            passkeys.register,
            current_user,
            form.answer.data or "",
            take_challenge("register"),
            form.name.data or "",
        )
        if ok:
            if codes:
                return recovery_codes_page(codes, url_for("staff_bridge.second_factor_settings"))
            flash(_("Your passkey is added."), "success")
            return redirect(url_for("staff_bridge.second_factor_settings"), code=303)
    options = None
    if passkeys.relying_party() is not None:
        options, challenge = passkeys.registration_options(current_user)
        keep_challenge("register", challenge)
    return (
        render_template("staff_bridge/second_factor/passkey_new.html", form=form, options=options),
        NO_STORE,
    )
