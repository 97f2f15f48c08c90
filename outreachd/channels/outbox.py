"""The outbox channel: appends each message as one JSON line to a file (demo and simulator).

Each line is written with a single write() and fsync'd before the receipt is returned, so a
line in the outbox means the message left, and the ledger row says the same.
"""

from __future__ import annotations

import json
import os
import time
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

    def send(self, envelope: Envelope) -> Receipt:
        """Append the message; the outcome is what a carrier would report on acceptance."""
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
        data = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.latency:
            time.sleep(self.latency)
        return Receipt(outcome=OUTCOMES.get(msg.channel, Outcome.UNKNOWN), provider_id=None)
