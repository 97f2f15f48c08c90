"""Fuzzed inputs never crash the daemon: an account row is a record or a rejection with its
field and reason; a JSONL or CSV file of garbage lines rejects those lines and keeps the good
ones; a YAML config or scenario file is valid or a YamlError naming file:line:col; a reply is
read into one of the eleven classes. (Webhook bodies are fuzzed over HTTP in
tests/integration/test_webhooks.py.)"""

from __future__ import annotations

import csv
import json
import string
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreachd import config, replies, scenarios, yamlio
from outreachd.sources import records
from outreachd.sources.base import AccountRecord, Rejected
from outreachd.sources.csv_file import COLUMNS, CsvSource
from outreachd.sources.jsonl import JsonlSource
from tests.conftest import REPO
from tests.integration.test_dispatch import cn_row

TODAY = date(2026, 12, 1)  # the (UTC) day the sources are read on

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
GOOD = cn_row(1, 1)
GOOD_FLAT = {  # the same kind of borrower as a flat CSV row (docs/sources.md)
    "account_id": "CSV-1", "borrower_id": "B-CSV-1", "given_name": "Wei", "family_name": "Li",
    "country": "CN", "tz": "Asia/Shanghai", "mobile": "+8613800138000", "creditor": "示例",
    "balance": "100.50", "currency": "CNY", "days_past_due": "30",
}  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


PATHS = [p for p in _paths(GOOD) if p]


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)  # type: ignore[index]
    return copy


@FUZZ
@given(path=st.sampled_from(PATHS), new=json_values)
def test_a_mutated_row_is_a_record_or_a_rejection(path: tuple[Any, ...], new: Any) -> None:
    """Any one field of a good row replaced by anything: a record, or a rejection that names
    a field and a reason; never an exception."""
    result = records.parse(_replace(GOOD, path, new), 7, TODAY)
    assert isinstance(result, AccountRecord | Rejected)
    if isinstance(result, Rejected):
        assert result.row == 7 and result.reason


@FUZZ
@given(value=json_values)
def test_any_json_value_is_a_record_or_a_rejection(value: Any) -> None:
    assert isinstance(records.parse(value, 1, TODAY), AccountRecord | Rejected)


@FUZZ
@given(lines=st.lists(st.binary(max_size=60) | st.text(max_size=60).map(str.encode), max_size=6))
def test_garbage_lines_are_rejected_and_good_ones_kept(
    tmp_path_factory: Any, lines: list[bytes]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "portfolio.jsonl"
    good = json.dumps(GOOD, ensure_ascii=False).encode()
    body = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    path.write_bytes(b"\n".join([*body, good]) + b"\n")
    got = list(JsonlSource(path).read(TODAY))
    assert all(isinstance(x, AccountRecord | Rejected) for x in got)
    assert any(isinstance(x, AccountRecord) and x.account_id == GOOD["account_id"] for x in got)


@FUZZ
@given(cells=st.lists(st.text(alphabet=string.printable, max_size=12), max_size=len(COLUMNS)))
def test_a_garbage_csv_row_is_rejected_and_the_next_kept(
    tmp_path_factory: Any, cells: list[str]
) -> None:
    """A row of junk under the documented header: rejected with its reason; the good row after
    it is still read."""
    path = tmp_path_factory.mktemp("fuzz") / "portfolio.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        out.writerow(cells)
        out.writerow([GOOD_FLAT.get(c, "") for c in COLUMNS])
    got = list(CsvSource(path).read(TODAY))
    assert all(isinstance(x, AccountRecord | Rejected) for x in got)
    assert isinstance(got[-1], AccountRecord), got[-1]


yaml_text = st.text(alphabet=string.printable + "：【】é", max_size=200)


@FUZZ
@given(text=yaml_text)
def test_any_config_text_is_a_config_or_a_located_error(tmp_path_factory: Any, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "outreachd.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        config.load(path, env={})
    except yamlio.YamlError as exc:
        assert exc.problems and all(p.line >= 1 and p.col >= 1 for p in exc.problems)
        assert str(path) in str(exc)


@FUZZ
@given(text=yaml_text)
def test_any_scenario_text_is_scenarios_or_a_located_error(
    tmp_path_factory: Any, text: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "scenarios.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        scenarios.load_files([path])
    except yamlio.YamlError as exc:
        assert exc.problems and all(p.line >= 1 for p in exc.problems)


READINGS = replies.load(REPO / "config" / "replies.yaml")


@FUZZ
@given(text=st.text(max_size=120), locale=st.sampled_from([None, "en-US", "zh-CN"]))
def test_any_reply_is_read_into_one_class(text: str, locale: str | None) -> None:
    reading = READINGS.read(text, locale)
    assert reading.cls in replies.PRECEDENCE or reading.cls == "other"
    assert reading.cls in reading.found


def test_the_fuzz_row_is_good() -> None:
    assert isinstance(records.parse(GOOD, 1, TODAY), AccountRecord)
    assert Path(REPO / "config" / "replies.yaml").exists()
