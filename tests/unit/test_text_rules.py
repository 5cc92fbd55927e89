"""The rules every text follows (issue 22), without an app: how many billed segments its words
take (GSM-7: 160, or 153 a part; UCS-2: 70, or 67 a part), quiet hours in the agency's time
zone (across the changes to and from daylight saving time), what a text someone sends means
(STOP, START and HELP in English and Spanish), and which channel a client chose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from portal.domain.texting import (
    ANY_HOUR,
    CHANNELS,
    KEYWORDS,
    NOTICE_KINDS,
    STALE_AFTER,
    STOP_FIRST_WORDS,
    channel_for,
    is_unicode,
    meaning,
    quiet_until,
    segments,
)

LA = "America/Los_Angeles"
ZONE = ZoneInfo(LA)
EXTENSION = "^{}\\[~]|€"  # GSM 03.38's extension table: an escape and a septet, 2 each


def la(year: int, month: int, day: int, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """A wall-clock time in Los Angeles, as the UTC instant the outbox passes around."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE, fold=fold).astimezone(UTC)


# --- segments: GSM-7 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (159, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_a_gsm_text_takes_160_characters_then_153_a_part(length, parts):
    text = "a" * length
    assert not is_unicode(text)
    assert segments(text) == parts


@pytest.mark.parametrize("char", list(EXTENSION))
def test_a_gsm_extension_character_counts_two(char):
    assert not is_unicode(char), "the extension table is GSM, not a reason for UCS-2"
    assert segments(char * 80) == 1  # 160 septets
    assert segments(char * 81) == 2  # 162
    assert segments("a" * 158 + char) == 1  # 160
    assert segments("a" * 159 + char) == 2  # 161
    assert segments(char * 153) == 2  # 306 = 2 x 153
    assert segments(char * 154) == 3  # 308


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_a_ucs2_text_takes_70_characters_then_67_a_part(length, parts):
    text = "á" * length
    assert is_unicode(text)
    assert segments(text) == parts


@pytest.mark.parametrize("char", ["中", "Ж", "ع", "ก", "ă", "ç"])
def test_other_scripts_and_letters_go_as_ucs2(char):
    assert is_unicode(char)
    assert segments(char * 70) == 1
    assert segments(char * 71) == 2


def test_an_emoji_counts_two_utf16_units():
    assert is_unicode("😀")
    assert segments("😀" * 35) == 1  # 70 units
    assert segments("😀" * 35 + "a") == 2  # 71
    assert segments("a" * 69 + "😀") == 2  # 71
    assert segments("a" * 68 + "😀") == 1  # 70
    assert segments("😀" * 67) == 2  # 134 = 2 x 67
    assert segments("😀" * 68) == 3  # 136


def test_one_character_outside_gsm_makes_the_whole_text_cost_more():
    assert segments("a" * 100) == 1
    assert segments("a" * 100 + "á") == 2  # 101 UCS-2 characters: more than 70
    assert segments("€" * 35 + "á") == 1  # in UCS-2 an extension character is one unit
    assert segments("€" * 71) == 1  # GSM: 142 septets


@pytest.mark.parametrize("char", ["á", "í", "ó", "ú", "Á", "Í", "Ó", "Ú"])
def test_these_spanish_letters_are_not_gsm(char):
    assert is_unicode(char)
    assert is_unicode(f"Tu c{char}digo")


@pytest.mark.parametrize("char", ["é", "ñ", "Ñ", "¿", "¡", "ü", "Ü", "É", "à", "\n", "@", "£"])
def test_these_are_gsm(char):
    assert not is_unicode(char)


def test_a_spanish_sentence_without_a_i_o_u_accents_stays_gsm():
    text = "¿Necesitas ayuda? ¡Señal de pingüino! Qué bien."
    assert not is_unicode(text)
    assert segments(text) == 1
    assert is_unicode("Recibió un mensaje")  # "ó" is not in GSM-7


