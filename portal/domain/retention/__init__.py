"""Retention (R64, issue 20): what the portal keeps, how long, and the daily purge.

HMIS-2004 asks that personal data not in use be disposed of 7 years after it was created or
last changed. The schedule (settings, README "Retention"):

- **Deleted client records** (the HMIS deleted them: an import read `DateDeleted`) go, with
  everything hanging off them, at their purge date (7 years after the deletion).
- **Clients gone for `retention_inactive_years`** (7 by default; never less, since signed
  documents are kept 7 years): no row of theirs, and no change to their record, message in
  their conversations or sign-in, for that long. A record staff made in the portal goes whole
  (the portal is its only keeper). A record mirrored from the HMIS loses what the portal
  collected (messages, documents and their files, signatures and the consents they made,
  updates, phones given through the portal, where-to-find-me, requests, invitations, the
  portal account) and keeps its HMIS parts: the HMIS is its system of record.
- **Closed portal accounts** (`retention_closed_account_years`, 1): the sign-in data of an
  account closed that long (email, password hash, name, pending email, where it agreed to
  e-signing from) is wiped and the account let go of the record, so staff can invite the
  client again; the row stays as a stub for what it signed or wrote.
- **Sent email** (`retention_sent_mail_days`, 30): the outbox row (address, first name).
- **Where-to-find-me history** (`location_history_days`, 90): its own daily job
  (`locations.prune`, issue 5), and again here for the report.

The purge first counts what it would remove (a dry run), and records the counts. A kind of
whole records (deleted, gone, closed) waits for an operator (`flask retention --purge
--confirm`) when more than `retention_max_per_run` are due, more than half of all of them, or
when the clock looks wrong, so a clock jump or a mistyped setting cannot empty the database;
the rest of the run goes ahead. Reports hold counts, never values; every purged record leaves
an audit event (the audit log is never purged). Stored files are deleted after the commit; one
that fails is left to the daily orphan sweeper (files no row references).
"""

from portal.domain.retention._purge import (
    GUARDED,
    HMIS_PARTS,
    KINDS,
    PURGED_EMAIL_DOMAIN,
    Report,
    plan,
    purge,
    purge_job,
)

__all__ = [
    "GUARDED",
    "HMIS_PARTS",
    "KINDS",
    "PURGED_EMAIL_DOMAIN",
    "Report",
    "plan",
    "purge",
    "purge_job",
]
