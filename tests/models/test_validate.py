"""Judging deliveries: every kind of bad delivery is rejected whole, naming its source, line and field."""

import datetime as dt
from decimal import Decimal

import pytest

from smartx_engine.models import Verdict, add_version, history, judge
from smartx_engine.models.resolve import Catalog
from smartx_engine.models.validate import Judgement

from .conftest import CUSIPS, VEU, delivery, line

VTI, BND, VEA, AAPL = (CUSIPS[s] for s in ("VTI", "BND", "VEA", "AAPL"))
V1 = "2026.11.1"


def judged(store, d) -> Judgement:
    return judge(d, Catalog.from_store(store), history(store, d.model_id))


def accept(store, d) -> None:
    judgement = judged(store, d)
    assert judgement.verdict == Verdict.ACCEPTED, judgement.message
    add_version(store, judgement.record, source=d.source, model_name=d.model_name, manager=d.manager)


def delta(*lines, previous=V1, version="2026.12.1", effective="2026-12-01", **kwargs):
    return delivery(version=version, change="DELTA", previous=previous, effective=effective,
                    published="2026-11-30T10:00:00", lines=list(lines), **kwargs)


# ---------------------------------------------------------------- a good delivery


def test_a_good_full_version_is_accepted_exactly_as_delivered(store):
    d = delivery(lines=[line(VTI, "0.6000", "0.58", "0.62"), line("BND", "0.3799999999"),
                        line("USD", "0.0200000001")])
    judgement = judged(store, d)
    assert judgement.verdict == Verdict.ACCEPTED and judgement.problems == ()
    record = judgement.record
    assert record.weights == {"VTI": Decimal("0.6000"), "BND": Decimal("0.3799999999"), "$CASH": Decimal("0.0200000001")}
    assert str(record.weights["VTI"]) == "0.6000"  # kept as delivered, not normalised
    (vti,) = [x for x in record.lines if x.symbol == "VTI"]
    assert (vti.min_weight, vti.max_weight, vti.identifier_type, vti.identifier) == (
        Decimal("0.58"), Decimal("0.62"), "CUSIP", VTI)
    assert record.effective_date == dt.date(2026, 11, 23) and record.published_at.tzinfo == dt.timezone.utc


def test_weights_within_a_ten_thousandth_of_one_are_accepted_and_kept_exact(store):
    d = delivery(lines=[line(VTI, "0.60004"), line(BND, "0.38"), line("USD", "0.02")])
    judgement = judged(store, d)
    assert judgement.verdict == Verdict.ACCEPTED
    assert sum(judgement.record.weights.values()) == Decimal("1.00004")


def test_cash_weight_stands_for_a_cash_line(store):
    judgement = judged(store, delivery(lines=[line(VTI, "0.60"), line(BND, "0.38")], cash="0.02"))
    assert judgement.verdict == Verdict.ACCEPTED
    assert judgement.record.cash_weight == Decimal("0.02")


# ---------------------------------------------------------------- bad deliveries

