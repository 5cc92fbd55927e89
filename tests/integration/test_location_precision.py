"""Where someone sleeps is kept at the least precision that serves (R63, issue 20).

The decision (README, "Where someone can be found"): a place the client describes in words,
and only when they tick "use my location", a point rounded to 3 decimals of a degree (about
110 m north-south, less east-west): outreach finds a tent or a car within a block, which 1 km
(2 decimals) would not; the doorway (5-6 decimals, what a phone gives) is never kept. A finer
value is rounded on the phone before it is sent and again on the server, and never reaches the
database, a log, a page or an export."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text

from portal.domain.core import crypto
from portal.domain.models import ClientLocation
from portal.domain.selfservice import review
from portal.extensions import db
from tests.integration.test_self_service import decide, items

FINE = ("37.7749295", "-122.4194155")  # what a phone's GPS gives: a doorway
FINER_DIGITS = ("37.7749", "122.4194", "4194155", "7749295")  # any finer trace of it


def _every_stored_value(database) -> list[str]:
    """Every value in every table, with the sealed (encrypted) ones opened."""
    values = []
    connection = database.session.connection()
    for table in db.metadata.sorted_tables:
        for row in connection.execute(select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                values.append(str(value))
                if isinstance(value, str) and value and column.endswith(("_encrypted", "state")):
                    values.append(_opened(value))
    return values


def _opened(sealed: str) -> str:
    for open_ in (crypto.decrypt_json, crypto.decrypt_text):
        try:
            return str(open_(sealed))
        except Exception:  # noqa: S112 - not this kind (or not sealed): try the next
            continue
    return ""


@pytest.mark.requirement("R63", "R58")
def test_a_shared_location_is_kept_to_about_100_m_and_nothing_finer_is_stored_logged_or_shown(
    me, case_manager, database, caplog
):
    caplog.set_level(logging.DEBUG)
    sent = me.form(
        "/where",
        {
            "place_kind": "street",
            "place": "By the river",
            "use_my_location": "y",
            "latitude": FINE[0],
            "longitude": FINE[1],
        },
    )
    assert sent.status_code == 303
    item = items(database, me.record, kind="location")[0]
    assert review.payload_of(item)["lat"] == 37.775 and review.payload_of(item)["lon"] == -122.419
    assert decide(case_manager, item, "accept").status_code == 303
    stored = database.session.scalars(select(ClientLocation)).one()
    details = crypto.decrypt_json(stored.details_encrypted)
    assert (details["lat"], details["lon"]) == (37.775, -122.419)

    # Where it is shown: the care team's record and review pages, the client's own pages.
    pages = [
        case_manager.get(f"/staff/clients/{me.record.public_id}"),
        case_manager.get(f"/staff/review/{item.public_id}"),
        me.get("/home"),
        me.get("/updates"),
        me.get("/where"),
    ]
    shown = "".join(page.get_data(as_text=True) for page in pages)
    assert "37.775" in shown  # the coarse point is there for the care team
    # Find help near the phone's location: the address bar and the page keep 2 decimals.
    near = me.get(f"/resources?lat={FINE[0]}&lon={FINE[1]}&q=food").get_data(as_text=True)

    everything = _every_stored_value(database)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for digits in FINER_DIGITS:
        assert not [v for v in everything if digits in v], f"{digits} stored"
        assert digits not in shown and digits not in near, f"{digits} shown"
        assert digits not in logged, f"{digits} logged"
    assert "37.77" not in logged and "By the river" not in logged  # nor the coarse one
    assert database.session.scalar(text("SELECT count(*) FROM client_locations")) == 1
