"""The channel seam: send one rendered message to one contact point, say what happened."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from outreachd.core.model import Outcome
from outreachd.errors import OutreachError
from outreachd.render import Message


class SendError(OutreachError):
    """Sending failed; `sent_unknown` says whether the provider may have sent it anyway."""

    def __init__(
        self,
        message: str,
        *,
        sent_unknown: bool,
        provider_code: str | None = None,
        retry: bool = False,
        learned: tuple[tuple[str, object], ...] = (),
    ):
        """`retry`: nothing was sent and trying again later may work (a 4xx, a refused
        connection); `learned`: the ledger flags (overlay.py's (name, value) rows) the answer
        proves: an opt-out the carrier holds, an address or number refused for good."""
        super().__init__(message)
        self.sent_unknown = sent_unknown
        self.provider_code = provider_code
        self.retry = retry and not sent_unknown
        self.learned = learned


@dataclass(frozen=True, kw_only=True, slots=True)
class Envelope:
    """Everything a channel needs to deliver one attempt."""

    attempt_id: str
    account_id: str
    borrower_id: str
    debts: tuple[str, ...]
    contact_id: str
    address: str  # E.164 number or e-mail address: never logged unmasked
    sent_at: datetime
    message: Message
    country: str = ""  # the borrower's country (picks the sender)
    # how long the send stays lawful from the decision (where a channel asks for it), and
    # when that decision was made (time.monotonic()): a chunk is sent, and a sender paced,
    # after it was decided, so a channel asks `lawful_left()` right before its request
    valid_for: timedelta | None = None
    decided: float = field(default_factory=time.monotonic)

    def lawful_left(self) -> timedelta | None:
        """How long the send stays lawful from now (None: not asked for)."""
        if self.valid_for is None:
            return None
        return self.valid_for - timedelta(seconds=max(0.0, time.monotonic() - self.decided))


@dataclass(frozen=True, kw_only=True, slots=True)
class Receipt:
    outcome: Outcome
    provider_id: str | None = None
    segments: int | None = None  # SMS: the parts the carrier bills


class Channel(Protocol):
    def send(self, envelope: Envelope) -> Receipt: ...


@runtime_checkable
class BatchChannel(Protocol):
    """A channel that can also take a chunk at once (the dispatcher prefers it)."""

    def send(self, envelope: Envelope) -> Receipt: ...

    def send_many(self, envelopes: Sequence[Envelope]) -> list[Receipt | Exception]:
        """A receipt or the error for each envelope, in order; raising means every one of
        them shares that fate."""
        ...
