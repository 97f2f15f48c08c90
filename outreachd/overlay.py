"""Flags the daemon learned itself (a STOP reply, an operator's note, a provider's refusal),
laid over the flags the account source gives: the ledger can only add restrictions to the
source's, and withdraw its own.

Ledger flag rows name a field of core.model.Flags (SCENARIOS.md 2.3):
- a yes/no field (`cease_written`, `hardship`, ...) with value true or false: the effective
  value is the source's OR the ledger's latest;
- a set field (`medium_opt_outs`, `address_opt_outs`, `tcpa_revoked`) with value
  {"add": [...]} or {"remove": [...]}, applied in order; the result is unioned with the
  source's set (a START never lifts an opt-out the source holds).
`invalid_contact` ({"contact_id", "channel"}: a provider refused that address or number for
good) is not an account flag: the dispatcher never offers that contact point again.

The helpers below build the rows the daemon raises itself, so every writer (the channels,
the webhooks, the replies) says them the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from outreachd.core.model import Channel, Flags

BOOLEAN = frozenset(
    f.name for f in dataclasses.fields(Flags) if f.type in ("bool", bool)
)  # every yes/no field of Flags
SETS: Mapping[str, Any] = {
    "medium_opt_outs": Channel,  # values are channel names
    "address_opt_outs": str,  # "channel:contact_id"
    "tcpa_revoked": str,  # phone contact ids, or "all"
}
NAMES = BOOLEAN | SETS.keys()
INVALID_CONTACT = "invalid_contact"
DECIDING = NAMES | {INVALID_CONTACT}  # every ledger flag a decision reads


def opt_out(channel: str, contact_id: str, *, withdraw: bool = False) -> tuple[str, object]:
    """An opt-out of one channel at one contact point (a STOP), or its withdrawal (START)."""
    return "address_opt_outs", {"remove" if withdraw else "add": [f"{channel}:{contact_id}"]}


def invalid_contact(contact_id: str, channel: str) -> tuple[str, object]:
    """A contact point a provider refused for good."""
    return INVALID_CONTACT, {"contact_id": contact_id, "channel": channel}


def check(name: str, value: object) -> None:
    """ValueError unless (name, value) is a ledger flag this module understands."""
    if name in BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError(f"flag {name} takes true or false, not {value!r}")
        return
    if name in SETS:
        if not (isinstance(value, dict) and len(value) == 1 and {*value} <= {"add", "remove"}):
            raise ValueError(f'flag {name} takes {{"add": [...]}} or {{"remove": [...]}}')
        items = next(iter(value.values()))
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"flag {name}: a list of strings")
        if SETS[name] is Channel:
            for item in items:
                Channel(item)  # ValueError names the bad channel
        return
    raise ValueError(f"unknown flag {name!r}; one of {sorted(NAMES)}")


def overlay(source: Flags, learned: Iterable[tuple[str, object]]) -> Flags:
    """The source's flags with the ledger's (name, value) rows applied, oldest first."""
    booleans: dict[str, bool] = {}
    added: dict[str, set[str]] = {name: set() for name in SETS}
    for name, value in learned:
        if name in BOOLEAN and isinstance(value, bool):
            booleans[name] = value
        elif name in SETS and isinstance(value, dict):
            listed = value.get("add") if "add" in value else value.get("remove")
            items = {str(i) for i in listed or ()}
            if "add" in value:
                added[name] |= items
            else:
                added[name] -= items
    changes: dict[str, object] = {
        name: True for name, on in booleans.items() if on and not getattr(source, name)
    }
    for name, items in added.items():
        if items:
            kind = SETS[name]
            extra = {kind(i) for i in items} if kind is Channel else items
            changes[name] = frozenset(getattr(source, name)) | extra
    return dataclasses.replace(source, **changes) if changes else source  # type: ignore[arg-type]
