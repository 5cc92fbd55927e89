from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FileField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from portal.domain.core.errors import DomainError
from portal.domain.core.validation import date_from_parts
from portal.forms import DocumentForm, PortalForm


def optional_date(day, month, year):
    """The date of a day / month / year group that may be left empty: None when it is,
    False after putting the error on the day field."""
    if not (day.data or month.data or year.data):
        return None
    try:
        return date_from_parts(day.data, month.data, year.data, field=day.name)
    except DomainError as refusal:
        day.errors = [str(refusal.message)]
        return False


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


class ClientSearchForm(PortalForm):
    class Meta:
        csrf = False  # a GET filter form changes nothing

    q = StringField(_l("Name, HMIS ID or last 4 of SSN"))
    project = SelectField(_l("Program"), validate_choice=False)
    care_team = SelectField(_l("Care team member"), validate_choice=False)
    portal_status = SelectField(_l("Portal account"), validate_choice=False)


class ClientForm(PortalForm):
    first_name = StringField(_l("First name"))
    middle_name = StringField(_l("Middle name"))
    last_name = StringField(_l("Last name"))
    name_suffix = StringField(_l("Suffix"))
    name_quality = SelectField(_l("Name data quality"), validate_choice=False)
    dob_day = StringField(_l("Day"))
    dob_month = SelectField(_l("Month"), validate_choice=False)
    dob_year = StringField(_l("Year"))
    dob_quality = SelectField(_l("Date of birth data quality"), validate_choice=False)
    ssn = StringField(_l("Social Security number"))
    ssn_quality = SelectField(_l("SSN data quality"), validate_choice=False)
    ssn_confirmed = BooleanField(_l("I checked this SSN with the client and it is right"))
    email = StringField(_l("Email address"))
    phone = StringField(_l("Phone number"))
    address_line1 = StringField(_l("Address line 1"))
    address_line2 = StringField(_l("Address line 2 (optional)"))
    city = StringField(_l("Town or city"))
    state = StringField(_l("State"))
    postal_code = StringField(_l("ZIP code"))
    preferred_language = SelectField(_l("Preferred language"), validate_choice=False)


class CareTeamForm(PortalForm):
    email = StringField(_l("Staff member's work email address"))
    case_manager = BooleanField(_l("Make them the case manager"))


class ConsentForm(PortalForm):
    permission = RadioField(_l("What did the client decide?"), validate_choice=False)
    start_day = StringField(_l("Day"))
    start_month = SelectField(_l("Month"), validate_choice=False)
    start_year = StringField(_l("Year"))
    end_day = StringField(_l("Day"))
    end_month = SelectField(_l("Month"), validate_choice=False)
    end_year = StringField(_l("Year"))
    document_reference = StringField(_l("Where the signed paper is kept (optional)"))


class ImportForm(PortalForm):
    export = FileField(_l("HMIS CSV export (.zip)"))


class AgencySettingsForm(PortalForm):
    default_roi_days = StringField(_l("How many days a Release of Information lasts"))
    require_second_factor = BooleanField(
        _l("Case managers need a second way to sign in (an authenticator app)")
    )
    require_sso = BooleanField(_l("Staff must sign in with their work account"))
    sso_create_accounts = BooleanField(
        _l("Make an account at a colleague's first sign-in with their work account")
    )
    hmis_user_id = StringField(_l("HMIS user ID for exports (optional)"))


class SecondFactorForm(PortalForm):
    code = StringField(_l("Code"))


class TotpSetupForm(PortalForm):
    setup = HiddenField()
    code = StringField(_l("The 6-digit code your app shows"))


class PasskeyForm(PortalForm):
    answer = HiddenField()
    name = StringField(_l("A name for this passkey"))


class ResetSecondFactorForm(PortalForm):
    identity_checked = BooleanField(
        _l("I checked who they are: in person, or by calling a number we already had for them")
    )
    password = PasswordField(_l("Your password"))
    code = StringField(_l("A code from your authenticator app"))


class IdentityCheckForm(PortalForm):
    name_confirmed = BooleanField(_l("I confirmed the client's full name"))
    facts = SelectMultipleField(
        _l("Which facts did you check? Choose at least two."), validate_choice=False
    )
    note = StringField(_l("Note (needed for 'other')"))


class InviteForm(PortalForm):
    delivery = RadioField(_l("How will the client get the invitation?"), validate_choice=False)


class DeactivateClientAccountForm(PortalForm):
    reason = RadioField(_l("Why are you deactivating the account?"), validate_choice=False)


class RecoveryForm(PortalForm):
    delivery = RadioField(_l("How will the client choose a new password?"), validate_choice=False)


class ReviewFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET search form

    kind = SelectField(_l("Kind"), validate_choice=False)
    care_team = SelectField(_l("Care-team member"), validate_choice=False)
    older_than = SelectField(_l("Waiting for"), validate_choice=False)


class WorklistFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET search form

    kind = SelectField(_l("Kind"), validate_choice=False)
    accepted_by = SelectField(_l("Accepted by"), validate_choice=False)
    older_than = SelectField(_l("Waiting for"), validate_choice=False)
    show = SelectField(_l("Show"), validate_choice=False)


