"""Every client-facing string is translatable, and the Spanish catalog is complete."""

import subprocess
import sys

from babel.messages.pofile import read_po

from tests.support import PROJECT_ROOT


def test_the_spanish_catalog_has_every_string_translated_and_nothing_fuzzy(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "lazy_pgettext:1c,2",
            "-o",
            str(pot),
            ".",  # babel.cfg's patterns (portal/**.py, ...) are relative to this folder
        ],
        cwd=PROJECT_ROOT,
        check=True,
    )

    def key(m):  # one English word can have two meanings: its context tells them apart
        return (m.context, m.id if isinstance(m.id, str) else m.id[0])

    wanted = {key(m) for m in read_po(pot.open("rb")) if m.id}
    assert len(wanted) > 500, "the extraction found almost nothing: check babel.cfg's patterns"
    with (PROJECT_ROOT / "translations/es/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    assert not catalog.fuzzy, "the catalog header is marked fuzzy: pybabel would not compile it"
    have = {key(m): m for m in catalog if m.id}
    missing = sorted(wanted - set(have), key=str)
    assert not missing, (
        f"strings missing from the Spanish catalog (run `make translations-update`): {missing[:10]}"
    )
    untranslated = [
        k
        for k in wanted
        if not all(have[k].string if isinstance(have[k].string, tuple) else [have[k].string])
    ]
    fuzzy = [k for k in wanted if have[k].fuzzy]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"


def test_the_language_switcher_changes_the_page_language(anonymous):
    token = anonymous.csrf_token("/")
    response = anonymous.post(
        "/language", data={"csrf_token": token, "lang": "es", "next": "/sign-in"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/sign-in"
    page = anonymous.get("/sign-in").get_data(as_text=True)
    assert '<html lang="es">' in page and "Iniciar sesión" in page


def test_an_unknown_language_is_ignored(anonymous):
    token = anonymous.csrf_token("/")
    anonymous.post("/language", data={"csrf_token": token, "lang": "xx", "next": "/"})
    assert '<html lang="en">' in anonymous.get("/").get_data(as_text=True)


def test_the_browser_language_is_used_until_the_person_chooses(anonymous):
    page = anonymous.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"}).get_data(as_text=True)
    assert '<html lang="es">' in page


def test_templates_translate_as_jinjas_own_gettext_does_and_follow_a_forced_locale(app):
    """The template `gettext` remembers plain strings per catalog (issue 15): what it shows is
    what Jinja's newstyle gettext shows (escaped, always %-formatted), in the locale of the
    moment, a forced one included."""
    from flask_babel import force_locale, get_translations
    from jinja2.ext import _make_new_gettext

    source = (
        '{{ _("Sign in") }}|{{ _("Sign in") }}|{{ _("100%% sure") }}|'
        '{{ _("Hello %(name)s", name="<b>") }}|{% trans %}Sign in{% endtrans %}'
    )
    jinjas = _make_new_gettext(lambda s: get_translations().ugettext(s))
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        ours = app.jinja_env.from_string(source).render()
        theirs = app.jinja_env.from_string(source).render(gettext=jinjas)
        assert ours == theirs
        assert ours.split("|")[:4] == [
            "Iniciar sesión",
            "Iniciar sesión",
            "100% sure",
            "Hello &lt;b&gt;",
        ]
        with force_locale("en"):
            assert app.jinja_env.from_string(source).render().startswith("Sign in|Sign in|")
        assert app.jinja_env.from_string(source).render() == ours


def test_wtforms_own_messages_follow_the_page_language_from_a_catalog_read_once(app):
    """WTForms' built-in messages come in the request's language, a forced one included;
    the catalog is read once per language, not once per request (Flask-WTF's own lookup)."""
    from babel.support import Translations
    from flask_babel import force_locale
    from wtforms import StringField
    from wtforms.validators import InputRequired

    from portal.forms import PortalForm, _wtforms_catalog

    class Needed(PortalForm):
        class Meta:
            csrf = False

        name = StringField(validators=[InputRequired()])

    def refusal(**headers) -> str:
        with app.test_request_context("/", method="POST", data={}, headers=headers):
            form = Needed()
            assert not form.validate()
            return form.name.errors[0]

    _wtforms_catalog.cache_clear()
    reads = []
    original = Translations.load

    def counted(*args, **kwargs):
        if kwargs.get("domain") == "wtforms":
            reads.append(args)
        return original(*args, **kwargs)

    Translations.load = counted
    try:
        assert refusal(**{"Accept-Language": "es"}) == "Este campo es obligatorio."
        assert refusal(**{"Accept-Language": "es"}) == "Este campo es obligatorio."
        assert refusal() == "This field is required."
        with app.test_request_context("/", headers={"Accept-Language": "es"}), force_locale("en"):
            form = Needed(formdata=None)
            form.validate()
            assert form.name.errors == ["This field is required."]
    finally:
        Translations.load = original
    assert len(reads) == 2  # Spanish once, English once


def test_one_english_word_with_two_meanings_is_translated_by_its_context(app):
    """Issue 17: the phone kind "Home" read "Inicio" (the home page) in Spanish."""
    from flask_babel import force_locale, gettext

    from portal.domain.selfservice import PHONE_KINDS

    with app.test_request_context("/"), force_locale("es"):
        assert str(PHONE_KINDS["home"]) == "Casa"
        assert gettext("Home") == "Inicio"  # the home page keeps its name
