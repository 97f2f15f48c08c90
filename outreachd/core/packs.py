"""Rule-pack values: one frozen dataclass per rule kind, packs, and pack selection.

A pack is data (config/rules/*.yaml) for one legal source or house policy. Every active pack
applies and every rule in it must pass, so merging is "most restrictive wins" by
construction: windows intersect, suppressions and content rules unite, caps all hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Literal

from outreachd.core.calendars import DayType
from outreachd.core.model import (
    FORBID_EXTRA,
    Channel,
    CollectorType,
    Country,
    Dialer,
    EmailKind,
    Initiator,
    Outcome,
    Owner,
    Party,
    PhoneKind,
    Profile,
    Purpose,
    TemplateClass,
)

ALL_PURPOSES = frozenset(Purpose)


@dataclass(frozen=True, kw_only=True, slots=True)
class When:
    """Which attempts a rule looks at; an empty set means any."""

    __pydantic_config__ = FORBID_EXTRA

    channels: frozenset[Channel] = frozenset()
    dialers: frozenset[Dialer] = frozenset()
    purposes: frozenset[Purpose] = frozenset()
    number_kinds: frozenset[PhoneKind | EmailKind] = frozenset()  # kind of the target


@dataclass(frozen=True, kw_only=True, slots=True)
class Span:
    """A daily wall-clock window `[start, end)`."""

    __pydantic_config__ = FORBID_EXTRA

    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"start {self.start:%H:%M} must be before end {self.end:%H:%M}")


@dataclass(frozen=True, kw_only=True, slots=True)
class TableRow:
    """The window of one (day types x channels x dialers) cell; `allowed: null` = closed."""

    __pydantic_config__ = FORBID_EXTRA

    day_types: frozenset[DayType]
    channels: frozenset[Channel]
    dialers: frozenset[Dialer] = frozenset()
    allowed: Span | None


@dataclass(frozen=True, kw_only=True, slots=True)
class CallbackException:
    """A human call inside a recorded `callback_requests` slot passes (within `within`)."""

    __pydantic_config__ = FORBID_EXTRA

    dialers: frozenset[Dialer] = frozenset({Dialer.MANUAL})
    within: Span | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleBase:
    __pydantic_config__ = FORBID_EXTRA

    id: str
    when: When = When()
    cite: tuple[str, ...] = ()
    confidence: str = ""
    note: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class WindowRule(RuleBase):
    """Contact only inside `allowed` (or the day-type `table`) of local wall-clock time."""

    kind: Literal["window"] = "window"
    zones: Literal["candidates", "primary"] = "primary"
    allowed: Span | None = None
    table: tuple[TableRow, ...] = ()
    callback_exception: CallbackException | None = None

    def __post_init__(self) -> None:
        if (self.allowed is None) == (not self.table):
            raise ValueError("a window rule needs exactly one of 'allowed' and 'table'")


@dataclass(frozen=True, kw_only=True, slots=True)
class DesignatedWindowsRule(RuleBase):
    """No contact inside a borrower-designated `inconvenient_windows` entry (local P)."""

    kind: Literal["designated_windows"] = "designated_windows"


DayBan = Literal[
    "sunday",
    "saturday",
    "us_federal_holiday",
    "us_state_holiday",
    "uk_bank_holiday",
    "cn_statutory_holiday",
    "cn_spring_festival_blackout",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class DayBanRule(RuleBase):
    """No contact on the listed kinds of P-date."""

    kind: Literal["day_ban"] = "day_ban"
    days: frozenset[DayBan]


Counting = Literal["listed", "any", "not_conversation"]
Scope = Literal["person", "person_or_spouse", "debt", "number", "number_class"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Count:
    """Which past events a cap, cooldown or gap counts."""

    __pydantic_config__ = FORBID_EXTRA

    channels: frozenset[Channel] = frozenset()  # empty = the rule's `when.channels`
    outcomes: frozenset[Outcome] = frozenset()
    counting: Counting = "listed"
    initiators: frozenset[Initiator] = frozenset({Initiator.COLLECTOR})
    parties: frozenset[Party] = frozenset({Party.SELF})
    purposes: frozenset[Purpose] = ALL_PURPOSES
    exclude_direct_consent: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class CapRule(RuleBase):
    """At most `max` counted events in the window; fails when the window already holds max."""

    kind: Literal["cap"] = "cap"
    count: Count = Count(counting="any")
    scope: frozenset[Scope] = frozenset({"person"})
    days: int | None = None  # P-dates [D-(n-1), D]
    hours: int | None = None  # rolling (t - h, t]
    max: int | None = None
    max_by_day_type: dict[DayType, int] | None = None
    only_if_no_consent: bool = False  # TCPA: only numbers without prior express consent
    exempt_direct_consent: bool = False

    def __post_init__(self) -> None:
        if (self.days is None) == (self.hours is None):
            raise ValueError("a cap needs exactly one of 'days' and 'hours'")
        if (self.max is None) == (self.max_by_day_type is None):
            raise ValueError("a cap needs exactly one of 'max' and 'max_by_day_type'")
        limits = [self.max] if self.max is not None else list((self.max_by_day_type or {}).values())
        windows = [w for w in (self.days, self.hours) if w is not None]
        if min(limits, default=0) < 0 or min(windows) < 1:
            raise ValueError("caps and windows must be positive (max may be 0)")


@dataclass(frozen=True, kw_only=True, slots=True)
class CooldownRule(RuleBase):
    """No contact on P-dates C ... C+days-1 after a triggering event on P-date C."""

    kind: Literal["cooldown"] = "cooldown"
    count: Count
    scope: frozenset[Scope] = frozenset({"person"})
    days: int
    exempt_direct_consent: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class MinGapRule(RuleBase):
    """At least `minutes` since the latest counted event."""

    kind: Literal["min_gap"] = "min_gap"
    count: Count = Count(counting="any")
    scope: frozenset[Scope] = frozenset({"number"})
    minutes: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PromiseToPayRule(RuleBase):
    """`promise_to_pay`: nothing before pay_by; on pay_by only courtesy channels, from a time."""

    kind: Literal["promise_to_pay"] = "promise_to_pay"
    on_due_date_channels: frozenset[Channel] = frozenset({Channel.SMS})
    on_due_date_from: time = time(9, 0)


SuppressionFlag = Literal[
    "cease_written",
    "attorney_represented",
    "written_dispute_pending",
    "original_creditor_request_pending",
    "dispute_any_form",
    "bankruptcy_filed",
    "employer_prohibits",
    "medium_opt_outs",
    "address_opt_outs",
    "breathing_space",
    "mental_capacity_concern",
    "vulnerable",
    "hardship",
    "instalment_plan_active",
    "complaint_open",
    "deceased_or_incapacitated",
    "litigation_started",
]
Blocks = Literal["all", "listed_channels", "listed_addresses", "work_contacts", "consumer"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SuppressionRule(RuleBase):
    """A flag that stops contact (Block), except for the listed template classes."""

    kind: Literal["suppression"] = "suppression"
    flag: SuppressionFlag
    blocks: Blocks = "all"
    allow_template_classes: frozenset[TemplateClass] = frozenset()
    route: str = ""


Check = Literal[
    "tcpa_consent",
    "tcpa_reassigned",
    "tcpa_revoked",
    "email_procedure",
    "employer_email_procedure",
    "sms_procedure",
    "written_e_consent",
    "employer_email",
    "third_party",
    "third_party_human_only",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class PrerequisiteRule(RuleBase):
    """A consent, procedure or recipient condition the target must meet (else Block)."""

    kind: Literal["prerequisite"] = "prerequisite"
    check: Check
    sms_always_covered: bool = False  # TCPA: every text is a covered call, whatever the dialer
    allowed_owners: frozenset[Owner] = frozenset({Owner.BORROWER})
    allow_template_classes: frozenset[TemplateClass] = frozenset()


TemplateFact = Literal[
    "has_opt_out",
    "has_dc_disclosure",
    "lcm_only",
    "ca_license_number",
    "has_signature",
    "threatens_suit",
    "has_prohibited_terms",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ContentRule(RuleBase):
    """A fact the rendered template must have (`require`) or must not have (`forbid`)."""

    kind: Literal["content"] = "content"
    require: TemplateFact | None = None
    forbid: TemplateFact | None = None
    max_rendered_length: int | None = None
    only_if_flag: Literal["time_barred"] | None = None
    only_if_collector: Literal["ca_licensed"] | None = None
    exempt_template_classes: frozenset[TemplateClass] = frozenset()

    def __post_init__(self) -> None:
        given = [x for x in (self.require, self.forbid, self.max_rendered_length) if x is not None]
        if len(given) != 1:
            raise ValueError(
                "a content rule needs exactly one of require, forbid, max_rendered_length"
            )


TimeRule = (
    WindowRule
    | DesignatedWindowsRule
    | DayBanRule
    | CapRule
    | CooldownRule
    | MinGapRule
    | PromiseToPayRule
)
StaticRule = SuppressionRule | PrerequisiteRule | ContentRule
Rule = TimeRule | StaticRule
STATIC_KINDS = frozenset({"suppression", "prerequisite", "content"})


@dataclass(frozen=True, kw_only=True, slots=True)
class AppliesIf:
    """Which cases a pack serves; an empty set means any."""

    __pydantic_config__ = FORBID_EXTRA

    countries: frozenset[Country] = frozenset()
    states: frozenset[str] = frozenset()
    cities: frozenset[str] = frozenset()
    collector_types: frozenset[CollectorType] = frozenset()
    profile: Profile = Profile.LEGAL  # best_practice packs are off in the legal profile


@dataclass(frozen=True, kw_only=True, slots=True)
class Pack:
    id: str
    version: str
    title: str
    status: Literal["active", "pending"] = "active"
    applies_if: AppliesIf
    rules: tuple[Rule, ...]
    source: str = ""  # the file it came from, for audit output


@dataclass(frozen=True, kw_only=True, slots=True)
class Selector:
    """The facts that decide which packs are active for a case (SCENARIOS.md 4.1)."""

    country: Country
    states: frozenset[str]
    city: str | None
    collector: CollectorType
    profile: Profile
    enable_pending: bool = False


def pack_applies(pack: Pack, sel: Selector) -> bool:
    """True when `pack` is active for a case with these facts."""
    cond = pack.applies_if
    if pack.status == "pending" and not sel.enable_pending:
        return False
    if cond.profile == Profile.BEST_PRACTICE and sel.profile != Profile.BEST_PRACTICE:
        return False
    return (
        (not cond.countries or sel.country in cond.countries)
        and (not cond.states or bool(cond.states & sel.states))
        and (not cond.cities or sel.city in cond.cities)
        and (not cond.collector_types or sel.collector in cond.collector_types)
    )
