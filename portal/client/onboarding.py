"""Redeeming an invitation, one question per page (issue 4)."""

from __future__ import annotations

from functools import wraps

from flask import abort, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.access import public
from portal.client import bp
from portal.client.forms import (
    CodeForm,
    DateOfBirthForm,
    EmailForm,
    InvitationCodeForm,
    NewPasswordForm,
    PrivacyForm,
)
from portal.domain.accounts import onboarding
from portal.domain.core.errors import DomainError
from portal.domain.core.statuses import InvitationStatus
from portal.domain.core.validation import date_from_parts
from portal.forms import ActionForm, month_choices
from portal.web import attempt, per_ip_limit, rotate_session_id, start_session

KEY = "onboarding"
CODE_UNUSABLE = _l(
    "This code cannot be used. Check it against your sheet and type it again. If it still "
    "does not work, it may have expired or been used: ask your case manager for a new one."
)

WRONG_DOB = _l(
    "This date of birth does not match our record. Check it and try again. After %(count)s "
    "wrong tries this invitation stops working, and your case manager can give you a new one.",
    count=onboarding.DOB_TRIES,
)
WRONG_EMAIL = _l(
    "This email is not the one on your record. Check it and try again. After %(count)s wrong "
    "tries this invitation stops working, and your case manager can give you a new one.",
    count=onboarding.EMAIL_TRIES,
)


def _unusable():
    return render_template("client/invitation/unusable.html")


def _bind(opened) -> object:
    invitation, binding = opened
    session[KEY] = {"invitation": str(invitation.public_id), "binding": binding}
    rotate_session_id()
    return redirect(url_for("client.invitation_dob"), code=303)


def step(needs: str):
    """Load the invitation this browser is redeeming; 403 when a step is skipped (R11)."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            state = session.get(KEY) or {}
            try:
                invitation = onboarding.load(
                    state.get("invitation"), state.get("binding"), needs=needs
                )
            except onboarding.InvitationUnusable:
                session.pop(KEY, None)
                return _unusable()
            except onboarding.OutOfOrder:
                abort(403)
            return view(invitation, *args, **kwargs)

        return wrapped

    return decorate


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
@per_ip_limit("10 per 15 minutes")
def invitation_start(token: str):
    """The emailed link. Opening it changes nothing (mail scanners open links)."""
    form = ActionForm()
    if form.validate_on_submit():
        try:
            return _bind(onboarding.open_by_token(token))
        except onboarding.InvitationUnusable:
            return _unusable()
    if not form.is_submitted() and not onboarding.token_usable(token):
        return _unusable()  # said at once, with the ways on (not after "Continue")
    return render_template("client/invitation/start.html", form=form)


@bp.route("/invitation-code", methods=["GET", "POST"])
@public
@per_ip_limit("10 per 15 minutes")
def invitation_code():
    form = InvitationCodeForm()
    if form.validate_on_submit():
        try:
            return _bind(onboarding.open_by_code(form.code.data or ""))
        except onboarding.InvitationUnusable:
            # Mistyped, used or expired (one answer, R7): the form again, to type it again.
            form.code.errors = [str(CODE_UNUSABLE)]
            return render_template("client/invitation/code.html", form=form), 400
    return render_template("client/invitation/code.html", form=form)


@bp.route("/invitation/date-of-birth", methods=["GET", "POST"])
@public
@per_ip_limit("10 per 15 minutes")
@step("new")
def invitation_dob(invitation):
    if invitation.step != "new":
        return redirect(url_for("client.invitation_email"), code=303)
    form = DateOfBirthForm()
    form.month.choices = month_choices()
    if form.validate_on_submit():
        try:
            dob = date_from_parts(form.day.data, form.month.data, form.year.data, field="day")
            onboarding.check_dob(invitation, dob)
        except DomainError as refusal:
            if invitation.status == InvitationStatus.LOCKED:  # under 18: kind and neutral
                session.pop(KEY, None)
                return render_template(
                    "client/invitation/refused.html", message=str(refusal.message)
                )
            form.day.errors = [str(refusal.message)]
        else:
            if invitation.step == "dob_ok" and invitation.status != InvitationStatus.LOCKED:
                rotate_session_id()
                return redirect(url_for("client.invitation_email"), code=303)
            # Every wrong date gets this one answer, the one that locks included (R7): a count
            # of tries left would tell someone holding a leaked link how close they are. The
            # next try then finds the invitation unusable, like any other, and the care team
            # has been told (R6).
            form.day.errors = [str(WRONG_DOB)]
    return render_template("client/invitation/dob.html", form=form)


@bp.route("/invitation/email", methods=["GET", "POST"])
@public
@step("dob_ok")
def invitation_email(invitation):
    form = EmailForm()
    if form.validate_on_submit():
        onboarding.submit_email(invitation, form.email.data or "")
        if invitation.step == "email_sent" and invitation.status != InvitationStatus.LOCKED:
            return redirect(url_for("client.invitation_verify"), code=303)
        # Like a wrong date of birth: one answer, the one that locks included (R7).
        form.email.errors = [str(WRONG_EMAIL)]
    return render_template("client/invitation/email.html", form=form)


@bp.route("/invitation/verify", methods=["GET", "POST"])
@public
@step("email_sent")
def invitation_verify(invitation):
    if onboarding.STEPS.index(invitation.step) >= onboarding.STEPS.index("email_verified"):
        return redirect(url_for("client.invitation_privacy"), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        ok, left = attempt(form, onboarding.verify_code, invitation, form.code.data or "")
        if ok and invitation.step == "email_verified":
            return redirect(url_for("client.invitation_privacy"), code=303)
        if ok:
            form.code.errors = [
                _("This code is not right. You have %(count)s tries left.", count=left)
            ]
    return render_template("client/invitation/verify.html", form=form)


@bp.route("/invitation/confirm-email/<token>", methods=["GET", "POST"])
@public
def confirm_email(token: str):
    """The emailed link: opening it shows a button; only pressing it confirms."""
    form = ActionForm()
    if onboarding.email_link_invitation(token) is None:
        return _unusable()
    if form.validate_on_submit():
        onboarding.confirm_email_link(token)
        return render_template("client/invitation/email_confirmed.html")
    return render_template("client/invitation/confirm_email.html", form=form)


@bp.route("/invitation/privacy", methods=["GET", "POST"])
@public
@step("email_verified")
def invitation_privacy(invitation):
    form = PrivacyForm()
    if form.validate_on_submit():
        ok, _r = attempt(form, onboarding.accept_privacy, invitation, bool(form.accept.data))
        if ok:
            return redirect(url_for("client.invitation_password"), code=303)
    return render_template("client/invitation/privacy.html", form=form)


@bp.route("/invitation/password", methods=["GET", "POST"])
@public
@step("privacy_ok")
def invitation_password(invitation):
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            account = onboarding.create_account(invitation, form.password.data or "")
        except onboarding.InvitationUnusable:
            session.pop(KEY, None)
            return _unusable()
        except DomainError as refusal:
            form.password.errors = [str(refusal.message)]
        else:
            session.pop(KEY, None)
            start_session(account)
            return redirect(url_for("client.home"), code=303)
    return render_template("client/invitation/password.html", form=form)
