from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField

from portal.forms import PortalForm


class InvitationCodeForm(PortalForm):
    code = StringField(_l("Invitation code"))


class DateOfBirthForm(PortalForm):
    day = StringField(_l("Day"))
    month = SelectField(_l("Month"), validate_choice=False)
    year = StringField(_l("Year"))


class EmailForm(PortalForm):
    email = StringField(_l("Email address"))


class CodeForm(PortalForm):
    code = StringField(_l("6-digit code"))


class PrivacyForm(PortalForm):
    accept = BooleanField(_l("I have read the privacy notice and the portal terms"))


class NewPasswordForm(PortalForm):
    password = PasswordField(_l("Create a password"))


class ForgotPasswordForm(PortalForm):
    email = StringField(_l("Email address"))


class ResetPasswordForm(PortalForm):
    password = PasswordField(_l("New password"))


class ResetCodeForm(PortalForm):
    code = StringField(_l("Reset code"))
    password = PasswordField(_l("New password"))


class ChangePasswordForm(PortalForm):
    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(_l("New password"))


class DeactivateForm(PortalForm):
    confirm = BooleanField(_l("Yes, close my account now"))
    password = PasswordField(_l("Your password"))
