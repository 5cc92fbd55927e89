"""Form pieces shared by both blueprints.

Validation rules live in the domain; forms only carry values (and the CSRF token), so a
refusal reads the same whichever page it comes from.
"""

from __future__ import annotations

from functools import cache

from babel.support import Translations
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.i18n import messages_path

from portal.domain.core.validation import strip_unshowable

# Choices for the month select of a memorable date (GOV.UK / USWDS pattern).
MONTHS = [
    ("", _l("Month")),
    ("1", _l("January")),
    ("2", _l("February")),
    ("3", _l("March")),
    ("4", _l("April")),
    ("5", _l("May")),
    ("6", _l("June")),
    ("7", _l("July")),
    ("8", _l("August")),
    ("9", _l("September")),
    ("10", _l("October")),
    ("11", _l("November")),
    ("12", _l("December")),
]


@cache
def _wtforms_catalog(locale: str) -> Translations:
    return Translations.load(messages_path(), [locale], domain="wtforms")


class PortalForm(FlaskForm):
    """Adds `form_errors` for refusals that belong to no single field, and strips code points
    no page can show from every submitted value (so a failed submit can show it again)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            options["filters"] = [*options.get("filters", ()), strip_unshowable]
            return unbound_field.bind(form=form, **options)

        def get_translations(self, form):
            # WTForms' own messages in the page's language. Flask-WTF reads that catalog
            # from disk for every request with a form (a tenth of a small page's CPU); a
            # catalog is the same for every request in one language, so it is read once.
            return _wtforms_catalog(str(get_locale() or "en"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form_errors: list[str] = []

    @property
    def has_errors(self) -> bool:
        return bool(self.form_errors) or any(f.errors for f in self)


class SignInForm(PortalForm):
    email = StringField(_l("Email address"))
    password = PasswordField(_l("Password"))
    next = HiddenField()


class ActionForm(PortalForm):
    """A button that changes something: the CSRF token is its only field."""


class ChangePasswordForm(PortalForm):
    """Either kind of account changes its own password with the current one."""

    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(_l("New password"))


class ConfirmPasswordForm(PortalForm):
    """A sensitive action: the password again (and, for staff with a second factor, a code),
    unless they were given in the last 5 minutes."""

    password = PasswordField(_l("Your password"))
    code = StringField(_l("A code from your authenticator app"))
    passkey = HiddenField()  # a passkey's signed answer, instead of the code (staff_bridge JS)


def month_choices() -> list[tuple[str, str]]:
    """MONTHS translated for this request."""
    return [(value, str(label)) for value, label in MONTHS]


class MessageForm(PortalForm):
    """A message: the text, and a key that makes a replayed submit store one message (a new
    form gets a fresh key; a re-shown form keeps the one it was sent with)."""

    body = TextAreaField(_l("Your message"))
    key = HiddenField()
    recipient = RadioField(_l("Who do you want to write to?"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        from portal.domain.messaging import new_idempotency_key

        super().__init__(*args, **kwargs)
        if not self.key.data:
            self.key.data = new_idempotency_key()


class DocumentForm(PortalForm):
    """An upload: the file, what kind of document it is, an optional title, the request it
    answers, and a key that makes a replayed upload store one file."""

    file = FileField(_l("Choose the file or take a photo"))
    category = SelectField(_l("What kind of document is it?"), validate_choice=False)
    title = StringField(_l("Title (optional)"))
    task = HiddenField()
    key = HiddenField()

    def __init__(self, *args, **kwargs):
        from portal.domain.documents import CATEGORIES
        from portal.domain.messaging import new_idempotency_key

        super().__init__(*args, **kwargs)
        self.category.choices = [("", _l("Choose one"))] + [
            (code, label) for code, label in CATEGORIES.items()
        ]
        if not self.key.data:
            self.key.data = new_idempotency_key()


class SignForm(ConfirmPasswordForm):
    """Signing: intent (never pre-ticked), the full name typed, an optional drawing, and the
    password when it was not typed in the last 5 minutes."""

    intent = BooleanField(_l("I want to sign this electronically"))
    typed_name = StringField(_l("Type your full name"))
    drawn = HiddenField()
    shown = HiddenField()  # the version the client read: signing another one is refused


class EsignConsentForm(PortalForm):
    agrees = BooleanField(_l("I agree to get and sign documents electronically"))
    word = StringField(_l("The word in the sample PDF"))


class DeclineForm(PortalForm):
    reason = TextAreaField(_l("Why not? (optional)"))


class RevokeForm(ConfirmPasswordForm):
    intent = BooleanField(_l("I want to take back my permission to share"))
    typed_name = StringField(_l("Type your full name"))


class ResourceSearchForm(PortalForm):
    """The resource directory's search: a GET form (it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("What do you need?"))
    category = HiddenField()
    open_now = BooleanField(_l("Open now"))
    language = SelectField(_l("Staff speak"), validate_choice=False)
    zip = StringField(_l("ZIP code"))
    radius = SelectField(_l("Within"), validate_choice=False)
    lat = HiddenField()
    lon = HiddenField()
