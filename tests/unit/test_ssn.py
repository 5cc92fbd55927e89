"""SSN parsing and display (product.md "SSN data entry"; R38, R63), driven by the shared
test data in ../shared/data/ssn/ssn_test_cases.csv, every row of it."""

from __future__ import annotations

import csv

import pytest

from portal.domain.core.errors import DomainError
from portal.domain.records.ssn import (
    SSN,
    invalid_rules,
    last_four,
    masked,
    parse_ssn,
)
from tests.support import SHARED, shared_path

CSV_PARTS = ("data", "ssn", "ssn_test_cases.csv")
ASCII_DIGITS = "0123456789"
REFUSED = "refused"

# What the module docstring decides for each `decide` row of the CSV, by input.
DECISIONS: dict[str, SSN | str] = {
    "123 45 6789": SSN("123456789", 2, ("sequential",)),
    " 012456789 ": SSN("012456789", 1, ()),
    # fullwidth 012456789
    "\uff10\uff11\uff12\uff14\uff15\uff16\uff17\uff18\uff19": SSN("012456789", 1, ()),
    # Arabic-Indic 012456789
    "\u0660\u0661\u0662\u0664\u0665\u0666\u0667\u0668\u0669": REFUSED,
    "12345xxxx": SSN("12345XXXX", 2, ()),
    "xxxxx6789": SSN("XXXXX6789", 2, ()),
    "": SSN(None, 99, ()),
}


def _csv_rows():
    """Every row as a pytest param; one placeholder when ../shared is missing (the test then
    skips locally or fails under CI through `shared_path`)."""
    path = SHARED.joinpath(*CSV_PARTS)
    if not path.exists():
        return [pytest.param(None, id="shared-data-missing")]
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        pytest.param(row, id=f"line{line}-{row['expected']}-{row['rule']}")
        for line, row in enumerate(rows, start=2)
    ]


CSV_ROWS = _csv_rows()


def _in_script(zero: int, digits: str) -> str:
    """The digits written with the script whose zero is the code point `zero`."""
    return "".join(chr(zero + int(d)) for d in digits)


def _ascii_digits_of(text: str) -> str:
    return "".join(c for c in text if c in ASCII_DIGITS)


@pytest.fixture
def cases_file():
    return shared_path(*CSV_PARTS)


def test_the_shared_data_has_rows_of_every_kind(cases_file):
    with cases_file.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["expected"] for row in rows} == {"valid", "invalid", "decide"}
    assert len(rows) == len(CSV_ROWS)


@pytest.mark.parametrize("row", CSV_ROWS)
def test_each_shared_case_is_handled_as_the_data_or_the_module_decides(row, cases_file):
    raw, expected = row["input"], row["expected"]
    rules = row["rule"].split(";")
    if expected == "valid":
        ssn = parse_ssn(raw)
        assert ssn == SSN(_ascii_digits_of(raw), 1, ())
        assert len(ssn.value) == 9
    elif expected == "invalid" and any(rule.startswith("format") for rule in rules):
        with pytest.raises(DomainError) as refused:
            parse_ssn(raw)
        assert refused.value.field == "ssn"
    elif expected == "invalid":
        ssn = parse_ssn(raw)
        assert ssn.value == _ascii_digits_of(raw)
        assert ssn.quality == 2
        assert set(rules) <= set(ssn.warnings)
        assert set(rules) <= set(invalid_rules(ssn.value))
    else:
        assert expected == "decide", f"unknown expectation {expected!r}"
        assert raw in DECISIONS, f"no decision recorded for decide row {raw!r}"
        decision = DECISIONS[raw]
        if decision == REFUSED:
            with pytest.raises(DomainError) as refused:
                parse_ssn(raw)
            assert refused.value.field == "ssn"
        else:
            assert parse_ssn(raw) == decision


@pytest.mark.parametrize(
    "raw", ["123456789", "12345xxxx", "", None, "garbage!", "\u0660\u0661\u0662"]
)
def test_consent_refused_turns_every_digit_to_x(raw):
    assert parse_ssn(raw, consent_refused=True) == SSN("XXXXXXXXX", 9, ())
    assert parse_ssn(raw, quality=1, consent_refused=True) == SSN("XXXXXXXXX", 9, ())


def test_the_last_four_alone_are_accepted_as_partial():
    assert parse_ssn("1234") == SSN("XXXXX1234", 2, ())
    assert parse_ssn("1234", quality=1) == SSN("XXXXX1234", 2, ())


def test_lower_case_x_is_stored_as_upper_case_x():
    assert parse_ssn("123-45-xxxx").value == "12345XXXX"
    assert parse_ssn("xXx4x6789").value == "XXX4X6789"
    assert parse_ssn("xx34").value == "XXXXXXX34"


def test_all_nine_unknown_means_the_client_does_not_know():
    assert parse_ssn("xxx-xx-xxxx") == SSN("XXXXXXXXX", 8, ())
    assert parse_ssn("XXXX") == SSN("XXXXXXXXX", 8, ())
    assert parse_ssn("XXXXXXXXX", quality=9) == SSN("XXXXXXXXX", 9, ())
    assert parse_ssn("XXXXXXXXX", quality=2) == SSN("XXXXXXXXX", 8, ())


@pytest.mark.parametrize("quality", [8, 9, 99])
def test_a_blank_ssn_keeps_a_not_known_quality(quality):
    assert parse_ssn("", quality=quality) == SSN(None, quality, ())
    assert parse_ssn(None, quality=quality) == SSN(None, quality, ())
    assert parse_ssn("   ", quality=quality) == SSN(None, quality, ())


