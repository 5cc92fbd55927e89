"""Function-level access for staff routes: every view declares what it needs.

`@requires(Capability.X)` (signed-in staff whose role has X), `@requires()` (any signed-in
staff) or `@requires(public=True)`. A staff route without a declaration answers 500 at once,
and a test walks the URL map to prove every route has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app
from flask_login import current_user

from portal.domain.errors import Forbidden
from portal.domain.roles import Capability, has_capability


@dataclass(frozen=True)
class Access:
    capability: Capability | None = None
    public: bool = False


def requires(capability: Capability | None = None, *, public: bool = False):
    access = Access(capability, public)

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not public:
                if not current_user.is_authenticated:
                    return current_app.login_manager.unauthorized()
                if current_user.kind != "staff":
                    raise Forbidden("staff_only")
                if capability is not None and not has_capability(current_user.role, capability):
                    raise Forbidden(capability)
            return view(*args, **kwargs)

        guarded.access = access
        return guarded

    return decorate


def access_of(view) -> Access | None:
    return getattr(view, "access", None)


def require_declared(view) -> None:
    if access_of(view) is None:
        abort(500)
