"""The words of every text (issue 22), in English and Spanish: each begins with SMS_BRAND; by
default it says only that there is something to look at, with one link to a short page of
BASE_URL (never an id); it never carries what a message said, who wrote it, the client's name
or a program's name, even when the caller hands them over; with the client's leave it names
the agency and nothing more; and it fits in two segments in English, three in Spanish."""

from __future__ import annotations

import re
import uuid

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import links
from portal.domain.texting import STALE_AFTER, is_unicode, segments
from portal.integrations.texts import TEXT_LINKS, WORDS, render

BRAND = "Valley HMIS"
BASE_URL = "https://portal.agency-hmis.org"  # 30 characters, as the length budget assumes
assert len(BASE_URL) == 30
AGENCY = "Northside Housing Co"  # 20 characters
assert len(AGENCY) == 20
CODE = "482913"
LANGUAGES = ("en", "es")
KINDS = sorted(WORDS)
DETAILED = sorted(kind for kind, (_plain, detailed) in WORDS.items() if detailed is not None)
LINKLESS = sorted(set(WORDS) - set(TEXT_LINKS))

# What a careless or hostile caller might pass along: none of it may reach a phone.
HOSTILE = {
    "body": "Your HIV test came back",
    "message": "Eviction hearing Tuesday",
    "subject": "Court date moved",
    "author": "Casey Case",
    "staff": "Morgan Staffer",
    "sender": "Jordan Sender",
    "name": "Robin",
    "first_name": "Robin",
    "client": "Robin Doe",
    "program": "Hope Shelter",
    "project": "Eastside Clinic",
    "document": "Lease agreement",
    "title": "Medical release",
    "conversation": str(uuid.uuid4()),
    "request": str(uuid.uuid4()),
    "task": uuid.uuid4().hex,
    "link": "https://evil.example/phish",
    "url": "https://evil.example/other",
    "mail": "new_message",
    "phone": "+15551230000",
}
HOSTILE_CODE = "999111"  # a code handed to a text that is not the code text
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
AN_ID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


@pytest.fixture
def wording(app):
    """The app's settings with a known brand and BASE_URL, in an app context as the worker's
    send job has (no request)."""
    original = app.extensions["portal.settings"]
    app.extensions["portal.settings"] = original.with_overrides(sms_brand=BRAND, base_url=BASE_URL)
    try:
        with app.app_context():
            yield app
    finally:
        app.extensions["portal.settings"] = original


def params_for(kind: str, *, agency: str | None = None, hostile: bool = False) -> dict:
    params: dict = dict(HOSTILE) if hostile else {}
    if kind == "code":
        params["code"] = CODE
    elif hostile:
        params["code"] = HOSTILE_CODE
    if agency:
        params["agency"] = agency
    return params


def leaks(text: str, values) -> list[str]:
    return [value for value in values if str(value).lower() in text.lower()]


# --- the brand ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("agency", [None, AGENCY])
def test_every_text_begins_with_the_brand(wording, kind, language, agency):
    text = render(kind, language, params_for(kind, agency=agency))
    assert text.startswith(BRAND), text
    assert text == text.strip() and "  " not in text and "\n" not in text


def test_every_kind_the_outbox_takes_has_words():
    assert set(WORDS) == set(STALE_AFTER)
    assert set(TEXT_LINKS) <= set(WORDS)


# --- the link -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(TEXT_LINKS))
@pytest.mark.parametrize("agency", [None, AGENCY])
def test_a_link_text_has_one_absolute_link_to_a_short_page_and_no_id(
    wording, kind, language, agency
):
    text = render(kind, language, params_for(kind, agency=agency, hostile=True))
    found = URL.findall(text)
    assert len(found) == 1, text
    link = found[0]
    assert link == links.external(TEXT_LINKS[kind]), text  # no trailing punctuation either
    assert link.startswith(BASE_URL + "/")
    assert "?" not in link and "#" not in link
    assert not AN_ID.search(text), text
    assert not re.search(r"/\d+(?:/|$)", link), link


@pytest.mark.parametrize("kind", sorted(TEXT_LINKS))
def test_the_link_follows_base_url_and_its_path(wording, app, kind):
    base = "https://help.example.org/portal"
    app.extensions["portal.settings"] = app.extensions["portal.settings"].with_overrides(
        base_url=base
    )
    (link,) = URL.findall(render(kind, "en", params_for(kind, hostile=True)))
    assert link.startswith(base + "/")
    assert "evil.example" not in link


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", LINKLESS)
def test_the_other_texts_have_no_link(wording, kind, language):
    text = render(kind, language, params_for(kind, agency=AGENCY, hostile=True))
    assert URL.findall(text) == [], text
    assert BASE_URL.split("//")[1] not in text


