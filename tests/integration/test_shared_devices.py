"""Shared devices (R28): what a browser could keep for the next person on the same phone.

Every page every role can open is read for its form fields: a date of birth, an SSN, a code or
where someone sleeps is never offered to autofill (`autocomplete="off"`, or `one-time-code` for
a code the phone receives, which browsers do not store); password fields say which password
they are (a manager then offers to save it, and never fills another's into the wrong place).
The portal's own scripts never write web storage, IndexedDB or cookies; the browser walk over
every client page (`tests/browser/test_every_client_page.py`) checks the storage is empty at
the end, and sign-out sends Clear-Site-Data (`test_security_baseline.py`)."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from portal.access import access_of
from tests.integration.test_access_matrix import people, routes, url_for_rule  # noqa: F401
from tests.support import PROJECT_ROOT, signed_in

# Field names whose values identify a person or say where they are (a data-quality code
# beside them, `dob_quality`, is not one). `q`: a search for a client by name or SSN. The date
# of birth's parts share one macro, on the client's invitation and the staff's record alike.
NEVER_AUTOFILLED = re.compile(r"^((dob_)?(day|month|year)|dob|ssn|ssn_last4|q|place|times)$")
CODES = re.compile(r"(^|_)code$(?<!postal_code)")


def _fields(html: str):
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(["input", "select", "textarea"]):
        if tag.get("type") in ("hidden", "submit", "checkbox", "radio", "file", "button"):
            continue
        yield tag


@pytest.mark.requirement("R28")
def test_no_page_offers_personal_fields_or_codes_to_autofill(app, people):  # noqa: F811
    accounts, target = people
    browsers = {"anonymous": app.test_client()}
    for role in ("client", "case_manager_a", "agency_admin_a", "system_admin"):
        browsers[role] = signed_in(app, accounts[role])
    pages = ["/invitation-code", "/reset-code", "/sign-in", "/staff/sign-in"]
    for rule, view in routes(app):
        if "GET" in rule.methods and access_of(view).audience != "api":
            pages.append(url_for_rule(rule, target))
    wrong, seen = [], set()
    for role, browser in browsers.items():
        for page in pages:
            response = browser.get(page)
            if response.status_code != 200 or "text/html" not in response.content_type:
                continue
            for tag in _fields(response.get_data(as_text=True)):
                name, autocomplete = tag.get("name", ""), tag.get("autocomplete")
                seen.add(name)
                if tag.get("type") == "password":
                    ok = autocomplete in ("current-password", "new-password")
                elif CODES.search(name):
                    ok = autocomplete in ("off", "one-time-code")
                elif NEVER_AUTOFILLED.match(name):
                    ok = autocomplete == "off"
                else:
                    continue
                if not ok:
                    wrong.append(f"{role} {page} {name}: autocomplete={autocomplete!r}")
    assert wrong == [], "\n".join(wrong)
    # The sweep met the fields it is about (so a renamed field cannot slip past it).
    assert {"password", "dob_day", "dob_month", "dob_year", "ssn", "code", "place"} <= seen


@pytest.mark.requirement("R28")
def test_the_portals_scripts_keep_nothing_in_the_browser():
    scripts = sorted((PROJECT_ROOT / "static" / "js").glob("*.js"))
    assert scripts
    for script in scripts:
        source = script.read_text(encoding="utf-8")
        for api in ("localStorage", "sessionStorage", "indexedDB", "document.cookie", "caches."):
            assert api not in source, f"{script.name} uses {api}"
