"""Agency administrators keep their resource directory (issue 9): HSDS uploads, services
with their main location and weekly hours, featured services, and community articles for the
spotlight panel of their clients' home page."""

from portal.domain.directory.admin._articles import (
    article_for_staff,
    articles_for,
    save_article,
)
from portal.domain.directory.admin._fields import (
    STATUSES,
    ServiceFields,
    fields_of,
    service_for_staff,
    services_page,
)
from portal.domain.directory.admin._saving import (
    places_of,
    save_place,
    save_service,
)
from portal.domain.directory.admin._spotlight import (
    SPOTLIGHT_SECONDS,
    ShownArticle,
    ShownService,
    forget_spotlights,
    spotlight,
)
from portal.domain.directory.admin._uploads import (
    DAYS,
    PER_PAGE,
    UPLOAD_KINDS,
    import_upload,
)

__all__ = [
    "DAYS",
    "PER_PAGE",
    "SPOTLIGHT_SECONDS",
    "STATUSES",
    "UPLOAD_KINDS",
    "ServiceFields",
    "ShownArticle",
    "ShownService",
    "article_for_staff",
    "articles_for",
    "fields_of",
    "forget_spotlights",
    "import_upload",
    "places_of",
    "save_article",
    "save_place",
    "save_service",
    "service_for_staff",
    "services_page",
    "spotlight",
]
