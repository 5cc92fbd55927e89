"""Texts people send the portal's number: STOP, START and HELP in English and Spanish
(PARAR, ALTO, COMENZAR, AYUDA), honoured at once and recorded with the time; anything else
gets one short answer that nobody reads replies here.

What a text said is never kept: only what it meant (`TextInbound.keyword`). A phone number
can be shared, so STOP stops every text to that number, whoever's record it is on.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from sqlalchemy import select

from portal.domain.core import audit, clock
from portal.domain.core.session import dbs, lock_row
from portal.domain.models import Agency, ClientAccount, TextConsent, TextInbound, TextMessage
from portal.domain.texting._outbox import mark_number, queue_text
from portal.settings import current as current_settings

# Keyword -> (meaning, language). CTIA's opt-out and opt-in words, and the Spanish ones.
KEYWORDS: dict[str, tuple[str, str]] = {
    **{
        w: ("stop", "en")
        for w in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE")
    },
    **{w: ("stop", "es") for w in ("PARAR", "ALTO", "DETENER", "CANCELAR", "BAJA")},
    **{w: ("start", "en") for w in ("START", "UNSTOP", "SUBSCRIBE")},
    **{w: ("start", "es") for w in ("COMENZAR", "INICIAR", "EMPEZAR")},
    **{w: ("help", "en") for w in ("HELP", "INFO")},
    **{w: ("help", "es") for w in ("AYUDA",)},
}
# Answer anything that is not a keyword at most once an hour per number (two robots that
# answer each other would otherwise text for ever).
OTHER_REPLY_EVERY = timedelta(hours=1)
SAME_ANSWER_EVERY = timedelta(minutes=5)
STOP_FIRST_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "PARAR"})
_WORDS = re.compile(r"[^\w]+", re.UNICODE)


def meaning(text: str) -> tuple[str, str | None]:
    """("stop" | "start" | "help" | "other", language or None). The whole text is the keyword
    (any case, accents and punctuation aside). A text that starts with STOP, STOPALL,
    UNSUBSCRIBE or PARAR counts as STOP too ("stop texting me"), since a missed STOP costs more
    than an extra one; words with other everyday meanings (cancel, end, quit, alto) count only
    alone ("Cancel my appointment" is not a STOP)."""
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).upper()
    words = [w for w in _WORDS.split(plain) if w]
    if not words:
        return "other", None
    whole = "".join(words)
    if whole in KEYWORDS:
        return KEYWORDS[whole]
    if len(words) == 1 and words[0] in KEYWORDS:
        return KEYWORDS[words[0]]
    if words[0] in STOP_FIRST_WORDS:
        return KEYWORDS[words[0]]
    return "other", None


def normalise_number(value: str) -> str:
    """Gateways give numbers as "+15551230000", "15551230000" or, from a US SMSC without
    Kannel's `unified-prefix`, "5551230000": E.164 each way (records keep E.164)."""
    digits = "".join(ch for ch in (value or "") if ch.isdigit())[:15]
    if len(digits) == 10 and not (value or "").lstrip().startswith("+"):
        digits = "1" + digits  # a North American number without its country code
    return f"+{digits}" if digits else ""


def _accounts_on(number: str) -> list[ClientAccount]:
    return list(
        dbs().scalars(
            select(ClientAccount)
            .join(TextConsent, TextConsent.client_id == ClientAccount.client_id)
            .where(TextConsent.number == number, TextConsent.confirmed_at.is_not(None))
        )
    )


def receive(number: str, text: str, *, transport: str) -> str:
    """Handle one incoming text; returns what it meant."""
    number = normalise_number(number)
    if not number:
        return "other"
    kind, language = meaning(text)
    accounts = _accounts_on(number)
    reply_language = language or (accounts[0].preferred_language if accounts else "en")
    agency = dbs().get(Agency, accounts[0].agency_id) if accounts else None
    dbs().add(
        TextInbound(number=number, keyword=kind, language=reply_language, transport=transport[:12])
    )
    state = mark_number(number)
    lock_row(state)  # one number's texts are handled one at a time (a gateway may resend)
    if kind in ("stop", "start"):
        mark_number(number, stopped=kind == "stop")
    dbs().flush()
    audit.record(
        f"texts.received_{kind}", ("text_number", state.id), details={"language": reply_language}
    )
    if kind != "other" and not current_settings().sms_keyword_replies:
        return kind  # the provider answers STOP, START and HELP itself
    if not _answered_lately(number, f"reply_{kind}"):
        queue_text(f"reply_{kind}", number=number, language=reply_language, agency=agency)
    return kind


def _answered_lately(number: str, kind: str) -> bool:
    """The same answer went to this number lately (a gateway that resends a text, or two
    robots answering each other, get one answer)."""
    every = OTHER_REPLY_EVERY if kind == "reply_other" else SAME_ANSWER_EVERY
    return (
        dbs().scalar(
            select(TextMessage.id).where(
                TextMessage.to_number == number,
                TextMessage.kind == kind,
                TextMessage.created_at > clock.now() - every,
            )
        )
        is not None
    )
