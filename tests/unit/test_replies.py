"""Reading a borrower's reply with the shipped config/replies.yaml: every class, the
precedence between intents, negations and look-alikes, in English and Chinese."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from outreachd import replies
from tests.conftest import REPO

READ = replies.load(REPO / "config" / "replies.yaml")


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("STOP", "stop"), ("stop.", "stop"), ("Unsubscribe", "stop"), ("退订", "stop"),
        ("TD", "stop"), ("please don't text me again", "stop"), ("START", "start"),
        ("HELP", "help"), ("帮助", "help"),
        ("I lost my job", "hardship"), ("我住院了", "hardship"), ("生病了", "hardship"),
        ("this is not my debt", "dispute"), ("不是我的", "dispute"), ("我有异议", "dispute"),
        ("stop calling me", "cease"), ("do not contact me again", "cease"),
        ("不要再打了", "cease"), ("my attorney handles this", "attorney"),
        ("wrong number", "wrong_number"), ("打错了", "wrong_number"),
        ("I'll pay Friday", "promise_to_pay"), ("我下周五还", "promise_to_pay"),
        ("I already paid", "paid"), ("已经还了", "paid"), ("thanks", "other"),
    ],
)  # fmt: skip
def test_each_class(text: str, cls: str) -> None:
    assert READ.read(text).cls == cls


@pytest.mark.parametrize(
    ("text", "cls", "found"),
    [
        ("stop texting me, I lost my job", "stop", ("stop", "hardship")),
        ("my lawyer says stop texting", "attorney", ("attorney", "stop")),
        ("not my debt, stop calling", "cease", ("cease", "dispute")),
        ("wrong number, stop texting", "wrong_number", ("wrong_number", "stop")),
        ("I'll pay friday, I lost my job", "hardship", ("hardship", "promise_to_pay")),
    ],
)
def test_the_intent_that_restricts_contact_more_wins(
    text: str, cls: str, found: tuple[str, ...]
) -> None:
    reading = READ.read(text)
    assert (reading.cls, reading.found) == (cls, found)


@pytest.mark.parametrize(
    "text",
    ["I'm not trying to stop paying", "我没有律师", "I have no lawyer", "end of the month",
     "I don't want to dispute anything", "help is on the way, paying soon"],
)  # fmt: skip
def test_negations_and_look_alikes_are_not_their_class(text: str) -> None:
    """A keyword counts only as the whole message; a phrase negated in its clause does not."""
    assert READ.read(text).cls not in ("stop", "attorney", "dispute", "help", "cease")


def test_answers_come_in_the_language_of_the_reply() -> None:
    assert "unsubscribed" in (READ.reply_text(READ.read("STOP")) or "")
    assert "退订" in (READ.reply_text(READ.read("退订")) or "")
    assert READ.reply_text(READ.read("I lost my job")) is None


def test_classify_command(tmp_path: object) -> None:
    """`outreachd replies classify -`: one JSON line per reply with its class and match;
    a malformed line is reported with its number and the exit status is 2."""
    lines = [json.dumps({"text": "我下周五还", "locale": "zh-CN"}), json.dumps({"text": "STOP"}),
             "not json"]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "outreachd.cli", "replies", "classify", "-"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [(o["class"], o["matched"], o["locale"]) for o in out] == [
        ("promise_to_pay", "我下周五还", "zh-CN"), ("stop", "STOP", "en-US"),
    ]  # fmt: skip
    assert proc.returncode == 2 and "-:3: JSONDecodeError" in proc.stderr