BAD = {
    "a negative weight": (
        [line(VTI, "-0.01"), line(BND, "0.99"), line("USD", "0.02")], {},
        "drop/acme.csv:2: error: weight -0.01 must be between 0 and 1 (column weight)"),
    "a weight above 1": (
        [line(VTI, "1.5"), line("USD", "0")], {},
        "drop/acme.csv:2: error: weight 1.5 must be between 0 and 1 (column weight)"),
    "weights not summing to 1": (
        [line(VTI, "0.60"), line(BND, "0.30"), line("USD", "0.02")], {},
        "drop/acme.csv:2: error: the weights of model ACME-GROWTH version 2026.11.1 sum to 0.92, not 1 (cash included)"
        " (column weight)"),
    "cash left implied": (
        [line(VTI, "0.60"), line(BND, "0.38")], {}, "sum to 0.98, not 1 (cash included) (column weight)"),
    "a weight below its min": (
        [line(VTI, "0.60", "0.61"), line(BND, "0.38"), line("USD", "0.02")], {},
        "drop/acme.csv:2: error: the weight 0.60 is below its min_weight 0.61 (column min_weight)"),
    "a weight above its max": (
        [line(VTI, "0.60"), line(BND, "0.38", "0.30", "0.35"), line("USD", "0.02")], {},
        "drop/acme.csv:3: error: the weight 0.38 is above its max_weight 0.35 (column max_weight)"),
    "a band above 1": (
        [line(VTI, "0.60", None, "1.2"), line(BND, "0.38"), line("USD", "0.02")], {},
        "drop/acme.csv:2: error: max_weight 1.2 must be between 0 and 1 (column max_weight)"),
    "more than 10 decimals": (
        [line(VTI, "0.60000000001"), line(BND, "0.37999999999"), line("USD", "0.02")], {},
        "drop/acme.csv:2: error: 0.60000000001 has more than 10 decimal places, the precision of a weight (column weight)"),
    "an identifier twice": (
        [line(VTI, "0.30"), line(VTI, "0.30"), line(BND, "0.38"), line("USD", "0.02")], {},
        "drop/acme.csv:3: error: CUSIP 922908769 appears twice in this version (column identifier)\n"
        "   = help: first on line 2"),
    "a security twice under two identifiers": (
        [line(VTI, "0.30"), line("VTI", "0.30"), line(BND, "0.38"), line("USD", "0.02")], {},
        "drop/acme.csv:3: error: VTI is in this version twice: as TICKER VTI and as CUSIP 922908769 (line 2)"
        " (column identifier)"),
    "an unknown CUSIP": (
        [line(VTI, "0.60"), line(VEU, "0.38", ticker="VEU"), line("USD", "0.02")], {},
        "drop/acme.csv:3: error: unknown CUSIP '922042775' (VEU) (column identifier)"),
    "a CUSIP for a ticker the engine knows by another": (
        [line(VTI, "0.60"), line("38259P508", "0.38", ticker="AAPL"), line("USD", "0.02")], {},
        "= help: the engine knows AAPL by the CUSIP 037833100; if AAPL is now 38259P508, give it this cusip"),
    "a CUSIP with a bad check digit": (
        [line(VTI, "0.60"), line("921937836", "0.38"), line("USD", "0.02")], {},
        "drop/acme.csv:3: error: '921937836' is not a valid CUSIP: its check digit should be 5, not 6"
        " (column identifier)"),
    "an unknown ticker": (
        [line(VTI, "0.60"), line("BNDD", "0.38"), line("USD", "0.02")], {},
        "drop/acme.csv:3: error: unknown ticker 'BNDD' (column identifier)\n   = help: did you mean `BND`?"),
    "a cash line in euros": (
        [line(VTI, "0.60"), line(BND, "0.38"), line("EUR", "0.02", kind="CASH")], {},
        "drop/acme.csv:4: error: a CASH line's identifier is USD, not 'EUR' (column identifier)"),
    "a FULL with an ADD line": (
        [line(VTI, "0.60", action="ADD"), line(BND, "0.38"), line("USD", "0.02")], {},
        "drop/acme.csv:2: error: a FULL version's lines are SET, not ADD (column action)"),
    "an effective date before publication": (
        None, {"effective": "2026-11-19"},
        "drop/acme.csv:2: error: the effective date 2026-11-19 is before the version was published (2026-11-20 UTC)"
        " (column effective_date)"),
    "a cash weight disagreeing with the cash line": (
        None, {"cash": "0.03"},
        "drop/acme.csv:4: error: cash_weight 0.03 disagrees with the CASH line's weight 0.02 (column cash_weight)"),
    "a model id that is not an id": (
        None, {"model_id": "ACME GROWTH"},
        "drop/acme.csv:2: error: 'ACME GROWTH' is not a valid id"),
}


@pytest.mark.parametrize("lines, changes, message", BAD.values(), ids=BAD.keys())
def test_a_bad_delivery_is_rejected_naming_source_line_and_field(store, lines, changes, message):
    judgement = judged(store, delivery(lines=lines, **changes))
    assert judgement.verdict == Verdict.REJECTED and judgement.record is None
    assert message in judgement.message


def test_every_problem_of_a_delivery_is_reported_at_once(store):
    d = delivery(lines=[line(VTI, "-0.6"), line("BNDD", "0.38"), line("USD", "0.02", action="ADD")])
    assert [(p.line, p.field) for p in judged(store, d).problems] == [
        (2, "weight"), (3, "identifier"), (4, "action")]


# ---------------------------------------------------------------- versions in time


def test_a_version_held_with_the_same_contents_is_skipped(store):
    accept(store, delivery())
    again = delivery(lines=[line("USD", "0.020"), line(BND, "0.38"), line(VTI, "0.6", "0.580", "0.62")],
                     source="elsewhere.csv")
    judgement = judged(store, again)
    assert judgement.verdict == Verdict.SKIPPED and judgement.record.seq == 1


def test_a_version_held_with_other_contents_is_rejected(store):
    accept(store, delivery())
    changed = delivery(lines=[line(VTI, "0.59"), line(BND, "0.39"), line("USD", "0.02")])
    assert ("drop/acme.csv:2: error: model ACME-GROWTH version 2026.11.1 is already held with other contents"
            " (column version)") in judged(store, changed).message
    moved = delivery(effective="2026-11-24")
    assert "already held with other contents" in judged(store, moved).message


@pytest.mark.parametrize("effective, published, accepted", [
    ("2026-11-24", "2026-11-20T21:00:00", True),   # a later effective date
    ("2026-11-23", "2026-11-21T09:00:00", True),   # the same day, published later
    ("2026-11-23", "2026-11-20T21:00:00", False),  # the same day and time
    ("2026-11-23", None, False),                   # the same day, no publication time
    ("2026-11-22", "2026-11-20T21:00:00", False),  # earlier
])
def test_a_new_version_must_be_newer_than_the_latest_held(store, effective, published, accepted):
    accept(store, delivery())
    judgement = judged(store, delivery(version="2026.11.2", effective=effective, published=published))
    assert (judgement.verdict == Verdict.ACCEPTED) is accepted
    if not accepted:
        assert (f"drop/acme.csv:2: error: version 2026.11.2 (effective {effective}) is not newer than 2026.11.1"
                " (effective 2026-11-23, published 2026-11-20 21:00 UTC), the latest version the engine holds of"
                " model ACME-GROWTH (column effective_date)") in judgement.message


