"""The content lint, one planted bad template per rule: each is refused with its file and the
line that holds the problem; the shipped templates pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from outreachd import lint, messages
from outreachd.config import CompanyIn
from outreachd.render import Renderer
from tests.conftest import REPO

SPEC = lint.load()
COMPANIES = {
    "en-US": CompanyIn(name="Acme Servicing", callback="1-800-555-0100", license="10012-99"),
    "en-GB": CompanyIn(name="Acme Finance", callback="0800 555 0100"),
    "zh-CN": CompanyIn(name="某某银行", callback="95555", signature="某某银行"),
}
VALUES = {loc: {**messages._SAMPLE, **messages._worst_case(c, loc)} for loc, c in COMPANIES.items()}


def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(REPO / "templates", root)
    return root


def problems(root: Path) -> list[str]:
    return lint.check(Renderer(root), SPEC, VALUES)


def plant(root: Path, template_id: str, text: str) -> Path:
    path = root / f"{template_id}.txt.j2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


US_SMS = """{#- outreachd:
class: collection
channel: sms
has_opt_out: true
has_dc_disclosure: true
variables: [given_name, company, amount]
-#}
"""


def test_the_shipped_templates_pass(tmp_path: Path) -> None:
    assert problems(templates(tmp_path)) == []


@pytest.mark.parametrize(
    ("body", "line", "says"),
    [
        # no opt-out statement in a US SMS
        (
            "Hi {{ given_name }}, {{ company }}, a debt collector: {{ amount }} is due.",
            8,
            "missing an opt-out statement (required for en-US sms)",
        ),
        # no debt-collector disclosure
        (
            "Hi {{ given_name }}, {{ company }} here: {{ amount }} is due. Reply STOP to opt out.",
            8,
            "missing the debt-collector disclosure",
        ),
        # a banned phrase, on the second line of the body
        (
            "Hi {{ given_name }}, {{ company }}, a debt collector.\nPay {{ amount }} or we call the"
            " police. Reply STOP to opt out.",
            9,
            "banned phrase 'police'",
        ),
        # a lawsuit mentioned without declaring it
        (
            "{{ company }}, a debt collector: pay {{ amount }} or face a lawsuit. Reply STOP to opt"
            " out.",
            8,
            "mentions a lawsuit ('lawsuit') but does not declare threatens_suit",
        ),
        # three segments with worst-case values (budget 2)
        (
            "{{ company }}, a debt collector. "
            + "We are here to help you. " * 12
            + "Reply STOP to opt out.",
            8,
            "3 GSM-7 segments",
        ),
    ],
    ids=["no-opt-out", "no-disclosure", "banned", "suit", "segments"],
)
def test_a_bad_us_sms_is_refused_at_its_line(
    tmp_path: Path, body: str, line: int, says: str
) -> None:
    root = templates(tmp_path)
    path = plant(root, "en-US/sms/first_reminder", US_SMS + body + "\n")
    (problem,) = problems(root)
    assert problem.startswith(f"{path}:{line}:1: "), problem
    assert says in problem


def test_a_declared_fact_the_text_does_not_bear_out(tmp_path: Path) -> None:
    """en-GB does not require an opt-out statement, but a template that says it has one must."""
    root = templates(tmp_path)
    path = plant(
        root,
        "en-GB/sms/first_reminder",
        """{#- outreachd:
class: collection
channel: sms
has_opt_out: true
-#}
Hi {{ given_name }}, {{ company }} here. Call {{ callback }}.
""",
    )
    (problem,) = problems(root)
    assert problem.startswith(f"{path}:4:1: ") and "declares has_opt_out: true" in problem


def test_a_china_sms_needs_its_signature_and_one_segment(tmp_path: Path) -> None:
    root = templates(tmp_path)
    head = "{#- outreachd:\nclass: collection\nchannel: sms\n-#}\n"
    path = plant(root, "zh-CN/sms/first_reminder", head + "尊敬的客户您好，请致电{{ hotline }}。\n")
    (problem,) = problems(root)
    assert problem.startswith(f"{path}:5:1: ") and "【signature】" in problem
    long = (
        "【{{ signature }}】尊敬的客户您好，"
        + "我们愿意和您一起想办法，" * 5
        + "请致电{{ hotline }}。\n"
    )
    plant(root, "zh-CN/sms/first_reminder", head + long)
    (problem,) = problems(root)
    assert "UCS-2 segments" in problem and "the budget is 1" in problem


def test_a_call_that_names_the_debt_before_anyone_is_identified(tmp_path: Path) -> None:
    """The greeting and the voicemail are heard by whoever answers: no debt in either."""
    root = templates(tmp_path)
    source = (root / "en-US/call/first_reminder.txt.j2").read_text(encoding="utf-8")
    bad = source.replace(
        'voicemail: "Hello, this message is for', 'voicemail: "About your debt: this is for'
    )
    assert bad != source
    path = plant(root, "en-US/call/first_reminder", bad)
    (problem,) = problems(root)
    line = 1 + bad.splitlines().index(
        next(x for x in bad.splitlines() if x.startswith("voicemail:"))
    )
    assert problem.startswith(f"{path}:{line}:1: ") and "the voicemail says 'debt'" in problem


def test_a_final_notice_may_mention_a_suit_when_it_says_so(tmp_path: Path) -> None:
    root = templates(tmp_path)
    plant(root, "en-US/sms/final_notice", US_SMS.replace("variables", "threatens_suit: true\n"
          "variables") + "{{ company }}, a debt collector: we may take legal action about "
          "{{ amount }}. Reply STOP to opt out.\n")  # fmt: skip
    assert problems(root) == []


def test_words_count_only_whole() -> None:
    assert lint.find("you need not feel ashamed", "shame") == -1
    assert lint.find("Acme Collections", "collect") == -1
    assert lint.find("we collect", "collect") == 3
    assert lint.find("欠款", "欠") == 0
    assert lint.find("owe $5", "$") == 4


def test_an_opt_out_confirmation_says_nothing_but_the_confirmation(tmp_path: Path) -> None:
    """12 CFR 1006.14(h): the one confirmation of an opt-out carries nothing else. It needs no
    opt-out statement or disclosure (the packs exempt its class), but may not name a debt;
    China's 【signature】 is still required."""
    root = templates(tmp_path)
    head = "{#- outreachd:\nclass: opt_out_confirmation\nchannel: sms\n-#}\n"
    plant(root, "en-US/sms/opt_out_confirmation", head + "{{ company }}: no more texts.\n")
    assert problems(root) == []
    path = plant(
        root, "en-US/sms/opt_out_confirmation",
        head + "{{ company }}: no more texts.\nYour balance is {{ amount }}.\n",
    )  # fmt: skip
    (problem,) = problems(root)
    assert problem.startswith(f"{path}:6:1: ") and "nothing but the confirmation" in problem
    assert "'balance'" in problem
    plant(root, "en-US/sms/opt_out_confirmation", head + "{{ company }}: no more texts.\n")
    path = plant(root, "zh-CN/sms/opt_out_confirmation", head + "您已退订。\n")
    (problem,) = problems(root)
    assert problem.startswith(f"{path}:5:1: ") and "【signature】" in problem


def test_a_declared_license_number_is_in_the_text(tmp_path: Path) -> None:
    """The packs believe `ca_license_number: true`: with a license configured, the text must
    give it (four shipped SMS templates once declared it and did not)."""
    root = templates(tmp_path)
    head = US_SMS.replace(
        "has_dc_disclosure: true\n", "has_dc_disclosure: true\nca_license_number: true\n"
    )
    body = "{{ company }}, a debt collector: {{ amount }}. Reply STOP to opt out.\n"
    path = plant(root, "en-US/sms/first_reminder", head + body)
    (problem,) = problems(root)
    assert problem.startswith(f"{path}:6:1: ") and "does not give the license number" in problem
    with_license = body.replace(
        " Reply", "{% if license %} CA lic. {{ license }}.{% endif %} Reply"
    )
    plant(root, "en-US/sms/first_reminder", head + with_license)
    assert problems(root) == []


def test_names_are_all_a_shipped_template_needs() -> None:
    """Renderer.names finds every variable each shipped template uses (the dispatcher
    computes only those): rendering with just them gives the same message, and a template
    that prints the instalment offer names its figures."""
    renderer = Renderer(REPO / "templates")
    ids = sorted(
        str(p.relative_to(REPO / "templates")).removesuffix(".txt.j2")
        for p in (REPO / "templates").rglob("*.txt.j2")
    )
    assert len(ids) > 60
    offers = 0
    for tid in ids:
        values = VALUES[tid.split("/", 1)[0]]
        names = renderer.names(tid)
        only = {k: v for k, v in values.items() if k in names}
        assert renderer.render(tid, only) == renderer.render(tid, values), tid
        offers += bool(names & messages._OFFER)
    assert offers >= 3  # the instalment and hardship offers print them
