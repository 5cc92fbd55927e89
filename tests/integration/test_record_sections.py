"""The staff client record is built from registered sections (issue 18): a feature adds its
section without editing the record's view or template."""

import re
from pathlib import Path

from portal.page_parts import Part
from staff_bridge import record

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "staff_bridge" / "clients"


def _headings(page: str) -> list[str]:
    return re.findall(r"<h2[^>]*>([^<]+)", page)


def test_every_section_has_its_template_and_its_own_place():
    names = [each.name for each in record.SECTIONS.parts]
    assert len(names) == len(set(names)) >= 10
    assert [each.order for each in record.SECTIONS.parts] == sorted(
        each.order for each in record.SECTIONS.parts
    )
    for name in names:
        assert (TEMPLATES / "sections" / f"{name}.html").is_file(), name


def test_the_record_shows_its_sections_in_their_order(case_manager, make, agency_a):
    client = make.client(agency_a)
    page = case_manager.get(f"/staff/clients/{client.public_id}").get_data(as_text=True)
    headings = [h.strip() for h in _headings(page)]
    assert headings[:2] == ["Identity", "Contact"]
    for earlier, later in [("Signatures", "Requests to the client"), ("Care team", "Enrollments")]:
        assert headings.index(earlier) < headings.index(later)


def test_a_new_section_plugs_in_and_one_with_nothing_to_show_is_left_out(
    case_manager, make, agency_a, monkeypatch
):
    client = make.client(agency_a)
    sections = [
        Part("enrollments", 1, lambda actor, c: {"enrollments": []}),  # first
        *(each for each in record.SECTIONS.parts if each.name != "audit_trail"),
        Part("audit_trail", 999, lambda actor, c: None),  # nothing to show
    ]
    monkeypatch.setattr(record.SECTIONS, "parts", sections)
    page = case_manager.get(f"/staff/clients/{client.public_id}").get_data(as_text=True)
    headings = [h.strip() for h in _headings(page)]
    assert headings[0] == "Enrollments" and headings[1] == "Identity"
    assert "Audit trail" not in headings
