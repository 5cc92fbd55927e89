"""What the client's home page shows, read in one statement (`Together`): open tasks, documents
to sign, unread messages, the last check-in, where to find them, the care team, the newest
updates they sent and their newest enrollments. Six queries were a third of the page's time on
PostgreSQL; the panels now read their part of one `Digest`, read once per transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, literal, select, true

from portal.domain.core.session import Together, read_together, transaction_memo
from portal.domain.core.statuses import ReviewStatus, SignatureStatus, TaskStatus
from portal.domain.esign import pick_version
from portal.domain.models import (
    Agency,
    CareTeamMember,
    Client,
    ClientTask,
    Conversation,
    Enrollment,
    Project,
    ReviewItem,
    SignatureRequest,
    StaffUser,
    TemplateVersion,
)
from portal.domain.selfservice import (
    LAST_CHECK_IN,
    LAST_LOCATION,
    TASK_ORDER,
    SharedLocation,
    shared_location,
)

CLIENT = bindparam("client_id", type_=Integer)


def _glance():
    """Unread staff messages, the last check-in and the latest location (pending first): one
    row."""
    unread = select(func.coalesce(func.sum(Conversation.unread_by_client), 0)).where(
        Conversation.client_id == CLIENT
    )
    one = select(literal(1).label("one")).subquery()
    location = LAST_LOCATION.subquery()
    return (
        select(
            unread.scalar_subquery().label("unread"),
            LAST_CHECK_IN.scalar_subquery().label("last_check_in"),
            location.c.rank,
            location.c.sealed,
            location.c.at,
        )
        .select_from(one)
        .outerjoin(location, true())
    )


_HOME = Together(
    # Open tasks: public id, kind, title, due date.
    tasks=(
        select(ClientTask.public_id, ClientTask.kind, ClientTask.title, ClientTask.due_on).where(
            ClientTask.client_id == CLIENT, ClientTask.status == TaskStatus.OPEN
        ),
        TASK_ORDER,
        None,
    ),
    # Documents to sign: one row per version of each request's document (the title the
    # client reads is picked from them as `esign.version_for` does).
    to_sign=(
        select(
            SignatureRequest.public_id,
            SignatureRequest.due_on,
            TemplateVersion.version,
            TemplateVersion.language,
            TemplateVersion.title,
        )
        .join(TemplateVersion, TemplateVersion.template_id == SignatureRequest.template_id)
        .where(
            SignatureRequest.client_id == CLIENT,
            SignatureRequest.status == SignatureStatus.REQUESTED,
        ),
        (SignatureRequest.created_at, SignatureRequest.id),
        None,
    ),
    glance=(_glance(), (), None),
    # The care team the client sees: active staff who allow it (name, case manager, agency).
    care_team=(
        select(
            StaffUser.display_name,
            CareTeamMember.is_case_manager,
            Agency.name.label("agency_name"),
        )
        .join(StaffUser, StaffUser.id == CareTeamMember.staff_id)
        .outerjoin(Agency, Agency.id == StaffUser.agency_id)
        .where(
            CareTeamMember.client_id == CLIENT,
            StaffUser.is_active.is_(True),
            StaffUser.shown_to_clients.is_(True),
        ),
        (CareTeamMember.id,),
        None,
    ),
    # What the client sent lately (superseded left out): kind and status.
    sent=(
        select(ReviewItem.kind, ReviewItem.status).where(
            ReviewItem.client_id == CLIENT, ReviewItem.status != ReviewStatus.SUPERSEDED
        ),
        (ReviewItem.created_at.desc(), ReviewItem.id.desc()),
        3,
    ),
    # The newest enrollments: program name, entry and exit dates.
    enrollments=(
        select(Project.name.label("project_name"), Enrollment.entry_date, Enrollment.exit_date)
        .join(Project, Project.id == Enrollment.project_id)
        .where(Enrollment.client_id == CLIENT),
        (Enrollment.entry_date.desc(), Enrollment.id.desc()),
        3,
    ),
)


@dataclass(frozen=True)
class Digest:
    tasks: list
    to_sign: list  # (request row with public_id and due_on, the rows of its versions)
    unread: int  # staff messages the client has not read
    last_check_in: datetime | None
    location: SharedLocation | None  # the latest "where to find me", pending first
    care_team: list
    sent: list
    enrollments: list

    def to_sign_titled(self, language: str) -> list[tuple]:
        """Each document to sign with the title in the client's language, else English."""
        return [(r, pick_version(versions, language).title) for r, versions in self.to_sign]


def digest(client: Client) -> Digest:
    """The home page's data for this client, read once per transaction (its panels share it)."""
    key = ("home", client.id)
    kept = transaction_memo()
    if key not in kept:
        found = read_together(_HOME, client_id=client.id)
        requests: dict = {}
        for row in found["to_sign"]:
            requests.setdefault(row.public_id, (row, []))[1].append(row)
        glance = found["glance"][0]
        kept[key] = Digest(
            tasks=found["tasks"],
            to_sign=list(requests.values()),
            unread=int(glance.unread or 0),
            last_check_in=glance.last_check_in,
            location=shared_location(glance),
            care_team=found["care_team"],
            sent=found["sent"],
            enrollments=found["enrollments"],
        )
    return kept[key]