# --- quiet hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (la(2026, 6, 10, 21, 0), la(2026, 6, 11, 8, 0)),  # exactly 21:00: quiet
        (la(2026, 6, 10, 21, 1), la(2026, 6, 11, 8, 0)),
        (la(2026, 6, 10, 23, 59), la(2026, 6, 11, 8, 0)),
        (la(2026, 6, 11, 0, 0), la(2026, 6, 11, 8, 0)),  # after midnight: this morning
        (la(2026, 6, 11, 3, 30), la(2026, 6, 11, 8, 0)),
        (la(2026, 6, 11, 7, 59), la(2026, 6, 11, 8, 0)),
        (la(2026, 12, 31, 22, 0), la(2027, 1, 1, 8, 0)),  # across the year's end
    ],
)
def test_overnight_quiet_hours_end_at_eight_local(now, ends):
    assert quiet_until(now, LA, "21:00", "08:00") == ends


@pytest.mark.parametrize(
    "now",
    [
        la(2026, 6, 11, 8, 0),  # exactly 08:00: no longer quiet
        la(2026, 6, 11, 8, 1),
        la(2026, 6, 11, 12, 0),
        la(2026, 6, 11, 20, 59),
    ],
)
def test_outside_overnight_quiet_hours_there_is_no_wait(now):
    assert quiet_until(now, LA, "21:00", "08:00") is None


def test_quiet_hours_are_the_agencys_local_time_not_utc():
    now = datetime(2026, 6, 11, 4, 30, tzinfo=UTC)  # 21:30 on the 10th in Los Angeles
    assert quiet_until(now, LA, "21:00", "08:00") == la(2026, 6, 11, 8, 0)
    # 06:30 in Berlin (UTC+2): quiet there too, until 08:00 Berlin, 06:00 UTC
    berlin = quiet_until(now, "Europe/Berlin", "21:00", "08:00")
    assert berlin == datetime(2026, 6, 11, 6, 0, tzinfo=UTC)
    # 04:30 in UTC: outside 05:00-06:00 there, inside it in Berlin
    assert quiet_until(now, "UTC", "05:00", "06:00") is None
    assert quiet_until(now, "Europe/Berlin", "06:00", "07:00") == datetime(
        2026, 6, 11, 5, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (la(2026, 6, 11, 13, 0), la(2026, 6, 11, 14, 0)),
        (la(2026, 6, 11, 13, 59), la(2026, 6, 11, 14, 0)),
        (la(2026, 6, 11, 14, 0), None),
        (la(2026, 6, 11, 12, 59), None),
        (la(2026, 6, 11, 22, 0), None),
        (la(2026, 6, 11, 3, 0), None),
    ],
)
def test_a_same_day_window(now, ends):
    assert quiet_until(now, LA, "13:00", "14:00") == ends


@pytest.mark.parametrize("hour", [0, 8, 13, 21, 23])
def test_the_same_start_and_end_mean_no_quiet_hours(hour):
    assert quiet_until(la(2026, 6, 11, hour), LA, "21:00", "21:00") is None
    assert quiet_until(la(2026, 6, 11, hour), LA, "00:00", "00:00") is None


@pytest.mark.parametrize("bad", ["", None, "9pm", "25:00", "21", "21:00:00"])
def test_an_unreadable_setting_falls_back_to_21_to_8(bad):
    assert quiet_until(la(2026, 6, 10, 22, 0), LA, bad, bad) == la(2026, 6, 11, 8, 0)
    assert quiet_until(la(2026, 6, 11, 12, 0), LA, bad, bad) is None


def test_the_end_is_given_in_the_zone_it_was_asked_in():
    now = la(2026, 6, 10, 22, 0)
    assert quiet_until(now, LA, "21:00", "08:00").tzinfo == UTC
    local = now.astimezone(ZONE)
    assert quiet_until(local, LA, "21:00", "08:00") == datetime(2026, 6, 11, 8, 0, tzinfo=ZONE)


