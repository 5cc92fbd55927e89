import pytest
from tests.browser.conftest import assert_accessible

@pytest.mark.browser
def test_scratch(phone, live_server):
    phone.goto(live_server.url + "/staff/sign-in")
    phone.evaluate("() => { const i = document.createElement('input'); document.querySelector('main').append(i); }")
    assert_accessible(phone)

@pytest.mark.browser
def test_scratch2(browser, live_server):
    ctx = browser.new_context()
    p = ctx.new_page()
    p.goto(live_server.url + "/staff/sign-in")
    assert_accessible(p)
    ctx.close()
