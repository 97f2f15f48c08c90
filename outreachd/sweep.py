"""One sweep: read the account source, refresh the ledger, and (re)plan what changed.

Cost grows with what changed, not with the book: unchanged rows are recognised by their
content hash and left alone. New accounts get a plan due now (the dispatcher makes the real,
re-checked decision and defers to the exact lawful instant); changed accounts whose plan was
blocked are looked at again now, and so are changed accounts that now carry a promise to pay
still ahead (its confirmation is due now, not at the ladder's next step); accounts that left
the source are retired, so nobody who has paid or been recalled is contacted again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from outreachd import branches
from outreachd.ledger import store
from outreachd.sources.base import AccountRecord, AccountSource, RawRow, Rejected

NOT_IN_SOURCE = "NOT-IN-SOURCE"
# a sweep of a large book says how far it got every so many rows (`sweep_progress`): a
# million rows take minutes, and `sweep_finished` comes only at the end
PROGRESS_EVERY = 100_000


@dataclass(slots=True)
class SweepStats:
    read: int = 0
    rejected: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    planned: int = 0
    retired: int = 0
    rejected_fields: dict[str, int] = field(default_factory=dict)


def sweep(*, source: AccountSource, ledger: store.Ledger, now: datetime, log: Any) -> SweepStats:
    """Read every row (bad rows are logged and counted, never fatal) and update plans.

    Rows stream from the source into the ledger; only account and borrower ids are kept, and
    a row whose raw digest the ledger already holds is not parsed at all.
    """
    stats = SweepStats()
    present: dict[str, str] = {}  # account_id -> borrower_id ("" when not parsed this sweep)
    promised: set[str] = set()  # parsed accounts whose row carries a promise to pay
    today = now.astimezone(UTC).date()  # the read's day: days past due count to it
    index = ledger.account_index()
    seen = index.digests  # raw digest -> account_id: these rows need no parsing

    started = time.monotonic()

    def accepted() -> Iterator[AccountRecord]:
        read = skipped = 0  # locals: this loop runs once per row of the book
        report = PROGRESS_EVERY
        try:
            for raw in source.read_raw(today):
                if read == report:  # that many rows are done
                    report += PROGRESS_EVERY
                    log.info(
                        "sweep_progress", read=read, unchanged=skipped,
                        rejected=stats.rejected, seconds=round(time.monotonic() - started, 1),
                    )  # fmt: skip
                read += 1
                known = seen.get(raw.digest)
                if known is not None and known not in present:
                    present[known] = ""
                    skipped += 1
                    continue
                record = _accepted(raw, present, stats, log)
                if record is not None:
                    if _confirmable(record, today):
                        promised.add(record.account_id)
                    yield record
        finally:
            stats.read += read
            stats.unchanged += skipped

    result = ledger.sync_accounts(accepted(), now)
    stats.new, stats.changed = len(result.new), len(result.changed)
    stats.unchanged += result.unchanged
    plans = [_new_plan(a, present[a], now) for a in result.new]
    plans += _recheck(ledger, result.changed, now, promised)
    retired = _retire(ledger, index.ids() - present.keys(), now)
    ledger.save_plans([*plans, *retired])
    stats.planned, stats.retired = len(plans) + len(retired), len(retired)
    return stats


def _accepted(
    raw: RawRow, present: dict[str, str], stats: SweepStats, log: Any
) -> AccountRecord | None:
    """A row not seen before, parsed: its record (with its raw digest), or None if rejected."""
    item = raw.parse()
    if isinstance(item, AccountRecord) and item.account_id in present:
        item = Rejected(row=raw.row, account_id=item.account_id, field="account_id",
                        reason="duplicate account_id")  # fmt: skip
    if isinstance(item, Rejected):
        _rejected(item, stats, log)
        return None
    present[item.account_id] = item.borrower_id
    return dataclasses.replace(item, source_digest=raw.digest)


def _rejected(item: Rejected, stats: SweepStats, log: Any) -> None:
    stats.rejected += 1
    stats.rejected_fields[item.field] = stats.rejected_fields.get(item.field, 0) + 1
    log.warning(
        "account_rejected",
        row=item.row,
        account_id=item.account_id,
        field=item.field,
        reason=item.reason,
    )


def _new_plan(account_id: str, borrower_id: str, now: datetime) -> store.Plan:
    return store.Plan(
        account_id=account_id,
        borrower_id=borrower_id,
        step=0,
        status="due",
        channel=None,
        contact_id=None,
        template=None,
        next_due_at=now,
        reasons=(),
        updated_at=now,
    )


def _confirmable(record: AccountRecord, today: date) -> bool:
    """The row carries a promise whose day is ahead everywhere (at least two UTC days away),
    on an unpaid debt: a promise the branch will confirm, not one already due or past."""
    promise = record.flags.promise_to_pay
    return (
        promise is not None and record.debt.balance > 0
        and promise.pay_by > today + timedelta(days=1)
    )  # fmt: skip


def _recheck(
    ledger: store.Ledger, changed: list[str], now: datetime, promised: set[str]
) -> list[store.Plan]:
    """A changed account with a blocked plan is decided again now (its flags may have lifted);
    a plan that is waiting keeps its time (a data refresh never pulls a collection contact
    forward), unless the account now carries a promise to pay the plan is not yet handling:
    the promise's confirmation (transactional) is due now, and no collection contact then
    comes before the promised day."""
    return [
        dataclasses.replace(plan, status="due", next_due_at=now, reasons=(), updated_at=now)
        for plan in ledger.plans_of(changed)
        if plan.status == "blocked"
        or (
            plan.status == "due" and plan.account_id in promised
            and plan.stage != branches.PROMISE
            and plan.next_due_at is not None and plan.next_due_at > now
        )
    ]  # fmt: skip


def _retire(ledger: store.Ledger, gone: set[str], now: datetime) -> list[store.Plan]:
    """The open plans of accounts that were in the ledger but not in this read of the source
    (only those few are read)."""
    return [
        dataclasses.replace(
            plan, status="done", next_due_at=None, reasons=(NOT_IN_SOURCE,), updated_at=now
        )
        for plan in ledger.plans_of(sorted(gone))
        if plan.status in ("due", "blocked")
    ]
