"""Where to search from: a ZIP code or the device's position."""

from __future__ import annotations

import re

from portal.domain.directory._text import Place

# --- places ---------------------------------------------------------------------------------


class PlaceUnknown(Exception):
    """A ZIP code or a location the search cannot use."""


def place_from_zip(value: str) -> Place:
    """A US ZIP code's centroid, from the offline `zipcodes` data."""
    import zipcodes

    code = (value or "").strip()[:10]
    if not re.fullmatch(r"\d{5}(-\d{4})?", code):
        raise PlaceUnknown("format")
    try:
        found = zipcodes.matching(code[:5])
    except (ValueError, TypeError):
        found = []
    if not found or not found[0].get("lat"):
        raise PlaceUnknown("unknown")
    return Place(float(found[0]["lat"]), float(found[0]["long"]), code[:5])


def coarse_coordinate(value: str) -> str:
    """A coordinate as the search keeps it (2 decimals, about 1 km); anything that is not a
    number becomes empty (never repeated as sent: `37,7749295` holds the same digits), and
    `place_from_device` refuses it."""
    try:
        number = round(float(value), 2)
    except (TypeError, ValueError):
        return ""
    return f"{number:.2f}" if number == number else ""  # NaN


def place_from_device(latitude: str, longitude: str) -> Place:
    """The phone's location, shared for this search only (rounded to about 1 km)."""
    try:
        lat, lon = round(float(latitude), 2), round(float(longitude), 2)
    except (TypeError, ValueError):
        raise PlaceUnknown("format") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat != lat or lon != lon:
        raise PlaceUnknown("format")
    return Place(lat, lon, "device")
