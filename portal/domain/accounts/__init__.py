"""Accounts and signing in: staff and client accounts, passwords, sign-in sessions, recovery,
agencies, invitations and onboarding."""

from portal.domain.accounts import sessions
from portal.domain.core.feature import Feature

FEATURE = Feature("accounts", jobs=(sessions.sweep_job,))
