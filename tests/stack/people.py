"""Simulated people on the stack: clients and staff who use the portal over HTTPS through nginx,
the way a browser does (cookies kept, forms read from the page, redirects followed by hand).

Used by the load run (benchmarks/stack_load.py) and by fault tests: every request is timed into
a shared `Recorder` as (page label, status, seconds), and every person keeps a `Ledger` of what
the portal told them was saved, so the database can be counted against it afterwards.

    recorder = Recorder()
    person = ClientPerson(base_url, email, password, cert=cert_path, recorder=recorder,
                          source_address="127.0.0.2", tag="c0001", run_id="r1a2b3c")
    person.sign_in()
    saved, status = person.send_message("Hello")   # the body ends with a unique marker
    person.ledger.messages                          # the markers the person was told were saved

Only httpx and the standard library: no pytest, no Flask (the load script imports this too).
"""

from __future__ import annotations

import random
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx
import pyotp

# --- timing ---------------------------------------------------------------------------------

TRANSPORT_ERROR = 0  # the status recorded when no answer came (timeout, reset, refused)

_ID = re.compile(
    r"/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}|\d+)(?=/|$)",
    re.IGNORECASE,
)


def page_label(method: str, url: str) -> str:
    """ "POST /messages/<id>": the method and the path with ids folded and no query string."""
    path = urlsplit(url).path or "/"
    return f"{method.upper()} {_ID.sub('/<id>', path)}"


class Sample(NamedTuple):
    label: str
    status: int
    seconds: float
    ended: float  # time.monotonic() when the answer was read
    error: str  # the transport error's class name, else ""


class Recorder:
    """Every request's (label, status, seconds), shared by all the people (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def add(self, label: str, status: int, seconds: float, error: str = "") -> None:
        sample = Sample(label, status, seconds, time.monotonic(), error)
        with self._lock:
            self._samples.append(sample)

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def __len__(self) -> int:
        with self._lock:
            return len(self._samples)


# --- reading pages --------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # what a browser would send
    options: dict[str, list[str]] = field(default_factory=dict)  # radio and select choices
    buttons: list[tuple[str, str]] = field(default_factory=list)  # named submit buttons
    names: set[str] = field(default_factory=set)  # every control's name

    def data(self, **changes: str) -> dict[str, str]:
        values = dict(self.fields)
        values.update(changes)
        return values

    def value(self, name: str) -> str | None:
        return dict(self.fields).get(name)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.notices: list[str] = []  # the classes of flashed notices ("notice notice-success")
        self._form: Form | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "div" and "notice" in a.get("class", "").split():
            self.notices.append(a.get("class", ""))
        elif tag == "form":
            self._form = Form(
                a.get("action", ""),
                a.get("method", "get").lower(),
                a.get("enctype", "application/x-www-form-urlencoded"),
            )
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            name, kind = a.get("name"), a.get("type", "text").lower()
            if not name:
                return
            self._form.names.add(name)
            if kind in ("radio", "checkbox"):
                self._form.options.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
            elif kind == "submit":
                self._form.buttons.append((name, a.get("value", "")))
            elif kind != "file":
                self._form.fields.append((name, a.get("value", "")))
        elif tag == "button" and a.get("name"):
            self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self._form.names.add(a["name"])
            self._textarea = (a["name"], [])
        elif tag == "select" and a.get("name"):
            self._form.names.add(a["name"])
            self._select, self._first_option, self._selected = a["name"], None, False
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._form.options.setdefault(self._select, []).append(value)
            if self._first_option is None:
                self._first_option = value
            if "selected" in a and not self._selected:
                self._form.fields.append((self._select, value))
                self._selected = True

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea[0], "".join(self._textarea[1])))
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            if not self._selected and self._first_option is not None:
                self._form.fields.append((self._select, self._first_option))
            self._select = None
        elif tag == "form":
            self._form = None


@dataclass
class Page:
    url: str
    status: int
    forms: list[Form]
    links: list[str]
    notices: list[str]

    @classmethod
    def read(cls, response: httpx.Response) -> Page:
        parser = _PageParser()
        if "html" in response.headers.get("content-type", ""):
            parser.feed(response.text)
            parser.close()
        here = urlsplit(str(response.url))
        for form in parser.forms:  # no action: the form posts back to the page itself
            form.action = form.action or here.path + (f"?{here.query}" if here.query else "")
        return cls(
            str(response.url), response.status_code, parser.forms, parser.links, parser.notices
        )

    def form(self, *, has: str | None = None, action: str | None = None) -> Form | None:
        """The first POST form with a control named `has` (and whose action ends with
        `action`)."""
        for form in self.forms:
            if form.method != "post":
                continue
            if has is not None and has not in form.names and has not in dict(form.fields):
                continue
            if action is not None and not form.action.rstrip("/").endswith(action.rstrip("/")):
                continue
            return form
        return None

    def links_under(self, prefix: str) -> list[str]:
        return [link for link in self.links if urlsplit(link).path.startswith(prefix)]

    @property
    def says_saved(self) -> bool:
        return any("notice-success" in notice.split() for notice in self.notices)


# --- what people were told ------------------------------------------------------------------


class Outcome(NamedTuple):
    saved: bool  # the portal said it was saved (a 303 to the confirmation)
    status: int  # the answer to the submission (0: no answer)


@dataclass
class Ledger:
    """What one person did and what the portal told them. "unsure" is a submission whose
    outcome the person never learnt (no answer, a 5xx): it may or may not be stored, but never
    twice. Markers are unique per run, person and action."""

    messages: list[str] = field(default_factory=list)  # message markers told "sent"
    messages_unsure: list[str] = field(default_factory=list)
    messages_refused: list[str] = field(default_factory=list)  # answered, not saved
    check_ins: int = 0  # check-ins told "thank you"
    check_ins_tried: int = 0  # POSTs sent (stored ones must lie between the two)
    locations: list[str] = field(default_factory=list)  # place markers told "thank you"
    locations_unsure: list[str] = field(default_factory=list)
    locations_refused: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)  # document titles told "sent"
    uploads_unsure: list[str] = field(default_factory=list)
    uploads_refused: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # staff: reply markers told "sent"
    replies_unsure: list[str] = field(default_factory=list)
    replies_refused: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)  # staff: review items told "accepted"
    decisions_lost: int = 0  # answered but not accepted (someone decided first, say)
    decisions_unsure: list[str] = field(default_factory=list)
    sign_ins: int = 0
    sign_in_failures: int = 0


class SignInFailed(RuntimeError):
    pass


class SecondFactorRequired(SignInFailed):
    """The sign-in answer asks for a second factor and the person has no `second_factor`."""


# --- a person -------------------------------------------------------------------------------

RETRY_STATUSES = {502, 503, 504}  # nginx could not reach a node, or the app said "try again"
SECOND_FACTOR_WORDS = (
    "second-factor",
    "two-factor",
    "2fa",
    "mfa",
    "otp",
    "totp",
    "webauthn",
    "passkey",
    "verify",
    "code",
)


def tls_context(cert: str | ssl.SSLContext) -> ssl.SSLContext:
    """One context trusting the stack's certificate (share it: loading it costs)."""
    if isinstance(cert, ssl.SSLContext):
        return cert
    return ssl.create_default_context(cafile=str(cert))


