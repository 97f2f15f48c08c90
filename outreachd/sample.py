"""A deterministic demo portfolio in the canonical JSON-Lines account format (docs/sources.md).

About 60 % US (nine states, NYC included), 15 % UK and 25 % China; one or two debts per
borrower; varied consent; flags on about 10 % of borrowers. Numbers are valid for libphonenumber:
US numbers are in the fictional 555-0100..0199 block and UK landlines in Ofcom's drama ranges,
but UK mobiles (libphonenumber rejects the 07700 900xxx drama range) and Chinese mobiles may
belong to real people: never dispatch the sample through a live channel.

    python -m outreachd.sample OUT.jsonl [--borrowers N] [--seed S]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import phonenumbers

Row = dict[str, Any]
City = tuple[str, str, tuple[int, ...]]  # name, postal prefix, area codes
# state: (weight, zone, cities); FL and TX cities all lie in the state's main zone
US: dict[str, tuple[int, str, tuple[City, ...]]] = {
    "NY": (20, "America/New_York", (
        ("NYC", "100", (212, 646, 718, 917, 347)), ("NYC", "112", (718, 347)),
        ("Albany", "122", (518,)), ("Buffalo", "142", (716,)), ("Rochester", "146", (585,)))),
    "CA": (20, "America/Los_Angeles", (
        ("Los Angeles", "900", (213, 310, 323)), ("San Francisco", "941", (415, 628)),
        ("San Diego", "921", (619, 858)), ("Sacramento", "958", (916,)))),
    "TX": (16, "America/Chicago", (
        ("Houston", "770", (713, 281, 832)), ("Dallas", "752", (214, 469, 972)),
        ("Austin", "787", (512, 737)), ("San Antonio", "782", (210,)))),
    "FL": (14, "America/New_York", (
        ("Miami", "331", (305, 786)), ("Orlando", "328", (407, 321)),
        ("Tampa", "336", (813,)), ("Jacksonville", "322", (904,)))),
    "MA": (7, "America/New_York", (
        ("Boston", "021", (617, 857)), ("Worcester", "016", (508, 774)),
        ("Springfield", "011", (413,)))),
    "WA": (7, "America/Los_Angeles", (
        ("Seattle", "981", (206,)), ("Spokane", "992", (509,)), ("Tacoma", "984", (253,)))),
    "AZ": (6, "America/Phoenix", (("Phoenix", "850", (602, 480, 623)), ("Tucson", "857", (520,)))),
    "HI": (3, "Pacific/Honolulu", (("Honolulu", "968", (808,)),)),
    "IL": (7, "America/Chicago", (
        ("Chicago", "606", (312, 773, 872)), ("Springfield", "627", (217,)))),
}  # fmt: skip
# city: (postcode districts, drama-range landline prefix: +44 ... then 3 digits)
UK = {
    "London": (("E1", "N1", "SE1", "SW9", "W2"), "+442079460"),
    "Manchester": (("M1", "M14", "M20"), "+441614960"),
    "Birmingham": (("B1", "B15", "B29"), "+441214960"),
    "Leeds": (("LS1", "LS6", "LS11"), "+441134960"),
    "Glasgow": (("G1", "G12", "G41"), "+441414960"),
    "Bristol": (("BS1", "BS6", "BS8"), "+441174960"),
}
CN = {"北京": "100", "上海": "200", "广州": "510", "深圳": "518", "成都": "610", "杭州": "310",
      "武汉": "430"}  # fmt: skip
NAMES = {
    "US": (("Ana", "James", "Maria", "Michael", "Jennifer", "David", "Linda", "Robert", "Aisha",
            "Wei", "Priya", "Carlos", "Emily", "Daniel", "Sofia", "Kevin", "Grace", "Luis"),
           ("Ruiz", "Smith", "Johnson", "Garcia", "Williams", "Brown", "Nguyen", "Martinez", "Lee",
            "Patel", "Jackson", "Kim", "Rodriguez", "Davis", "Chen", "Lopez", "Wilson", "Moore")),
    "UK": (("Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Noah", "Emily",
            "Mohammed", "Sophie", "Callum", "Eilidh", "Rhys", "Niamh"),
           ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas",
            "Roberts", "Walker", "Wright", "Khan", "Patel", "Hughes", "Campbell", "Murphy")),
}  # fmt: skip
CN_GIVEN = (("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"),
            ("静", "jing"), ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"),
            ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao"),
            ("明", "ming"), ("超", "chao"), ("霞", "xia"))  # fmt: skip
CN_FAMILY = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
             ("杨", "yang"), ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"),
             ("徐", "xu"), ("孙", "sun"))  # fmt: skip
DEBTS = {
    "US": ("USD", ("Acme Bank", "Northwind Credit Union", "Contoso Card Services"),
           ("card", "personal_loan", "auto_loan")),
    "UK": ("GBP", ("Albion Bank", "Thistle Finance"),
           ("credit_card", "personal_loan", "overdraft")),
    "CN": ("CNY", ("示例消费金融有限公司", "样例银行信用卡中心"), ("consumer_loan", "credit_card")),
}  # fmt: skip
EMPLOYERS = ("northwind.example", "contoso.example", "fabrikam.example")
WINDOWS = (
    {"from": "12:00", "to": "14:00"},
    {"channels": ["call"], "from": "18:00", "to": "21:00"},
    {"channels": ["call", "sms"], "from": "08:00", "to": "10:00"},
)
OPT_OUTS = (["call"], ["sms"], ["email"], ["call", "sms"])
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def _valid(rng: random.Random, make: Callable[[random.Random], str]) -> str:
    """A number from `make` that libphonenumber accepts (retrying a few times)."""
    for _ in range(20):
        number = make(rng)
        if phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
            return number
    raise RuntimeError(f"no valid number from the pattern of {number}")  # data table bug


def _us_number(rng: random.Random, codes: Sequence[int]) -> str:
    return _valid(rng, lambda r: f"+1{r.choice(codes)}555{r.randint(100, 199):04d}")


def _us_borrower(rng: random.Random) -> tuple[Row, list[Row]]:
    states = list(US)
    state = rng.choices(states, weights=[US[s][0] for s in states])[0]
    _, zone, cities = US[state]
    city, zip3, codes = rng.choice(cities)
    postal_code = f"{zip3}{rng.randint(1, 99):02d}"
    residence: Row = {"country": "US", "state": state, "city": city, "postal_code": postal_code}
    residence["tz"] = zone
    if rng.random() < 0.04:
        del residence["tz"]  # state only: the engine infers the zone
    mobile_codes = codes
    if rng.random() < 0.05:  # moved: the mobile keeps an area code of another state
        other = rng.choice([s for s in states if s != state])
        mobile_codes = rng.choice(US[other][2])[2]
    consent = rng.random() < 0.8
    mobile: Row = {"id": "m1", "kind": "mobile", "number": _us_number(rng, mobile_codes)}
    mobile |= {"tcpa_consent": consent, "regf_text_ok": rng.random() < 0.7}
    if consent:
        mobile["rnd"] = "yes" if rng.random() < 0.02 else "no"
    if city == "NYC" and rng.random() < 0.3:
        mobile["nyc_written_consent"] = True
    phones = [mobile]
    if rng.random() < 0.3:
        phones.append({"id": "l1", "kind": "landline_home", "number": _us_number(rng, codes)})
    if rng.random() < 0.1:
        phones.append({"id": "w1", "kind": "work", "number": _us_number(rng, codes)})
    return residence, phones


def _uk_borrower(rng: random.Random) -> tuple[Row, list[Row]]:
    city = rng.choice(list(UK))
    districts, landline = UK[city]
    inward = f"{rng.randint(1, 9)}{''.join(rng.choices(POSTCODE_LETTERS, k=2))}"
    postal_code = f"{rng.choice(districts)} {inward}"
    residence = {"country": "UK", "city": city, "postal_code": postal_code, "tz": "Europe/London"}
    number = _valid(rng, lambda r: f"+4474001{r.randint(0, 99999):05d}")
    phones: list[Row] = [{"id": "m1", "kind": "mobile", "number": number}]
    if rng.random() < 0.3:
        number = _valid(rng, lambda r: f"{landline}{r.randint(0, 999):03d}")
        phones.append({"id": "l1", "kind": "landline_home", "number": number})
    return residence, phones


def _cn_borrower(rng: random.Random) -> tuple[Row, list[Row]]:
    city = rng.choice(list(CN))
    postal_code = f"{CN[city]}{rng.randint(0, 999):03d}"
    residence = {"country": "CN", "city": city, "postal_code": postal_code, "tz": "Asia/Shanghai"}
    number = _valid(rng, lambda r: f"+86138{r.randint(0, 99_999_999):08d}")
    return residence, [{"id": "m1", "kind": "mobile", "number": number}]


def _name(rng: random.Random, country: str) -> tuple[dict[str, str], str]:
    """The name and its ASCII spelling for e-mail addresses."""
    if country == "CN":
        (family, f_ascii), (given, g_ascii) = rng.choice(CN_FAMILY), rng.choice(CN_GIVEN)
        return {"given": given, "family": family}, f"{f_ascii}.{g_ascii}"
    given, family = (rng.choice(names) for names in NAMES[country])
    return {"given": given, "family": family}, f"{given}.{family}".lower()


def _emails(rng: random.Random, country: str, ascii_name: str) -> list[Row]:
    if rng.random() >= (0.6 if country == "CN" else 0.85):
        return []
    if rng.random() < 0.1:
        address = f"{ascii_name}@{rng.choice(EMPLOYERS)}"
        return [{"id": "e1", "kind": "employer", "address": address, "regf_procedure": "none"}]
    domain = rng.choice(("example.com", "example.net", "example.org"))
    procedure = rng.choices(("consumer_used", "consented", "none"), weights=(8, 1, 1))[0]
    address = f"{ascii_name}{rng.randint(1, 99)}@{domain}"
    return [{"id": "e1", "kind": "personal", "address": address, "regf_procedure": procedure}]


def _flags(rng: random.Random, country: str) -> Row:
    if rng.random() >= 0.1:
        return {}
    kinds = {
        "US": ("medium_opt_outs", "cease_written", "attorney_represented", "inconvenient_windows"),
        "UK": ("medium_opt_outs", "dispute_any_form", "inconvenient_windows", "breathing_space"),
        "CN": ("medium_opt_outs", "hardship", "promise_to_pay", "dispute_any_form"),
    }[country]
    flags: Row = {}
    for kind in rng.sample(kinds, k=rng.choice((1, 1, 2))):
        if kind == "medium_opt_outs":
            flags[kind] = list(rng.choice(OPT_OUTS))
        elif kind == "inconvenient_windows":
            flags[kind] = [dict(rng.choice(WINDOWS))]
        elif kind == "promise_to_pay":
            recorded = date(2026, 11, 20) + timedelta(days=rng.randint(0, 20))
            pay_by = recorded + timedelta(days=rng.randint(3, 21))
            flags[kind] = {"recorded_on": recorded.isoformat(), "pay_by": pay_by.isoformat()}
        else:
            flags[kind] = True
    return flags


def _debt(rng: random.Random, country: str) -> Row:
    currency, creditors, products = DEBTS[country]
    cents = round(math.exp(rng.uniform(math.log(50), math.log(20000))) * 100)
    return {
        "creditor": rng.choice(creditors),
        "balance": f"{cents // 100}.{cents % 100:02d}",
        "currency": currency,
        "days_past_due": rng.randint(1, 120),
        "product": rng.choice(products),
    }


def _rows(rng: random.Random, index: int) -> Iterator[Row]:
    draw = rng.random()
    country = "US" if draw < 0.6 else ("UK" if draw < 0.75 else "CN")
    make = {"US": _us_borrower, "UK": _uk_borrower, "CN": _cn_borrower}[country]
    residence, phones = make(rng)
    name, ascii_name = _name(rng, country)
    emails = _emails(rng, country, ascii_name)
    borrower = {"name": name, "residence": residence, "phones": phones, "emails": emails}
    borrower_id = f"{country}-{index:06d}"
    locale = {"US": "en-US", "UK": "en-GB", "CN": "zh-CN"}[country]
    flags = _flags(rng, country)
    for n in range(1, 3 if rng.random() < 0.3 else 2):
        row: Row = {"account_id": f"{borrower_id}-{n}", "borrower_id": borrower_id}
        row |= {"locale": locale, "borrower": copy.deepcopy(borrower)}
        row["debt"] = _debt(rng, country)
        if flags:
            row["flags"] = copy.deepcopy(flags)
        yield row


def generate(n_borrowers: int = 1000, seed: int = 7) -> Iterator[Row]:
    """Canonical account rows (one per debt) for `n_borrowers` borrowers; same seed, same rows."""
    rng = random.Random(seed)
    for index in range(1, n_borrowers + 1):
        yield from _rows(rng, index)


def write_jsonl(path: str | os.PathLike[str], n_borrowers: int = 1000, seed: int = 7) -> int:
    """Write the sample as JSON Lines (UTF-8); returns the number of rows written."""
    count = 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in generate(n_borrowers, seed):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m outreachd.sample OUT.jsonl [--borrowers N] [--seed S]`."""
    parser = argparse.ArgumentParser(prog="python -m outreachd.sample", description=__doc__)
    parser.add_argument("out", help="the JSON Lines file to write")
    parser.add_argument("--borrowers", type=int, default=1000, help="number of borrowers")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same file)")
    args = parser.parse_args(argv)
    rows = write_jsonl(args.out, args.borrowers, args.seed)
    print(f"wrote {rows} account rows for {args.borrowers} borrowers to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
