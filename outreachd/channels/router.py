"""Route each message to the channel configured for its kind (e-mail to SMTP, the rest to the
outbox, ...), keeping chunks together for channels that take a batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from outreachd.channels.base import BatchChannel, Channel, Envelope, Receipt
from outreachd.core import model


class Router:
    def __init__(self, routes: Mapping[model.Channel, Channel], default: Channel) -> None:
        self.routes, self.default = dict(routes), default

    def target(self, envelope: Envelope) -> Channel:
        return self.routes.get(envelope.message.channel, self.default)

    def send(self, envelope: Envelope) -> Receipt:
        return self.target(envelope).send(envelope)

    @property
    def instant(self) -> bool:
        """Every channel it routes to sends in no time (see Outbox.instant)."""
        targets = [*self.routes.values(), self.default]
        return all(getattr(t, "instant", False) for t in targets)

    def needs_validity(self, channel: model.Channel) -> bool:
        """Whether the channel carrying `channel` wants each send's lawful time left."""
        target = self.routes.get(channel, self.default)
        needs = getattr(target, "needs_validity", None)
        return bool(needs and needs(channel))

    def send_many(self, envelopes: Sequence[Envelope]) -> list[Receipt | Exception]:
        """Each target gets its envelopes (as one batch if it takes batches); the answers
        come back in the envelopes' order, an exception standing for its message."""
        groups: dict[int, tuple[Channel, list[int]]] = {}
        for i, envelope in enumerate(envelopes):
            target = self.target(envelope)
            groups.setdefault(id(target), (target, []))[1].append(i)
        out: list[Receipt | Exception | None] = [None] * len(envelopes)
        for target, indexes in groups.values():
            batch = [envelopes[i] for i in indexes]
            for i, answer in zip(indexes, deliver(target, batch), strict=True):
                out[i] = answer
        return [a if a is not None else RuntimeError("no answer") for a in out]


def deliver(target: Channel, batch: list[Envelope]) -> list[Receipt | Exception]:
    """Each envelope's receipt or the exception standing for it, in order; never raises."""
    if isinstance(target, BatchChannel):
        try:
            got = list(target.send_many(batch))
        except Exception as exc:  # the batch shares the fate
            return [exc] * len(batch)
        if len(got) == len(batch):
            return got
        return [RuntimeError(f"send_many gave {len(got)} results for {len(batch)}")] * len(batch)
    answers: list[Receipt | Exception] = []
    for envelope in batch:
        try:
            answers.append(target.send(envelope))
        except Exception as exc:
            answers.append(exc)
    return answers
