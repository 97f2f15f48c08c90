"""Tests for outreachd.sample: the deterministic demo portfolio."""

from __future__ import annotations

import collections
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from outreachd import sample
from outreachd.sources.base import AccountRecord, Rejected
from outreachd.sources.jsonl import JsonlSource

TODAY = date(2026, 12, 1)  # the (UTC) day the sources are read on


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    """The sample for 2,000 borrowers with the default seed."""
    return list(sample.generate(2000))


def test_same_seed_same_rows() -> None:
    """The same seed gives the same rows; another seed gives other rows."""
    assert list(sample.generate(300, seed=3)) == list(sample.generate(300, seed=3))
    assert list(sample.generate(300, seed=3)) != list(sample.generate(300, seed=4))


def test_write_jsonl_is_byte_identical(tmp_path: Path) -> None:
    """Two writes with the same seed give the same bytes and report the row count."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    count = sample.write_jsonl(a, 200, seed=11)
    assert sample.write_jsonl(b, 200, seed=11) == count
    assert a.read_bytes() == b.read_bytes()
    assert len(a.read_text(encoding="utf-8").splitlines()) == count


def test_every_row_parses(tmp_path: Path) -> None:
    """Every generated row of the default sample is accepted by the JSON Lines source."""
    path = tmp_path / "sample.jsonl"
    count = sample.write_jsonl(path)
    items = list(JsonlSource(path).read(TODAY))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert rejected == []
    assert len(items) == count
    assert all(isinstance(i, AccountRecord) for i in items)


def test_country_mix(rows: list[dict[str, Any]]) -> None:
    """About 60 % of borrowers are in the US, 15 % in the UK and 25 % in China."""
    countries = {r["borrower_id"]: r["borrower"]["residence"]["country"] for r in rows}
    share = collections.Counter(countries.values())
    total = len(countries)
    assert total == 2000
    assert abs(share["US"] / total - 0.60) < 0.04
    assert abs(share["UK"] / total - 0.15) < 0.03
    assert abs(share["CN"] / total - 0.25) < 0.03


def test_flag_share_and_vocabulary(rows: list[dict[str, Any]]) -> None:
    """About 10 % of rows carry flags, each kind only in the countries it belongs to."""
    flagged = [r for r in rows if r.get("flags")]
    assert 0.07 < len(flagged) / len(rows) < 0.13
    kinds = collections.defaultdict(set)
    for r in flagged:
        for kind in r["flags"]:
            kinds[kind].add(r["borrower"]["residence"]["country"])
    assert kinds["breathing_space"] == {"UK"}
    assert kinds["hardship"] == kinds["promise_to_pay"] == {"CN"}
    assert {"medium_opt_outs", "cease_written", "attorney_represented"} <= set(kinds)
    assert {"dispute_any_form", "inconvenient_windows"} <= set(kinds)


def test_debts_and_ids(rows: list[dict[str, Any]]) -> None:
    """One or two debts per borrower with ids <borrower>-1/-2, in range amounts and ages."""
    per_borrower = collections.Counter(r["borrower_id"] for r in rows)
    assert set(per_borrower.values()) == {1, 2}
    for r in rows:
        assert re.fullmatch(rf"{r['borrower_id']}-[12]", r["account_id"])
        assert 1 <= r["debt"]["days_past_due"] <= 120
        assert 50 <= float(r["debt"]["balance"]) <= 20000
        assert re.fullmatch(r"\d+\.\d\d", r["debt"]["balance"])


def test_variety_for_the_engine(rows: list[dict[str, Any]]) -> None:
    """Some US rows lack a residence zone or TCPA consent; NYC and every state appear."""
    us = [r for r in rows if r["borrower"]["residence"]["country"] == "US"]
    residences = [r["borrower"]["residence"] for r in us]
    assert 0 < sum("tz" not in x for x in residences) < 0.1 * len(us)
    assert {x["state"] for x in residences} == set(sample.US)
    assert any(x["city"] == "NYC" for x in residences)
    mobiles = [r["borrower"]["phones"][0] for r in us]
    assert 0 < sum(not m["tcpa_consent"] for m in mobiles) < 0.5 * len(us)
    assert 0 < sum(not m["regf_text_ok"] for m in mobiles) < 0.5 * len(us)
    kinds = collections.Counter(e["kind"] for r in rows for e in r["borrower"]["emails"])
    assert kinds["personal"] > 5 * kinds["employer"] > 0


def test_locale_names(rows: list[dict[str, Any]]) -> None:
    """Chinese borrowers have Chinese names and the zh-CN locale."""
    cn = [r for r in rows if r["borrower"]["residence"]["country"] == "CN"]
    assert all(r["locale"] == "zh-CN" for r in cn)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]+", r["borrower"]["name"]["family"]) for r in cn)


def test_cli_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m outreachd.sample OUT --borrowers N --seed S` writes the same file as the API."""
    out = tmp_path / "cli.jsonl"
    assert sample.main([str(out), "--borrowers", "50", "--seed", "5"]) == 0
    sample.write_jsonl(tmp_path / "api.jsonl", 50, seed=5)
    assert out.read_bytes() == (tmp_path / "api.jsonl").read_bytes()
    assert "50 borrowers" in capsys.readouterr().out
