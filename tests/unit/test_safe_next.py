import pytest

from portal.security import safe_next


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\r\nLocation: x",
        "",
        None,
        "evil.example/x",
        "/" + "a" * 600,
    ],
)
@pytest.mark.requirement("R39")
def test_anything_but_a_same_site_path_falls_back(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/staff/", "/staff/team?page=2", "/home#top"])
@pytest.mark.requirement("R39")
def test_same_site_paths_are_kept(target):
    assert safe_next(target) == target
