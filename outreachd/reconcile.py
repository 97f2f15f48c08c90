"""Reconciliation: ask the provider what became of the attempts the ledger is unsure of.

- An `unknown` SMS (the request may have reached Twilio, the answer never came back), once it
  is `settle` old: the messages Twilio holds to that number around the attempt, minus those
  the ledger already knows, are looked at. Exactly one -> it was sent: its SID and status are
  recorded. None -> nothing was sent: the attempt becomes `failed` (it stops counting toward
  caps, and it is not re-sent: the plan moved on when it was reserved). Several -> it stays
  `unknown` (still counted) and is logged for a person.
- A `sent` SMS with no delivery receipt after `stale`: its status is fetched and recorded.
- A `sending` attempt older than `abandoned` (an hour) was left by an instance that died
  mid-send while others run on (a live one records a chunk's outcomes within minutes): it
  becomes `unknown`, and is looked for as above.
- Calls likewise: an `unknown` call is looked for among Twilio's calls to that number; a
  placed call whose status callback never came is asked about once it is `stale` (calls end
  within minutes, so STALE_CALL), and an ended one gets its outcome (twilio_voice.ended, from
  the stage its webhooks recorded).
E-mail has no such query (SMTP): its unknown attempts stay unknown, and count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from outreachd.channels import twilio_voice
from outreachd.ledger.store import Ledger, Unsettled

SETTLE = timedelta(minutes=15)  # Twilio lists a message it accepted well within this
STALE = timedelta(hours=6)  # a receipt that has not come by now is asked for
STALE_CALL = timedelta(hours=1)  # a call's status callback that has not come by now
# a live instance records a chunk's outcomes within minutes (100 sends, paced): a 'sending'
# row this old was left by one that died mid-send
ABANDONED = timedelta(hours=1)
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
    abandoned: int = 0  # 'sending' rows older than `abandoned`, now 'unknown' (looked for)


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
    providers: Mapping[str, Provider],
    now: datetime,
    log: Any,
    settle: timedelta = SETTLE,
    stale: timedelta = STALE,
    stale_call: timedelta = STALE_CALL,
    abandoned: timedelta = ABANDONED,
) -> ReconcileStats:
    """One pass over the attempts the ledger is unsure of, for each channel with a provider
    ("sms", "call"; see the module docstring)."""
    stats = ReconcileStats()
    # an instance that died mid-send left 'sending' rows no live instance will record
    stats.abandoned = ledger.recover_sending(now, before=now - abandoned)
    if stats.abandoned:
        log.warning("reconcile_abandoned_sends", count=stats.abandoned)
    for channel, provider in providers.items():
        for item in ledger.unsettled(channel, ("unknown",), now - settle):
            try:
                _unknown(ledger, provider, channel, item, now, log=log, stats=stats)
            except Exception as exc:  # the provider is down, or answered nonsense: next pass
                _failed(item, exc, log, stats)
        old = now - (stale_call if channel == "call" else stale)
        for item in ledger.unsettled(channel, ("sent",), old):
            if item.provider_id is None:
                continue
            try:
                status = provider.status_of(item.provider_id)
            except Exception as exc:
                _failed(item, exc, log, stats)
                continue
            if _record(ledger, channel, item, (item.provider_id, status), now) != "sent":
                stats.refreshed += 1
    return stats


def _record(
    ledger: Ledger, channel: str, item: Unsettled, found: tuple[str, str], now: datetime
) -> str:
    """Record what the provider says of one attempt, `found` = (its SID, its status); the
    ledger status the attempt now has."""
    sid, status = found
    if channel != "call":
        recorded, outcome = fate(status)
        if recorded != "sent" or item.provider_id != sid:
            ledger.record(item.id, recorded, outcome, provider_id=sid, at=now)
        return recorded
    state = ledger.call(item.id)
    ended = twilio_voice.ended(status, state.stage if state else None, None, None)
    if ended is None:  # still going: placed, that much is known
        ledger.record(item.id, "sent", "unknown", provider_id=sid, at=now)
        return "sent"
    ledger.finish_call(item.id, ended.value, sid, now)
    return "delivered"


def _unknown(
    ledger: Ledger, provider: Provider, channel: str, item: Unsettled, now: datetime, *,
    log: Any, stats: ReconcileStats,
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
        status = _record(ledger, channel, item, (fresh[0].sid, fresh[0].status), now)
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
