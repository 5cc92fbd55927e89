"""Fixtures shared by the integration tests of several issues."""

import pytest

from portal.domain.models import CareTeamMember, Client
from tests.support import signed_in


@pytest.fixture
def me(app, make, agency_a, case_manager_user, database):
    """A signed-in client (agency A) with a case manager on the care team."""
    account = make.client_account(agency_a)
    record = database.session.get(Client, account.client_id)
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.commit()
    browser = signed_in(app, account)
    browser.record = record
    browser.account = account
    return browser
