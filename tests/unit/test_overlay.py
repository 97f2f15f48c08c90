"""What the ledger learned, laid over the source's flags: it can only restrict further, and
withdraw only what it added itself."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreachd.core.model import Channel, Flags
from outreachd.overlay import BOOLEAN, NAMES, SETS, check, overlay

CHANNELS = [c.value for c in Channel]


def test_a_stop_then_a_start_restores_the_source_and_never_lifts_its_opt_outs() -> None:
    """STOP adds sms, START removes it; an opt-out the source holds survives any START."""
    stop, start = ("medium_opt_outs", {"add": ["sms"]}), ("medium_opt_outs", {"remove": ["sms"]})
    assert overlay(Flags(), [stop]).medium_opt_outs == {Channel.SMS}
    assert overlay(Flags(), [stop, start]).medium_opt_outs == frozenset()
    held = Flags(medium_opt_outs=frozenset({Channel.SMS}))
    assert overlay(held, [start]).medium_opt_outs == {Channel.SMS}


def test_yes_no_flags_are_the_source_or_the_latest_ledger_value() -> None:
    """A flag set here and later cleared is back to the source's; a source flag stays on."""
    assert overlay(Flags(), [("cease_written", True)]).cease_written
    assert not overlay(Flags(), [("cease_written", True), ("cease_written", False)]).cease_written
    assert overlay(Flags(hardship=True), [("hardship", False)]).hardship


def test_unknown_or_malformed_flags_are_refused_before_they_are_stored() -> None:
    """check() names what is wrong; overlay ignores names that are not account flags."""
    for name, value, says in [
        ("cease", True, "unknown flag 'cease'"),
        ("hardship", "yes", "hardship takes true or false"),
        ("medium_opt_outs", ["sms"], "medium_opt_outs takes"),
        ("medium_opt_outs", {"add": ["fax"]}, "'fax' is not a valid Channel"),
        ("tcpa_revoked", {"add": [1]}, "a list of strings"),
        ("address_opt_outs", {"add": ["sms:m1"], "remove": []}, "address_opt_outs takes"),
    ]:
        with pytest.raises(ValueError, match=says):
            check(name, value)
    check("tcpa_revoked", {"add": ["all"]})
    assert overlay(Flags(), [("invalid_contact", {"contact_id": "e1"})]) == Flags()


booleans = st.fixed_dictionaries({name: st.booleans() for name in sorted(BOOLEAN)})


def edits(values: list[str]) -> st.SearchStrategy[dict[str, list[str]]]:
    """{"add": [...]} or {"remove": [...]} over `values`."""
    verb = st.sampled_from(["add", "remove"])
    return st.dictionaries(verb, st.lists(st.sampled_from(values)), min_size=1, max_size=1)


rows = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(sorted(BOOLEAN)), st.booleans()),
        st.tuples(st.just("medium_opt_outs"), edits(CHANNELS)),
        st.tuples(
            st.sampled_from(["address_opt_outs", "tcpa_revoked"]), edits(["m1", "sms:m1", "all"])
        ),
    ),
    max_size=12,
)


@given(
    on=booleans,
    opted=st.frozensets(st.sampled_from(list(Channel))),
    revoked=st.frozensets(st.sampled_from(["m1", "all"])),
    learned=rows,
)
def test_the_ledger_never_makes_contact_more_permissive(
    on: dict[str, bool],
    opted: frozenset[Channel],
    revoked: frozenset[str],
    learned: list[tuple[str, object]],
) -> None:
    """Whatever the ledger holds, every restriction of the source is still there."""
    source = dataclasses.replace(Flags(**on), medium_opt_outs=opted, tcpa_revoked=revoked)
    for name, value in learned:
        check(name, value)
    result = overlay(source, learned)
    for name in BOOLEAN:
        assert getattr(result, name) >= getattr(source, name)
    for name in SETS:
        assert getattr(result, name) >= getattr(source, name)
    assert {name for name, _ in learned} <= NAMES
