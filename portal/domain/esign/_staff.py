"""What staff see of signatures on a record, and a signature found by its code."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain.core import audit
from portal.domain.core.errors import Forbidden, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs
from portal.domain.core.validation import parse_uuid
from portal.domain.esign._signing import verify
from portal.domain.models import (
    Client,
    Signature,
    SignatureRequest,
)
from portal.domain.records.access_policy import can

# --- the staff side --------------------------------------------------------------------------


def requests_for_record(actor, client: Client) -> list[SignatureRequest]:
    """The client's signature requests of the actor's agency, newest first."""
    if not can(actor, "view", client):
        raise Forbidden(Capability.VIEW_CLIENTS)
    return list(
        dbs().scalars(
            select(SignatureRequest)
            .where(
                SignatureRequest.client_id == client.id,
                SignatureRequest.agency_id == actor.agency_id,
            )
            .order_by(SignatureRequest.created_at.desc())
        )
    )


def signature_of(request: SignatureRequest) -> Signature | None:
    return dbs().scalar(select(Signature).where(Signature.request_id == request.id))


def staff_signature(actor, public_id) -> Signature:
    """A signature of the actor's agency's requests, for a client the actor may view."""
    signature = dbs().scalar(
        select(Signature)
        .join(SignatureRequest, SignatureRequest.id == Signature.request_id)
        .where(
            Signature.public_id == parse_uuid(public_id),
            SignatureRequest.agency_id == actor.agency_id,
        )
    )
    if signature is None or not can(actor, "view", dbs().get_one(Client, signature.client_id)):
        raise NotFound(("signature", str(public_id)[:64]))
    return signature


def verify_for_staff(actor, public_id) -> tuple[Signature, list[str]]:
    signature = staff_signature(actor, public_id)
    problems = verify(signature)
    audit.record(
        "signature.verified",
        dbs().get(Client, signature.client_id),
        details={"signature": str(signature.public_id), "ok": not problems},
    )
    return signature, problems


def by_code(code: str) -> Signature | None:
    return dbs().scalar(
        select(Signature).where(Signature.verification_code == (code or "").strip().upper())
    )
