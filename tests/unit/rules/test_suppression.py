"""Rule kind `suppression`: account flags that block (SCENARIOS.md 2.3, 4.2, 7).

A block lists every failing static rule and wins over any time rule. Template-class
exceptions let the one permitted message through; China flags marked "collection only" do
not affect purpose transactional or locate. Hand-computed from SCENARIOS.md section 7.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, NY, row, want

NYB, UKB, CNB = k.us("NY", NY), k.uk(), k.cn()
F = k.flags


def att(channel: str, to: str, cls: str = "collection", **kw: object) -> k.Attempt:
    return k.attempt(channel, to, tpl={"cls": cls}, **kw)


def blk(*ids: str) -> k.Result:
    return want("block", None, *ids)


CALL, SMS, MAIL = att("call", "m1"), att("sms", "m1"), att("email", "e1")
T = "2026-06-02T10:00"
US_ROWS = [
    row("cease-call", NYB, CALL, T, blk("CEASE-WRITTEN"), flags=F(cease_written=True)),
    row("cease-exception-email", NYB, att("email", "e1", "cease_exception"), T, ALLOW,
        flags=F(cease_written=True)),
    row("cease-at-23:00-blocks-not-defers", NYB, CALL, "2026-06-02T23:00", blk("CEASE-WRITTEN"),
        flags=F(cease_written=True)),
    row("cease-first-party-not-fdcpa", NYB, CALL, T, ALLOW, collector=k.FIRST,
        flags=F(cease_written=True)),
    row("attorney-sms", NYB, SMS, T, blk("ATTORNEY"), flags=F(attorney_represented=True)),
    row("attorney-spouse", NYB, att("call", "s1"), T, blk("ATTORNEY"),
        flags=F(attorney_represented=True)),
    row("written-dispute", NYB, CALL, T, blk("DISPUTE-WRITTEN-IN-VALIDATION-PERIOD"),
        flags=F(written_dispute_pending=True)),
    row("written-dispute-verification", NYB, att("email", "e1", "verification"), T, ALLOW,
        flags=F(written_dispute_pending=True)),
    row("oc-request", NYB, MAIL, T, blk("OC-INFO-REQUEST-PENDING"),
        flags=F(original_creditor_request_pending=True)),
    row("oc-request-answer", NYB, att("email", "e1", "original_creditor_info"), T, ALLOW,
        flags=F(original_creditor_request_pending=True)),
    row("oc-request-verification-not-exempt", NYB, att("email", "e1", "verification"), T,
        blk("OC-INFO-REQUEST-PENDING"), flags=F(original_creditor_request_pending=True)),
    row("medium-call", NYB, CALL, T, blk("MEDIUM-OPT-OUT"), flags=F(medium_opt_outs=["call"])),
    row("medium-call-covers-voicemail", NYB, att("voicemail", "m1"), T, blk("MEDIUM-OPT-OUT"),
        flags=F(medium_opt_outs=["call"])),
    row("medium-call-sms-free", NYB, SMS, T, ALLOW, flags=F(medium_opt_outs=["call"])),
    row("medium-sms-confirmation", NYB, att("sms", "m1", "opt_out_confirmation"), T, ALLOW,
        flags=F(medium_opt_outs=["sms"])),
    row("address-sms-m1", NYB, SMS, T, blk("ADDRESS-OPT-OUT"),
        flags=F(address_opt_outs=["sms:m1"])),
    row("address-sms-m1-call-free", NYB, CALL, T, ALLOW, flags=F(address_opt_outs=["sms:m1"])),
    row("address-email-e1", NYB, MAIL, T, blk("ADDRESS-OPT-OUT"),
        flags=F(address_opt_outs=["email:e1"])),
    row("address-confirmation", NYB, att("email", "e1", "opt_out_confirmation"), T, ALLOW,
        flags=F(address_opt_outs=["email:e1"])),
    row("workplace-work-phone", NYB, att("call", "w1"), T, blk("WORKPLACE"),
        flags=F(employer_prohibits=True)),
    row("workplace-employer-email", NYB, att("email", "e3"), T, blk("WORKPLACE"),
        flags=F(employer_prohibits=True)),
    row("workplace-mobile-free", NYB, CALL, T, ALLOW, flags=F(employer_prohibits=True)),
    row("bankruptcy-first-party", NYB, MAIL, T, blk("BANKRUPTCY-STAY"), collector=k.FIRST,
        flags=F(bankruptcy_filed=True)),
    row("oral-dispute-suppresses-nothing", NYB, CALL, T, ALLOW, flags=F(oral_dispute=True)),
    row("every-failing-id", NYB, CALL, T, blk("CEASE-WRITTEN", "BANKRUPTCY-STAY", "MEDIUM-OPT-OUT"),
        flags=F(cease_written=True, bankruptcy_filed=True, medium_opt_outs=["call"])),
]  # fmt: skip

UK = {"collector": k.UKF}
UK_ROWS = [
    row("uk-breathing-space", UKB, CALL, T, blk("UK-BREATHING-SPACE"), **UK,
        flags=F(breathing_space=True)),
    row("uk-dispute", UKB, SMS, T, blk("UK-DISPUTE"), **UK, flags=F(dispute_any_form=True)),
    row("uk-dispute-verification", UKB, att("email", "e1", "verification"), T, ALLOW, **UK,
        flags=F(dispute_any_form=True)),
    row("uk-mental-capacity", UKB, MAIL, T, blk("UK-MENTAL-CAPACITY"), **UK,
        flags=F(mental_capacity_concern=True)),
    row("uk-vulnerable", UKB, CALL, T, blk("UK-VULNERABLE-ROUTE"), **UK, flags=F(vulnerable=True)),
    row("uk-both-at-night", UKB, CALL, "2026-06-02T23:00",
        blk("UK-MENTAL-CAPACITY", "UK-VULNERABLE-ROUTE"), **UK,
        flags=F(vulnerable=True, mental_capacity_concern=True)),
]  # fmt: skip

LEGAL, BP = {"collector": k.CNL}, {"collector": k.CNL, "profile": "best_practice"}
TC = "2026-03-10T10:00"
CN_SMS, CN_CALL = att("sms", "m1"), att("call", "m1")
RECEIPT = att("sms", "m1", "receipt", purpose="transactional")
LOCATE = att("call", "k1", purpose="locate")
ALL_COLLECTION_ONLY = F(
    dispute_any_form=True,
    instalment_plan_active=True,
    hardship=True,
    complaint_open=True,
    deceased_or_incapacitated=True,
    litigation_started=True,
    lost_contact=True,
)
CN_ROWS = [
    row("cn-dispute", CNB, CN_SMS, TC, blk("CN-DISPUTE"), **LEGAL, flags=F(dispute_any_form=True)),
    row("cn-instalment", CNB, CN_CALL, TC, blk("CN-INSTALMENT-PLAN"), **LEGAL,
        flags=F(instalment_plan_active=True)),
    row("cn-instalment-plan-reminder", CNB, att("sms", "m1", "plan_reminder"), TC, ALLOW, **LEGAL,
        flags=F(instalment_plan_active=True)),
    row("cn-hardship", CNB, CN_CALL, TC, blk("CN-HOUSE-HARDSHIP"), **BP, flags=F(hardship=True)),
    row("cn-hardship-offer", CNB, att("sms", "m1", "hardship_offer"), TC, ALLOW, **BP,
        flags=F(hardship=True)),
    row("cn-hardship-legal", CNB, CN_CALL, TC, ALLOW, **LEGAL, flags=F(hardship=True)),
    row("cn-complaint", CNB, CN_SMS, TC, blk("CN-HOUSE-COMPLAINT"), **BP,
        flags=F(complaint_open=True)),
    row("cn-deceased", CNB, CN_CALL, TC, blk("CN-HOUSE-DECEASED-INCAPACITATED"), **BP,
        flags=F(deceased_or_incapacitated=True)),
    row("cn-litigation", CNB, att("email", "e1"), TC, blk("CN-HOUSE-LITIGATION"), **BP,
        flags=F(litigation_started=True)),
    row("cn-plan-and-hardship", CNB, CN_SMS, TC, blk("CN-INSTALMENT-PLAN", "CN-HOUSE-HARDSHIP"),
        **BP, flags=F(instalment_plan_active=True, hardship=True)),
    row("cn-channel-opt-out", CNB, CN_SMS, TC, blk("CN-HOUSE-CHANNEL-OPT-OUT"), **BP,
        flags=F(medium_opt_outs=["sms"])),
    row("cn-channel-opt-out-other-channel", CNB, CN_CALL, TC, ALLOW, **BP,
        flags=F(medium_opt_outs=["sms"])),
    row("cn-channel-opt-out-legal", CNB, CN_SMS, TC, ALLOW, **LEGAL,
        flags=F(medium_opt_outs=["sms"])),
    # medium_opt_outs is not a "collection only" flag: it also stops a receipt SMS.
    row("cn-channel-opt-out-receipt", CNB, RECEIPT, TC, blk("CN-HOUSE-CHANNEL-OPT-OUT"), **BP,
        flags=F(medium_opt_outs=["sms"])),
    row("cn-collection-only-flags-receipt", CNB, RECEIPT, TC, ALLOW, **BP,
        flags=ALL_COLLECTION_ONLY),
    row("cn-collection-only-flags-locate", CNB, LOCATE, TC, ALLOW, **BP, flags=ALL_COLLECTION_ONLY),
]  # fmt: skip


@pytest.mark.parametrize("case", US_ROWS)
def test_us_suppressions(case):
    """US flags block every matching attempt except their template-class exception."""
    k.check(case)


@pytest.mark.parametrize("case", UK_ROWS)
def test_uk_suppressions(case):
    """UK breathing space, dispute, mental capacity and vulnerability stop contact outright."""
    k.check(case)


@pytest.mark.parametrize("case", CN_ROWS)
def test_cn_suppressions(case):
    """China account states stop collection only; channel opt-outs stop every purpose."""
    k.check(case)
