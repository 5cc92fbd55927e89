"""What the sign-in, sign-out and password pages of both blueprints share, and the rate
limits by address and by staff member."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Response, request, session
from flask_login import current_user

from portal.domain.accounts import sessions
from portal.domain.accounts.signin import password_stamp
from portal.domain.core import clock
from portal.domain.directory import coarse_coordinate
from portal.settings import current as current_settings
from portal.web._requests import _did_not_go_through, attempt
from portal.web._signed_in import current_session_row, end_session, rotate_session_id, start_session


def sign_in_rate_limit(view):
    """Per-IP limit on sign-in POSTs that fail (`SIGN_IN_IP_LIMIT`). Successes never count: a
    shelter's Wi-Fi is one address for everyone there, and 200 people signing in from it
    must not use each other up. Guessing one account is stopped by the per-account throttle
    (in the database), guessing many from one address by this limit."""
    from portal.extensions import limiter

    return limiter.limit(
        lambda: current_settings().sign_in_ip_limit,
        methods=["POST"],
        deduct_when=_did_not_go_through,
    )(view)


SECOND_STEP = "second_step"
SECOND_STEP_FOR = timedelta(minutes=10)


def begin_second_step(account, step: str, next_url: str, *, sso: dict | None = None) -> None:
    """Remember, in this browser's not-yet-signed-in session, whose password was right (or
    whom an identity provider signed in: `sso`) and what they still need ("code" or
    "enrol"): no signed-in session exists until then (R20)."""
    session[SECOND_STEP] = {
        "account": str(account.public_id),
        "step": step,
        "at": clock.now().isoformat(),
        "next": next_url,
        "password": password_stamp(account),
        "sso": sso,
    }


def second_step_state() -> dict | None:
    """The state `begin_second_step` kept, while it is under 10 minutes old."""
    state = session.get(SECOND_STEP)
    if not isinstance(state, dict):
        return None
    try:
        at = datetime.fromisoformat(state.get("at", ""))
    except (TypeError, ValueError):
        return None
    if clock.now() - at > SECOND_STEP_FOR:
        session.pop(SECOND_STEP, None)
        return None
    return state


def end_second_step() -> None:
    session.pop(SECOND_STEP, None)


CHALLENGES = "webauthn_challenges"
CHALLENGE_FOR = timedelta(minutes=5)


def keep_challenge(purpose: str, challenge: bytes) -> None:
    """A passkey ceremony's challenge, kept in this browser's server-side session until
    `take_challenge` uses it (once) or it is 5 minutes old."""
    kept = dict(session.get(CHALLENGES) or {})
    kept[purpose] = {"challenge": challenge.hex(), "at": clock.now().isoformat()}
    session[CHALLENGES] = kept


def take_challenge(purpose: str) -> bytes | None:
    kept = dict(session.get(CHALLENGES) or {})
    entry = kept.pop(purpose, None)
    session[CHALLENGES] = kept
    if not isinstance(entry, dict):
        return None
    try:
        at = datetime.fromisoformat(entry["at"])
        challenge = bytes.fromhex(entry["challenge"])
    except (KeyError, TypeError, ValueError):
        return None
    return challenge if clock.now() - at <= CHALLENGE_FOR else None


def sign_in_page(kind: str, *, template: str, home: str, second_step: dict | None = None):
    """The sign-in page for either account kind: the same answer for every refusal (R17).
    `second_step` names the pages for what a right password may still need (staff: "code",
    "enrol")."""
    from flask import redirect, render_template, url_for
    from flask_babel import gettext

    from portal.domain.accounts.signin import sign_in
    from portal.forms import SignInForm
    from portal.security import safe_next

    form = SignInForm()
    timed_out = None
    if request.method == "GET":
        timed_out = session.pop("signed_out", None)
        form.next.data = request.args.get("next", "")
    elif form.validate_on_submit():
        result = sign_in(kind, form.email.data or "", form.password.data or "")
        if result.ok:
            start_session(result.account)
            return redirect(safe_next(form.next.data, url_for(home)), code=303)
        if result.needs and second_step and result.needs[0] in second_step:
            begin_second_step(result.account, result.needs[0], form.next.data or "")
            return redirect(url_for(second_step[result.needs[0]]), code=303)
        form.form_errors.append(
            gettext(
                "The email or password is not right. After several tries you need to wait a few "
                "minutes before you try again."
            )
        )
        if kind == "staff" and current_settings().sso_providers:
            # The one answer for every refusal says where work accounts sign in (an agency
            # that requires it refuses passwords with this same answer: R17).
            form.form_errors.append(
                gettext(
                    "If your agency signs in with work accounts, use the work-account button "
                    "on this page instead of a password."
                )
            )
    return render_template(template, form=form, timed_out=timed_out)


def ended_session_response() -> Response | None:
    """A form sent from a page whose signed-in session has ended since (timed out, or ended by
    staff, a password change, a deactivation) fails the CSRF check: its token lived in that
    session. The view did not run, so nothing was written: answer with the sign-in page for
    that kind of account, which says they were signed out (and comes back to the page if it
    can be opened), not with "the page could not use what was sent". None for any other CSRF
    failure (a live session with a wrong token, no session at all): that stays a 400."""
    from flask import current_app, redirect, url_for
    from werkzeug.exceptions import HTTPException

    current = session._get_current_object()
    kind = getattr(current, "ended_kind", None)
    if kind not in ("client", "staff") or current_user.is_authenticated:
        return None
    session["signed_out"] = session.get("signed_out") or "ended"  # the sign-in page says why
    back = {}
    try:  # the page itself, when it is one a browser can open (not a POST-only action)
        current_app.create_url_adapter(request).match(request.path, method="GET")
        back = {"next": request.full_path.rstrip("?")}
    except HTTPException:
        pass
    view = "staff_bridge.sign_in" if kind == "staff" else "client.sign_in"
    return redirect(url_for(view, **back), code=303)


def without_csrf_token(view):
    """A POST that needs no CSRF token: "Leave quickly", whose one effect is ending the
    sender's own session (a refusal would keep someone on a page they need to hide); and the
    SMS gateways' hooks, which carry no cookie and prove each call by a secret or a signature
    instead (portal.texts_hooks)."""
    from portal.extensions import csrf

    return csrf.exempt(view)


def sign_out_response(destination: str | None):
    """End the session (the POST passed CSRF already) and tell the browser to forget it all;
    then send it to `destination`, or (None) answer 204 No Content."""
    from flask import Response, redirect

    end_session("signed_out")
    response = redirect(destination, code=303) if destination else Response(status=204)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


def change_own_password(form) -> bool:
    """The "change my password" form of either blueprint: the current password, then the new
    one; every other session ends and this browser gets a new session id (R22)."""
    from portal.domain.accounts import recovery

    ok, _r = attempt(
        form,
        recovery.change_password,
        current_user,
        form.current_password.data or "",
        form.new_password.data or "",
        keep=current_session_row(),
    )
    if ok:
        rotate_session_id()
    return ok


def end_own_sessions(which: str) -> int | None:
    """The sessions page's POST, after `reauthenticate`: end one session by public id, or
    "others". Returns how many ended, or None when `which` is this very session (the caller
    then signs out with `sign_out_response`)."""
    current = current_session_row()
    if current is not None and which == str(current.public_id):
        return None
    if which == "others":
        return sessions.end_all_for(current_user, "ended_by_user", except_row=current)
    return int(sessions.end_one_for(current_user, which))


def per_staff_limit(limit: str):
    """A rate limit per signed-in person on POSTs (e.g. 20 invitations an hour, R12; 5 email
    changes an hour for a client)."""
    from portal.extensions import limiter

    def key() -> str:
        return (
            f"staff:{current_user.get_id()}"
            if current_user.is_authenticated
            else request.remote_addr
        )

    return limiter.limit(limit, methods=["POST"], key_func=key)


per_account_limit = per_staff_limit


def per_ip_limit(limit: str):
    """A rate limit per client address on POSTs that fail (invitation steps, printed codes:
    R6); like sign-in, what goes through does not count."""
    from portal.extensions import limiter

    return limiter.limit(limit, methods=["POST"], deduct_when=_did_not_go_through)


def per_ip_read_limit(limit: str):
    """A limit on every request to the view per client IP (a public read-only API)."""
    from portal.extensions import limiter

    return limiter.limit(limit)


def here() -> str:
    """This page's address for a form to come back to (the language switch's `next`): after
    a GET with its query, where a location shared for a search is kept to 2 decimals (R63),
    so no finer value the address carried is written into the page."""
    if request.method != "GET" or not request.args:
        return request.path
    args = [
        (key, coarse_coordinate(value) if key in ("lat", "lon") else value)
        for key, value in request.args.items(multi=True)
    ]
    return f"{request.path}?{urlencode(args)}"
