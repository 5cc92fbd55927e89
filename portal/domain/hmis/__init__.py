"""The HMIS: HUD lists and the HMIS CSV import."""

from portal.domain.core.feature import Feature

FEATURE = Feature("hmis")
