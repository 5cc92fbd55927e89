"""What the directory import reads: each HSDS table's columns, kinds and references."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from portal.domain.models import (
    HsdsAddress,
    HsdsAttribute,
    HsdsLanguage,
    HsdsLocation,
    HsdsOrganization,
    HsdsPhone,
    HsdsRow,
    HsdsSchedule,
    HsdsService,
    HsdsServiceAtLocation,
    HsdsTaxonomy,
    HsdsTaxonomyTerm,
)

LEGACY_NAMESPACE = uuid.UUID("0b6f1c9e-3c55-5c1e-9a53-5d0f2c7e4a10")
EXAMPLES = 20  # skipped rows listed per table in the report
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WEEKDAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
    "1": "MO",
    "2": "TU",
    "3": "WE",
    "4": "TH",
    "5": "FR",
    "6": "SA",
    "7": "SU",
}
_BYDAY = re.compile(
    r"^(?:[+-]?[1-5]?(?:MO|TU|WE|TH|FR|SA|SU))(?:,[+-]?[1-5]?(?:MO|TU|WE|TH|FR|SA|SU))*$"
)


@dataclass(frozen=True)
class Spec:
    model: type[HsdsRow]
    columns: dict[str, str]  # name -> kind: text, long, uuid, float, int, date, time, email, uri
    required: tuple[str, ...] = ()
    refs: dict[str, str] = field(default_factory=dict)  # column -> table it must name
    required_refs: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # at least one of these references must hold


SPECS: dict[str, Spec] = {
    "organization": Spec(
        HsdsOrganization,
        {
            "name": "text",
            "alternate_name": "text",
            "description": "long",
            "email": "email",
            "website": "uri",
            "year_incorporated": "int",
            "legal_status": "text",
            "uri": "uri",
            "parent_organization_id": "uuid",
        },
        required=("name",),
        refs={"parent_organization_id": "organization"},
    ),
    "taxonomy": Spec(
        HsdsTaxonomy,
        {"name": "text", "description": "long", "uri": "uri", "version": "text"},
        required=("name",),
    ),
    "taxonomy_term": Spec(
        HsdsTaxonomyTerm,
        {
            "code": "text",
            "name": "text",
            "description": "long",
            "parent_id": "uuid",
            "taxonomy": "text",
            "language": "text",
            "taxonomy_id": "uuid",
            "term_uri": "uri",
        },
        required=("name",),
        refs={"taxonomy_id": "taxonomy", "parent_id": "taxonomy_term"},
    ),
    "location": Spec(
        HsdsLocation,
        {
            "location_type": "text",
            "url": "uri",
            "organization_id": "uuid",
            "name": "text",
            "alternate_name": "text",
            "description": "long",
            "transportation": "long",
            "latitude": "float",
            "longitude": "float",
            "external_identifier": "text",
            "external_identifier_type": "text",
        },
        refs={"organization_id": "organization"},
    ),
    "service": Spec(
        HsdsService,
        {
            "organization_id": "uuid",
            "name": "text",
            "alternate_name": "text",
            "description": "long",
            "url": "uri",
            "email": "email",
            "status": "text",
            "interpretation_services": "long",
            "application_process": "long",
            "fees_description": "long",
            "accreditations": "long",
            "eligibility_description": "long",
            "minimum_age": "float",
            "maximum_age": "float",
            "assured_date": "date",
            "assurer_email": "email",
            "alert": "long",
        },
        required=("name",),
        refs={"organization_id": "organization"},
    ),
    "service_at_location": Spec(
        HsdsServiceAtLocation,
        {"service_id": "uuid", "location_id": "uuid", "description": "long"},
        refs={"service_id": "service", "location_id": "location"},
        required_refs=("service_id", "location_id"),
    ),
    "address": Spec(
        HsdsAddress,
        {
            "location_id": "uuid",
            "organization_id": "uuid",
            "attention": "text",
            "address_1": "text",
            "address_2": "text",
            "city": "text",
            "region": "text",
            "state_province": "text",
            "postal_code": "text",
            "country": "text",
            "address_type": "text",
        },
        required=("address_1",),
        refs={"location_id": "location", "organization_id": "organization"},
        one_of=("location_id", "organization_id"),
    ),
    "phone": Spec(
        HsdsPhone,
        {
            "location_id": "uuid",
            "service_id": "uuid",
            "organization_id": "uuid",
            "service_at_location_id": "uuid",
            "number": "text",
            "extension": "text",
            "type": "text",
            "description": "long",
        },
        required=("number",),
        refs={
            "location_id": "location",
            "service_id": "service",
            "organization_id": "organization",
            "service_at_location_id": "service_at_location",
        },
        one_of=("location_id", "service_id", "organization_id", "service_at_location_id"),
    ),
    "schedule": Spec(
        HsdsSchedule,
        {
            "service_id": "uuid",
            "location_id": "uuid",
            "service_at_location_id": "uuid",
            "valid_from": "date",
            "valid_to": "date",
            "dtstart": "date",
            "timezone": "float",
            "until": "date",
            "count": "int",
            "wkst": "text",
            "freq": "text",
            "interval": "int",
            "byday": "text",
            "byweekno": "text",
            "bymonthday": "text",
            "byyearday": "text",
            "description": "long",
            "opens_at": "time",
            "closes_at": "time",
            "schedule_link": "uri",
            "attending_type": "long",
            "notes": "long",
        },
        refs={
            "service_id": "service",
            "location_id": "location",
            "service_at_location_id": "service_at_location",
        },
        one_of=("service_id", "location_id", "service_at_location_id"),
    ),
    "language": Spec(
        HsdsLanguage,
        {
            "service_id": "uuid",
            "location_id": "uuid",
            "phone_id": "uuid",
            "name": "text",
            "code": "text",
            "note": "long",
        },
        refs={"service_id": "service", "location_id": "location", "phone_id": "phone"},
        one_of=("service_id", "location_id", "phone_id"),
    ),
    "attribute": Spec(
        HsdsAttribute,
        {
            "link_id": "uuid",
            "link_type": "text",
            "link_entity": "text",
            "taxonomy_term_id": "uuid",
            "value": "long",
        },
        required=("link_id", "link_entity"),
        refs={"taxonomy_term_id": "taxonomy_term"},
        required_refs=("taxonomy_term_id",),
    ),
}
ORDER = list(SPECS)  # parents before children

TABLE_NAMES = {
    "organizations": "organization",
    "services": "service",
    "locations": "location",
    "service_at_locations": "service_at_location",
    "services_at_location": "service_at_location",
    "services_at_locations": "service_at_location",
    "addresses": "address",
    "phones": "phone",
    "schedules": "schedule",
    "languages": "language",
    "taxonomies": "taxonomy",
    "taxonomy_terms": "taxonomy_term",
    "attributes": "attribute",
    # HSDS 1.1
    "regular_schedules": "regular_schedule",
    "holiday_schedules": "holiday_schedule",
    "postal_addresses": "postal_address",
    "physical_addresses": "physical_address",
    "services_taxonomy": "service_taxonomy",
    "service_taxonomy": "service_taxonomy",
    "taxonomy": "taxonomy_term_legacy",
}
NOT_KEPT = {
    "accessibility",
    "accessibility_for_disabilities",
    "contacts",
    "cost_options",
    "funding",
    "fundings",
    "meta_table_descriptions",
    "metadata",
    "organization_identifiers",
    "programs",
    "required_documents",
    "service_areas",
    "service_capacity",
    "units",
    "url",
    "urls",
    "eligibility",
    "payments_accepted",
    "holiday_schedule",
}
ATTRIBUTE_ENTITIES = {"service", "organization", "location", "service_at_location"}
LEGACY_TABLES = {"regular_schedule", "postal_address", "physical_address", "service_taxonomy"}
