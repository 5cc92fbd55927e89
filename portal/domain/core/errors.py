"""Errors the domain raises; the web layer turns them into pages and form messages."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the action. `message` is translatable and says what to do.

    The web layer rolls back what the action wrote, then calls `after_rollback` (if given): the
    place for what a refusal must keep, such as its audit event or a failure counter.
    """

    def __init__(self, message, field: str | None = None, *, after_rollback=None, status=None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.after_rollback = after_rollback
        self.status = status  # an HTTP status for the page that shows it (503: try again)
        self.more: list[DomainError] = []  # further refusals of the same form, each its field

    @classmethod
    def all_of(cls, refusals: list[DomainError]) -> DomainError:
        """One error carrying several (a form with several wrong fields says so at once)."""
        first = refusals[0]
        first.more = list(refusals[1:])
        return first


class NotFound(DomainError):
    """The object does not exist for this caller (also used for objects out of scope).

    `subject` (kind, id) lets the web layer write the denial to the audit log after it has
    rolled the request's transaction back.
    """

    def __init__(self, subject: tuple[str, str] | None = None):
        super().__init__("not found")
        self.subject = subject


class Forbidden(DomainError):
    """The caller's role lacks the capability."""

    def __init__(self, capability: str | None = None):
        super().__init__("forbidden")
        self.capability = capability


class NotReady(DomainError):
    """The object exists and the caller may have it, but not yet (a file still being checked
    for malware): the web layer answers 409 with the message."""
