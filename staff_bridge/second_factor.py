"""A staff member's second factor (R20): the sign-in step after the password, enrolling an
authenticator app (at the first sign-in when one is required, or later from My account),
recovery codes, and an administrator's reset after a lost phone."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.access import public, staff_only
from portal.domain.accounts import factors, passkeys, signin, staff
from portal.domain.core.roles import Capability
from portal.domain.core.statuses import FactorKind
from portal.forms import ConfirmPasswordForm
from portal.security import safe_next
from portal.web import (
    attempt,
    end_second_step,
    keep_challenge,
    reauthenticate,
    recently_authenticated,
    second_step_state,
    sign_in_rate_limit,
    start_session,
)
from staff_bridge import bp
from staff_bridge.forms import ResetSecondFactorForm, SecondFactorForm, TotpSetupForm
from staff_bridge.invitations import qr_data_uri

NO_STORE = {"Cache-Control": "no-store"}
TOO_MANY_TRIES = _l("Too many tries. Wait a few minutes, then sign in again with your password.")


def pending(step: str):
    """The staff member whose right password started this browser's sign-in, while it still
    needs `step` (`signin.staff_at_second_step`); None when there is no such sign-in."""
    state = second_step_state()
    if state is None or state.get("step") != step:
        return None, None
    member = signin.staff_at_second_step(state.get("account"), step, state.get("password", ""))
    if member is None:
        end_second_step()
        return None, None
    return member, state


def _restart():
    flash(_("Sign in again to continue."), "info")
    return redirect(url_for("staff_bridge.sign_in"), code=303)


def start(member, state) -> str:
    """Sign in (the second factor was shown) and say where to go next."""
    end_second_step()
    start_session(member, sso=state.get("sso"))
    return safe_next(state.get("next") or "", url_for("staff_bridge.home"))


@bp.route("/sign-in/code", methods=["GET", "POST"])
@public
@sign_in_rate_limit
def sign_in_code():
    member, state = pending("code")
    if member is None:
        return _restart()
    form = SecondFactorForm()
    if form.validate_on_submit():
        result = signin.finish_second_factor(member, form.code.data or "")
        if result.ok:
            return redirect(start(member, state), code=303)
        if result.refusal == "throttled":
            end_second_step()  # after the wait, the password again
            form.code.errors = [str(TOO_MANY_TRIES)]
        else:
            form.code.errors = [str(factors.WRONG_CODE)]
    return code_page(member, form)


def sign_in_options(member) -> str | None:
    """The options for the code page's "Use your passkey" button (None: no passkey to use);
    their challenge is kept for the passkey's answer (`staff_bridge.passkeys`)."""
    made = passkeys.authentication_options(member)
    if made is None:
        return None
    options, challenge = made
    keep_challenge("sign_in", challenge)
    return options


@bp.app_template_global()
def reauth_passkey_options() -> str | None:
    """For a re-authentication form (`_reauth.html`): options to use one of the signed-in
    person's passkeys instead of a code, or None."""
    if not current_user.is_authenticated or current_user.kind != "staff":
        return None
    made = passkeys.authentication_options(current_user)
    if made is None:
        return None
    options, challenge = made
    keep_challenge("reauth", challenge)
    return options


def code_page(member, form):
    """The second step's page: a code, or (with JavaScript) one of the person's passkeys."""
    return (
        render_template(
            "staff_bridge/second_factor/code.html",
            form=form,
            passkey_options=sign_in_options(member),
        ),
        NO_STORE,
    )


@bp.route("/sign-in/set-up", methods=["GET", "POST"])
@public
@sign_in_rate_limit
def sign_in_set_up():
    """The first sign-in of someone who needs a second factor and has none: set up an app
    now; the sign-in ends with the app's first code."""
    member, state = pending("enrol")
    if member is None:
        return _restart()
    form = TotpSetupForm()
    setup = None
    if form.validate_on_submit():
        ok, codes = attempt(
            form, factors.confirm_totp, member, form.setup.data or "", form.code.data or ""
        )
        if ok and signin.enrolled_and_signed_in(member, FactorKind.TOTP).ok:
            destination = start(member, state)
            if not codes:  # recovery codes kept from before are still good
                return redirect(destination, code=303)
            return recovery_codes_page(codes, destination)
        setup = factors.setup_again(member, form.setup.data or "")
    return _setup_page(form, setup or factors.current_setup(member, session.get(SETUP)), True)


SETUP = "app_setup"  # the app set-up this browser shows (another browser's is not shown here)


def _setup_page(form, setup, during_sign_in: bool):
    session[SETUP] = form.setup.data = setup.factor_id
    return (
        render_template(
            "staff_bridge/second_factor/set_up.html",
            form=form,
            setup=setup,
            qr=qr_data_uri(setup.uri),
            during_sign_in=during_sign_in,
        ),
        NO_STORE,
    )


def recovery_codes_page(codes, destination):
    """Shown once: the codes exist nowhere else in clear."""
    return (
        render_template(
            "staff_bridge/second_factor/recovery_codes.html", codes=codes, destination=destination
        ),
        NO_STORE,
    )


# --- My account: the second factor -----------------------------------------------------------


@bp.get("/account/second-factor")
@staff_only()
def second_factor_settings():
    return _settings_page(ConfirmPasswordForm())


