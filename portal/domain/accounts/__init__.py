"""Accounts and signing in: staff and client accounts, passwords, sign-in sessions, recovery,
agencies, invitations and onboarding."""
