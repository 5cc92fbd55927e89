"""Run the staff flows with sentinel values and grep every log sink for them (R58)."""

import json
import logging
import re

import pytest
from sqlalchemy import select

from portal.domain.core import jobs
from portal.domain.models import AuditEvent, Job
from tests.integration.test_staff_lifecycle import link_in_outbox
from tests.support import set_up_app

NAME = "Zebulon Sentinelname"
EMAIL = "zebulon.sentinel@agency.test"
PASSWORD = "SENTINEL-XYZ-secret-words-here"
DOB = "1911-11-11"


@pytest.mark.requirement("R2", "R58")
def test_no_secret_or_pii_value_reaches_the_logs_or_the_audit_table(
    app, agency_admin, agency_admin_user, caplog, database
):
    with caplog.at_level(logging.DEBUG):
        agency_admin.form(
            "/staff/team/invite", {"display_name": NAME, "email": EMAIL, "role": "case_manager"}
        )
        link = link_in_outbox(database, EMAIL)
        token = link.rsplit("/", 1)[1]
        path = link.replace("https://portal.test", "")
        newcomer = app.test_client()
        newcomer.form(path, {"password": PASSWORD})
        newcomer.form("/staff/sign-in", {"email": EMAIL, "password": "wrong " + PASSWORD})
        newcomer.form("/staff/sign-in", {"email": "nobody." + EMAIL, "password": PASSWORD})
        first = newcomer.form("/staff/sign-in", {"email": EMAIL, "password": PASSWORD})
        done, app_key = set_up_app(newcomer, first)  # their authenticator app, at first sign-in
        assert done.status_code == 200 and app_key
        shown = done.get_data(as_text=True)
        recovery = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", shown)
        assert len(recovery) == 10
        newcomer.form(
            "/staff/team/invite",
            {"display_name": DOB, "email": EMAIL, "role": "case_manager"},
            token_from="/staff/",
        )
        jobs.run_pending()
        member_page = newcomer.get("/staff/")
        assert member_page.status_code == 200
    sinks = [
        record.getMessage() + json.dumps(record.__dict__, default=str) for record in caplog.records
    ]
    sinks += [
        json.dumps({c.name: getattr(e, c.name) for c in AuditEvent.__table__.columns}, default=str)
        for e in database.session.scalars(select(AuditEvent))
    ]
    sinks += [f"{j.payload} {j.last_error}" for j in database.session.scalars(select(Job))]
    haystack = "\n".join(sinks)
    assert len(caplog.records) > 5 and "staff.invited" in haystack and "sign_in.failed" in haystack
    secrets = (app_key, *recovery, *(code.replace("-", "") for code in recovery))
    for sentinel in (NAME, "Sentinelname", EMAIL, "zebulon", PASSWORD, "SENTINEL-XYZ", DOB, token):
        assert sentinel not in haystack, f"{sentinel!r} leaked into a log sink"
    for secret in secrets:
        assert secret not in haystack, "a second-factor secret leaked into a log sink"
