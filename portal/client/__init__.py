"""The client blueprint: what clients see, phone-first."""

from flask import Blueprint

bp = Blueprint("client", __name__)

from portal.client import (  # noqa: E402,F401 - routes register on bp
    account,
    documents,
    esign,
    messages,
    onboarding,
    resources,
    routes,
    selfservice,
    texts,
)
