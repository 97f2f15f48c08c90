"""The outbox channel: appends each message as one JSON line to a file (demo and simulator).

Each line is written whole and fsync'd before the receipt is returned (a chunk of lines with
one write and one fsync), so a line in the outbox means the message left, and the ledger row
says the same.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from outreachd.channels.base import Envelope, Receipt
from outreachd.core.model import Channel, Outcome

OUTCOMES = {Channel.SMS: Outcome.SMS_SENT, Channel.EMAIL: Outcome.EMAIL_SENT}


class Outbox:
    def __init__(self, path: Path, latency: float = 0.0) -> None:
        """`latency` seconds pass after the write before the receipt, like a provider that has
        accepted a message but not answered yet (for fault tests and the simulator)."""
        self.path, self.latency = path, latency
        path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def instant(self) -> bool:
        """Sends take no time (no latency set): the dispatcher may decide a whole claimed
        batch before sending it, as nothing it decides can go stale while it is sent."""
        return not self.latency

    def send(self, envelope: Envelope) -> Receipt:
        """Append the message; the outcome is what a carrier would report on acceptance."""
        (receipt,) = self._append([envelope])
        if self.latency:
            time.sleep(self.latency)
        return receipt

    def send_many(self, envelopes: Sequence[Envelope]) -> list[Receipt | Exception]:
        """Append the messages with one write and one fsync (each line is still one whole
        message); with a latency, one by one like a provider."""
        if self.latency:
            return [self.send(envelope) for envelope in envelopes]
        return list(self._append(envelopes))

    def _append(self, envelopes: Sequence[Envelope]) -> list[Receipt]:
        data = b"".join(_line(envelope) for envelope in envelopes)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        return [
            Receipt(outcome=OUTCOMES.get(e.message.channel, Outcome.UNKNOWN), provider_id=None)
            for e in envelopes
        ]


def _line(envelope: Envelope) -> bytes:
    msg = envelope.message
    line = {
        "attempt_id": envelope.attempt_id,
        "account_id": envelope.account_id,
        "borrower_id": envelope.borrower_id,
        "debts": list(envelope.debts),
        "channel": msg.channel.value,
        "contact_id": envelope.contact_id,
        "address": envelope.address,
        "sent_at": envelope.sent_at.isoformat().replace("+00:00", "Z"),
        "template_id": msg.template_id,
        "locale": msg.locale,
        "subject": msg.subject,
        "body": msg.body,
    }
    if msg.channel is Channel.CALL:  # what a call would say to whom (see twilio_voice)
        line |= {"greeting": msg.greeting, "voicemail": msg.voicemail}
    return (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode()
