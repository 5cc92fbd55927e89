"""The resource directory (issue 9) in the shape of Open Referral HSDS 3: organizations,
services, locations, the services offered at each location, addresses, phones, schedules,
languages, taxonomies and their terms, and the attributes that tag a service with a term.

Ids are the HSDS UUIDs (legacy HSDS 1.1 integer ids become stable uuid5 ids on import). Every
row belongs to one directory (an import source or an agency's own entries, each with its
default time zone); clients search all directories at once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, Time, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.core import clock
from portal.domain.core.statuses import ServiceStatus
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin


class Directory(PublicIdMixin, CreatedAtMixin, Base):
    """Where directory rows come from: an agency's imports and entries."""

    __tablename__ = "directories"

    audit_kind = "directory"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))  # schedules without their own zone


class HsdsRow:
    """Columns every directory table has: the HSDS id, the directory, when it last changed."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    if TYPE_CHECKING:  # each table declares it (with its own index)
        directory_id: Mapped[int]


class HsdsOrganization(HsdsRow, Base):
    __tablename__ = "hsds_organizations"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    alternate_name: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(2000))
    year_incorporated: Mapped[int | None]
    legal_status: Mapped[str | None] = mapped_column(String(200))
    uri: Mapped[str | None] = mapped_column(String(2000))
    parent_organization_id: Mapped[uuid.UUID | None]
    # A legacy feed named an organization it did not include: a stand-in keeps its services.
    placeholder: Mapped[bool] = mapped_column(default=False, server_default=false())


class HsdsService(HsdsRow, Base):
    __tablename__ = "hsds_services"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hsds_organizations.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(500))
    alternate_name: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[ServiceStatus] = mapped_column(String(32), default=ServiceStatus.ACTIVE)
    interpretation_services: Mapped[str | None] = mapped_column(Text)
    application_process: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    accreditations: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[float | None] = mapped_column(Float)
    maximum_age: Mapped[float | None] = mapped_column(Float)
    assured_date: Mapped[date | None] = mapped_column(Date)
    assurer_email: Mapped[str | None] = mapped_column(String(254))
    alert: Mapped[str | None] = mapped_column(Text)
    featured: Mapped[bool] = mapped_column(default=False, server_default=false())

    organization: Mapped[HsdsOrganization | None] = relationship()


class HsdsLocation(HsdsRow, Base):
    __tablename__ = "hsds_locations"
    __table_args__ = (Index("ix_hsds_locations_lat_lon", "latitude", "longitude"),)

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hsds_organizations.id"), index=True
    )
    location_type: Mapped[str] = mapped_column(String(16), default="physical")
    url: Mapped[str | None] = mapped_column(String(2000))
    name: Mapped[str | None] = mapped_column(String(500))
    alternate_name: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    external_identifier: Mapped[str | None] = mapped_column(String(200))
    external_identifier_type: Mapped[str | None] = mapped_column(String(200))


class HsdsServiceAtLocation(HsdsRow, Base):
    __tablename__ = "hsds_service_at_location"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hsds_services.id"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hsds_locations.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)


class HsdsAddress(HsdsRow, Base):
    __tablename__ = "hsds_addresses"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hsds_locations.id"), index=True
    )
    # Legacy HSDS 1.1 postal addresses may belong to an organization (not in HSDS 3).
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_organizations.id"))
    attention: Mapped[str | None] = mapped_column(String(500))
    address_1: Mapped[str] = mapped_column(String(500))
    address_2: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    state_province: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    address_type: Mapped[str] = mapped_column(String(16), default="physical")


class HsdsPhone(HsdsRow, Base):
    __tablename__ = "hsds_phones"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hsds_locations.id"), index=True
    )
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_services.id"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_organizations.id"))
    service_at_location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hsds_service_at_location.id")
    )
    number: Mapped[str] = mapped_column(String(100))
    extension: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)


class HsdsSchedule(HsdsRow, Base):
    __tablename__ = "hsds_schedules"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_services.id"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hsds_locations.id"), index=True
    )
    service_at_location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hsds_service_at_location.id"), index=True
    )
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    dtstart: Mapped[date | None] = mapped_column(Date)
    timezone: Mapped[float | None] = mapped_column(Float)  # HSDS 3: a UTC offset in hours
    until: Mapped[date | None] = mapped_column(Date)
    count: Mapped[int | None]
    wkst: Mapped[str | None] = mapped_column(String(2))
    freq: Mapped[str | None] = mapped_column(String(8))  # WEEKLY or MONTHLY
    interval: Mapped[int | None]
    byday: Mapped[str | None] = mapped_column(String(100))  # e.g. "MO,TU" or "1SU"
    byweekno: Mapped[str | None] = mapped_column(String(200))
    bymonthday: Mapped[str | None] = mapped_column(String(200))
    byyearday: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    schedule_link: Mapped[str | None] = mapped_column(String(2000))
    attending_type: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class HsdsLanguage(HsdsRow, Base):
    __tablename__ = "hsds_languages"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_services.id"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_locations.id"))
    phone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_phones.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(16), index=True)  # ISO 639
    note: Mapped[str | None] = mapped_column(Text)


class HsdsTaxonomy(HsdsRow, Base):
    __tablename__ = "hsds_taxonomies"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(String(2000))
    version: Mapped[str | None] = mapped_column(String(100))


class HsdsTaxonomyTerm(HsdsRow, Base):
    __tablename__ = "hsds_taxonomy_terms"

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[uuid.UUID | None]
    taxonomy: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    taxonomy_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_taxonomies.id"))
    term_uri: Mapped[str | None] = mapped_column(String(2000))


class HsdsAttribute(HsdsRow, Base):
    """A taxonomy term on an entity (HSDS 3: link_entity and link_id), e.g. a service's
    category."""

    __tablename__ = "hsds_attributes"
    __table_args__ = (Index("ix_hsds_attributes_link", "link_entity", "link_id"),)

    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    link_id: Mapped[uuid.UUID]
    link_type: Mapped[str] = mapped_column(String(200))
    link_entity: Mapped[str] = mapped_column(String(32))
    taxonomy_term_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hsds_taxonomy_terms.id"), index=True
    )
    value: Mapped[str | None] = mapped_column(Text)


class DirectorySearch(Base):
    """One row per service, rebuilt from the HSDS rows after every change: what the search
    reads (its text, the one-line summary, languages) without joining ten tables. The text
    is indexed by SQLite FTS5 (`directory_fts`) or a PostgreSQL tsvector column (both made by
    migration 0010, outside the models: see `portal.domain.models.base.include_object`)."""

    __tablename__ = "directory_search"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hsds_services.id", ondelete="CASCADE"), primary_key=True
    )
    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str | None] = mapped_column(String(300))
    document: Mapped[str] = mapped_column(Text)  # folded: lower case, no accents
    languages: Mapped[str] = mapped_column(String(500), default="")  # " en es "
    featured: Mapped[bool] = mapped_column(default=False, server_default=false())
    located: Mapped[bool] = mapped_column(default=False, index=True)  # a place with coordinates
    categories: Mapped[str] = mapped_column(String(200), default="", server_default="")


class DirectoryHours(Base):
    """A weekly opening span of a service (at a location, or everywhere when empty), in the
    directory's local wall-clock time: see `portal.domain.directory.opening_hours`."""

    __tablename__ = "directory_hours"
    __table_args__ = (Index("ix_directory_hours_day", "weekday", "opens", "closes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hsds_services.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hsds_locations.id"))
    directory_id: Mapped[int] = mapped_column(ForeignKey("directories.id"))
    weekday: Mapped[int]
    opens: Mapped[int]
    closes: Mapped[int]
    nth: Mapped[int] = mapped_column(default=0)
    spill: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class CommunityArticle(PublicIdMixin, CreatedAtMixin, Base):
    """A short piece of community information an agency writes for its clients' home page
    (the spotlight panel): a warming centre opening, a change of hours, a clinic day."""

    __tablename__ = "community_articles"
    __table_args__ = (Index("ix_community_articles_agency", "agency_id", "published"),)

    audit_kind = "community_article"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    language: Mapped[str | None] = mapped_column(String(8))  # None: for every reader
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)  # plain text, up to 1,000 characters
    link: Mapped[str | None] = mapped_column(String(2000))
    published: Mapped[bool] = mapped_column(default=False)
    ends_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
