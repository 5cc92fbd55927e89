"""Removing or adding a URL is a decision: the route list is compared with a snapshot."""

from pathlib import Path

SNAPSHOT = Path(__file__).with_name("routes.txt")


def current_routes(app) -> list[str]:
    rows = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = ",".join(sorted(rule.methods - {"HEAD", "OPTIONS"}))
        rows.append(f"{rule.rule} {methods} {rule.endpoint}")
    return sorted(rows)


def test_routes_match_the_snapshot(app):
    """To accept a change, update tests/integration/routes.txt (one line per route)."""
    expected = SNAPSHOT.read_text().split("\n")
    assert current_routes(app) == [line for line in expected if line]