def test_a_blank_ssn_without_a_quality_is_data_not_collected():
    assert parse_ssn(None) == SSN(None, 99, ())


@pytest.mark.parametrize("quality", [1, 2])
def test_a_blank_ssn_is_refused_when_the_quality_says_digits_were_given(quality):
    with pytest.raises(DomainError) as refused:
        parse_ssn("", quality=quality)
    assert refused.value.field == "ssn"


@pytest.mark.parametrize("quality", [8, 9, 99])
def test_digits_with_a_not_known_quality_are_refused(quality):
    with pytest.raises(DomainError) as refused:
        parse_ssn("012456789", quality=quality)
    assert refused.value.field == "ssn"


@pytest.mark.parametrize("quality", [0, 3, 100, True, -1])
def test_an_unknown_quality_code_is_refused(quality):
    with pytest.raises(DomainError) as refused:
        parse_ssn("012456789", quality=quality)
    assert refused.value.field == "ssn"


def test_full_quality_with_a_broken_rule_is_downgraded_and_warns():
    assert parse_ssn("666-12-3456", quality=1) == SSN("666123456", 2, ("area_666",))


def test_full_quality_with_unknown_digits_is_downgraded():
    assert parse_ssn("12345XXXX", quality=1) == SSN("12345XXXX", 2, ())


def test_approximate_quality_is_kept_for_a_clean_number():
    assert parse_ssn("012456789", quality=2) == SSN("012456789", 2, ())


def test_a_partial_number_still_warns_about_the_fields_it_shows():
    assert parse_ssn("0000") == SSN("XXXXX0000", 2, ("serial_0000",))
    assert parse_ssn("9XXXXXXXX") == SSN("9XXXXXXXX", 2, ("area_9xx",))
    assert parse_ssn("666-00-XXXX") == SSN("66600XXXX", 2, ("area_666", "group_00"))
    assert parse_ssn("6X6-X0-0000").warnings == ("serial_0000",)


@pytest.mark.parametrize(
    ("digits", "rules"),
    [
        ("666666666", ("area_666", "repeated_digits")),
        ("000000000", ("area_000", "group_00", "serial_0000", "repeated_digits")),
        ("987654321", ("area_9xx", "sequential", "published_number")),
        ("987654329", ("area_9xx", "published_number")),
        ("078051120", ("published_number",)),
        ("012456789", ()),
        ("123456780", ()),
    ],
)
def test_invalid_rules_lists_every_rule_broken_in_a_fixed_order(digits, rules):
    assert invalid_rules(digits) == rules


@pytest.mark.parametrize(
    "digits",
    [
        "12345678",
        "12345678X",
        "\uff10\uff11\uff12\uff14\uff15\uff16\uff17\uff18\uff19",
        "\u0660\u0661\u0662\u0664\u0665\u0666\u0667\u0668\u0669",
    ],
)
def test_invalid_rules_only_judges_nine_ascii_digits(digits):
    with pytest.raises(ValueError, match="9 ASCII digits"):
        invalid_rules(digits)


@pytest.mark.parametrize(
    "raw",
    [
        "O12456789",
        "123*45*6789",
        "***-**-1234",
        "12345678",
        "12345",
        "123",
        "1234-56-789",
        "123--45-6789",
        "123\t45\t6789",
        "123456789\n0",
        "\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079",  # superscript 123456789
        _in_script(0x1D7CE, "012456789"),  # mathematical bold digits
        _in_script(0x06F0, "012456789"),  # Extended Arabic-Indic (Persian) digits
        "1" * 10_000,
    ],
)
@pytest.mark.requirement("R38")
def test_unusable_formats_are_refused_on_the_ssn_field(raw):
    with pytest.raises(DomainError) as refused:
        parse_ssn(raw)
    assert refused.value.field == "ssn"


@pytest.mark.parametrize(
    "raw", ["012-45-6789", "012456789", "12345xxxx", "1234", "XXXXXXXXX", "", "666-12-3456"]
)
def test_parsing_a_stored_value_again_gives_the_same_result(raw):
    first = parse_ssn(raw)
    assert parse_ssn(first.value, quality=first.quality) == first


@pytest.mark.parametrize(
    ("value", "four", "display"),
    [
        ("012456789", "6789", "XXX-XX-6789"),
        ("12345XXXX", "XXXX", "XXX-XX-XXXX"),
        ("XXXXX1234", "1234", "XXX-XX-1234"),
        ("XXXXXXXXX", "XXXX", "XXX-XX-XXXX"),
        ("012-45-6789", "6789", "XXX-XX-6789"),
        ("89", "XX89", "XXX-XX-XX89"),
    ],
)
def test_last_four_and_masked_show_only_the_last_four(value, four, display):
    assert last_four(value) == four
    assert masked(value) == display


def test_nothing_stored_shows_nothing():
    assert last_four(None) is None
    assert masked(None) == ""


@pytest.mark.parametrize("value", ["012456789", "227930267", "734123456", "001010001"])
def test_no_more_than_four_digits_of_a_full_number_are_ever_shown(value):
    for shown in (last_four(value), masked(value)):
        digits = _ascii_digits_of(shown)
        assert len(digits) <= 4
        assert value[:5] not in shown
        assert digits == value[-4:]