class Person:
    """One browser: its own cookies, connection(s) and, optionally, its own source address."""

    sign_in_path = "/sign-in"

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        *,
        cert: str | ssl.SSLContext,
        recorder: Recorder | None = None,
        source_address: str | None = None,
        tag: str = "",
        run_id: str = "",
        timeout: float = 30.0,
        retries: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.email = email
        self.password = password
        self.recorder = recorder if recorder is not None else Recorder()
        self.source_address = source_address
        self.tag = tag or email.split("@", 1)[0]
        self.run_id = run_id
        self.retries = retries  # extra tries of an idempotent submission (same key)
        self.rng = rng or random.Random()
        self.ledger = Ledger()
        self.signed_in = False
        self.last_answer: httpx.Response | None = None
        self._counter = 0
        transport = httpx.HTTPTransport(
            verify=tls_context(cert),
            local_address=source_address,
            retries=0,  # a retried connect is still a new request: never silently
            # Keep the connection between actions (2-5 s apart); nginx keeps it 30 s.
            limits=httpx.Limits(
                max_connections=2, max_keepalive_connections=2, keepalive_expiry=25
            ),
        )
        self.http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": f"stack-people/1 ({self.tag})"},
        )

    # --- plumbing ---

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def marker(self, kind: str) -> str:
        """A marker unique to the run, this person and this action: "load r1a2b3 c0007 m3"."""
        self._counter += 1
        return f"load {self.run_id} {self.tag} {kind}{self._counter}".replace("  ", " ")

    def request(
        self, method: str, url: str, *, label: str | None = None, **kwargs
    ) -> httpx.Response | None:
        """One timed request; None when no answer came (recorded with status 0)."""
        label = label or page_label(method, url)
        started = time.perf_counter()
        try:
            response = self.http.request(method, url, **kwargs)
            response.read()
        except httpx.HTTPError as exc:
            self.recorder.add(
                label, TRANSPORT_ERROR, time.perf_counter() - started, type(exc).__name__
            )
            return None
        self.recorder.add(label, response.status_code, time.perf_counter() - started)
        return response

    def get(self, url: str, **kwargs) -> httpx.Response | None:
        return self.request("GET", url, **kwargs)

    def page(self, url: str) -> Page | None:
        response = self.get(url)
        return Page.read(response) if response is not None else None

    def submit(
        self, url: str, data: dict[str, str], *, files=None, retry: bool = False
    ) -> httpx.Response | None:
        """POST a form; with `retry` (idempotent forms only: the same key), try again when no
        answer came or nginx/the app said to (502/503/504)."""
        tries = 1 + (self.retries if retry else 0)
        response = None
        for attempt in range(tries):
            if attempt:
                time.sleep(0.5 * attempt)
            response = self.request("POST", url, data=data, files=files)
            self.last_answer = response  # what the person saw last (fault tests read it)
            if response is not None and response.status_code not in RETRY_STATUSES:
                return response
        return response

    def follow(self, response: httpx.Response) -> httpx.Response | None:
        """Open where a 303 points, as a browser does (the page shows the flashed
        confirmation); not parsed: `says_saved` reads the notice."""
        location = response.headers.get("location", "")
        return self.get(location) if location else None

    @staticmethod
    def location_path(response: httpx.Response | None) -> str:
        if response is None:
            return ""
        return urlsplit(response.headers.get("location", "")).path

    def open(self, path: str) -> int:
        """GET a page; its status (0: no answer). A redirect to sign-in is a 302/303."""
        response = self.get(path)
        return response.status_code if response is not None else TRANSPORT_ERROR

    def settle(
        self, answer: httpx.Response | None, marker: str, kind: str, saved: bool | None = None
    ) -> Outcome:
        """Note a submission under `kind` in the ledger: told saved (a 303, or `saved` when the
        action has a rule of its own), unsure (no answer, a 5xx) or refused."""
        if saved is None:
            saved = answer is not None and answer.status_code == 303
        if saved:
            self.follow(answer)
            getattr(self.ledger, kind).append(marker)
            return Outcome(True, 303)
        unsure = _unsure(answer)
        getattr(self.ledger, f"{kind}_unsure" if unsure else f"{kind}_refused").append(marker)
        return Outcome(False, _status(answer))

    def _sign_in(self, home_prefix: str, second_factor=None) -> bool:
        """Sign in as a person does: when the answer is "try again" (a node went away: 502, or
        503) or none came, once more with a fresh form a moment later."""
        for attempt in range(1 + self.retries):
            if attempt:
                time.sleep(1.0)
            answer = self._sign_in_once(home_prefix, second_factor)
            if answer is not None and answer.status_code == 303:
                self.follow(answer)
                self.signed_in = True
                self.ledger.sign_ins += 1
                return True
            if answer is not None and answer.status_code not in RETRY_STATUSES:
                break
        self.ledger.sign_in_failures += 1
        return False

    def _sign_in_once(self, home_prefix: str, second_factor=None) -> httpx.Response | None:
        page = self.page(self.sign_in_path)
        form = page.form(has="password") if page is not None else None
        if form is None:
            return None
        answer = self.submit(
            form.action or self.sign_in_path,
            form.data(email=self.email, password=self.password),
        )
        if answer is not None and asks_for_second_factor(answer, home_prefix):
            if second_factor is None:
                self.ledger.sign_in_failures += 1
                raise SecondFactorRequired(
                    f"{self.email}: the sign-in asks for a second factor "
                    f"({self.location_path(answer) or answer.status_code}); pass second_factor"
                )
            where = answer.headers.get("location") or str(answer.url)
            answer = second_factor(self.http, where)
        return answer