# 2026-03-08 02:00 PST becomes 03:00 PDT; 2026-11-01 02:00 PDT becomes 01:00 PST.
@pytest.mark.parametrize(
    "now",
    [
        la(2026, 3, 7, 21, 0),  # PST, the evening before the change
        la(2026, 3, 7, 23, 30),
        la(2026, 3, 8, 1, 59),  # PST, a minute before the clocks jump
        la(2026, 3, 8, 3, 0),  # PDT, a minute after
        la(2026, 3, 8, 7, 59),
    ],
)
def test_quiet_hours_end_at_eight_local_on_the_day_daylight_saving_starts(now):
    ends = quiet_until(now, LA, "21:00", "08:00")
    assert ends == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)  # 08:00 PDT (UTC-7)
    local = ends.astimezone(ZONE)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-03-08", 8, 0)
    assert ends - now < timedelta(hours=11)  # the night is an hour shorter


@pytest.mark.parametrize(
    "now",
    [
        la(2026, 10, 31, 21, 0),  # PDT, the evening before the change
        la(2026, 11, 1, 1, 30),  # the first 01:30 (PDT)
        la(2026, 11, 1, 1, 30, fold=1),  # the second 01:30 (PST)
        la(2026, 11, 1, 7, 59),  # PST
    ],
)
def test_quiet_hours_end_at_eight_local_on_the_day_daylight_saving_ends(now):
    ends = quiet_until(now, LA, "21:00", "08:00")
    assert ends == datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # 08:00 PST (UTC-8)
    local = ends.astimezone(ZONE)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-11-01", 8, 0)


@pytest.mark.parametrize(
    ("now", "quiet"),
    [
        (datetime(2026, 3, 8, 14, 59, tzinfo=UTC), True),  # 07:59 PDT
        (datetime(2026, 3, 8, 15, 0, tzinfo=UTC), False),  # 08:00 PDT
        (datetime(2026, 3, 8, 15, 30, tzinfo=UTC), False),  # 08:30 PDT (07:30 PST)
        (datetime(2026, 11, 1, 15, 30, tzinfo=UTC), True),  # 07:30 PST (08:30 PDT)
        (datetime(2026, 11, 1, 16, 0, tzinfo=UTC), False),  # 08:00 PST
    ],
)
def test_the_morning_after_a_change_is_read_on_the_new_clock(now, quiet):
    assert (quiet_until(now, LA, "21:00", "08:00") is not None) is quiet


# --- staleness --------------------------------------------------------------------------------


def test_each_kind_has_its_staleness_and_only_answers_go_at_any_hour():
    assert dict(STALE_AFTER) == {
        "code": timedelta(minutes=10),
        "reply_stop": timedelta(hours=1),
        "reply_start": timedelta(hours=1),
        "reply_help": timedelta(hours=1),
        "reply_other": timedelta(hours=1),
        "messages": timedelta(hours=24),
        "requests": timedelta(days=3),
        "documents": timedelta(days=3),
        "roi_renewal": timedelta(days=7),
    }
    assert set(ANY_HOUR) == {"code", "reply_stop", "reply_start", "reply_help", "reply_other"}
    assert not ANY_HOUR & set(NOTICE_KINDS)


# --- what a text someone sends means --------------------------------------------------------


def _mixed(word: str) -> str:
    return "".join(ch.lower() if i % 2 else ch.upper() for i, ch in enumerate(word))


KEYWORD_CASES = [
    pytest.param(spelled, word, id=f"{word}-{how}")
    for word in sorted(KEYWORDS)
    for how, spelled in (
        ("upper", word.upper()),
        ("lower", word.lower()),
        ("title", word.title()),
        ("mixed", _mixed(word)),
        ("mixed2", _mixed(word.lower()).swapcase()),
    )
]


@pytest.mark.parametrize(("text", "word"), KEYWORD_CASES)
def test_every_keyword_in_any_case(text, word):
    assert meaning(text) == KEYWORDS[word]


