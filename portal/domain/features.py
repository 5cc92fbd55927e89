"""The domain's features and what each adds to the app, declared in this one place.

`load()` (called by the app factory, so by the web nodes, the worker and every CLI command)
installs each feature's job handlers, review kinds, staff-notice texts and hooks into the
shared registries.
Nothing registers itself when imported: a feature works because it is listed here. Declaring
them here, not in each package's `__init__`, keeps the packages free of import-time work (an
`__init__` that imported its modules would run whenever any one of them is imported, and
build cycles between features). A new feature is one entry (README, "Adding a feature").
"""

from __future__ import annotations

from portal.domain import documents, esign, messaging, retention, selfservice, texting
from portal.domain.accounts import client_accounts, onboarding, sessions, staff
from portal.domain.core import jobs, mail
from portal.domain.core.feature import Feature
from portal.domain.hmis import export as hmis_export
from portal.domain.hmis import watch
from portal.domain.messaging import notifications
from portal.domain.records import clients
from portal.domain.selfservice import review

FEATURES: tuple[Feature, ...] = (
    Feature("core", jobs=(mail.send_outbox_message,)),
    Feature(
        "accounts",
        jobs=(sessions.sweep_job,),
        notices={**onboarding.NOTICES, **staff.NOTICES, **client_accounts.NOTICES},
    ),
    Feature("records", staff_deactivated=(clients.free_care_team_seats,)),
    Feature(
        "hmis",
        jobs=(watch.watch_job, hmis_export.expire_job, hmis_export.drop_job),
    ),
    Feature(
        "selfservice",
        jobs=(selfservice.prune_job,),
        review_kinds=selfservice.REVIEW_KINDS,
        notices=selfservice.NOTICES,
    ),
    Feature(
        "messaging",
        jobs=(messaging.notify_client_job, messaging.send_bulk_job),
        notices=messaging.NOTICES,
    ),
    Feature(
        "documents",
        jobs=(documents.scan_job, documents.rescan_pending_job, documents.sweep_job),
        review_kinds={"document": documents.REVIEW_KIND},
        notices=documents.NOTICES,
    ),
    Feature(
        "esign",
        jobs=(esign.remind_job,),
        notices={**esign.SIGNING_NOTICES, **esign.REVOCATION_NOTICES},
    ),
    Feature("directory"),
    Feature("texting", jobs=(texting.send_text_job,)),
    Feature("retention", jobs=(retention.purge_job,)),
)


def load() -> None:
    """Install every feature's declarations (again and again, harmlessly: one app per test)."""
    for feature in FEATURES:
        for handler in feature.jobs:
            jobs.install(handler)
        for name, kind in feature.review_kinds.items():
            review.register(name, kind)
        for hook in feature.staff_deactivated:
            if hook not in staff.DEACTIVATION_HOOKS:
                staff.DEACTIVATION_HOOKS.append(hook)
        notifications.KINDS.update(feature.notices)
