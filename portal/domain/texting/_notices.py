"""The one way a notice reaches a client: by email, text, both or neither, as they chose for
that kind of notice (My account, "How we tell you about new things").

A text says only that there is something to look at, with a link; with the client's leave
(`TextConsent.allow_details`, not on a shared phone) it may name the agency. When a text
cannot go (no confirmed number, STOP, a bounce, texts off) a client who chose texts only gets
the email instead: STOP ends texts, not notices.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from portal.domain.core import audit, mail
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.models import Agency, ClientAccount
from portal.domain.texting._outbox import (
    account_for,
    confirmed_number,
    enabled,
    number_state,
    queue_text,
)
from portal.domain.texting._rules import CHANNELS, NOTICE_KINDS, channel_for


def can_text(client_id: int) -> str | None:
    """The number a notice to this client may be texted to now, or None."""
    if not enabled():
        return None
    number = confirmed_number(client_id)
    if number is None:
        return None
    state = number_state(number)
    if state is not None and (state.stopped_at is not None or state.bounced_at is not None):
        return None
    return number


def notify_client(
    account: ClientAccount | None,
    kind: str,
    *,
    mail_template: str,
    params: dict[str, Any],
    agency_id: int | None = None,
) -> str:
    """Tell a client there is something new, on the channels they chose. `params` hold public
    ids only (the link is built when the notice is sent). `agency_id` is the agency it comes
    from (a serving agency's message is its own: its name, quiet hours, limits and bill);
    by default the account's. Returns the channels used."""
    if kind not in NOTICE_KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if account is None or not account.is_active or account.client_id is None:
        return "none"
    channel = channel_for(account, kind)
    texted = False
    if channel in ("text", "both"):
        number = can_text(account.client_id)
        if number is not None:
            queue_text(
                kind,
                number=number,
                language=account.preferred_language,
                client_id=account.client_id,
                agency=dbs().get(Agency, agency_id or account.agency_id),
                params={**params, "mail": mail_template},
            )
            texted = True
    emailed = channel in ("email", "both") or (channel == "text" and not texted)
    if emailed:
        mail.queue(
            mail_template,
            to=account.email,
            language=account.preferred_language,
            params={"name": account.first_name, **params},
            client_id=account.client_id,
            notice_kind=kind,
        )
    return "both" if texted and emailed else "text" if texted else "email" if emailed else "none"


def notify_record(
    client_id: int,
    kind: str,
    *,
    mail_template: str,
    params: dict[str, Any],
    agency_id: int | None = None,
) -> str:
    """`notify_client` for the account of a client record, if it has one."""
    return notify_client(
        account_for(client_id),
        kind,
        mail_template=mail_template,
        params=params,
        agency_id=agency_id,
    )


def set_channels(account: ClientAccount, choices: dict[str, str]) -> None:
    """Save how each kind of notice reaches the client. Texts need a confirmed number."""
    for kind in NOTICE_KINDS:
        if choices.get(kind) not in CHANNELS:
            raise DomainError(_l("Choose how we tell you."), field=kind)
    wants_text = any(choices[k] in ("text", "both") for k in NOTICE_KINDS)
    if wants_text and (account.client_id is None or confirmed_number(account.client_id) is None):
        raise DomainError(
            _l("To get texts, first confirm your phone number on the Texts page."),
            field=next(k for k in NOTICE_KINDS if choices[k] in ("text", "both")),
        )
    new = {kind: choices[kind] for kind in NOTICE_KINDS}
    before = {kind: channel_for(account, kind) for kind in NOTICE_KINDS}
    account.notice_channels = new
    # Older releases read only this switch: on while any notice goes by email.
    account.email_notifications = any(v in ("email", "both") for v in new.values())
    changes = {k: v for k, v in new.items() if before[k] != v}
    if changes:
        audit.record("account.notice_channels_changed", account, details=changes)
