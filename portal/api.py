"""The read-only HSDS 3 API for other systems (issue 9): `GET /api/hsds/` (metadata),
`/api/hsds/services` (search, taxonomy_term_id, page, per_page) and `/api/hsds/services/<id>`.
Public directory data only (what clients can see); no cookies, no session, rate limited."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from portal.access import public
from portal.domain.directory import hsds as hsds_api
from portal.web import per_ip_read_limit

bp = Blueprint("api", __name__, url_prefix="/api/hsds")


def _problem(message: str, status: int):
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.after_request
def _headers(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/")
@public
@per_ip_read_limit("120 per minute")
def api_metadata():
    return jsonify(hsds_api.metadata())


@bp.get("/services")
@public
@per_ip_read_limit("120 per minute")
def api_services():
    try:
        page = int(request.args.get("page", "1"))
        per_page = int(request.args.get("per_page", "25"))
    except ValueError:
        return _problem("page and per_page must be whole numbers", 400)
    if page < 1 or not 1 <= per_page <= hsds_api.MAX_PER_PAGE:
        return _problem(f"page must be 1 or more, per_page 1 to {hsds_api.MAX_PER_PAGE}", 400)
    search = (request.args.get("search") or "")[:200]
    term = (request.args.get("taxonomy_term_id") or "")[:64]
    return jsonify(
        hsds_api.page_of(search=search, taxonomy_term_id=term, page=page, per_page=per_page)
    )


@bp.get("/services/<service_id>")
@public
@per_ip_read_limit("120 per minute")
def api_service(service_id: str):
    found = hsds_api.one(service_id)
    if found is None:
        return _problem("no such service", 404)
    return jsonify(found)
