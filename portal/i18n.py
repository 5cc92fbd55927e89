"""Language choice: the person's explicit choice, then their account, then the browser."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from flask import Flask, g, has_request_context, request, session
from flask_babel import _get_current_context, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from portal.settings import RESOURCES
from portal.settings import current as current_settings

LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def select_locale() -> str:
    languages = current_settings().languages
    if not has_request_context():
        return languages[0]  # worker and CLI render in a given language with force_locale
    chosen = session.get("lang") if session is not None else None
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated:
        preferred = getattr(current_user, "preferred_language", None)
        if preferred in languages:
            return preferred
    return request.accept_languages.best_match(languages) or languages[0]


def select_timezone() -> str:
    """Times are shown in the signed-in person's agency time zone (UI patterns)."""
    if has_request_context() and current_user and current_user.is_authenticated:
        agency = getattr(current_user, "agency", None)
        if agency is not None:
            return agency.timezone
    return current_settings().default_timezone


def _translations():
    """The request's catalog, looked up once per locale: Flask-Babel's own lookup runs on every
    string (a page has 40) and was a tenth of a page's time. Keyed by the locale object, which
    Flask-Babel keeps per context (and `force_locale` replaces), so a forced locale is honoured.
    `g` is dereferenced once (each use of the proxy costs about a microsecond).
    """
    try:
        ctx = getattr(g._get_current_object(), "_flask_babel", None)
    except RuntimeError:  # no application context
        return get_translations()
    locale = getattr(ctx, "babel_locale", None)
    cached = getattr(ctx, "portal_translations", None)
    if locale is not None and cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    ctx = _get_current_context()
    ctx.portal_translations = (getattr(ctx, "babel_locale", None), translations)
    return translations


# Each catalog's plain strings as templates show them (escaped, "%%" undone), so that a page's
# forty `_("...")` skip Jinja's per-call wrapping: a pure function of catalog and string, kept
# for as long as the catalog is.
_PLAIN: WeakKeyDictionary = WeakKeyDictionary()


@pass_context
def _template_gettext(context, string, **variables):
    """Jinja's newstyle `gettext` (escaped, always %-formatted), remembering plain strings."""
    translations = _translations()
    autoescape = context.eval_ctx.autoescape
    if variables or type(string) is not str:
        text = translations.ugettext(string)
        # Catalog text is trusted as Jinja's own gettext trusts it; the values are escaped.
        return (Markup(text) if autoescape else text) % variables  # noqa: S704
    known = _PLAIN.get(translations)
    if known is None:
        known = _PLAIN.setdefault(translations, {})
    shown = known.get((string, autoescape))
    if shown is None:
        text = translations.ugettext(string)
        shown = (Markup(text) if autoescape else text) % {}  # noqa: S704 - as above
        known[(string, autoescape)] = shown
    return shown


def init_app(app: Flask) -> None:
    from portal.extensions import babel

    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(RESOURCES / "translations")
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals["gettext"] = _template_gettext
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.jinja_env.globals["get_locale"] = get_locale