# --- nothing personal -----------------------------------------------------------------------


@pytest.mark.requirement("R63")
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_text_says_nothing_a_caller_hands_it_beyond_what_its_kind_shows(wording, kind, language):
    """A message's words, a staff member's, the client's or a program's name, ids and links
    handed to `render` stay out of every text; so does the agency's name, unless given as the
    client's leave to name it (then it is the only detail, and only where the kind has words
    for it)."""
    plain = render(kind, language, params_for(kind, hostile=True))
    assert leaks(plain, HOSTILE.values()) == [], plain
    assert HOSTILE_CODE not in plain
    assert AGENCY not in plain

    detailed = render(kind, language, params_for(kind, agency=AGENCY, hostile=True))
    assert leaks(detailed, HOSTILE.values()) == [], detailed
    assert HOSTILE_CODE not in detailed
    if kind in DETAILED:
        assert detailed.count(AGENCY) == 1, detailed
        # the agency's name is the only difference a client's leave makes
        assert leaks(detailed.replace(AGENCY, ""), [*HOSTILE.values(), HOSTILE_CODE]) == []
    else:
        assert AGENCY not in detailed and detailed == plain


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", DETAILED)
def test_with_the_clients_leave_the_agency_is_named(wording, kind, language):
    plain = render(kind, language, params_for(kind))
    detailed = render(kind, language, params_for(kind, agency=AGENCY))
    assert AGENCY not in plain
    assert AGENCY in detailed
    assert detailed.startswith(BRAND)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", DETAILED)
@pytest.mark.parametrize("empty", ["", None])
def test_an_empty_agency_name_is_no_leave(wording, kind, language, empty):
    params = {**params_for(kind), "agency": empty}
    assert render(kind, language, params) == render(kind, language, params_for(kind))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_code_text_carries_the_code(wording, language):
    text = render("code", language, {"code": CODE})
    assert text.startswith(BRAND)
    assert CODE in text
    assert URL.findall(text) == []


def test_params_cannot_replace_the_brand(wording):
    """Every text begins with SMS_BRAND: a `brand` among the parameters must not replace it."""
    for kind in KINDS:
        text = render(kind, "en", {**params_for(kind), "brand": "Evil Corp"})
        assert text.startswith(BRAND) and "Evil Corp" not in text, text


# --- length ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "most"), [("en", 2), ("es", 3)])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("agency", [None, AGENCY])
def test_every_text_fits_its_segments(wording, kind, language, most, agency):
    text = render(kind, language, params_for(kind, agency=agency))
    assert segments(text) <= most, f"{segments(text)} segments, {len(text)} characters: {text}"


@pytest.mark.parametrize("kind", KINDS)
def test_english_texts_are_plain_gsm(wording, kind):
    """English words cost 160 characters a segment: no curly quote or dash slipped in."""
    for agency in (None, AGENCY):
        text = render(kind, "en", params_for(kind, agency=agency))
        assert not is_unicode(text), text


# --- languages ------------------------------------------------------------------------------


def test_every_text_is_translated_to_spanish(wording):
    """Each kind's words, plain and with the agency, read differently in Spanish (this fails
    until the Spanish catalog has them: `make translations-update`, translate, compile)."""
    with force_locale("es"):
        assert _("Sign in") != "Sign in", "no Spanish catalog compiled: make translations-compile"
    untranslated = []
    for kind in KINDS:
        for agency in (None, AGENCY) if kind in DETAILED else (None,):
            params = params_for(kind, agency=agency)
            english, spanish = render(kind, "en", params), render(kind, "es", params)
            if spanish == english:
                untranslated.append(f"{kind}{' (agency)' if agency else ''}: {english}")
    assert untranslated == [], "\n".join(["texts not in Spanish:", *untranslated])


@pytest.mark.parametrize("language", [None, "", "fr"])
def test_another_language_gets_english(wording, language):
    assert render("messages", language, {}) == render("messages", "en", {})


# --- kinds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["no_such_kind", "", "MESSAGES", "reply_maybe", "new_message"])
def test_an_unknown_kind_is_refused(wording, kind):
    with pytest.raises(ValueError):
        render(kind, "en", {})
