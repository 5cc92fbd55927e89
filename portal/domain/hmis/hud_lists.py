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

EXPORT_DIRECTIVE = HudList(
    "ExportDirective",
    "1.2",
    {
        1: "Delta refresh",
        2: "Full refresh",
        3: "Other",
    },
)

RECORD_TYPE = HudList(
    "RecordType",
    "1.4",
    {
        141: "PATH Service",
        142: "RHY Service Connections",
        143: "HOPWA Service",
        144: "SSVF Service",
        151: "HOPWA Financial Assistance",
        152: "SSVF Financial Assistance",
        161: "PATH Referral",
        200: "Bed Night",
        210: "HUD-VASH OTH Voucher Tracking",
        300: "Moving On Assistance",
    },
)

NO_YES_REASONS = HudList(
    "NoYesReasonsForMissingData",
    "1.8",
    {
        0: "No",
        1: "Yes",
        8: "Client doesn't know",
        9: "Client prefers not to answer",
        99: "Data not collected",
    },
)

RENTAL_SUBSIDY_TYPE = HudList(
    "RentalSubsidyType",
    "3.12.A",
    {
        428: "GPD TIP housing subsidy",
        419: "VASH housing subsidy",
        431: "RRH or equivalent subsidy",
        433: "HCV voucher (tenant or project based) (not dedicated)",
        434: "Public housing unit",
        420: "Rental by client, with other ongoing housing subsidy",
        436: "Housing Stability Voucher",
        437: "Family Unification Program Voucher (FUP)",
        438: "Foster Youth to Independence Initiative (FYI)",
        439: "Permanent Supportive Housing",
        440: "Other permanent housing dedicated for formerly homeless persons",
    },
)

CURRENT_LIVING_SITUATION = HudList(
    "CurrentLivingSituation",
    "4.12",
    {
        8: "Client doesn't know",
        9: "Client prefers not to answer",
        17: "Other",
        37: "Worker unable to determine",
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
        314: "Hotel or motel paid for without emergency shelter voucher",
        329: "Residential project or halfway house with no homeless criteria",
        332: "Host Home (non-crisis)",
        335: "Staying or living in a family member\u2019s room, apartment, or house",
        336: "Staying or living in a friend's room, apartment or house",
        410: "Rental by client, no ongoing housing subsidy",
        411: "Owned by client, no ongoing housing subsidy",
        421: "Owned by client, with ongoing housing subsidy",
        435: "Rental by client, with ongoing housing subsidy",
    },
)

EVENT_TYPE = HudList(
    "EventType",
    "4.20.2",
    {
        1: "Referral to Prevention Assistance project",
        2: "Problem Solving/Diversion/Rapid Resolution intervention or service",
        3: "Referral to scheduled Coordinated Entry Crisis Needs Assessment",
        4: "Referral to scheduled Coordinated Entry Housing Needs Assessment",
        5: "Referral to Post-placement/ follow-up case management",
        6: "Referral to Street Outreach project or services",
        7: "Referral to Housing Navigation project or services",
        8: "Referral to Non-continuum services: Ineligible for continuum services",
        9: "Referral to Non-continuum services: No availability in continuum services",
        10: "Referral to Emergency Shelter bed opening",
        11: "Referral to Transitional Housing bed/unit opening",
        12: "Referral to Joint TH-RRH project/unit/resource opening",
        13: "Referral to RRH project resource opening",
        14: "Referral to PSH project resource opening",
        15: "Referral to Other PH project/unit/resource opening",
        16: "Referral to emergency assistance/flex fund/furniture assistance",
        17: "Referral to Emergency Housing Voucher (EHV)",
        18: "Referral to a Housing Stability Voucher",
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
        EXPORT_DIRECTIVE,
        RECORD_TYPE,
        NO_YES_REASONS,
        RENTAL_SUBSIDY_TYPE,
        CURRENT_LIVING_SITUATION,
        EVENT_TYPE,
    )
}

BY_FISCAL_YEAR: Mapping[int, Mapping[str, HudList]] = MappingProxyType(
    {2024: MappingProxyType(dict(_SHARED)), 2026: MappingProxyType(dict(_SHARED))}
)


def for_fiscal_year(year: int) -> Mapping[str, HudList]:
    """The lists of one HMIS CSV fiscal year, by HUD list name. KeyError for other years."""
    return BY_FISCAL_YEAR[year]