class ReviewDecisionForm(PortalForm):
    version = HiddenField()
    reason = RadioField(_l("Why not? The client sees this."), validate_choice=False)
    note = TextAreaField(_l("A note for the client (needed for 'another reason')"))
    # Accepting a correction: what staff will change in the HMIS (the worklist shows it).
    hmis_note = TextAreaField(
        _l("What to change in the HMIS (optional; the client does not see this)")
    )
    # Edit then accept (the kinds that allow it)
    email = StringField(_l("Contact email"))
    address_line1 = StringField(_l("Address line 1"))
    address_line2 = StringField(_l("Address line 2"))
    city = StringField(_l("City"))
    state = StringField(_l("State"))
    postal_code = StringField(_l("ZIP code"))
    method = RadioField(_l("Best way to reach"), validate_choice=False)


class ClientTaskForm(PortalForm):
    kind = RadioField(_l("Ask the client to"), validate_choice=False)
    due_day = StringField(_l("Day"))
    due_month = SelectField(_l("Month"), validate_choice=False)
    due_year = StringField(_l("Year"))


class StaffPreferencesForm(PortalForm):
    shown_to_clients = BooleanField(_l("Show me on my clients' dashboards (name and agency)"))
    allow_client_contact = BooleanField(
        _l("Clients on whose care team I am may start a conversation with me")
    )


class AssignForm(PortalForm):
    staff = SelectField(_l("Hand over to"), validate_choice=False)


class DocumentRequestForm(PortalForm):
    category = SelectField(_l("Kind of document"), validate_choice=False)
    title = StringField(_l("Which document (the client sees this)"))
    due_day = StringField(_l("Day"))
    due_month = SelectField(_l("Month"), validate_choice=False)
    due_year = StringField(_l("Year"))
    note = TextAreaField(_l("Note for the client (optional)"))


class StaffDocumentForm(DocumentForm):
    shown_to_client = BooleanField(_l("The client can see and download this in the portal"))


class TemplateSettingsForm(PortalForm):
    name = StringField(_l("Name staff see"))
    term_days = StringField(_l("How long a signed permission lasts, in days"))
    active = BooleanField(_l("Staff can ask clients to sign this"))


def _add_text_fields(form_class):
    """Title, summary and full text for each language the portal speaks."""
    from portal.domain.esign import LANGUAGES

    for code in LANGUAGES:
        setattr(form_class, f"title_{code}", StringField(_l("Title")))
        setattr(form_class, f"summary_{code}", TextAreaField(_l("In short (plain words)")))
        setattr(form_class, f"body_{code}", TextAreaField(_l("Full text")))
    return form_class


@_add_text_fields
class TemplateTextForm(PortalForm):
    """A new version's texts."""


@_add_text_fields
class NewTemplateForm(PortalForm):
    name = StringField(_l("Name staff see"))
    kind = RadioField(_l("What kind of document is it?"), validate_choice=False)
    term_days = StringField(_l("How long a signed permission lasts, in days"))


class SignatureRequestForm(PortalForm):
    template = SelectField(_l("Document to sign"), validate_choice=False)
    due_day = StringField(_l("Day"))
    due_month = SelectField(_l("Month"), validate_choice=False)
    due_year = StringField(_l("Year"))


class DirectoryImportForm(PortalForm):
    file = FileField(_l("HSDS file"))


def _add_hours_fields(form_class):
    for day in ("mo", "tu", "we", "th", "fr", "sa", "su"):
        setattr(form_class, f"{day}_opens", StringField(_l("Opens")))
        setattr(form_class, f"{day}_closes", StringField(_l("Closes")))
    return form_class


@_add_hours_fields
class DirectoryPlaceForm(PortalForm):
    """One place a service is offered at, and the service's weekly hours there."""

    location_name = StringField(_l("Place name"))
    address_1 = StringField(_l("Street address"))
    city = StringField(_l("City"))
    state = StringField(_l("State"))
    postal_code = StringField(_l("ZIP code"))
    latitude = StringField(_l("Latitude (optional)"))
    longitude = StringField(_l("Longitude (optional)"))


class DirectoryServiceForm(DirectoryPlaceForm):
    """A service, with its first place (the place fields and hours of DirectoryPlaceForm)."""

    name = StringField(_l("Service name"))
    organization = StringField(_l("Organization (optional)"))
    description = TextAreaField(_l("What it offers"))
    status = RadioField(_l("Can clients find it?"), validate_choice=False)
    featured = BooleanField(_l("Feature it on clients' home page and first in results"))
    phone = StringField(_l("Phone"))
    url = StringField(_l("Website (optional)"))
    eligibility = TextAreaField(_l("Who can get help (optional)"))
    application_process = TextAreaField(_l("How to get help (optional)"))
    fees = StringField(_l("Cost (optional)"))
    languages = StringField(_l("Languages staff speak (codes)"))


class ArticleForm(PortalForm):
    title = StringField(_l("Title"))
    body = TextAreaField(_l("Text (plain words, up to 1,000 characters)"))
    link = StringField(_l("Link for more (optional)"))
    language = RadioField(_l("Who reads it"), validate_choice=False)
    published = BooleanField(_l("Show it on clients' home page"))
    ends_day = StringField(_l("Day"))
    ends_month = SelectField(_l("Month"), validate_choice=False)
    ends_year = StringField(_l("Year"))


class StaffTextStartForm(PortalForm):
    phone = RadioField(_l("Phone to confirm"), validate_choice=False)


class StaffTextCodeForm(PortalForm):
    code = StringField(_l("Code the client reads to you"))


class QuietHoursForm(PortalForm):
    quiet_from = StringField(_l("No texts from"))
    quiet_until = StringField(_l("until"))
