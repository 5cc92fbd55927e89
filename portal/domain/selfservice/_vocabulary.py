"""The words of self-service: kinds of phone, place, task, record part and delivery; field
labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

PHONE_KINDS = {
    "mobile": _l("Mobile"),
    "home": lazy_pgettext("phone kind", "Home"),  # a home phone, not the home page ("Inicio")
    "work": _l("Work"),
    "message": _l("Message (someone takes a message for me)"),
}
CONTACT_METHODS = {
    "phone": _l("A phone call"),
    "text": _l("A text message"),
    "email": _l("Email"),
    "mail": _l("Mail"),
    "in_person": _l("In person"),
}
PLACE_KINDS = {
    "shelter": _l("A shelter"),
    "street": _l("Street or encampment"),
    "vehicle": _l("A vehicle"),
    "friends_family": _l("With friends or family"),
    "hotel": _l("Hotel or motel"),
    "other": _l("Somewhere else"),
}
TASK_KINDS = {
    "update_location": _l("Update where we can find you"),
    "update_contact": _l("Update your contact details"),
}
RECORD_PARTS = {
    "contact_identity": _l("Contact and identity details"),
    "enrollments": _l("Enrollments and services"),
    "documents": _l("Documents"),
    "consents": _l("Consents (Releases of Information)"),
}
# Never by email: emails carry at most a first name and a link (R63).
RECORD_DELIVERY = {
    "pick_up": _l("I will pick it up at the agency"),
    "mail": _l("Mail it to my address"),
}
FIELD_LABELS = {
    "email": _l("Contact email"),
    "phones": _l("Phone numbers"),
    "address": _l("Mailing address"),
    "preferred_contact": _l("Best way to reach me"),
    "location": _l("Where to find me"),
}
MAX_PHONES = 3
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code")
NOTHING_CHANGED = _l("Nothing changed. Change a detail, or go back.")
