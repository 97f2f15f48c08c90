"""Reconciliation: ask the provider what became of the attempts the ledger is unsure of.

- An `unknown` SMS (the request may have reached Twilio, the answer never came back), once it
  is `settle` old: the messages Twilio holds to that number around the attempt, minus those
  the ledger already knows, are looked at. Exactly one -> it was sent: its SID and status are
  recorded. None -> nothing was sent: the attempt becomes `failed` (it stops counting toward
  caps, and it is not re-sent: the plan moved on when it was reserved). Several -> it stays
  `unknown` (still counted) and is logged for a person.
- A `sent` SMS with no delivery receipt after `stale`: its status is fetched and recorded.
E-mail has no such query (SMTP): its unknown attempts stay unknown, and count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from outreachd.ledger.store import Ledger, Unsettled

SETTLE = timedelta(minutes=15)  # Twilio lists a message it accepted well within this
STALE = timedelta(hours=6)  # a receipt that has not come by now is asked for
AROUND = (timedelta(minutes=2), timedelta(hours=2))  # before / after the attempt's instant


class Provider(Protocol):
    def sent_to(self, number: str, since: datetime, until: datetime) -> list[Any]: ...

    def status_of(self, sid: str) -> str: ...


@dataclass(slots=True)
class ReconcileStats:
    found_sent: int = 0
    found_not_sent: int = 0
    ambiguous: int = 0
    refreshed: int = 0
    errors: int = 0


def fate(status: str) -> tuple[str, str]:
    """A Twilio message status as (ledger status, outcome)."""
    if status == "delivered":
        return "delivered", "sms_sent"
    if status in ("undelivered", "failed", "canceled"):
        return "failed", "failed"
    return "sent", "sms_sent"


def reconcile(
    *,
    ledger: Ledger,
    provider: Provider,
    now: datetime,
    log: Any,
    settle: timedelta = SETTLE,
    stale: timedelta = STALE,
) -> ReconcileStats:
    """One pass over the SMS attempts the ledger is unsure of (see the module docstring)."""
    stats = ReconcileStats()
    for item in ledger.unsettled("sms", ("unknown",), now - settle):
        try:
            _unknown(ledger, provider, item, now, log=log, stats=stats)
        except Exception as exc:  # the provider is down, or answered nonsense: next pass
            _failed(item, exc, log, stats)
    for item in ledger.unsettled("sms", ("sent",), now - stale):
        if item.provider_id is None:
            continue
        try:
            status, outcome = fate(provider.status_of(item.provider_id))
        except Exception as exc:
            _failed(item, exc, log, stats)
            continue
        if status != "sent":
            ledger.record(item.id, status, outcome, at=now)
            stats.refreshed += 1
    return stats


def _unknown(
    ledger: Ledger, provider: Provider, item: Unsettled, now: datetime, *, log: Any,
    stats: ReconcileStats,
) -> None:  # fmt: skip
    number = ledger.address_of(item.account_id, item.contact_id)
    if number is None:  # the account left the source with its contacts: a person decides
        stats.ambiguous += 1
        log.warning("reconcile_ambiguous", attempt_id=item.id, candidates=None)
        return
    found = provider.sent_to(number, item.at - AROUND[0], item.at + AROUND[1])
    known = ledger.known_provider_ids(m.sid for m in found)
    fresh = [m for m in found if m.sid not in known]
    if len(fresh) == 1:
        status, outcome = fate(fresh[0].status)
        ledger.record(item.id, status, outcome, provider_id=fresh[0].sid, at=now)
        stats.found_sent += 1
        log.info("reconciled", attempt_id=item.id, found=status, provider_id=fresh[0].sid)
    elif not fresh:
        ledger.record(item.id, "failed", "failed", at=now)
        stats.found_not_sent += 1
        log.info("reconciled", attempt_id=item.id, found="not_sent")
    else:
        stats.ambiguous += 1
        log.warning("reconcile_ambiguous", attempt_id=item.id, candidates=len(fresh))


def _failed(item: Unsettled, exc: Exception, log: Any, stats: ReconcileStats) -> None:
    stats.errors += 1
    log.warning("reconcile_failed", attempt_id=item.id, error=f"{type(exc).__name__}: {exc}")
