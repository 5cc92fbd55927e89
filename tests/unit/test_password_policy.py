import pytest

from portal.domain.accounts import passwords


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "quiet orange harbor seventeen",
        "ñandú tren 7 luz",  # 16 code points, non-ASCII
        "ünïcödé wörds are fine too",
        "a" * 3 + "b7#Kq9!zLm2@Wp",
    ],
)
@pytest.mark.requirement("R13")
def test_good_passwords_pass(password):
    assert passwords.problems(password, ["Riley Rivera", "riley@agency.test"]) == []


@pytest.mark.requirement("R13")
def test_length_counts_code_points_after_nfkc():
    assert (
        passwords.problems("ﬁ" * 7 + "x") != []
    )  # NFKC: "fi" x 7 + x = 15 ... still one repeated unit
    assert passwords.problems("a1b2c3d4e5f6g7") and "15 characters" in str(
        passwords.problems("a1b2c3d4e5f6g7")[0]
    )


@pytest.mark.requirement("R13")
def test_fourteen_is_refused_and_fifteen_is_enough():
    assert passwords.problems("mqz7 vbt2 kwp9x"[:14])
    assert passwords.problems("mqz7 vbt2 kwp9x") == []


@pytest.mark.requirement("R13")
def test_long_passwords_up_to_256_are_accepted():
    assert passwords.problems("river stone " * 10 + "lamp") == []  # 124 characters
    assert passwords.problems("q" * 257)


@pytest.mark.parametrize(
    "password",
    [
        "passwordpassword",
        "123456789987654321",
        "qwertyqwertyqwerty",
        "aaaaaaaaaaaaaaaa",
        "1qaz2wsx3edc4rfv",
    ],
)
@pytest.mark.requirement("R14")
def test_common_and_repeated_passwords_are_refused(password):
    assert passwords.problems(password)


@pytest.mark.parametrize(
    "password",
    [
        "hmisportalhmisportal",
        "rileyriverariley2026",
        "riley@agency.test!!",
        "Harbor Outreach Harbor",
    ],
)
@pytest.mark.requirement("R14")
def test_passwords_built_from_context_words_are_refused(password):
    assert passwords.problems(password, ["Riley Rivera", "riley@agency.test", "Harbor Outreach"])
