"""Rule kind `prerequisite`: consent, procedure and recipient conditions (else Block).

TCPA covers every SMS and autodialer/prerecorded/ai_voice calls and voicemail drops, never a
manual dial; Reg F e-mail/SMS procedures and employer e-mail; pending NYC e-consent; China
third parties (only lost_contact + purpose locate) and the house human-only rule, employer
e-mail. Hand-computed from SCENARIOS.md 7.1, 7.2, 7.5, 7.6.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, NY, row, want

P, E = k.phone, k.email
NYB = k.us(
    "NY",
    NY,
    P("m9", "mobile", NY, regf_text_ok=True),  # no TCPA consent
    P("r1", "mobile", NY, tcpa_consent=True, regf_text_ok=True, rnd_reassigned=True),
    P("x1", "mobile", NY, regf_text_ok=True, rnd_reassigned=True),  # no consent, reassigned
    P("t1", "mobile", NY, tcpa_consent=True),  # Reg F text procedure not met
    E("e4", proc="none"),
    E("e5", proc="consented"),
    E("e6", proc="creditor_notice_35d"),
    E("e7", proc="prior_collector"),
    E("e8", "employer", "consented"),
    E("e9", "employer", "prior_collector"),
    E("e10", "employer", "creditor_notice_35d"),
)
NYC = k.us("NY", NY, P("n1", "mobile", NY, tcpa_consent=True, regf_text_ok=True,
                       nyc_written_consent=True), city="NYC")  # fmt: skip
T = "2026-06-02T10:00"
A, F = k.attempt, k.flags


def blk(*ids: str) -> k.Result:
    return want("block", None, *ids)


C, RA, RV = "TCPA-CONSENT-MOBILE", "TCPA-REASSIGNED", "TCPA-REVOCATION"
US_ROWS = [
    row("autodialer-no-consent", NYB, A("call", "m9", dialer="autodialer"), T, blk(C)),
    row("manual-no-consent", NYB, A("call", "m9"), T, ALLOW),
    row("sms-manual-still-covered", NYB, A("sms", "m9"), T, blk(C)),
    row("prerecorded-voicemail", NYB, A("voicemail", "m9", dialer="prerecorded"), T, blk(C)),
    row("ai-voice", NYB, A("call", "m9", dialer="ai_voice"), T, blk(C)),
    row("autodialer-landline-not-mobile", NYB, A("call", "l1", dialer="autodialer"), T, ALLOW),
    row("first-party-sms-no-consent", NYB, A("sms", "m9"), T, blk(C), collector=k.FIRST),
    row("reassigned-autodialer", NYB, A("call", "r1", dialer="autodialer"), T, blk(RA)),
    row("reassigned-manual", NYB, A("call", "r1"), T, ALLOW),
    row("reassigned-sms", NYB, A("sms", "r1"), T, blk(RA)),
    row("reassigned-and-no-consent", NYB, A("call", "x1", dialer="autodialer"), T, blk(C, RA)),
    row("revoked-autodialer", NYB, A("call", "m1", dialer="autodialer"), T, blk(RV),
        flags=F(tcpa_revoked=["m1"])),
    row("revoked-manual-not-covered", NYB, A("call", "m1"), T, ALLOW, flags=F(tcpa_revoked=["m1"])),
    row("revoked-all-sms", NYB, A("sms", "m1"), T, blk(RV), flags=F(tcpa_revoked=["all"])),
    row("revoked-confirmation-text", NYB, A("sms", "m1", tpl={"cls": "opt_out_confirmation"}), T,
        ALLOW, flags=F(tcpa_revoked=["all"])),
    row("revoked-other-number", NYB, A("sms", "m1"), T, ALLOW, flags=F(tcpa_revoked=["w1"])),
    row("email-procedure-none", NYB, A("email", "e4"), T, blk("EMAIL-PROCEDURE")),
    row("email-consented", NYB, A("email", "e5"), T, ALLOW),
    row("email-creditor-notice-35d", NYB, A("email", "e6"), T, ALLOW),
    row("email-prior-collector", NYB, A("email", "e7"), T, ALLOW),
    row("employer-email-none", NYB, A("email", "e2"), T, blk("EMAIL-EMPLOYER", "EMAIL-PROCEDURE")),
    row("employer-email-consented", NYB, A("email", "e8"), T, blk("EMAIL-EMPLOYER")),
    row("employer-email-creditor-notice", NYB, A("email", "e10"), T, blk("EMAIL-EMPLOYER")),
    row("employer-email-prior-collector", NYB, A("email", "e9"), T, ALLOW),
    row("employer-email-consumer-used", NYB, A("email", "e3"), T, ALLOW),
    row("employer-email-first-party", NYB, A("email", "e2"), T, ALLOW, collector=k.FIRST),
    row("sms-procedure-not-met", NYB, A("sms", "t1"), T, blk("SMS-PROCEDURE")),
    row("sms-procedure-no-class-exception", NYB,
        A("sms", "t1", tpl={"cls": "opt_out_confirmation"}), T, blk("SMS-PROCEDURE")),
    row("sms-procedure-call-free", NYB, A("call", "t1"), T, ALLOW),
    row("sms-procedure-first-party", NYB, A("sms", "t1"), T, ALLOW, collector=k.FIRST),
    row("nyc-sms-without-e-consent", NYC, A("sms", "m1"), T, blk("NYC-E-CONSENT"),
        enable_pending=True),
    row("nyc-email-without-e-consent", NYC, A("email", "e1"), T, blk("NYC-E-CONSENT"),
        enable_pending=True),
    row("nyc-sms-with-e-consent", NYC, A("sms", "n1"), T, ALLOW, enable_pending=True),
    row("nyc-call-needs-nothing", NYC, A("call", "m1"), T, ALLOW, enable_pending=True),
    row("nyc-pending-off", NYC, A("sms", "m1"), T, ALLOW),
]  # fmt: skip

CN = k.cn()
LEGAL, BP = {"collector": k.CNL}, {"collector": k.CNL, "profile": "best_practice"}
TC, LOST = "2026-03-10T10:00", F(lost_contact=True)
TP, HO = "CN-THIRD-PARTY", "CN-HOUSE-THIRD-PARTY-HUMAN-ONLY"
CN_ROWS = [
    row("contact-autodialer-legal", CN, A("call", "k1", dialer="autodialer"), TC, blk(TP), **LEGAL),
    row("contact-autodialer-house", CN, A("call", "k1", dialer="autodialer"), TC, blk(TP, HO),
        **BP),
    row("contact-manual-house", CN, A("call", "k1"), TC, blk(TP), **BP),
    row("lost-locate-manual", CN, A("call", "k1", purpose="locate"), TC, ALLOW, flags=LOST, **BP),
    row("lost-locate-autodialer-house", CN, A("call", "k1", purpose="locate", dialer="autodialer"),
        TC, blk(HO), flags=LOST, **BP),
    row("lost-locate-autodialer-legal", CN, A("call", "k1", purpose="locate", dialer="autodialer"),
        TC, ALLOW, flags=LOST, **LEGAL),
    row("lost-locate-sms-house", CN, A("sms", "k1", purpose="locate"), TC, blk(HO), flags=LOST,
        **BP),
    row("lost-but-collection-purpose", CN, A("call", "k1"), TC, blk(TP), flags=LOST, **BP),
    row("locate-but-not-lost", CN, A("call", "k1", purpose="locate"), TC, blk(TP), **BP),
    row("spouse-is-a-third-party", CN, A("call", "p1"), TC, blk(TP), **LEGAL),
    row("guarantor-autodialer", CN, A("call", "g1", dialer="autodialer"), TC, ALLOW, **BP),
    row("co-borrower-sms", CN, A("sms", "c1"), TC, ALLOW, **BP),
    row("employer-email", CN, A("email", "e2"), TC, blk("CN-EMPLOYER-EMAIL"), **LEGAL),
    row("employer-email-receipt", CN,
        A("email", "e2", purpose="transactional", tpl={"cls": "receipt"}), TC,
        blk("CN-EMPLOYER-EMAIL"), **BP),
    row("personal-email", CN, A("email", "e1"), TC, ALLOW, **LEGAL),
]  # fmt: skip


@pytest.mark.parametrize("case", US_ROWS)
def test_us_prerequisites(case):
    """TCPA consent/reassigned/revoked, Reg F procedures and NYC e-consent gate the target."""
    k.check(case)


@pytest.mark.parametrize("case", CN_ROWS)
def test_cn_recipient_prerequisites(case):
    """China: third parties only to locate a lost debtor, by a human; no employer e-mail."""
    k.check(case)
