"""What a feature adds to the app, declared in `portal.domain.features`.

`portal.domain.features` lists the features and installs what each declares into the shared
registries (the job handlers, the review queue's kinds, the staff-deactivation hooks, the
kinds of staff notice), so a
feature works because it is listed, never because some other module happened to import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Feature:
    name: str
    # Functions marked with `jobs.handler(kind, ...)`: the worker runs them.
    jobs: tuple[Callable[[dict[str, Any]], None], ...] = ()
    # What clients send for review through this feature: kind name -> `review.ReviewKind`.
    review_kinds: Mapping[str, Any] = field(default_factory=dict)
    # Called as hook(deactivated_staff, successor) in the deactivation's transaction.
    staff_deactivated: tuple[Callable[[Any, Any], None], ...] = ()
    # The staff notices it sends: kind -> what the notice says (translated when shown).
    notices: Mapping[str, Any] = field(default_factory=dict)
