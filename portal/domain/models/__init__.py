"""All tables, imported here so Alembic and the app see one metadata."""

from portal.domain.models.accounts import Account, AccountToken, ClientAccount, StaffUser
from portal.domain.models.agency import Agency
from portal.domain.models.audit import AuditEvent
from portal.domain.models.base import Base
from portal.domain.models.clients import (
    CareTeamMember,
    Client,
    Consent,
    Enrollment,
    Organization,
    Project,
)
from portal.domain.models.directory import (
    CommunityArticle,
    Directory,
    DirectoryHours,
    DirectorySearch,
    HsdsAddress,
    HsdsAttribute,
    HsdsLanguage,
    HsdsLocation,
    HsdsOrganization,
    HsdsPhone,
    HsdsRow,
    HsdsSchedule,
    HsdsService,
    HsdsServiceAtLocation,
    HsdsTaxonomy,
    HsdsTaxonomyTerm,
)
from portal.domain.models.documents import Document
from portal.domain.models.esign import (
    ConsentRevocation,
    EsignConsent,
    SignableTemplate,
    Signature,
    SignatureRequest,
    TemplateVersion,
)
from portal.domain.models.factors import RecoveryCode, StaffFactor
from portal.domain.models.hmis_bridge import (
    HmisContact,
    HmisEntry,
    HmisExport,
    HmisImportRun,
    HmisLivingSituation,
    HmisUser,
)
from portal.domain.models.invitations import ClientInvitation, IdentityCheck
from portal.domain.models.jobs import Job
from portal.domain.models.messaging import Conversation, Message
from portal.domain.models.notifications import StaffNotification
from portal.domain.models.outbox import OutboxMessage
from portal.domain.models.selfservice import (
    ClientLocation,
    ClientPhone,
    ClientTask,
    ContactEvent,
    RecordRequest,
    ReviewItem,
)
from portal.domain.models.sessions import UserSession
from portal.domain.models.texting import TextConsent, TextInbound, TextMessage, TextNumber

__all__ = [
    "Account",
    "AccountToken",
    "Agency",
    "AuditEvent",
    "Base",
    "CareTeamMember",
    "Client",
    "ClientAccount",
    "ClientInvitation",
    "ClientLocation",
    "ClientPhone",
    "ClientTask",
    "CommunityArticle",
    "Consent",
    "ConsentRevocation",
    "ContactEvent",
    "Conversation",
    "Directory",
    "DirectoryHours",
    "DirectorySearch",
    "Document",
    "Enrollment",
    "EsignConsent",
    "HmisContact",
    "HmisEntry",
    "HmisExport",
    "HmisImportRun",
    "HmisLivingSituation",
    "HmisUser",
    "HsdsAddress",
    "HsdsAttribute",
    "HsdsLanguage",
    "HsdsLocation",
    "HsdsOrganization",
    "HsdsPhone",
    "HsdsRow",
    "HsdsSchedule",
    "HsdsService",
    "HsdsServiceAtLocation",
    "HsdsTaxonomy",
    "HsdsTaxonomyTerm",
    "IdentityCheck",
    "Job",
    "Message",
    "Organization",
    "OutboxMessage",
    "Project",
    "RecordRequest",
    "RecoveryCode",
    "ReviewItem",
    "SignableTemplate",
    "Signature",
    "SignatureRequest",
    "StaffFactor",
    "StaffNotification",
    "StaffUser",
    "TemplateVersion",
    "TextConsent",
    "TextInbound",
    "TextMessage",
    "TextNumber",
    "UserSession",
]
