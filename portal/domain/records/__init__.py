"""The client record: clients, SSN, the access policy and coordinated entry."""

from portal.domain.core.feature import Feature
from portal.domain.records import clients

FEATURE = Feature("records", staff_deactivated=(clients.free_care_team_seats,))
