"""The request lifecycle shared by both blueprints.

- A session interface over `portal.domain.accounts.sessions`: rows for signed-in sessions (the
  cookie is a random id), a signed cookie for anonymous visitors (no row).
- Who is signed in (Flask-Login's request loader reads the session row's account).
- The action context for the audit log, and one transaction per request: a GET reads (on
  SQLite it does not take the write lock unless it must write), other methods may write; the
  session row's changes join the request's work, and successful responses commit once
  (error responses roll back). A commit that fails answers 503 (the database is busy or
  gone) or 500, never a success for work that was not saved.
- Helpers views use: `start_session`, `end_session`, `attempt` (run a domain action and turn
  a refusal into a form error), `writes` (a GET view that writes).
"""

from portal.web._pages import (
    begin_second_step,
    change_own_password,
    end_own_sessions,
    end_second_step,
    ended_session_response,
    here,
    keep_challenge,
    per_account_limit,
    per_ip_limit,
    per_ip_read_limit,
    per_staff_limit,
    second_step_state,
    sign_in_page,
    sign_in_rate_limit,
    sign_out_response,
    take_challenge,
    without_csrf_token,
)
from portal.web._requests import (
    accepts_uploads,
    attempt,
    finish_requests,
    init_app,
    reads_first,
    request_id,
    upload_limits,
    writes,
)
from portal.web._session import (
    ANONYMOUS_KEYS,
    NOTICE_SECONDS,
    NOTICES,
    ServerSession,
    ServerSessionInterface,
    log,
    persist_session,
)
from portal.web._signed_in import (
    REAUTH_VALID_FOR,
    current_session_row,
    discard_changes,
    end_session,
    idle_seconds,
    mark_active,
    reauthenticate,
    recently_authenticated,
    rotate_session_id,
    start_session,
)

__all__ = [
    "ANONYMOUS_KEYS",
    "NOTICES",
    "NOTICE_SECONDS",
    "REAUTH_VALID_FOR",
    "ServerSession",
    "ServerSessionInterface",
    "accepts_uploads",
    "attempt",
    "begin_second_step",
    "change_own_password",
    "current_session_row",
    "discard_changes",
    "end_own_sessions",
    "end_second_step",
    "end_session",
    "ended_session_response",
    "finish_requests",
    "here",
    "idle_seconds",
    "init_app",
    "keep_challenge",
    "log",
    "mark_active",
    "per_account_limit",
    "per_ip_limit",
    "per_ip_read_limit",
    "per_staff_limit",
    "persist_session",
    "reads_first",
    "reauthenticate",
    "recently_authenticated",
    "request_id",
    "rotate_session_id",
    "second_step_state",
    "sign_in_page",
    "sign_in_rate_limit",
    "sign_out_response",
    "start_session",
    "take_challenge",
    "upload_limits",
    "without_csrf_token",
    "writes",
]
