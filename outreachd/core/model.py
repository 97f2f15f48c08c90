"""The domain vocabulary shared by account sources, the ledger, rule packs and scenarios.

Names and values follow ../shared/compliance/SCENARIOS.md sections 2.2-2.5 exactly, so a
scenario file, a rule pack and a ledger row all speak the same language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum

FORBID_EXTRA = {"extra": "forbid"}  # read by the YAML loaders' validation; plain data, no import


class Country(StrEnum):
    US = "US"
    UK = "UK"
    CN = "CN"


class Channel(StrEnum):
    CALL = "call"
    VOICEMAIL = "voicemail"  # a voicemail drop; counts as a call for caps and cooldowns
    SMS = "sms"
    EMAIL = "email"


class Dialer(StrEnum):
    MANUAL = "manual"
    AUTODIALER = "autodialer"
    PRERECORDED = "prerecorded"
    AI_VOICE = "ai_voice"


class Outcome(StrEnum):
    CONVERSATION = "conversation"
    INBOUND_CONVERSATION = "inbound_conversation"
    NO_ANSWER = "no_answer"
    VOICEMAIL_LCM = "voicemail_lcm"
    VOICEMAIL_NO_MESSAGE = "voicemail_no_message"
    ANSWERED_HANGUP = "answered_hangup"
    THIRD_PARTY_ANSWERED = "third_party_answered"
    BUSY = "busy"
    NOT_IN_SERVICE = "not_in_service"
    NETWORK_FAIL = "network_fail"
    SMS_SENT = "sms_sent"
    EMAIL_SENT = "email_sent"
    # Ledger-only outcomes (not in scenario files): an attempt whose fate is not known yet
    # counts as whatever each cap counts (design principle: unknown send outcome -> sent);
    # a provably unsent attempt never counts.
    UNKNOWN = "unknown"
    FAILED = "failed"


SCENARIO_OUTCOMES = frozenset(Outcome) - {Outcome.UNKNOWN, Outcome.FAILED}


class Initiator(StrEnum):
    COLLECTOR = "collector"
    CONSUMER = "consumer"


class Party(StrEnum):
    SELF = "self"
    AFFILIATE = "affiliate"


class Purpose(StrEnum):
    COLLECTION = "collection"
    TRANSACTIONAL = "transactional"
    LOCATE = "locate"


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE_HOME = "landline_home"
    PERSONAL = "personal"
    WORK = "work"
    OTHER = "other"


class EmailKind(StrEnum):
    PERSONAL = "personal"
    EMPLOYER = "employer"


class Owner(StrEnum):
    BORROWER = "borrower"
    SPOUSE = "spouse"
    CO_BORROWER = "co_borrower"
    GUARANTOR = "guarantor"
    EMERGENCY_CONTACT = "emergency_contact"
    ADDRESS_BOOK_CONTACT = "address_book_contact"
    EMPLOYER = "employer"
    FAMILY_OTHER = "family_other"


class CollectorType(StrEnum):
    FDCPA_DEBT_COLLECTOR = "fdcpa_debt_collector"
    FIRST_PARTY_CREDITOR = "first_party_creditor"
    UK_FIRM = "uk_firm"
    CN_LENDER = "cn_lender"
    CN_AGENCY = "cn_agency"


class Profile(StrEnum):
    LEGAL = "legal"
    BEST_PRACTICE = "best_practice"


class TemplateClass(StrEnum):
    COLLECTION = "collection"
    CEASE_EXCEPTION = "cease_exception"
    VERIFICATION = "verification"
    ORIGINAL_CREDITOR_INFO = "original_creditor_info"
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    RECEIPT = "receipt"
    HARDSHIP_OFFER = "hardship_offer"
    PLAN_REMINDER = "plan_reminder"


class RegfProcedure(StrEnum):
    CONSUMER_USED = "consumer_used"
    CONSENTED = "consented"
    CREDITOR_NOTICE_35D = "creditor_notice_35d"
    PRIOR_COLLECTOR = "prior_collector"
    NONE = "none"


@dataclass(frozen=True, kw_only=True, slots=True)
class Phone:
    id: str
    kind: PhoneKind
    tz: str | None = None  # the zone the number indicates; inferred from `number` when absent
    number: str | None = None  # E.164, when known
    owner: Owner = Owner.BORROWER
    tcpa_consent: bool = False
    rnd_reassigned: bool = False  # FCC Reassigned Numbers Database answered "yes"
    regf_text_ok: bool = False
    nyc_written_consent: bool = False
    # the zones phonenumbers' prefix data gives for `number`, when they were looked up already
    # (a stored account payload carries them, see sources.records); None: looked up when needed
    number_zones: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Email:
    id: str
    kind: EmailKind
    address: str | None = None
    owner: Owner = Owner.BORROWER
    regf_procedure: RegfProcedure = RegfProcedure.NONE
    nyc_written_consent: bool = False


ContactPoint = Phone | Email


@dataclass(frozen=True, kw_only=True, slots=True)
class Residence:
    country: Country
    tz: str | None = None
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Preferences:
    """What the borrower said suits them: a channel, and hours (`[start, end)` local wall
    clock in P, may wrap midnight; both or neither). They win where they are lawful."""

    channel: Channel | None = None
    start: time | None = None
    end: time | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Borrower:
    residence: Residence
    confirmed_location_tz: str | None = None
    other_states: tuple[str, ...] = ()
    phones: tuple[Phone, ...] = ()
    emails: tuple[Email, ...] = ()
    preferences: Preferences | None = None

    def contact(self, contact_id: str) -> ContactPoint | None:
        """The phone or e-mail address with this id, or None."""
        points: tuple[ContactPoint, ...] = (*self.phones, *self.emails)
        for point in points:
            if point.id == contact_id:
                return point
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class InconvenientWindow:
    """A borrower-designated bad time, `[start, end)` local wall clock in P; may wrap midnight."""

    channels: frozenset[Channel] | None = None  # None = every channel
    start: time
    end: time


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectConsent:
    """Prior consent to calls given on P-date `given_on`; covers given_on ... given_on+6."""

    given_on: date
    given_to: str  # "collector" or "creditor"; only consent given to the collector counts
    person: Owner = Owner.BORROWER
    debts: frozenset[str] | None = None  # None = all debts


@dataclass(frozen=True, kw_only=True, slots=True)
class PromiseToPay:
    recorded_on: date
    pay_by: date


@dataclass(frozen=True, kw_only=True, slots=True)
class CallbackRequest:
    """A slot `[start, end)` (local P date-times) in which the debtor asked to be called."""

    start: datetime  # naive, local P
    end: datetime  # naive, local P
    recorded: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Flags:
    """Account states that suppress or shape contact (SCENARIOS.md 2.3)."""

    cease_written: bool = False
    attorney_represented: bool = False
    written_dispute_pending: bool = False
    original_creditor_request_pending: bool = False
    oral_dispute: bool = False
    dispute_any_form: bool = False
    bankruptcy_filed: bool = False
    time_barred: bool = False
    employer_prohibits: bool = False
    medium_opt_outs: frozenset[Channel] = frozenset()
    address_opt_outs: frozenset[str] = frozenset()  # "channel:contact_id"
    tcpa_revoked: frozenset[str] = frozenset()  # phone ids, or "all"
    inconvenient_windows: tuple[InconvenientWindow, ...] = ()
    direct_consents: tuple[DirectConsent, ...] = ()
    breathing_space: bool = False
    mental_capacity_concern: bool = False
    vulnerable: bool = False
    hardship: bool = False
    promise_to_pay: PromiseToPay | None = None
    callback_requests: tuple[CallbackRequest, ...] = ()
    lost_contact: bool = False
    instalment_plan_active: bool = False
    complaint_open: bool = False
    deceased_or_incapacitated: bool = False
    litigation_started: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """One past contact (ledger row) as the rules see it; `at` is an aware UTC instant."""

    at: datetime
    channel: Channel
    to: str
    outcome: Outcome
    initiator: Initiator = Initiator.COLLECTOR
    dialer: Dialer = Dialer.MANUAL
    debts: tuple[str, ...] = ("D1",)
    person: Owner | None = None  # None = the owner of `to`
    party: Party = Party.SELF
    purpose: Purpose = Purpose.COLLECTION


@dataclass(frozen=True, kw_only=True, slots=True)
class TemplateMeta:
    """Metadata of the rendered message; absent facts are compliant (SCENARIOS.md 2.5)."""

    template_class: TemplateClass = TemplateClass.COLLECTION
    has_opt_out: bool = True
    has_dc_disclosure: bool = True
    lcm_only: bool = True
    ca_license_number: bool = True
    has_signature: bool = True
    threatens_suit: bool = False
    has_prohibited_terms: bool = False
    rendered_length: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Attempt:
    """One candidate contact attempt: what would be sent, to whom, by what means."""

    channel: Channel
    to: str
    dialer: Dialer = Dialer.MANUAL
    debts: tuple[str, ...] = ("D1",)
    person: Owner | None = None  # None = the owner of `to`
    purpose: Purpose = Purpose.COLLECTION
    template: TemplateMeta = field(default_factory=TemplateMeta)


@dataclass(frozen=True, kw_only=True, slots=True)
class Collector:
    type: CollectorType
    ca_licensed: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Account:
    """Everything the core knows about one borrower's case, apart from its history."""

    borrower: Borrower
    flags: Flags = field(default_factory=Flags)


@dataclass(frozen=True, kw_only=True, slots=True)
class Debt:
    """One debt (account) of a borrower, as the source gives it."""

    id: str
    creditor: str
    balance: Decimal  # exact money, never float
    currency: str  # ISO 4217
    overdue_since: date  # the first day past due: days_past_due(d) = (d - overdue_since).days
    product: str = ""

    def days_past_due(self, at: datetime) -> int:
        """Days past due at the instant `at` (counted in UTC days, as the source's read day
        is); never below 0."""
        return max(0, (at.astimezone(UTC).date() - self.overdue_since).days)
