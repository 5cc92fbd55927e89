from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, SelectField, StringField

from portal.forms import PortalForm


class SetPasswordForm(PortalForm):
    password = PasswordField(_l("New password"))


class InviteStaffForm(PortalForm):
    display_name = StringField(_l("Full name"))
    email = StringField(_l("Work email address"))
    role = RadioField(_l("Role"), validate_choice=False)


class ChangeRoleForm(PortalForm):
    role = RadioField(_l("Role"), validate_choice=False)


class DeactivateStaffForm(PortalForm):
    reason = RadioField(_l("Why are you deactivating this account?"), validate_choice=False)
    successor = SelectField(_l("Who takes over their open work?"), validate_choice=False)


class AgencyForm(PortalForm):
    name = StringField(_l("Agency name"))
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    admin_name = StringField(_l("First administrator's full name"))
    admin_email = StringField(_l("First administrator's work email address"))


class ForgotPasswordForm(PortalForm):
    email = StringField(_l("Work email address"))


class ChangePasswordForm(PortalForm):
    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(_l("New password"))
