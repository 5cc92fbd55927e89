"""The HUD HMIS value lists the CSV import checks, embedded so the app never reads the HUD
list files at run time.

Each list keeps HUD's name, its list code (HMIS CSV Specifications, "List" column) and its
values in HUD's order, key -> description. A test compares every list here with the HUD list
files of each fiscal year the import supports (FY2024 and FY2026).

For the lists below the two fiscal years agree (FY2026 changed other lists: Sex, Race,
FundingSource ...), so `BY_FISCAL_YEAR` points both years at the same objects. When a later
year changes one of these lists, add a second constant for it and point that year at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class HudList:
    name: str
    code: str
    values: Mapping[int, str]  # key -> description, in HUD's order

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def description(self, key: int) -> str:
        return self.values[key]


NO_YES = HudList(
    "NoYes",
    "1.10",
    {
        0: "No",
        1: "Yes",
    },
)

PROJECT_TYPE = HudList(
    "ProjectType",
    "2.02.6",
    {
        0: "Emergency Shelter - Entry Exit",
        1: "Emergency Shelter - Night-by-Night",
        2: "Transitional Housing",
        3: "PH - Permanent Supportive Housing",
        4: "Street Outreach",
        6: "Services Only",
        8: "Safe Haven",
        9: "PH - Housing Only",
        7: "Other",
        10: "PH - Housing with Services (no disability required for entry)",
        11: "Day Shelter",
        12: "Homelessness Prevention",
        13: "PH - Rapid Re-Housing",
        14: "Coordinated Entry",
    },
)

NAME_DATA_QUALITY = HudList(
    "NameDataQuality",
    "3.01.5",
    {
        1: "Full name reported",
        2: "Partial, street name, or code name reported",
        8: "Client doesn't know",
        9: "Client prefers not to answer",
        99: "Data not collected",
    },
)

SSN_DATA_QUALITY = HudList(
    "SSNDataQuality",
    "3.02.2",
    {
        1: "Full SSN reported",
        2: "Approximate or partial SSN reported",
        8: "Client doesn't know",
        9: "Client prefers not to answer",
        99: "Data not collected",
    },
)

DOB_DATA_QUALITY = HudList(
    "DOBDataQuality",
    "3.03.2",
    {
        1: "Full DOB reported",
        2: "Approximate or partial DOB reported",
        8: "Client doesn't know",
        9: "Client prefers not to answer",
        99: "Data not collected",
    },
)

DESTINATION = HudList(
    "Destination",
    "3.12",
    {
        8: "Client doesn't know",
        9: "Client prefers not to answer",
        17: "Other",
        24: "Deceased",
        30: "No exit interview completed",
        99: "Data not collected",
        101: (
            "Emergency shelter, including hotel or motel paid for with emergency shelter "
            "voucher, or Host Home shelter"
        ),
        116: (
            "Place not meant for habitation (e.g., a vehicle, an abandoned building, "
            "bus/train/subway station/airport or anywhere outside)"
        ),
        118: "Safe Haven",
        204: "Psychiatric hospital or other psychiatric facility",
        205: "Substance abuse treatment facility or detox center",
        206: "Hospital or other residential non-psychiatric medical facility",
        207: "Jail, prison or juvenile detention facility",
        215: "Foster care home or foster care group home",
        225: "Long-term care facility or nursing home",
        302: "Transitional housing for homeless persons (including homeless youth)",
        312: "Staying or living with family, temporary tenure (e.g. room, apartment or house)",
        313: "Staying or living with friends, temporary tenure (e.g. room apartment or house)",
        314: "Hotel or motel paid for without emergency shelter voucher",
        327: "Moved from one HOPWA funded project to HOPWA TH",
        329: "Residential project or halfway house with no homeless criteria",
        332: "Host Home (non-crisis)",
        410: "Rental by client, no ongoing housing subsidy",
        411: "Owned by client, no ongoing housing subsidy",
        421: "Owned by client, with ongoing housing subsidy",
        422: "Staying or living with family, permanent tenure",
        423: "Staying or living with friends, permanent tenure",
        426: "Moved from one HOPWA funded project to HOPWA PH",
        435: "Rental by client, with ongoing housing subsidy",
    },
)

RELATIONSHIP_TO_HOH = HudList(
    "RelationshipToHoH",
    "3.15.1",
    {
        1: "Self (head of household)",
        2: "Child",
        3: "Spouse or partner",
        4: "Other relative",
        5: "Unrelated household member",
        99: "Data not collected",
    },
)

# Organization.VictimServiceProvider (2.01.3) takes its values from NoYes (1.10).
VICTIM_SERVICE_PROVIDER = NO_YES

_SHARED = {
    lst.name: lst
    for lst in (
        NO_YES,
        PROJECT_TYPE,
        NAME_DATA_QUALITY,
        SSN_DATA_QUALITY,
        DOB_DATA_QUALITY,
        DESTINATION,
        RELATIONSHIP_TO_HOH,
    )
}

BY_FISCAL_YEAR: Mapping[int, Mapping[str, HudList]] = MappingProxyType(
    {2024: MappingProxyType(dict(_SHARED)), 2026: MappingProxyType(dict(_SHARED))}
)


def for_fiscal_year(year: int) -> Mapping[str, HudList]:
    """The lists of one HMIS CSV fiscal year, by HUD list name. KeyError for other years."""
    return BY_FISCAL_YEAR[year]
