"""The outbox channel: appends each message as one JSON line to a file (demo and simulator).

Each line is written with a single write() and fsync'd before the receipt is returned, so a
line in the outbox means the message left, and the ledger row says the same.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from outreachd.channels.base import Envelope, Receipt
from outreachd.core.model import Channel, Outcome

OUTCOMES = {Channel.SMS: Outcome.SMS_SENT, Channel.EMAIL: Outcome.EMAIL_SENT}


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
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
        return Receipt(outcome=OUTCOMES.get(msg.channel, Outcome.UNKNOWN), provider_id=None)
