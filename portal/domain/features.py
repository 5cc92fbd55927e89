"""The domain's features, listed once. `load()` (called by the app factory, so by the web
nodes, the worker and every CLI command) installs what each feature declares in its `FEATURE`.

A new feature: a package under `portal/domain/` with `FEATURE = Feature(...)` in its
`__init__`, and one line here (README, "Adding a feature").
"""

from __future__ import annotations

from portal.domain import (
    accounts,
    directory,
    documents,
    esign,
    hmis,
    messaging,
    records,
    selfservice,
)
from portal.domain.accounts import staff
from portal.domain.core import jobs, mail
from portal.domain.core.feature import Feature
from portal.domain.selfservice import review

# The core's own work: the mail outbox's sender.
CORE = Feature("core", jobs=(mail.send_outbox_message,))

FEATURES: tuple[Feature, ...] = (
    CORE,
    accounts.FEATURE,
    records.FEATURE,
    hmis.FEATURE,
    selfservice.FEATURE,
    messaging.FEATURE,
    documents.FEATURE,
    esign.FEATURE,
    directory.FEATURE,
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