SHAPES = ("{}.", " {}! ", "{}!!!", "¡{}!", "¿{}?", "\n{}\n", '"{}"', "{} ", "🛑 {}", "{} 🙏")


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_every_keyword_with_punctuation_and_spaces(word):
    for shape in SHAPES:
        for spelled in (word, word.lower(), word.title()):
            text = shape.format(spelled)
            assert meaning(text) == KEYWORDS[word], text


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_every_keyword_twice(word):
    """STOP, STOPALL, UNSUBSCRIBE or PARAR twice starts with a stop word; the others (cancel,
    end, quit, alto...) have everyday meanings and count only alone; "HELP HELP" is two
    words, not a keyword."""
    meant = meaning(f"{word} {word}")
    if word in STOP_FIRST_WORDS:
        assert meant == KEYWORDS[word]
    else:
        assert meant == ("other", None)


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("Stop.", ("stop", "en")),
        (" stop! ", ("stop", "en")),
        ("STOP STOP", ("stop", "en")),
        ("stop texting me", ("stop", "en")),
        ("Stop, please", ("stop", "en")),
        ("Cancel all of it", ("other", None)),
        ("Cancel my appointment", ("other", None)),
        ("End of day works", ("other", None)),
        ("Alto de la calle", ("other", None)),
        ("Parar por favor", ("stop", "es")),
        ("¡ALTO!", ("stop", "es")),
        ("Stop all", ("stop", "en")),  # STOPALL written as two words
        ("opt-out", ("stop", "en")),
        ("Opt out", ("stop", "en")),
        ("un-stop", ("start", "en")),
        ("ＳＴＯＰ", ("stop", "en")),  # full-width letters
    ],
)
def test_stop_words_and_their_spellings(text, meant):
    assert meaning(text) == meant


def test_accents_are_set_aside():
    assert "AYÚDA" not in KEYWORDS and "AYUDA" in KEYWORDS
    assert meaning("AYUDA") == ("help", "es")
    assert meaning("Ayúda") == ("help", "es")  # not a keyword as written: normalised to AYUDA
    assert meaning("ayuda") == ("help", "es")
    assert meaning("párar") == ("stop", "es")  # normalised to PARAR
    assert meaning("PÁRAR") == ("stop", "es")
    assert meaning("comenzár") == ("start", "es")
    assert meaning("stóp") == ("stop", "en")
    # a decomposed accent (e + combining acute) as a phone may send it
    assert meaning("pa\u0301rar") == ("stop", "es")


@pytest.mark.parametrize(
    "text",
    [
        "start now",
        "help me",
        "Help, I need a ride",
        "ayuda por favor",
        "Stopping by later",
        "stopped",
        "unstoppable",
        "I want to stop",  # the stop word is not first
        "Please STOP",
        "Thanks!",
        "OK",
        "S T O P P",
        "STOP_",  # "_" is a word character: one word, STOP_
        "",
        "   ",
        "...",
        "?!",
        "🛑",
        "👍👍",
        "🙏 🙏",
        None,
    ],
)
def test_anything_else_is_other(text):
    assert meaning(text) == ("other", None)


# --- channels -------------------------------------------------------------------------------


def _account(channels, email_on: bool = True):
    return SimpleNamespace(notice_channels=channels, email_notifications=email_on)


@pytest.mark.parametrize("kind", NOTICE_KINDS)
@pytest.mark.parametrize("chosen", CHANNELS)
def test_a_saved_choice_is_the_channel(kind, chosen):
    assert channel_for(_account({kind: chosen}), kind) == chosen
    assert channel_for(_account({kind: chosen}, email_on=False), kind) == chosen


@pytest.mark.parametrize("kind", NOTICE_KINDS)
@pytest.mark.parametrize("saved", [None, {}, {"other_kind": "text"}, {"x": "both"}])
def test_without_a_choice_email_notices_decide(kind, saved):
    assert channel_for(_account(saved, email_on=True), kind) == "email"
    assert channel_for(_account(saved, email_on=False), kind) == "none"


def test_a_choice_for_one_kind_leaves_the_others_alone():
    account = _account({"messages": "text", "documents": "none"}, email_on=True)
    assert [channel_for(account, kind) for kind in NOTICE_KINDS] == [
        "text",
        "email",
        "none",
        "email",
    ]


@pytest.mark.parametrize("saved", ["sms", "TEXT", "", None, 1, ["text"]])
def test_an_unknown_saved_value_falls_back(saved):
    assert channel_for(_account({"messages": saved}, email_on=True), "messages") == "email"
    assert channel_for(_account({"messages": saved}, email_on=False), "messages") == "none"
