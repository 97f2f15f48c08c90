"""Rule kind `content`: template facts that must hold (`require`) or must not (`forbid`).

Absent template facts are compliant (SCENARIOS.md 2.5). Each rule checks only its channels;
opt_out_confirmation is exempt from OPT-OUT-NOTICE and DC-DISCLOSURE; CA-LICENSE-NUMBER only
for a licensed collector and a CA borrower; TIME-BARRED only when flagged; one SMS segment
is 70 carrier characters. Hand-computed from SCENARIOS.md 7.1, 7.2, 7.5, 7.6.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, LA, NY, row, want

NYB, CAB = k.us("NY", NY), k.us("CA", LA)
NY_ALSO_CA = k.us("NY", NY, other_states=("CA",))
T = "2026-06-02T10:00"


def a(channel: str, to: str = "m1", **tpl: object) -> k.Attempt:
    target = "e1" if channel == "email" else to
    return k.attempt(channel, target, tpl=tpl)


def blk(*ids: str) -> k.Result:
    return want("block", None, *ids)


OO, DC, LIC = "OPT-OUT-NOTICE", "DC-DISCLOSURE", "CA-LICENSE-NUMBER"
TB = "TIME-BARRED-NO-SUIT-THREAT"
US_ROWS = [
    row("sms-no-opt-out", NYB, a("sms", has_opt_out=False), T, blk(OO)),
    row("email-no-opt-out", NYB, a("email", has_opt_out=False), T, blk(OO)),
    row("call-opt-out-not-checked", NYB, a("call", has_opt_out=False), T, ALLOW),
    row("confirmation-needs-no-opt-out", NYB,
        a("sms", cls="opt_out_confirmation", has_opt_out=False), T, ALLOW),
    row("call-no-dc-disclosure", NYB, a("call", has_dc_disclosure=False), T, blk(DC)),
    row("sms-no-dc-disclosure", NYB, a("sms", has_dc_disclosure=False), T, blk(DC)),
    row("email-no-dc-disclosure", NYB, a("email", has_dc_disclosure=False), T, blk(DC)),
    row("voicemail-dc-not-checked", NYB, a("voicemail", has_dc_disclosure=False), T, ALLOW),
    row("confirmation-needs-no-dc", NYB,
        a("sms", cls="opt_out_confirmation", has_dc_disclosure=False), T, ALLOW),
    row("first-party-no-dc-rule", NYB, a("call", has_dc_disclosure=False), T, ALLOW,
        collector=k.FIRST),
    row("sms-missing-both", NYB, a("sms", has_opt_out=False, has_dc_disclosure=False), T,
        blk(OO, DC)),
    row("voicemail-not-lcm", NYB, a("voicemail", lcm_only=False), T, blk("LCM-ONLY-VOICEMAIL")),
    row("call-lcm-not-checked", NYB, a("call", lcm_only=False), T, ALLOW),
    row("time-barred-threat", NYB, a("call", threatens_suit=True), T, blk(TB),
        flags=k.flags(time_barred=True)),
    row("not-time-barred-threat", NYB, a("call", threatens_suit=True), T, ALLOW),
    row("time-barred-no-threat", NYB, a("email"), T, ALLOW, flags=k.flags(time_barred=True)),
    row("ca-licensed-sms", CAB, a("sms", ca_license_number=False), T, blk(LIC),
        collector=k.CA_LICENSED),
    row("ca-licensed-email", CAB, a("email", ca_license_number=False), T, blk(LIC),
        collector=k.CA_LICENSED),
    row("ca-licensed-call-not-checked", CAB, a("call", ca_license_number=False), T, ALLOW,
        collector=k.CA_LICENSED),
    row("ca-unlicensed", CAB, a("sms", ca_license_number=False), T, ALLOW),
    row("ny-borrower-licensed-collector", NYB, a("sms", ca_license_number=False), T, ALLOW,
        collector=k.CA_LICENSED),
    row("ca-via-other-states", NY_ALSO_CA, a("sms", ca_license_number=False), T, blk(LIC),
        collector=k.CA_LICENSED),
    row("ca-first-party-licensed", CAB, a("email", ca_license_number=False), T, blk(LIC),
        collector=k.Collector(type=k.CollectorType.FIRST_PARTY_CREDITOR, ca_licensed=True)),
    row("static-beats-time-at-23:00", NYB, a("sms", has_opt_out=False), "2026-06-02T23:00",
        blk(OO)),
]  # fmt: skip

CN = k.cn()
LEGAL, BP = {"collector": k.CNL}, {"collector": k.CNL, "profile": "best_practice"}
TC = "2026-03-10T10:00"
SEG, SIG, BAD = "CN-HOUSE-SMS-ONE-SEGMENT", "CN-SMS-SIGNATURE", "CN-PROHIBITED-CONTENT"
CN_ROWS = [
    row("sms-without-signature", CN, a("sms", has_signature=False, rendered_length=62), TC,
        blk(SIG), **LEGAL),
    row("email-signature-not-checked", CN, a("email", has_signature=False), TC, ALLOW, **LEGAL),
    row("sms-70-one-segment", CN, a("sms", rendered_length=70), TC, ALLOW, **BP),
    row("sms-71-two-segments", CN, a("sms", rendered_length=71), TC, blk(SEG), **BP),
    row("sms-71-legal-profile", CN, a("sms", rendered_length=71), TC, ALLOW, **LEGAL),
    row("sms-length-absent", CN, a("sms"), TC, ALLOW, **BP),
    row("receipt-71-also-one-segment", CN,
        k.attempt("sms", "m1", purpose="transactional",
            tpl={"cls": "receipt", "rendered_length": 71}), TC, blk(SEG), **BP),
    row("sms-71-at-23:00-blocks", CN, a("sms", rendered_length=71), "2026-03-10T23:00", blk(SEG),
        **BP),
    row("sms-no-signature-and-long", CN, a("sms", has_signature=False, rendered_length=74), TC,
        blk(SIG, SEG), **BP),
    row("prohibited-terms-sms", CN, a("sms", has_prohibited_terms=True), TC, blk(BAD), **LEGAL),
    row("prohibited-terms-call-script", CN, a("call", has_prohibited_terms=True), TC, blk(BAD),
        **LEGAL),
    row("prohibited-terms-email", CN, a("email", has_prohibited_terms=True), TC, blk(BAD), **BP),
]  # fmt: skip


@pytest.mark.parametrize("case", US_ROWS)
def test_us_content_rules(case):
    """US content rules block a template missing a required fact on the channels they cover."""
    k.check(case)


@pytest.mark.parametrize("case", CN_ROWS)
def test_cn_content_rules(case):
    """China: SMS signature, one 70-character segment (house) and no prohibited terms."""
    k.check(case)
