import uuid
import pytest
from playwright.sync_api import expect
from tests.browser.conftest import assert_accessible
from tests.support import TEST_PASSWORD

@pytest.mark.browser
@pytest.mark.parametrize("n", range(6))
def test_scratch(phones, live_server, n):
    admin = live_server.create_agency_admin()
    p = phones.open()
    p.goto(live_server.url + "/staff/sign-in")
    p.get_by_label("Email address").fill(admin["email"])
    p.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    p.get_by_role("button", name="Sign in", exact=True).tap()
    expect(p.get_by_role("heading", level=1)).to_have_text("Hello, Alex Admin")
    p.goto(live_server.url + "/staff/team/invite")
    p.get_by_role("button", name="Send invitation").tap()
    expect(p.get_by_role("alert")).to_contain_text("There is a problem")
    assert_accessible(p)
    p.get_by_label("Full name").fill("Casey")
    p.get_by_label("Work email address").fill(f"c{uuid.uuid4().hex[:8]}@staff.test")
    p.get_by_role("group", name="Role").get_by_label("Case manager").check()
    p.get_by_role("button", name="Send invitation").tap()
    expect(p.get_by_role("status")).to_contain_text("Invitation sent", timeout=5000)