def _settings_page(form):
    return render_template(
        "staff_bridge/second_factor/settings.html",
        factors=factors.confirmed(current_user),
        codes_left=factors.recovery_codes_left(current_user),
        required=factors.required(current_user),
        form=form,
        needs_password=not recently_authenticated(),
    )


@bp.post("/account/second-factor/confirm")
@staff_only()
def confirm_second_factor_changes():
    """The password and a code once: changes on this page need no more for 5 minutes."""
    form = ConfirmPasswordForm()
    if form.validate_on_submit() and reauthenticate(form):
        return redirect(url_for("staff_bridge.second_factor_settings"), code=303)
    return _settings_page(form)


def unless_confirmed(again: str):
    """The "confirm it is you" page (the password, and a code or a passkey), unless they were
    given in the last 5 minutes: then None, and the caller goes on. Confirmed now, it comes
    back to the `again` page."""
    if recently_authenticated():
        return None
    form = ConfirmPasswordForm()
    # A set-up form sent after the 5 minutes ran out is no wrong password to count, only the
    # confirm page again: only the confirm form itself (with a password, or without one for an
    # account that has none) is checked.
    confirming = "password" in request.form or "confirming" in request.form
    if confirming and form.validate_on_submit() and reauthenticate(form):
        return redirect(url_for(again), code=303)
    return render_template(
        "staff_bridge/second_factor/confirm.html",
        form=form,
        has_factor=factors.has_factor(current_user),
    )


@bp.route("/account/second-factor/app", methods=["GET", "POST"])
@staff_only()
def second_factor_app():
    """Set up an authenticator app (or a new phone's): after the password (and the current
    app's code) unless given in the last 5 minutes."""
    asked = unless_confirmed("staff_bridge.second_factor_app")
    if asked is not None:
        return asked
    form = TotpSetupForm()
    setup = None
    if form.validate_on_submit() and form.code.data is not None:
        ok, codes = attempt(
            form, factors.confirm_totp, current_user, form.setup.data or "", form.code.data or ""
        )
        if ok:
            if codes:
                return recovery_codes_page(codes, url_for("staff_bridge.second_factor_settings"))
            flash(_("Your authenticator app is set up."), "success")
            return redirect(url_for("staff_bridge.second_factor_settings"), code=303)
        setup = factors.setup_again(current_user, form.setup.data or "")
    setup = setup or factors.current_setup(current_user, session.get(SETUP))
    return _setup_page(form, setup, False)


@bp.post("/account/second-factor/<factor_id>/remove")
@staff_only()
def remove_second_factor(factor_id: str):
    factor = factors.own_factor(current_user, factor_id)  # anyone else's: 404
    problem = factors.removal_problem(current_user, factor)
    if problem is not None:  # said before a code is asked for (and used up) in vain
        flash(str(problem), "error")
        return redirect(url_for("staff_bridge.second_factor_settings"), code=303)
    form = ConfirmPasswordForm()
    if form.validate_on_submit() and reauthenticate(form):
        ok, _r = attempt(form, factors.remove, current_user, factor_id)
        if ok:
            flash(_("Removed."), "success")
        else:
            for message in form.form_errors:
                flash(message, "error")
    else:
        flash(_("First confirm it is you (your password and a code)."), "error")
    return redirect(url_for("staff_bridge.second_factor_settings"), code=303)


@bp.post("/account/recovery-codes")
@staff_only()
def new_recovery_codes():
    form = ConfirmPasswordForm()
    if not (form.validate_on_submit() and reauthenticate(form)):
        flash(_("First confirm it is you (your password and a code)."), "error")
        return redirect(url_for("staff_bridge.second_factor_settings"), code=303)
    codes = factors.new_recovery_codes(current_user)
    return recovery_codes_page(codes, url_for("staff_bridge.second_factor_settings"))


# --- an administrator resets a lost factor -----------------------------------------------------


@bp.route("/team/<member_id>/reset-second-factor", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_STAFF)
def reset_second_factor(member_id: str):
    """An agency administrator resets a case manager's lost factor."""
    return _reset_page(member_id, done=url_for("staff_bridge.staff_member", member_id=member_id))


@bp.route("/administrators/<admin_id>/reset-second-factor", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_AGENCIES)
def reset_admin_second_factor(admin_id: str):
    """A system administrator resets an administrator's lost factor."""
    return _reset_page(admin_id, done=url_for("staff_bridge.agency_list"))


def _reset_page(member_id: str, *, done: str):
    """After an identity check: every factor and recovery code of the person goes and every
    session of theirs ends; they set up a new one at their next sign-in."""
    member = staff.factor_reset_target(current_user, member_id)
    form = ResetSecondFactorForm()
    submitted = form.validate_on_submit()
    if submitted and not form.identity_checked.data:  # before the password and code are used
        form.identity_checked.errors = [str(staff.IDENTITY_CHECK_FIRST)]
    elif submitted and reauthenticate(form, always=True):
        ok, _r = attempt(
            form, staff.reset_second_factor, current_user, member, bool(form.identity_checked.data)
        )
        if ok:
            flash(
                _(
                    "Done. %(name)s sets up a new second factor at their next sign-in.",
                    name=member.display_name,
                ),
                "success",
            )
            return redirect(done, code=303)
    return render_template(
        "staff_bridge/second_factor/reset.html",
        form=form,
        member=member,
        has_factor=factors.has_factor(current_user),
    )
