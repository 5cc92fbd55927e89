"""Staff side of the resource directory (issue 9): agency administrators import HSDS data,
add and edit services (main location, weekly hours, featured) and write community articles
for the spotlight panel of their clients' home page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.access import staff_only
from portal.domain.core.roles import Capability
from portal.domain.core.statuses import ServiceStatus
from portal.domain.directory import admin as directory_admin
from portal.forms import month_choices
from portal.web import accepts_uploads, attempt
from staff_bridge import bp
from staff_bridge.forms import (
    ArticleForm,
    DirectoryImportForm,
    DirectoryPlaceForm,
    DirectoryServiceForm,
    optional_date,
)

DAY_NAMES = {
    "MO": _l("Monday"),
    "TU": _l("Tuesday"),
    "WE": _l("Wednesday"),
    "TH": _l("Thursday"),
    "FR": _l("Friday"),
    "SA": _l("Saturday"),
    "SU": _l("Sunday"),
}


@bp.get("/directory")
@staff_only(Capability.MANAGE_DIRECTORY)
def directory_list():
    q = (request.args.get("q") or "")[:100]
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    services, total, page, pages = directory_admin.services_page(current_user, q, page)
    return render_template(
        "staff_bridge/directory/list.html",
        services=services,
        total=total,
        page=page,
        pages=pages,
        q=q,
    )


@bp.route("/directory/import", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_DIRECTORY)
@accepts_uploads
def directory_import_upload():
    form = DirectoryImportForm()
    report = None
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.file.errors = [_("Choose a file to import.")]
        else:
            _ok, report = attempt(
                form,
                directory_admin.import_upload,
                current_user,
                upload.filename,
                upload.read(),
            )
    status = 400 if form.has_errors else 200
    return render_template("staff_bridge/directory/import.html", form=form, report=report), status


def _service_fields(form: DirectoryServiceForm) -> directory_admin.ServiceFields:
    return directory_admin.ServiceFields(
        name=form.name.data or "",
        organization=form.organization.data or "",
        description=form.description.data or "",
        status=form.status.data or "",
        featured=bool(form.featured.data),
        phone=form.phone.data or "",
        url=form.url.data or "",
        eligibility=form.eligibility.data or "",
        application_process=form.application_process.data or "",
        fees=form.fees.data or "",
        languages=form.languages.data or "",
        location_name=form.location_name.data or "",
        address_1=form.address_1.data or "",
        city=form.city.data or "",
        state=form.state.data or "",
        postal_code=form.postal_code.data or "",
        latitude=form.latitude.data or "",
        longitude=form.longitude.data or "",
        hours={
            day: (
                getattr(form, f"{day.lower()}_opens").data or "",
                getattr(form, f"{day.lower()}_closes").data or "",
            )
            for day in directory_admin.DAYS
        },
    )


def _fill(form: DirectoryServiceForm, fields: directory_admin.ServiceFields) -> None:
    for name in (
        "name",
        "organization",
        "description",
        "status",
        "featured",
        "phone",
        "url",
        "eligibility",
        "application_process",
        "fees",
        "languages",
        "location_name",
        "address_1",
        "city",
        "state",
        "postal_code",
        "latitude",
        "longitude",
    ):
        getattr(form, name).data = getattr(fields, name)
    for day, (opens, closes) in (fields.hours or {}).items():
        getattr(form, f"{day.lower()}_opens").data = opens
        getattr(form, f"{day.lower()}_closes").data = closes


def _service_page(service_id: str | None):
    service = directory_admin.service_for_staff(current_user, service_id) if service_id else None
    form = DirectoryServiceForm()
    form.status.choices = [
        ("active", str(_l("Yes, clients can find it"))),
        ("inactive", str(_l("No, hide it for now"))),
    ]
    if service is not None and service.status not in (ServiceStatus.ACTIVE, ServiceStatus.INACTIVE):
        form.status.choices.append(
            (
                service.status,
                str(_l("As the imported data says: %(status)s", status=service.status)),
            )
        )
    current = directory_admin.fields_of(service) if service else directory_admin.ServiceFields()
    if request.method == "GET":
        _fill(form, current)
    if form.validate_on_submit():
        ok, _saved = attempt(
            form,
            directory_admin.save_service,
            current_user,
            service,
            _service_fields(form),
            field_map={f"{d.lower()}_opens": f"{d.lower()}_opens" for d in directory_admin.DAYS},
        )
        if ok:
            flash(_("Saved. Clients see the change in their search now."), "success")
            return redirect(url_for("staff_bridge.directory_list"), 303)
    return render_template(
        "staff_bridge/directory/service.html",
        form=form,
        service=service,
        places=directory_admin.places_of(service) if service else [],
        hours_complete=current.hours_complete,
        days=DAY_NAMES,
    ), 400 if form.has_errors else 200


@bp.route("/directory/services/new", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_DIRECTORY)
def new_directory_service():
    return _service_page(None)


@bp.route("/directory/services/<service_id>", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_DIRECTORY)
def directory_service(service_id: str):
    return _service_page(service_id)


# --- a service's places ------------------------------------------------------------------------

PLACE_FIELDS = (
    "location_name",
    "address_1",
    "city",
    "state",
    "postal_code",
    "latitude",
    "longitude",
)


def _place_page(service_id: str, location_id: str | None):
    from portal.domain.core.validation import parse_uuid

    service = directory_admin.service_for_staff(current_user, service_id)
    place = parse_uuid(location_id) if location_id else None
    if location_id and place is None:
        abort(404)
    current = directory_admin.fields_of(service, place) if place else None
    if (
        place
        and not current.location_name
        and not any(
            str(location.id) == str(place) for location, _a in directory_admin.places_of(service)
        )
    ):
        abort(404)
    form = DirectoryPlaceForm()
    if request.method == "GET" and current is not None:
        for name in PLACE_FIELDS:
            getattr(form, name).data = getattr(current, name)
        for day, (opens, closes) in (current.hours or {}).items():
            getattr(form, f"{day.lower()}_opens").data = opens
            getattr(form, f"{day.lower()}_closes").data = closes
    if form.validate_on_submit():
        fields = directory_admin.ServiceFields(
            **{name: getattr(form, name).data or "" for name in PLACE_FIELDS},
            hours={
                day: (
                    getattr(form, f"{day.lower()}_opens").data or "",
                    getattr(form, f"{day.lower()}_closes").data or "",
                )
                for day in directory_admin.DAYS
            },
        )
        ok, _none = attempt(form, directory_admin.save_place, current_user, service, place, fields)
        if ok:
            flash(_("Saved. Clients see the change in their search now."), "success")
            return redirect(url_for("staff_bridge.directory_service", service_id=service.id), 303)
    return render_template(
        "staff_bridge/directory/place.html",
        form=form,
        service=service,
        adding=place is None,
        hours_complete=current.hours_complete if current else True,
        days=DAY_NAMES,
    ), 400 if form.has_errors else 200


@bp.route("/directory/services/<service_id>/places/new", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_DIRECTORY)
def new_directory_place(service_id: str):
    return _place_page(service_id, None)


@bp.route("/directory/services/<service_id>/places/<location_id>", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_DIRECTORY)
def directory_place(service_id: str, location_id: str):
    return _place_page(service_id, location_id)


# --- community articles -------------------------------------------------------------------------


@bp.get("/directory/articles")
@staff_only(Capability.MANAGE_DIRECTORY)
def article_list():
    return render_template(
        "staff_bridge/directory/articles.html",
        articles=directory_admin.articles_for(current_user),
    )


def _article_page(article_id: str | None):
    article = directory_admin.article_for_staff(current_user, article_id) if article_id else None
    form = ArticleForm()
    form.language.choices = [
        ("", str(_l("Everyone"))),
        ("en", str(_l("English readers"))),
        ("es", str(_l("Spanish readers"))),
    ]
    form.ends_month.choices = month_choices()
    if request.method == "GET":
        form.language.data = ""
        if article is not None:
            form.title.data, form.body.data = article.title, article.body
            form.link.data, form.language.data = article.link or "", article.language or ""
            form.published.data = article.published
            if article.ends_on:
                form.ends_day.data = str(article.ends_on.day)
                form.ends_month.data = str(article.ends_on.month)
                form.ends_year.data = str(article.ends_on.year)
    if form.validate_on_submit():
        ends_on = optional_date(form.ends_day, form.ends_month, form.ends_year)
        if ends_on is not False:
            ok, _article = attempt(
                form,
                directory_admin.save_article,
                current_user,
                article,
                title=form.title.data,
                body=form.body.data,
                link=form.link.data,
                language=form.language.data or "",
                published=bool(form.published.data),
                ends_on=ends_on,
                field_map={"ends_on": "ends_day"},
            )
            if ok:
                flash(_("Saved."), "success")
                return redirect(url_for("staff_bridge.article_list"), 303)
    return render_template(
        "staff_bridge/directory/article.html", form=form, article=article
    ), 400 if form.has_errors else 200


@bp.route("/directory/articles/new", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_DIRECTORY)
def new_article():
    return _article_page(None)


@bp.route("/directory/articles/<article_id>", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_DIRECTORY)
def article_page(article_id: str):
    return _article_page(article_id)
