"""Finding help: the resource directory's search and service pages (issue 9). Plain GET
forms that work without JavaScript; "use my location" is an enhancement that asks first.
Nothing here logs or stores what a client searched for or where they are."""

from __future__ import annotations

from datetime import time

from babel import dates as babel_dates
from flask import abort, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.access import client_only
from portal.client import bp
from portal.domain import directory as search
from portal.domain.core import clock
from portal.domain.records import access_policy
from portal.forms import ResourceSearchForm
from portal.i18n import LANGUAGE_NAMES

NTH = {
    1: _l("first"),
    2: _l("second"),
    3: _l("third"),
    4: _l("fourth"),
    5: _l("fifth"),
    -1: _l("last"),
}
ZIP_PROBLEMS = {
    "format": _l("Enter a 5-digit ZIP code, like 60601."),
    "unknown": _l("We do not know this ZIP code. Check it, or leave it empty."),
}
DEVICE_PROBLEM = _l("Your phone's location could not be used. Enter a ZIP code.")
LANGUAGE_CHOICES = {
    "en": "English",
    "es": "Español",
    "zh": "中文",
    "vi": "Tiếng Việt",
    "ko": "한국어",
    "tl": "Tagalog",
    "ar": "العربية",
    "fr": "Français",
    "ht": "Kreyòl ayisyen",
    "ru": "Русский",
    "pl": "Polski",
    "pt": "Português",
}


def _clock_time(minutes: int) -> str:
    minutes %= 24 * 60
    return babel_dates.format_time(
        time(minutes // 60, minutes % 60), format="short", locale=get_locale()
    )


def _weekday(day: int) -> str:
    return babel_dates.get_day_names("wide", locale=get_locale())[day]


def _opens_at(when) -> str:
    """ "Monday 9:00 AM" in the service's own time zone (never converted to the reader's)."""
    return f"{_weekday(when.weekday())} {_clock_time(when.hour * 60 + when.minute)}"


def _helpers() -> dict:
    return {
        "clock_time": _clock_time,
        "weekday": _weekday,
        "opens_at": _opens_at,
        "nth_names": NTH,
        "language_names": LANGUAGE_CHOICES,
        "categories": search.CATEGORIES,
        "phone_link": search.phone_link,
    }


@bp.get("/resources")
@client_only
def resources():
    form = ResourceSearchForm(request.args)
    form.language.choices = [("", str(_l("Any language"))), *LANGUAGE_CHOICES.items()]
    form.radius.choices = [
        (str(miles), str(_l("%(num)d miles", num=miles)) if miles > 1 else str(_l("1 mile")))
        for miles in search.RADII
    ]
    if not form.radius.data:
        form.radius.data = "10"
    # The phone's location is used to about 1 km (R63): a finer value sent in the address is
    # rounded before anything on the page (its form, its page links) repeats it.
    args = request.args.to_dict()
    device = bool(form.lat.data or form.lon.data)
    for name in ("lat", "lon"):
        field = getattr(form, name)
        if field.data:
            field.data = args[name] = search.coarse_coordinate(field.data)
    asked = any(request.args.get(k) for k in ("q", "category", "open_now", "language", "zip"))
    asked = asked or bool(request.args.get("lat"))
    page, place, status = None, None, 200
    if asked:
        try:
            if device:
                place = search.place_from_device(form.lat.data or "", form.lon.data or "")
            elif form.zip.data:
                place = search.place_from_zip(form.zip.data)
        except search.PlaceUnknown as unknown:
            form.zip.errors = [str(DEVICE_PROBLEM if device else ZIP_PROBLEMS[str(unknown)])]
            status = 400
        radius = int(form.radius.data) if form.radius.data in {str(r) for r in search.RADII} else 10
        try:
            number = int(request.args.get("page", "1"))
        except ValueError:
            number = 1
        query = search.Query(
            text=(form.q.data or "")[:200],
            category=form.category.data if form.category.data in search.CATEGORIES else "",
            open_now=bool(form.open_now.data),
            language=form.language.data if form.language.data in LANGUAGE_CHOICES else "",
            place=place,
            radius=radius,
            page=max(1, min(number, 1000)),
            home_directory=search.directory_of(
                access_policy.client_of(current_user).owning_agency_id
            ),
        )
        if status == 200:
            page = search.search(query, clock.now())
    return (
        render_template(
            "client/resources/search.html",
            form=form,
            page=page,
            place=place,
            asked=asked,
            args=args,
            **_helpers(),
        ),
        status,
    )


@bp.get("/resources/<service_id>")
@client_only
def resource(service_id: str):
    details = search.service_details(service_id, clock.now())
    if details is None:
        abort(404)
    return render_template(
        "client/resources/service.html",
        details=details,
        reader_language=current_user.preferred_language,
        portal_languages=LANGUAGE_NAMES,
        **_helpers(),
    )