def asks_for_second_factor(response: httpx.Response, home_prefix: str) -> bool:
    """Whether a sign-in answer asks for more than the password: a redirect somewhere that
    names a second factor, or a page with a code field and no password field. (None exists yet;
    a later issue adds one, and `second_factor` hooks then carry the script through it.)"""
    if response.status_code in (301, 302, 303, 307, 308):
        path = urlsplit(response.headers.get("location", "")).path.lower()
        if path.rstrip("/") == home_prefix.rstrip("/"):
            return False
        return any(word in path for word in SECOND_FACTOR_WORDS)
    if response.status_code == 200 and "html" in response.headers.get("content-type", ""):
        page = Page.read(response)
        for form in page.forms:
            names = {name.lower() for name in form.names}
            if "password" not in names and names & {"code", "otp", "totp", "token", "assertion"}:
                return True
    return False


# --- clients --------------------------------------------------------------------------------


class ClientPerson(Person):
    """A client: signs in at /sign-in, reads, writes, checks in, says where to find them,
    sends a photo. Each action returns Outcome(saved, status) and notes it in `ledger`."""

    sign_in_path = "/sign-in"

    def __init__(self, base_url: str, email: str, password: str, **options) -> None:
        super().__init__(base_url, email, password, **options)
        self.conversation: str | None = None  # the path of the conversation once one exists

    def sign_in(self) -> bool:
        return self._sign_in("/home")

    def send_message(self, text: str = "Checking in about my housing application.") -> Outcome:
        """Write to the case manager: in the conversation once there is one, else through
        "Write a message". The body ends with a unique marker; a retry of the same submission
        sends the form's own idempotency key again."""
        marker = self.marker("m")
        if self.conversation:
            page = self.page(self.conversation)
            form = page.form(has="body", action=self.conversation) if page else None
        else:
            page = self.page("/messages/new")
            form = page.form(has="body") if page else None
        if form is None or not form.value("key"):
            self.ledger.messages_refused.append(marker)
            return Outcome(False, page.status if page else TRANSPORT_ERROR)
        changes = {"body": f"{text} [{marker}]"}
        if "recipient" in form.names and not form.value("recipient"):
            choices = form.options.get("recipient") or [""]
            changes["recipient"] = choices[0]
        target = form.action or (self.conversation or "/messages/new")
        answer = self.submit(target, form.data(**changes), retry=True)
        path = self.location_path(answer)
        saved = answer is not None and answer.status_code == 303 and path.startswith("/messages/")
        if saved:
            self.conversation = path
        return self.settle(answer, marker, "messages", saved)

    def check_in(self) -> Outcome:
        """ "I'm still here" from the home page's form. The POST always answers 303 to /home;
        saved only when home then shows the thank-you notice."""
        page = self.page("/home")
        form = page.form(action="/check-in") if page else None
        if form is None:
            return Outcome(False, page.status if page else TRANSPORT_ERROR)
        self.ledger.check_ins_tried += 1
        answer = self.submit(form.action, form.data())  # no key: never retried
        if answer is not None and answer.status_code == 303:
            shown = self.follow(answer)
            if shown is not None and shown.status_code == 200 and says_saved(shown):
                self.ledger.check_ins += 1
                return Outcome(True, 303)
        return Outcome(False, _status(answer))

    def update_where(
        self, place_kind: str | None = None, place: str = "", times: str = "mornings"
    ) -> Outcome:
        """Where to find me (LocationForm): a place kind, a place holding the marker."""
        marker = self.marker("w")
        page = self.page("/where")
        form = page.form(has="place_kind") if page else None
        if form is None:
            self.ledger.locations_refused.append(marker)
            return Outcome(False, page.status if page else TRANSPORT_ERROR)
        kinds = form.options.get("place_kind") or ["shelter"]
        data = form.data(
            place_kind=place_kind or self.rng.choice(kinds),
            place=f"{place} {marker}".strip()[:100],
            times=times,
        )
        data.pop("use_my_location", None)
        answer = self.submit(form.action or "/where", data)  # no key: never retried
        saved = (
            answer is not None
            and answer.status_code == 303
            and self.location_path(answer) == "/home"
        )
        return self.settle(answer, marker, "locations", saved)

    def upload_photo(self, jpeg_bytes: bytes, *, category: str = "photo_id") -> Outcome:
        """Send a photo (DocumentForm: file, category, title, key). The title is the marker;
        a retry sends the same key, so one document at most is stored."""
        marker = self.marker("d")
        page = self.page("/documents")
        form = page.form(has="key", action="/documents") if page else None
        if form is None:
            self.ledger.uploads_refused.append(marker)
            return Outcome(False, page.status if page else TRANSPORT_ERROR)
        data = form.data(category=category, title=marker)
        files = {"file": (f"photo-{self._counter}.jpg", jpeg_bytes, "image/jpeg")}
        answer = self.submit(form.action or "/documents", data, files=files, retry=True)
        return self.settle(answer, marker, "uploads")