def test_any_feed_version_is_newer_than_a_version_of_the_book(store):
    judgement = judged(store, delivery(model_id="BAL-60-40", version="2026.2", effective="2026-11-23"))
    assert judgement.verdict == Verdict.ACCEPTED


# ---------------------------------------------------------------- DELTA


def test_a_delta_on_the_latest_version_gives_the_whole_new_version(store):
    accept(store, delivery(lines=[line(VTI, "0.60", "0.58", "0.62"), line(BND, "0.30"), line(AAPL, "0.08"),
                                  line("USD", "0.02")]))
    judgement = judged(store, delta(line(VTI, "0.55", action="UPDATE"), line(VEA, "0.13", "0.1", "0.2", action="ADD"),
                                    line(AAPL, None, action="REMOVE"), cash="0.02"))
    assert judgement.verdict == Verdict.ACCEPTED, judgement.message
    record = judgement.record
    assert record.weights == {"VTI": Decimal("0.55"), "BND": Decimal("0.30"), "VEA": Decimal("0.13"),
                              "$CASH": Decimal("0.02")}
    lines = {x.symbol: x for x in record.lines}
    assert lines["VTI"].min_weight is None  # an UPDATE replaces the line whole
    assert (lines["VEA"].min_weight, lines["VEA"].max_weight) == (Decimal("0.1"), Decimal("0.2"))
    assert lines["BND"].identifier == BND  # carried over from the base
    assert (record.change_type, record.previous_version) == ("DELTA", V1)


def test_a_delta_sets_cash_whether_by_a_cash_line_or_cash_weight(store):
    accept(store, delivery())
    by_line = judged(store, delta(line(VTI, "0.59", action="UPDATE"), line("USD", "0.03", action="UPDATE")))
    by_weight = judged(store, delta(line(VTI, "0.59", action="UPDATE"), cash="0.03"))
    assert by_line.record.weights == by_weight.record.weights == {
        "VTI": Decimal("0.59"), "BND": Decimal("0.38"), "$CASH": Decimal("0.03")}


@pytest.mark.parametrize("change, message", [
    (line(BND, "0.38", action="ADD"), "drop/acme.csv:2: error: ADD BND, but version 2026.11.1 already holds it"
                                      " (column action)\n   = help: change the weight of a security the model holds"
                                      " with UPDATE"),
    (line(VEA, "0.38", action="UPDATE"), "UPDATE VEA, but version 2026.11.1 does not hold it (column action)\n"
                                         "   = help: bring a new security into the model with ADD"),
    (line(VEA, None, action="REMOVE"), "REMOVE VEA, but version 2026.11.1 does not hold it (column action)"),
    (line(BND, "0.38", action="REMOVE"), "drop/acme.csv:2: error: a REMOVE has no weight (column weight)"),
    (line(BND, "0.38", action="SET"), "a DELTA version's lines are ADD, UPDATE or REMOVE, not SET (column action)"),
])
def test_a_delta_change_that_cannot_apply_is_rejected(store, change, message):
    accept(store, delivery())
    assert message in judged(store, delta(change)).message


@pytest.mark.parametrize("previous, message", [
    ("2026.10.1", "drop/acme.csv:2: error: a DELTA on version 2026.10.1, but the engine's latest version of model"
                  " ACME-GROWTH is 2026.11.1 (column previous_version)\n   = help: the engine cannot rebuild the version"
                  " from this DELTA; ask the manager to send it as a FULL version"),
    (None, "a DELTA names the version it changes (previous_version) (column previous_version)"),
])
def test_a_delta_on_another_base_asks_for_a_full(store, previous, message):
    accept(store, delivery())
    assert message in judged(store, delta(line(VTI, "0.60", action="UPDATE"), previous=previous)).message


def test_a_delta_for_a_model_the_engine_does_not_hold_asks_for_a_full(store):
    judgement = judged(store, delta(line(VTI, "0.60", action="UPDATE"), model_id="NEW-MODEL"))
    assert "a DELTA on version 2026.11.1, but the engine holds no version of model NEW-MODEL" in judgement.message
    assert "ask the manager to send it as a FULL version" in judgement.message


def test_a_delta_delivered_again_is_rebuilt_on_its_own_base_and_skipped(store):
    accept(store, delivery())
    change = delta(line(VTI, "0.59", action="UPDATE"), cash="0.03")
    accept(store, change)
    accept(store, delta(line(VTI, "0.58", action="UPDATE"), cash="0.04", previous="2026.12.1", version="2027.1",
                        effective="2027-01-04"))
    assert judged(store, change).verdict == Verdict.SKIPPED
