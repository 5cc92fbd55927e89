"""Form pieces shared by both blueprints.

Validation rules live in the domain; forms only carry values (and the CSRF token), so a
refusal reads the same whichever page it comes from.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField


class PortalForm(FlaskForm):
    """Adds `form_errors` for refusals that belong to no single field."""

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


class SignOutForm(PortalForm):
    pass


class ActionForm(PortalForm):
    """A button that changes something: the CSRF token is its only field."""
