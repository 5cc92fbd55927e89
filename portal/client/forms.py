from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

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


class DeactivateForm(PortalForm):
    confirm = BooleanField(_l("Yes, close my account now"))
    password = PasswordField(_l("Your password"))


class ContactDetailsForm(PortalForm):
    """Three phone slots, the contact email, the mailing address and the best way to reach."""

    email = StringField(_l("Contact email"))
    address_line1 = StringField(_l("Address line 1"))
    address_line2 = StringField(_l("Address line 2 (optional)"))
    city = StringField(_l("City"))
    state = StringField(_l("State"))
    postal_code = StringField(_l("ZIP code"))
    preferred_contact = RadioField(_l("What is the best way to reach you?"), validate_choice=False)


for _slot in (1, 2, 3):  # each label names its phone, so no two labels on the page are alike
    setattr(
        ContactDetailsForm,
        f"phone_{_slot}_number",
        StringField(_l("Phone %(num)d: number", num=_slot)),
    )
    setattr(
        ContactDetailsForm,
        f"phone_{_slot}_kind",
        SelectField(_l("Phone %(num)d: kind of phone", num=_slot), validate_choice=False),
    )
    setattr(
        ContactDetailsForm,
        f"phone_{_slot}_voicemail",
        BooleanField(_l("Phone %(num)d: OK to leave a voicemail", num=_slot)),
    )
    setattr(
        ContactDetailsForm,
        f"phone_{_slot}_text",
        BooleanField(_l("Phone %(num)d: OK to send texts", num=_slot)),
    )


class LocationForm(PortalForm):
    place_kind = RadioField(_l("Where are you staying now?"), validate_choice=False)
    place = StringField(_l("Shelter name or a landmark (optional)"))
    times = StringField(_l("When are you usually there? (optional)"))
    use_my_location = BooleanField(_l("Also share my phone's location (about 100 m)"))
    latitude = HiddenField()
    longitude = HiddenField()


class RecordRequestForm(PortalForm):
    parts = SelectMultipleField(_l("What do you want to see?"), validate_choice=False)
    delivery = RadioField(_l("How do you want to get it?"), validate_choice=False)


class CorrectionForm(PortalForm):
    field = RadioField(_l("What needs correcting?"), validate_choice=False)
    text = TextAreaField(_l("What should it say?"))


class PreferencesForm(PortalForm):
    language = RadioField(_l("Language"), validate_choice=False)


class EmailChangeForm(PortalForm):
    new_email = StringField(_l("New email to sign in with"))
    password = PasswordField(_l("Your password"))


class EmailChangeCodeForm(PortalForm):
    code = StringField(_l("6-digit code"))


class TextStartForm(PortalForm):
    phone = RadioField(_l("Which phone should get texts?"), validate_choice=False)


class TextCodeForm(PortalForm):
    code = StringField(_l("6-digit code"))


class TextDetailsForm(PortalForm):
    allow_details = BooleanField(_l("Texts may name my agency"))


# How each kind of notice reaches the client (issue 22): the labels of the four choices.
NOTICE_LABELS = {
    "messages": _l("New messages"),
    "requests": _l("Requests from your care team"),
    "documents": _l("Documents to sign or send"),
    "roi_renewal": _l("When your permission to share needs renewing"),
}
CHANNEL_LABELS = {
    "email": _l("Email"),
    "text": _l("Text message"),
    "both": _l("Email and text"),
    "none": _l("Do not tell me"),
}


class NoticeChannelsForm(PortalForm):
    messages = RadioField(NOTICE_LABELS["messages"], validate_choice=False)
    requests = RadioField(NOTICE_LABELS["requests"], validate_choice=False)
    documents = RadioField(NOTICE_LABELS["documents"], validate_choice=False)
    roi_renewal = RadioField(NOTICE_LABELS["roi_renewal"], validate_choice=False)
