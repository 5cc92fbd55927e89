"""Issue 9: the read-only HSDS API carries the fields and types of the HSDS 3.0 schema and the
shapes of its JSON examples."""

import csv
import json

import pytest

from portal.domain.directory import importer as di
from tests.support import shared_path

V30 = ("data", "hsds", "v3.0")
SERVICE_ID = "ac148810-d857-441c-9679-408f346de14b"
JSON_TYPES = {
    "string": (str,),
    "number": (int, float),
    "array": (list,),
    "": (dict,),
    "object": (dict,),
}


@pytest.fixture
def api(app, database, make, anonymous, tmp_path):
    """The HSDS 3.0 example, plus a taxonomy term on its service."""
    package = tmp_path / "package"
    package.mkdir()
    for path in shared_path(*V30, "csv").glob("*.csv"):
        (package / path.name).write_bytes(path.read_bytes())
    (package / "attributes.csv").write_text(
        "id,link_id,taxonomy_term_id,link_type,link_entity,value\n"
        f"9a9a9a9a-0000-4000-8000-000000000001,{SERVICE_ID},"
        "3f7b145d-84af-42d7-8fae-eaca714b02b2,category,service,\n"
    )
    agency = make.agency("Directory owner", timezone="Europe/London")
    with app.test_request_context():
        di.import_tables(di.directory_for(agency), di.read_source(package))
        database.session.commit()
    return anonymous


def schema_fields(table: str) -> dict[str, str]:
    with open(shared_path(*V30, "schema_simple.csv"), newline="", encoding="utf-8") as stream:
        return {
            row["name"]: row["type"] for row in csv.DictReader(stream) if row["table_name"] == table
        }


# schema_simple names nested arrays by adding "s" to the table; the JSON uses these names.
PLURALS = {"addresss": "addresses", "accessibilitys": "accessibility", "fundings": "funding"}


# Where HSDS 3.0's schema table and its JSON examples disagree, the API follows the examples
# (what clients of the API parse): count is an integer there, and the comma-separated
# bymonthday / byyearday ("2,3,4") are strings.
FOLLOW_THE_EXAMPLES = {
    ("schedule", "count"): "number",
    ("schedule", "bymonthday"): "string",
    ("schedule", "byyearday"): "string",
    ("taxonomy_term", "taxonomy"): "string",  # the example names it; the object is taxonomy_detail
}


def assert_schema(obj: dict, table: str) -> None:
    for name, kind in schema_fields(table).items():
        kind = FOLLOW_THE_EXAMPLES.get((table, name), kind)
        name = PLURALS.get(name, name)
        assert name in obj, f"{table}.{name} is missing"
        value = obj[name]
        if value is not None:
            assert isinstance(value, JSON_TYPES[kind]), f"{table}.{name}: {type(value)} not {kind}"


def assert_shape(ours, example, path="") -> None:
    """Every key of the example is in ours, with a value of the same JSON kind (or null)."""
    if isinstance(example, dict):
        assert isinstance(ours, dict), path
        for key, value in example.items():
            assert key in ours, f"{path}.{key} is missing"
            if ours[key] is not None and value is not None:
                assert_shape(ours[key], value, f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(ours, list), path
        if example and ours:
            assert_shape(ours[0], example[0], f"{path}[]")
    elif isinstance(example, bool):
        assert isinstance(ours, bool), path
    elif isinstance(example, (int, float)):
        assert isinstance(ours, (int, float)) and not isinstance(ours, bool), path
    else:
        assert isinstance(ours, str), f"{path}: {ours!r}"


def example(name: str):
    return json.loads(shared_path(*V30, "json", name).read_text(encoding="utf-8"))


def test_metadata(api):
    answer = api.get("/api/hsds/")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert_shape({k: v or "" for k, v in answer.json.items()}, example("base.json"))
    assert answer.json["version"] == "3.0"
    assert "Set-Cookie" not in answer.headers


def test_services_list_and_one_service_carry_the_schema(api):
    listing = api.get("/api/hsds/services", query_string={"per_page": 10})
    assert listing.status_code == 200
    body = listing.json
    assert set(body) == set(example("service_list.json"))
    assert (body["total_items"], body["page_number"], body["empty"]) == (1, 1, False)
    service = body["contents"][0]
    assert service["id"] == SERVICE_ID
    assert_shape(service, example("service_full.json"))
    assert_schema(service, "service")
    assert_schema(service["organization"], "organization")
    link = service["service_at_locations"][0]
    assert_schema(link, "service_at_location")
    assert_schema(link["location"], "location")
    assert_schema(link["location"]["addresses"][0], "address")
    assert_schema(service["phones"][0], "phone")
    assert_schema(service["languages"][0], "language")
    assert_schema(link["schedules"][0], "schedule")
    term = service["attributes"][0]["taxonomy_term"]
    assert_schema(term, "taxonomy_term")
    single = api.get(f"/api/hsds/services/{SERVICE_ID}")
    assert single.status_code == 200 and single.json == service


def test_search_filters_and_paging(api):
    def total(**args):
        answer = api.get("/api/hsds/services", query_string=args)
        assert answer.status_code == 200, answer.json
        return answer.json["total_items"]

    assert total(search="counselling") == 1
    assert total(search="zzzz") == 0
    assert total(taxonomy_term_id="3f7b145d-84af-42d7-8fae-eaca714b02b2") == 1
    assert total(taxonomy_term_id="00000000-0000-4000-8000-000000000000") == 0
    assert total(taxonomy_term_id="not-a-uuid") == 0
    empty = api.get("/api/hsds/services", query_string={"search": "zzzz"}).json
    assert empty["empty"] and empty["contents"] == [] and empty["total_pages"] == 1
    for bad in ({"per_page": 0}, {"per_page": 1000}, {"page": 0}, {"page": "two"}):
        answer = api.get("/api/hsds/services", query_string=bad)
        assert answer.status_code == 400 and "error" in answer.json
    assert api.get("/api/hsds/services/not-an-id").status_code == 404
    assert api.get("/api/hsds/services/00000000-0000-4000-8000-000000000000").status_code == 404


@pytest.mark.requirement("R36")
def test_naughty_search_terms(api, monkeypatch):
    from portal.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)  # 515 requests in a row
    strings = json.loads(shared_path("data", "blns", "blns.json").read_text(encoding="utf-8"))
    for text in strings:
        answer = api.get("/api/hsds/services", query_string={"search": text})
        assert answer.status_code == 200, text
        assert answer.mimetype == "application/json"


def test_the_api_is_rate_limited(api):
    answers = [api.get("/api/hsds/").status_code for _ in range(125)]
    assert answers.count(200) == 120 and answers[-1] == 429
