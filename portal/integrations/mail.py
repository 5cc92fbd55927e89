"""Rendering outbox messages and handing them to a transport (files or SMTP).

Templates are plain text (light on data, readable anywhere) under `templates/mail/`, rendered
in the recipient's language. The Message-ID comes from the outbox row, so a message retried
after a crash mid-send is the same message to the receiving server.
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal import links
from portal.settings import current as current_settings


@dataclass(frozen=True)
class MailTemplate:
    subject: object  # a lazy translatable string
    body: str  # template path


TEMPLATES = {
    "client_email_code": MailTemplate(_l("Your code for the portal"), "mail/client_email_code.txt"),
    "client_invitation": MailTemplate(
        _l("Your invitation to see your record online"), "mail/client_invitation.txt"
    ),
    "password_reset": MailTemplate(
        _l("Reset your HMIS portal password"), "mail/password_reset.txt"
    ),
    "password_changed": MailTemplate(
        _l("Your HMIS portal password was changed"), "mail/password_changed.txt"
    ),
    "email_change_code": MailTemplate(
        _l("Your code to change your portal email"), "mail/email_change_code.txt"
    ),
    "email_changed": MailTemplate(
        _l("The email of your HMIS portal account was changed"), "mail/email_changed.txt"
    ),
    "roi_renewal": MailTemplate(_l("Your permission to share ends soon"), "mail/roi_renewal.txt"),
    "new_message": MailTemplate(
        _l("You have a new message in the HMIS portal"), "mail/new_message.txt"
    ),
    "new_request": MailTemplate(
        _l("Your care team asked you for something in the HMIS portal"), "mail/new_request.txt"
    ),
    "document_request": MailTemplate(
        _l("You have a document to sign or send in the HMIS portal"), "mail/document_request.txt"
    ),
    "staff_invite": MailTemplate(
        _l("Set your password for the HMIS portal"), "mail/staff_invite.txt"
    ),
    "staff_notification": MailTemplate(
        _l("You have a new notice in the HMIS portal"), "mail/staff_notification.txt"
    ),
}

_HEADER_UNSAFE = re.compile(r"[\r\n\x00]")


class MailDeliveryError(RuntimeError):
    """The transport could not hand the message over; the job retries later."""


def render(message, params: dict) -> EmailMessage:
    template = TEMPLATES[message.template]
    settings = current_settings()
    with force_locale(message.language):
        subject = _HEADER_UNSAFE.sub(" ", str(template.subject))
        values = dict(params)
        link = links.mail_link(message.template, params)  # built here, never stored
        if link:
            values["link"] = link
        body = render_template(template.body, **values)
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = settings.mail_from
    email["To"] = message.to_address
    email["Date"] = formatdate(localtime=False)
    # Stable per outbox row: a retry is recognisably the same message.
    email["Message-ID"] = (
        f"<{message.public_id.hex}@{urlsplit(settings.base_url).hostname or 'portal'}>"
    )
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(body)
    # After set_content, which clears every Content-* header set before it.
    email["Content-Language"] = message.language
    return email


def deliver(message, params: dict) -> None:
    email = render(message, params)
    settings = current_settings()
    if settings.mail_transport == "smtp":
        _send_smtp(email, settings)
    else:
        _write_file(email, settings.instance_path / "mail", message.public_id.hex)


def _write_file(email: EmailMessage, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(email.as_bytes())
    tmp.replace(path)  # same name on a retry: one file per message


def _send_smtp(email: EmailMessage, settings) -> None:
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailDeliveryError(type(exc).__name__) from exc
