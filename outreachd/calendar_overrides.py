"""China calendar overrides as read from YAML (configuration and scenario files alike)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, StrictBool

from outreachd.core.calendars import CnYearOverride


class CnOverrideIn(BaseModel):
    """One year's calendar facts (SCENARIOS.md 5.3); checked further by CnYearOverride."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    published: StrictBool
    lunar_new_year: date | None = None
    spring_festival: tuple[date, date] | None = None
    breaks: tuple[tuple[date, date], ...] = ()
    makeup_workdays: tuple[date, ...] = ()

    def to_core(self) -> CnYearOverride:
        """The core value; raises ValueError when the facts do not fit together."""
        return CnYearOverride(**self.model_dump())
