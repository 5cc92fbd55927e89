"""Function-level access: every route declares who may call it.

- `@public` anyone;
- `@client_only` a signed-in client;
- `@staff_only()` any signed-in staff member, `@staff_only(Capability.X)` staff whose role has X.

A route without a declaration answers 500 (fail closed), and the access-matrix test walks the
URL map and the role-by-capability table to check every route for every role. Object-level
access (404 for what is not yours) is the domain's scoped queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, request
from flask_login import current_user

from portal.domain.core.errors import Forbidden
from portal.domain.core.roles import Capability, has_capability


@dataclass(frozen=True)
class Access:
    audience: str  # "public", "client" or "staff"
    capability: Capability | None = None


def _declare(view, access: Access):
    view.access = access
    return view


def public(view):
    return _declare(view, Access("public"))


def _guard(audience: str, capability: Capability | None):
    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.kind != audience:
                raise Forbidden(f"{audience}_only")
            if capability is not None and not has_capability(current_user.role, capability):
                raise Forbidden(capability)
            return view(*args, **kwargs)

        return _declare(guarded, Access(audience, capability))

    return decorate


def staff_only(capability: Capability | None = None):
    return _guard("staff", capability)


def client_only(view):
    return _guard("client", None)(view)


def access_of(view) -> Access | None:
    return getattr(view, "access", None)


def require_declaration() -> None:
    """before_request: refuse any route (but static files) that declares no access."""
    if request.endpoint in (None, "static"):
        return
    view = current_app.view_functions.get(request.endpoint)
    if access_of(view) is None:
        abort(500)