# --- staff ----------------------------------------------------------------------------------

SecondFactor = Callable[[httpx.Client, str], httpx.Response]


def app_code(key: str) -> SecondFactor:
    """A `second_factor` hook: type the code of an authenticator app with `key` on the code
    page, as a person does. A code is good once, so when this person signed in within the same
    30 s already, the next step's code (which the portal also accepts)."""
    totp = pyotp.TOTP(key)

    def step(http: httpx.Client, where: str) -> httpx.Response:
        answer = http.get(where)
        for ahead in (0, 30):
            form = Page.read(answer).form(has="code")
            if form is None:
                return answer
            answer = http.post(
                form.action or where, data=form.data(code=totp.at(time.time() + ahead))
            )
            if answer.status_code != 200:
                return answer
        return answer

    return step


class StaffPerson(Person):
    """A staff member on the staff bridge: signs in, reads the inbox, replies, decides review
    items.

    `second_factor(http, where)` is called when the sign-in answer asks for a second factor
    (`where`: the URL it points to, or the sign-in page when it answered with a code form). It
    gets the person's own httpx client (cookies and all) and returns the final answer of that
    step: a 303 onwards when it went through. None exists yet; a later issue adds one."""

    sign_in_path = "/staff/sign-in"

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        *,
        second_factor: SecondFactor | None = None,
        **options,
    ) -> None:
        super().__init__(base_url, email, password, **options)
        self.second_factor = second_factor
        self.conversations: list[str] = []  # paths seen in the inbox last time

    def sign_in(self) -> bool:
        return self._sign_in("/staff", self.second_factor)

    def open_inbox(self, view: str = "awaiting") -> int:
        page = self.page(f"/staff/inbox?view={view}" if view != "awaiting" else "/staff/inbox")
        if page is None:
            return TRANSPORT_ERROR
        self.conversations = sorted(set(page.links_under("/staff/conversations/")))
        return page.status

    def reply(self, conversation: str | None = None, text: str = "Thank you, noted.") -> Outcome:
        """Reply in `conversation` (a path), else in one from the inbox (awaiting first, then
        all), with a unique marker."""
        if conversation is None:
            if not self.conversations:
                self.open_inbox()
            if not self.conversations:
                self.open_inbox("all")
            if not self.conversations:
                return Outcome(False, 200)  # nothing to answer
            conversation = self.rng.choice(self.conversations)
        marker = self.marker("r")
        page = self.page(conversation)
        form = page.form(has="body", action=urlsplit(conversation).path) if page else None
        if form is None or not form.value("key"):
            self.ledger.replies_refused.append(marker)
            return Outcome(False, page.status if page else TRANSPORT_ERROR)
        answer = self.submit(
            form.action or conversation, form.data(body=f"{text} [{marker}]"), retry=True
        )
        return self.settle(answer, marker, "replies")

    def decide_review_item(self, kind: str | None = None) -> Outcome:
        """Open the review queue, open one item (a random one of those listed: colleagues
        work the same queue), accept it. Saved: the 303 back to the queue."""
        page = self.page(f"/staff/review?kind={kind}" if kind else "/staff/review")
        if page is None:
            return Outcome(False, TRANSPORT_ERROR)
        items = sorted({p for p in page.links_under("/staff/review/")})
        if not items:
            return Outcome(False, page.status)  # nothing waiting
        item = self.rng.choice(items)
        shown = self.page(item)
        form = None
        if shown is not None:
            form = next(
                (
                    f
                    for f in shown.forms
                    if f.method == "post" and ("action", "accept") in f.buttons
                ),
                None,
            )
        if form is None:
            return Outcome(False, shown.status if shown else TRANSPORT_ERROR)
        item_id = urlsplit(item).path.rsplit("/", 1)[-1]
        answer = self.submit(form.action or item, form.data(action="accept"))
        if answer is not None and answer.status_code == 303:
            self.follow(answer)
            self.ledger.decisions.append(item_id)
            return Outcome(True, 303)
        if _unsure(answer):
            self.ledger.decisions_unsure.append(item_id)
        else:
            self.ledger.decisions_lost += 1
        return Outcome(False, _status(answer))


def says_saved(response: httpx.Response) -> bool:
    """The page shows a success notice (the flashed "Thank you", "Sent")."""
    return SUCCESS_NOTICE in response.text


SUCCESS_NOTICE = 'class="notice notice-success"'


def _unsure(answer: httpx.Response | None) -> bool:
    return answer is None or answer.status_code >= 500


def _status(answer: httpx.Response | None) -> int:
    return answer.status_code if answer is not None else TRANSPORT_ERROR


def loopback_addresses(count: int, *, first: int = 2) -> list[str]:
    """127.0.0.2 … 127.0.0.254, 127.0.1.1 …: one source address per simulated person (Linux
    answers on all of 127.0.0.0/8)."""
    found: list[str] = []
    n = first
    while len(found) < count:
        high, low = divmod(n, 256)
        if 1 <= low <= 254 and high < 256 * 256:
            found.append(f"127.{high // 256}.{high % 256}.{low}")
        n += 1
    return found
