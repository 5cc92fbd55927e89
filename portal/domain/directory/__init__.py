"""The resource directory's search (issue 9): "open now, near me, in my language".

- `reindex(directory)` rebuilds the search rows of a directory's services (after an import or
  an edit): folded text for full-text search, a one-line summary, languages, whether any
  location has coordinates, and the weekly opening spans (`portal.domain.directory.opening_hours`).
- `search(query, now)` answers one page: keywords and category shortcuts through one
  full-text interface (SQLite FTS5 or PostgreSQL tsvector, same folding and prefix matching on
  both), language, open now (SQL over the spans in each directory's time zone), and distance
  from a place (a bounding box in SQL, then haversine) with results sorted by distance.
- Searches are not written to the audit log or any log with the client's identity.
"""

from portal.domain.directory._index import (
    reindex,
)
from portal.domain.directory._places import (
    PlaceUnknown,
    coarse_coordinate,
    place_from_device,
    place_from_zip,
)
from portal.domain.directory._results import (
    directions_link,
    phone_link,
)
from portal.domain.directory._search import (
    RECENT_SEARCHES,
    directory_of,
    forget_searches,
    search,
)
from portal.domain.directory._service import (
    LocationDetails,
    ServiceDetails,
    service_details,
    weekly,
)
from portal.domain.directory._text import (
    CATEGORIES,
    EARTH_MILES,
    MAX_TOKENS,
    PER_PAGE,
    RADII,
    Category,
    Page,
    Place,
    Query,
    Result,
    categories_of,
    fold,
    language_code,
    named_categories,
    tokens,
    with_text_search,
)

__all__ = [
    "CATEGORIES",
    "EARTH_MILES",
    "MAX_TOKENS",
    "PER_PAGE",
    "RADII",
    "RECENT_SEARCHES",
    "Category",
    "LocationDetails",
    "Page",
    "Place",
    "PlaceUnknown",
    "Query",
    "Result",
    "ServiceDetails",
    "categories_of",
    "coarse_coordinate",
    "directions_link",
    "directory_of",
    "fold",
    "forget_searches",
    "language_code",
    "named_categories",
    "phone_link",
    "place_from_device",
    "place_from_zip",
    "reindex",
    "search",
    "service_details",
    "tokens",
    "weekly",
    "with_text_search",
]
