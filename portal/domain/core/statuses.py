"""The states a row moves through, one StrEnum per kind of row, stored as their values.

A member equals its value (`ScanStatus.CLEAN == "clean"`), so rows read back as plain strings
compare with them as they are.
"""

from enum import StrEnum


class ScanStatus(StrEnum):
    """A stored file's malware check (documents)."""

    PENDING = "pending"  # being checked: never served
    CLEAN = "clean"
    INFECTED = "infected"  # quarantined: kept, never served
    UNSCANNED = "unscanned"  # no scanner, and the deployment accepts that
    MISSING = "missing"  # the object is gone from the store (R70)


class DocumentReview(StrEnum):
    """A client's upload in the review queue; staff uploads start accepted."""

    WAITING = "waiting"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReviewStatus(StrEnum):
    """A change a client sent for review."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a newer one of the same kind came
    WITHDRAWN = "withdrawn"  # taken back (a location pruned before review)


class TaskStatus(StrEnum):
    """Something staff asked the client to do."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class RecordRequestStatus(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"


class SignatureStatus(StrEnum):
    """A request to sign a document."""

    REQUESTED = "requested"
    SIGNED = "signed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class InvitationStatus(StrEnum):
    """pending -> used; or cancelled, revoked (a newer one), locked (too many tries)."""

    PENDING = "pending"
    USED = "used"
    CANCELLED = "cancelled"
    REVOKED = "revoked"
    LOCKED = "locked"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # out of attempts


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"


class ConversationStatus(StrEnum):
    """open: someone should look; handled: nothing to do (a new client message reopens it)."""

    OPEN = "open"
    HANDLED = "handled"


class ServiceStatus(StrEnum):
    """A directory service (the HSDS vocabulary); only active ones are found."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    TEMPORARILY_CLOSED = "temporarily closed"
    DEFUNCT = "defunct"


class FactorKind(StrEnum):
    TOTP = "totp"  # an authenticator app
    PASSKEY = "passkey"  # WebAuthn
    RECOVERY_CODE = "recovery_code"  # what a sign-in used; never a StaffFactor row
