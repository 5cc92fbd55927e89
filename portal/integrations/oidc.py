"""OpenID Connect relying party for staff single sign-on (issue 19), through Authlib.

Each configured provider (`Settings.sso_providers`) is an Authlib client found by discovery.
The authorization code flow with PKCE (S256), `state` and `nonce`; Authlib keeps them in this
browser's server-side session and checks them on the way back, and checks the ID token's
signature (the provider's published keys), issuer (the one configured, which the provider's
metadata must name too), audience (this client), expiry and nonce. A provider
that cannot be reached (or answers nonsense) raises `ProviderDown`; a sign-in that does not
hold (a wrong or replayed `state`, a code the provider refuses, a token that fails a check)
raises `SignInFailed`. Neither says more to the person than that; the log says which.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import Flask, current_app
from joserfc.errors import JoseError

from portal.settings import Settings, SsoProvider

log = logging.getLogger("portal.auth")

TIMEOUT_SECONDS = 10
EXTENSION = "portal.oidc"
# What the provider's userinfo may add to the ID token's claims (never who it is about).
USERINFO_CLAIMS = ("email", "email_verified", "name")


class ProviderDown(Exception):
    """The provider could not be reached, or answered something that is not OpenID Connect."""


class SignInFailed(Exception):
    """The provider's answer does not prove a sign-in (state, code, or ID token refused)."""


def init_app(app: Flask, settings: Settings) -> None:
    oauth = OAuth(app)
    for provider in settings.sso_providers:
        oauth.register(
            provider.key,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.discovery_url,
            client_kwargs={
                "scope": provider.scope,
                "code_challenge_method": "S256",
                "default_timeout": TIMEOUT_SECONDS,
            },
        )
    app.extensions[EXTENSION] = oauth


def _client(provider: SsoProvider):
    return current_app.extensions[EXTENSION].create_client(provider.key)


def authorize_redirect(provider: SsoProvider, redirect_uri: str):
    """The redirect to the provider's sign-in page; what comes back is checked by
    `finish`."""
    try:
        return _client(provider).authorize_redirect(redirect_uri)
    except (requests.RequestException, ValueError, KeyError, RuntimeError) as error:
        log.warning("sso provider %s unreachable: %s", provider.key, type(error).__name__)
        raise ProviderDown(provider.key) from error


def finish(provider: SsoProvider) -> tuple[dict, str | None]:
    """Check the provider's answer to this request (the callback) and return the ID token's
    verified claims (with email and name from userinfo when the ID token has none) and the
    refresh token, if the provider gave one."""
    client = _client(provider)
    issuer = provider.expected_issuer
    # Authlib checks the audience only through `azp` when `aud` is another client: name it,
    # and the issuer this provider was configured with (not whatever its metadata says).
    checks = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": provider.client_id},
    }
    try:
        if client.load_server_metadata().get("issuer") != issuer:
            log.warning("sso provider %s: its metadata names another issuer", provider.key)
            raise SignInFailed("issuer")
        token = client.authorize_access_token(claims_options=checks)
        if not token.get("userinfo"):
            raise SignInFailed("no id token")
        claims = dict(token["userinfo"])
        if "email" not in claims and client.load_server_metadata().get("userinfo_endpoint"):
            extra = client.userinfo(token=token)
            if extra.get("sub") == claims.get("sub"):
                claims.update({k: extra[k] for k in USERINFO_CLAIMS if k in extra})
    except (requests.RequestException, RuntimeError) as error:  # RuntimeError: no jwks_uri
        log.warning("sso provider %s unreachable: %s", provider.key, type(error).__name__)
        raise ProviderDown(provider.key) from error
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError) as error:
        log.info("sso sign-in refused by the check: %s", type(error).__name__)
        raise SignInFailed(type(error).__name__) from error
    return claims, token.get("refresh_token")


def sign_in_origin(provider: SsoProvider) -> str:
    """The origin "Sign in with ..." may send the browser to straight from the staff sign-in
    form (its CSP form-action): the discovery URL's, where the sign-in page is too at Entra
    ID, Google, Okta and Keycloak. A provider whose sign-in page is elsewhere gets one more
    page (`staff_bridge.sso`)."""
    return origin_of(provider.discovery_url)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def refresh(provider: SsoProvider, refresh_token: str) -> str:
    """Ask the provider whether the person may still sign in: a refresh grant. Returns the
    refresh token to keep (the provider may rotate it); raises `SignInFailed` when the
    provider refuses (disabled there, signed out, consent revoked), `ProviderDown` when it
    cannot be asked."""
    client = _client(provider)
    try:
        metadata = client.load_server_metadata()
        with OAuth2Session(
            provider.client_id, provider.client_secret, default_timeout=TIMEOUT_SECONDS
        ) as session:
            token = session.refresh_token(metadata["token_endpoint"], refresh_token=refresh_token)
    except requests.RequestException as error:
        raise ProviderDown(provider.key) from error
    except (AuthlibBaseError, ValueError, KeyError, TypeError) as error:
        raise SignInFailed(type(error).__name__) from error
    return token.get("refresh_token") or refresh_token
