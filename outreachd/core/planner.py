"""Channel choice: which of a step's candidate contacts to make, and when (pure).

The candidates come in the operator's preference order (channel first, then contact point).
The first one allowed now wins; otherwise the one whose earliest lawful instant is soonest
(ties keep preference order); if every candidate is blocked, the step is blocked with the
reasons of all of them.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from outreachd.core import decide as core
from outreachd.core.model import Account, Attempt, Channel, Dialer, Event, Purpose, TemplateMeta

NO_CONTACT_POINT = "NO-CONTACT-POINT"
VALIDITY_LIMIT = timedelta(hours=1)  # how far ahead a send's lawful time is looked at


@dataclass(frozen=True, kw_only=True, slots=True)
class Option:
    """One way to make the step's contact: a channel, a contact point and its message."""

    channel: Channel
    contact_id: str
    template: str  # template id
    meta: TemplateMeta
    dialer: Dialer = Dialer.MANUAL  # how a call is placed (a text-to-speech call: prerecorded)
    purpose: Purpose = Purpose.COLLECTION  # a receipt is transactional


@dataclass(frozen=True, kw_only=True, slots=True)
class Choice:
    option: Option | None  # None when every option is blocked (or there is none)
    decision: core.Decision
    considered: tuple[tuple[Option, core.Decision], ...]


def choose(
    account: Account,
    debts: tuple[str, ...],
    history: Sequence[Event],
    options: Iterable[Option],
    *,
    at: datetime,
    policy: core.Policy,
    validity: Container[Channel] = (),
) -> Choice:
    """The option to use at or after `at`, with the decision that made it. An allowed
    option on a channel in `validity` also says how long it stays lawful (up to an hour:
    Allow.valid_for, see core.allowed_for)."""
    done: list[tuple[Option, core.Decision]] = []
    for option in options:  # lazily: options after the first allowed are never built
        limit = VALIDITY_LIMIT if option.channel in validity else None
        attempt = _attempt(option, debts)
        decision = core.decide(account, history, attempt, at, policy, validity=limit)
        done.append((option, decision))
        if isinstance(decision, core.Allow):
            return Choice(option=option, decision=decision, considered=tuple(done))
    results = tuple(done)
    deferred = [(o, d) for o, d in results if isinstance(d, core.Defer)]
    if deferred:
        option, decision = min(deferred, key=lambda od: od[1].until)
        return Choice(option=option, decision=decision, considered=results)
    return Choice(option=None, decision=_all_blocked(results), considered=results)


def _attempt(option: Option, debts: tuple[str, ...]) -> Attempt:
    return Attempt(
        channel=option.channel, to=option.contact_id, dialer=option.dialer, debts=debts,
        template=option.meta, purpose=option.purpose,
    )  # fmt: skip


def _all_blocked(results: tuple[tuple[Option, core.Decision], ...]) -> core.Block:
    if not results:
        facts = core.Facts(primary_zone="", candidate_zones=(), packs=())
        return core.Block(reasons=(NO_CONTACT_POINT,), facts=facts)
    reasons = dict.fromkeys(r for _, d in results for r in getattr(d, "reasons", ()))
    return core.Block(reasons=tuple(reasons), facts=results[0][1].facts)
