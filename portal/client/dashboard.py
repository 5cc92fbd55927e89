"""The client dashboard is a list of registered panels, so later features add theirs without
editing it: `@panel(order)` on a function that returns the panel's template context (or None
to show nothing). Each panel's template is `client/panels/<name>.html` (portal.page_parts)."""

from __future__ import annotations

from portal.domain import selfservice
from portal.domain.core import clock
from portal.domain.selfservice import home, review
from portal.page_parts import PageParts

PANELS = PageParts("client/panels")
panel = PANELS.part
shown_panels = PANELS.shown


@panel(10)
def requests(account, client):
    tasks = home.digest(client).tasks
    return {"tasks": tasks, "labels": selfservice.TASK_KINDS} if tasks else None


@panel(12)
def to_sign(account, client):
    titled = home.digest(client).to_sign_titled(account.preferred_language)
    return {"requests": titled} if titled else None


@panel(15)
def messages(account, client):
    return {"unread": home.digest(client).unread}


@panel(20)
def check_in(account, client):
    return {"last": home.digest(client).last_check_in}


@panel(30)
def location(account, client):
    shared = home.digest(client).location
    age_days = (clock.now() - shared.shared_at).days if shared else None
    return {"shared": shared, "age_days": age_days, "kinds": selfservice.PLACE_KINDS}


@panel(40)
def care_team(account, client):
    return {"seats": home.digest(client).care_team}


@panel(50)
def updates(account, client):
    items = home.digest(client).sent
    return {"entries": items, "kinds": review.KINDS} if items else None


@panel(60)
def activity(account, client):
    enrollments = home.digest(client).enrollments
    return {"enrollments": enrollments} if enrollments else None


@panel(90)
def spotlight(account, client):
    """Community information and featured services from the client's agency (issue 9)."""
    from portal.domain.directory import admin as directory_admin

    return directory_admin.spotlight(client.owning_agency, account.preferred_language)
