from __future__ import annotations

from sqlalchemy import String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.core import clock
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin


class Agency(PublicIdMixin, CreatedAtMixin, Base):
    """A partner agency of the Continuum of Care. Its time zone defines its "today"."""

    __tablename__ = "agencies"
    audit_kind = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=True)
    # How long a Release of Information recorded by this agency lasts unless staff say otherwise.
    default_roi_days: Mapped[int] = mapped_column(default=365)
    # Case managers need a second factor (administrators always do); on unless turned off.
    require_second_factor: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Single sign-on (issue 19): staff must sign in through the agency's identity provider
    # (never system administrators); a first sign-in there may create an account with no
    # client in view until an administrator gives it a role.
    require_sso: Mapped[bool] = mapped_column(default=False, server_default=false())
    sso_create_accounts: Mapped[bool] = mapped_column(default=False, server_default=false())

    # The HMIS user id an export names for a change no mapped staff member accepted (a
    # check-in, or staff with no HMIS user of their email): one of the imported User.csv.
    hmis_user_id: Mapped[str | None] = mapped_column(String(32))
    # Quiet hours for texts, in the agency's time zone (issue 22): "HH:MM" to "HH:MM".
    text_quiet_from: Mapped[str] = mapped_column(String(5), default="21:00", server_default="21:00")
    text_quiet_until: Mapped[str] = mapped_column(
        String(5), default="08:00", server_default="08:00"
    )

    def today(self):
        return clock.local_today(self.timezone)
