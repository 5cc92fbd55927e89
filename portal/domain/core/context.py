"""Who is acting, from where: set once per request (or job) by the caller of the domain.

The domain never reads `flask.request`; the web layer and the worker put what the audit log
needs here.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ActionContext:
    ip: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    actor: Any = None  # a StaffUser or ClientAccount, or None


_NOBODY = ActionContext()
_current: ContextVar[ActionContext] = ContextVar(
    "portal_action_context",
    default=_NOBODY,
)


def current() -> ActionContext:
    return _current.get()


def set_context(ctx: ActionContext):
    return _current.set(ctx)


def reset_context(token) -> None:
    _current.reset(token)
