"""Fee calculation: one case per rule, the expected figures worked out by hand in each test.

2026Q3 is 2026-07-01..2026-09-30: 92 days. Amounts in the Histories are cents; rounding is
half-even to the cent at the points docs/fees.md names (each tier line, the household share,
each flow adjustment, the prorated minimum, the average daily balance).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartx_engine.errors import DataError, NotFoundError
from smartx_engine.reporting.fees import (STEP_KINDS, annual_lines, fee_run, parse_period, parse_schedules,
                                          required_dates, round_cents)

from .fees_history import D, Sleeve, history, steps_from

Q3_START, Q3_END = D(2026, 7, 1), D(2026, 9, 30)
USD = 100  # cents per dollar, for writing History values


def schedules(body: str, default: str = "s"):
    return parse_schedules(f'default = "{default}"\n' + body)


def flat(rate: str = "1%", *, timing: str = "arrears", basis: str = "average_daily_balance",
         day_count: str = "act/365", extra: str = "") -> str:
    return (f'[schedules.s]\ntiming = "{timing}"\nbasis = "{basis}"\nday_count = "{day_count}"\n{extra}\n'
            f'[schedules.s.advisor]\nrate = "{rate}"\n')


def q3(*sleeves: Sleeve, start=Q3_START):
    return history(start, Q3_END, sleeves)


def fee(run, account: str = "A-1", payee: str = "advisor") -> Decimal:
    return run.invoice(account).totals[payee]


def step_texts(invoice, kind: str) -> list[str]:
    return [s.text for s in invoice.steps if s.kind == kind]


# ---------------------------------------------------------------- tiers


TIERS = """
[schedules.s]
timing = "arrears"
basis = "period_end"
day_count = "act/365"
[schedules.s.platform]
kind = "{kind}"
tiers = [{{ up_to = 1_000_000, rate = "1%" }}, {{ rate = "0.50%" }}]
"""


def test_tiered_bills_each_slice_at_its_rate():
    run = fee_run(q3(Sleeve("S1", "A-1", value=1_500_000 * USD)), schedules(TIERS.format(kind="tiered")), "2026Q3")
    # 1,000,000 × 1% × 92/365 = 920,000/365 = 2,520.5479... -> 2,520.55
    # 500,000 × 0.50% × 92/365 = 230,000/365 = 630.1369... -> 630.14
    assert fee(run, payee="platform") == Decimal("2520.55") + Decimal("630.14") == Decimal("3150.69")
    assert step_texts(run.invoice("A-1"), "tier") == [
        "platform tier 1: 1,000,000.00 × 1.00% × 92/365 = 2,520.55",
        "platform tier 2: 500,000.00 × 0.50% × 92/365 = 630.14",
    ]


def test_cliff_bills_the_whole_balance_at_its_tier_rate():
    run = fee_run(q3(Sleeve("S1", "A-1", value=1_500_000 * USD)), schedules(TIERS.format(kind="cliff")), "2026Q3")
    # 1,500,000 is in tier 2: 1,500,000 × 0.50% × 92/365 = 690,000/365 = 1,890.4109... -> 1,890.41
    assert fee(run, payee="platform") == Decimal("1890.41")
    assert step_texts(run.invoice("A-1"), "tier") == [
        "platform tier 2 (cliff: the whole balance): 1,500,000.00 × 0.50% × 92/365 = 1,890.41"]


@pytest.mark.parametrize(("kind", "expected"), [
    # on the breakpoint itself the balance is in tier 1 (up_to is inclusive)
    ("tiered", [(1, Decimal("1000000"), Decimal("0.01"))]),
    ("cliff", [(1, Decimal("1000000"), Decimal("0.01"))]),
])
def test_a_balance_on_the_breakpoint_is_in_the_lower_tier(kind, expected):
    rates = schedules(TIERS.format(kind=kind)).schedules["s"].components[0].rates
    assert annual_lines(rates, Decimal("1000000")) == expected
    assert annual_lines(rates, Decimal("1000000.01"))[-1][0] == 2


# ---------------------------------------------------------------- timing and basis


def grew_on_july_first() -> list[Sleeve]:
    """1,000,000.00 through 2026-06-30, then 1,200,000.00 (a market gain, no flow)."""
    return [Sleeve("S1", "A-1", value=steps_from(D(2026, 6, 1), {D(2026, 6, 1): 1_000_000 * USD,
                                                                Q3_START: 1_200_000 * USD}, Q3_END))]


def test_advance_bills_the_value_before_the_period():
    h = history(D(2026, 6, 1), Q3_END, grew_on_july_first())
    run = fee_run(h, schedules(flat(timing="advance", basis="period_end")), "2026Q3")
    # value at the end of 2026-06-30: 1,000,000 × 1% × 92/365 = 920,000/365 = 2,520.5479... -> 2,520.55
    assert fee(run) == Decimal("2520.55")
    assert step_texts(run.invoice("A-1"), "value") == [
        "value at the end of 2026-06-30 (the day before the period): 1,000,000.00"]


def test_arrears_bills_the_value_at_the_period_end():
    h = history(D(2026, 6, 1), Q3_END, grew_on_july_first())
    run = fee_run(h, schedules(flat(timing="arrears", basis="period_end")), "2026Q3")
    # value at the end of 2026-09-30: 1,200,000 × 1% × 92/365 = 1,104,000/365 = 3,024.6575... -> 3,024.66
    assert fee(run) == Decimal("3024.66")


def september_rally() -> Sleeve:
    """1,000,000.00 for 62 days (July, August), 1,300,000.00 for the 30 days of September."""
    return Sleeve("S1", "A-1", value=steps_from(Q3_START, {Q3_START: 1_000_000 * USD,
                                                           D(2026, 9, 1): 1_300_000 * USD}, Q3_END))


def test_average_daily_balance_is_the_mean_of_the_days():
    run = fee_run(q3(september_rally()), schedules(flat(basis="average_daily_balance")), "2026Q3")
    # ADB = (62 × 1,000,000 + 30 × 1,300,000) / 92 = 101,000,000 / 92 = 1,097,826.0869... -> 1,097,826.09
    # fee = 1,097,826.09 × 1% × 92/365 = 1,010,000.0028/365 = 2,767.1233... -> 2,767.12
    invoice = run.invoice("A-1")
    assert step_texts(invoice, "value") == ["average daily balance 2026-07-01..2026-09-30 (92 days): 1,097,826.09"]
    assert fee(run) == Decimal("2767.12")


def test_period_end_ignores_the_days_before():
    run = fee_run(q3(september_rally()), schedules(flat(basis="period_end")), "2026Q3")
    # 1,300,000 × 1% × 92/365 = 1,196,000/365 = 3,276.7123... -> 3,276.71
    assert fee(run) == Decimal("3276.71")


def test_advance_on_average_daily_balance_uses_the_previous_period():
    # Q2 is 91 days: 1,000,000 for April (30 days), 2,000,000 for May and June (61 days)
    value = steps_from(D(2026, 4, 1), {D(2026, 4, 1): 1_000_000 * USD, D(2026, 5, 1): 2_000_000 * USD}, Q3_END)
    h = history(D(2026, 4, 1), Q3_END, [Sleeve("S1", "A-1", value=value)])
    run = fee_run(h, schedules(flat(timing="advance", basis="average_daily_balance")), "2026Q3")
    # ADB of Q2 = (30 × 1,000,000 + 61 × 2,000,000) / 91 = 152,000,000/91 = 1,670,329.6703... -> 1,670,329.67
    # fee = 1,670,329.67 × 1% × 92/365 = 1,536,703.2964/365 = 4,210.1460... -> 4,210.15
    assert step_texts(run.invoice("A-1"), "value") == [
        "average daily balance of the previous period 2026-04-01..2026-06-30 (91 days): 1,670,329.67"]
    assert fee(run) == Decimal("4210.15")


# ---------------------------------------------------------------- day count


def test_act_365_and_act_act_in_a_leap_year():
    h = history(D(2024, 1, 1), D(2024, 3, 31), [Sleeve("S1", "A-1", value=1_000_000 * USD)])
    # 2024Q1 = 31 + 29 + 31 = 91 days; 2024 has 366 days
    act_365 = fee_run(h, schedules(flat(day_count="act/365")), "2024Q1")
    act_act = fee_run(h, schedules(flat(day_count="act/act")), "2024Q1")
    assert fee(act_365) == Decimal("2493.15")  # 10,000 × 91/365 = 2,493.1506... -> 2,493.15
    assert fee(act_act) == Decimal("2486.34")  # 10,000 × 91/366 = 2,486.3387... -> 2,486.34
    assert act_act.invoice("A-1").year_days == 366 and act_365.invoice("A-1").year_days == 365


def test_act_act_outside_a_leap_year_is_365():
    run = fee_run(q3(Sleeve("S1", "A-1", value=1_000_000 * USD)), schedules(flat(day_count="act/act")), "2026Q3")
    assert fee(run) == Decimal("2520.55")  # 10,000 × 92/365


# ---------------------------------------------------------------- household aggregation


HOUSEHOLD = """
[schedules.s]
timing = "arrears"
basis = "period_end"
day_count = "act/365"
aggregate = "{aggregate}"
[schedules.s.platform]
kind = "tiered"
tiers = [{{ up_to = 1_000_000, rate = "1%" }}, {{ rate = "0.50%" }}]
"""


def two_accounts() -> list[Sleeve]:
    """Household HH-CHEN: 800,000 in A-1 and 400,000 in A-2 (1,200,000: over the breakpoint only together)."""
    return [Sleeve("S1", "A-1", "HH-CHEN", value=800_000 * USD), Sleeve("S2", "A-2", "HH-CHEN", value=400_000 * USD),
            Sleeve("S3", "A-3", "HH-OTHER", value=400_000 * USD)]


def test_household_aggregation_crosses_a_breakpoint_only_in_aggregate():
    run = fee_run(q3(*two_accounts()), schedules(HOUSEHOLD.format(aggregate="household")), "2026Q3")
    # household fee for 92 days on 1,200,000:
    #   tier 1: 1,000,000 × 1% × 92/365 = 2,520.5479... -> 2,520.55
    #   tier 2:   200,000 × 0.50% × 92/365 = 92,000/365 = 252.0547... -> 252.05     => 2,772.60
    # A-1 pays 2,772.60 × 800,000 / 1,200,000 = 1,848.40; A-2 pays 2,772.60 × 1/3 = 924.20
    assert fee(run, "A-1", "platform") == Decimal("1848.40")
    assert fee(run, "A-2", "platform") == Decimal("924.20")
    # HH-OTHER alone: 400,000 × 1% × 92/365 = 368,000/365 = 1,008.2191... -> 1,008.22
    assert fee(run, "A-3", "platform") == Decimal("1008.22")
    a1 = run.invoice("A-1")
    assert step_texts(a1, "household") == [
        "platform: household aggregation: HH-CHEN total 1,200,000.00 (2 accounts), this account's share "
        "800,000.00 / 1,200,000.00 = 66.67%"]
    assert step_texts(a1, "share") == ["platform share: 2,772.60 × 800,000.00 / 1,200,000.00 = 1,848.40"]


def test_without_aggregation_each_account_stays_in_the_first_tier():
    run = fee_run(q3(*two_accounts()), schedules(HOUSEHOLD.format(aggregate="account")), "2026Q3")
    # 800,000 × 1% × 92/365 = 736,000/365 = 2,016.4383... -> 2,016.44 ; 400,000: 1,008.22
    assert fee(run, "A-1", "platform") == Decimal("2016.44")
    assert fee(run, "A-2", "platform") == Decimal("1008.22")


def test_a_household_run_bills_only_that_household():
    run = fee_run(q3(*two_accounts()), schedules(HOUSEHOLD.format(aggregate="household")), "2026Q3",
                  household="HH-CHEN")
    assert [i.account_id for i in run.invoices] == ["A-1", "A-2"]
    with pytest.raises(NotFoundError, match="HH-NOPE"):
        fee_run(q3(*two_accounts()), schedules(HOUSEHOLD.format(aggregate="household")), "2026Q3",
                household="HH-NOPE")


# ---------------------------------------------------------------- minimums


def test_minimum_applied_and_not_applied():
    body = flat(extra="") + "minimum = 1_000\n"
    run = fee_run(q3(Sleeve("S1", "A-1", "HH-1", value=20_000 * USD),
                     Sleeve("S2", "A-2", "HH-2", value=200_000 * USD)), schedules(body), "2026Q3")
    # prorated minimum: 1,000 × 92/365 = 252.0547... -> 252.05
    # 20,000 × 1% × 92/365 = 18,400/365 = 50.4109... -> 50.41 < 252.05: raised to 252.05
    # 200,000 × 1% × 92/365 = 184,000/365 = 504.1095... -> 504.11 >= 252.05: not applied
    assert fee(run, "A-1") == Decimal("252.05")
    assert fee(run, "A-2") == Decimal("504.11")
    assert step_texts(run.invoice("A-1"), "minimum") == [
        "advisor: minimum 1,000.00/yr prorated 92/365: 252.05 — applied, adds 201.64"]
    assert step_texts(run.invoice("A-2"), "minimum") == [
        "advisor: minimum 1,000.00/yr prorated 92/365: 252.05 — not applied"]


# ---------------------------------------------------------------- exclusions


def test_exclusions_leave_out_securities_unmanaged_and_named_sleeves():
    extra = 'exclude = { symbols = ["LEGACY"], unmanaged = true, sleeves = ["S-OLD"] }'
    run = fee_run(q3(
        Sleeve("S1", "A-1", value=1_000_000 * USD, holdings={"LEGACY": 200_000 * USD, "VTI": 700_000 * USD}),
        Sleeve("S2", "A-1", value=500_000 * USD, model_id=None, manager=None, target_kind=None),
        Sleeve("S-OLD", "A-1", value=300_000 * USD),
    ), schedules(flat(extra=extra)), "2026Q3")
    invoice = run.invoice("A-1")
    # billable: 1,000,000 + 500,000 + 300,000 - 500,000 (S2) - 300,000 (S-OLD) - 200,000 (LEGACY) = 800,000
    # fee: 800,000 × 1% × 92/365 = 736,000/365 = 2,016.4383... -> 2,016.44
    assert step_texts(invoice, "exclusion") == [
        "excluded sleeve S2 (unmanaged: no target): -500,000.00",
        "excluded sleeve S-OLD (excluded by name): -300,000.00",
        "excluded security LEGACY: -200,000.00",
    ]
    assert step_texts(invoice, "billable") == ["billable value: 800,000.00"]
    assert fee(run) == Decimal("2016.44")


def test_an_excluded_security_held_in_an_excluded_sleeve_is_not_subtracted_twice():
    extra = 'exclude = { symbols = ["LEGACY"], unmanaged = true }'
    run = fee_run(q3(Sleeve("S1", "A-1", value=1_000_000 * USD),
                     Sleeve("S2", "A-1", value=500_000 * USD, holdings={"LEGACY": 500_000 * USD}, target_kind=None)),
                  schedules(flat(extra=extra)), "2026Q3")
    assert step_texts(run.invoice("A-1"), "billable") == ["billable value: 1,000,000.00"]


# ---------------------------------------------------------------- flows and partial periods


def test_a_large_deposit_during_advance_billing_is_prorated_for_its_remaining_days():
    extra = "flow_threshold = 100_000"
    value = steps_from(D(2026, 6, 1), {D(2026, 6, 1): 1_000_000 * USD, D(2026, 7, 10): 1_050_000 * USD,
                                      D(2026, 8, 15): 1_550_000 * USD}, Q3_END)
    h = history(D(2026, 6, 1), Q3_END, [Sleeve("S1", "A-1", value=value, flows={
        D(2026, 7, 10): 50_000 * USD,  # under the threshold: ignored
        D(2026, 8, 15): 500_000 * USD})])
    run = fee_run(h, schedules(flat(timing="advance", basis="period_end", extra=extra)), "2026Q3")
    # base: 1,000,000 × 1% × 92/365 = 2,520.55
    # deposit of 500,000 on 2026-08-15: 17 days of August (15..31) + 30 of September = 47 days
    #   500,000 × (10,000 annual / 1,000,000) × 47/365 = 235,000/365 = 643.8356... -> 643.84
    assert fee(run) == Decimal("2520.55") + Decimal("643.84") == Decimal("3164.39")
    flows = [s for s in run.invoice("A-1").steps if s.kind == "flow"]
    assert len(flows) == 1
    assert flows[0].values["remaining_days"] == "47" and flows[0].amount == Decimal("643.84")
    assert flows[0].text == ("advisor: deposit 500,000.00 on 2026-08-15, 47 of 92 days at the effective rate 1.0000% "
                             "(annual fee 10,000.00 on 1,000,000.00): 500,000.00 × 10,000.00/1,000,000.00 × 47/365 "
                             "= 643.84")


def test_a_withdrawal_in_advance_billing_is_credited():
    value = steps_from(D(2026, 6, 1), {D(2026, 6, 1): 1_000_000 * USD, D(2026, 9, 1): 600_000 * USD}, Q3_END)
    h = history(D(2026, 6, 1), Q3_END, [Sleeve("S1", "A-1", value=value, flows={D(2026, 9, 1): -400_000 * USD})])
    run = fee_run(h, schedules(flat(timing="advance", basis="period_end")), "2026Q3")
    # 2,520.55 - 400,000 × 1% × 30/365 (120,000/365 = 328.7671... -> 328.77) = 2,191.78
    assert fee(run) == Decimal("2191.78")


def test_flows_are_billed_at_the_effective_tiered_rate():
    body = """
[schedules.s]
timing = "advance"
basis = "period_end"
day_count = "act/365"
[schedules.s.platform]
kind = "tiered"
tiers = [{ up_to = 1_000_000, rate = "1%" }, { rate = "0.50%" }]
"""
    value = steps_from(D(2026, 6, 1), {D(2026, 6, 1): 2_000_000 * USD, D(2026, 9, 1): 2_400_000 * USD}, Q3_END)
    h = history(D(2026, 6, 1), Q3_END, [Sleeve("S1", "A-1", value=value, flows={D(2026, 9, 1): 400_000 * USD})])
    run = fee_run(h, schedules(body), "2026Q3")
    # base: 2,520.55 (tier 1) + 1,000,000 × 0.50% × 92/365 (460,000/365 = 1,260.2739... -> 1,260.27) = 3,780.82
    # annual fee on 2,000,000 = 10,000 + 5,000 = 15,000: the effective rate is 0.75%
    # deposit: 400,000 × 15,000/2,000,000 × 30/365 = 90,000/365 = 246.5753... -> 246.58
    assert fee(run, payee="platform") == Decimal("3780.82") + Decimal("246.58")


def test_an_account_opened_mid_period_is_billed_from_its_first_day_in_arrears():
    opened = steps_from(Q3_START, {D(2026, 8, 20): 1_000_000 * USD}, Q3_END)
    run = fee_run(q3(Sleeve("S1", "A-1", value=opened)), schedules(flat() + "minimum = 1_000\n"), "2026Q3")
    invoice = run.invoice("A-1")
    # billed 2026-08-20..2026-09-30: 12 days of August + 30 of September = 42 days
    # ADB over those days: 1,000,000 ; fee 1,000,000 × 1% × 42/365 = 420,000/365 = 1,150.6849... -> 1,150.68
    # minimum 1,000 × 42/365 = 115.0684... -> 115.07: not applied
    assert (invoice.billed_from, invoice.billed_to, invoice.billed_days) == (D(2026, 8, 20), Q3_END, 42)
    assert fee(run) == Decimal("1150.68")
    assert step_texts(invoice, "minimum") == ["advisor: minimum 1,000.00/yr prorated 42/365: 115.07 — not applied"]


def test_an_account_opened_mid_period_in_advance_is_billed_on_its_first_value():
    opened = steps_from(D(2026, 6, 1), {D(2026, 8, 20): 1_000_000 * USD, D(2026, 9, 1): 1_100_000 * USD}, Q3_END)
    h = history(D(2026, 6, 1), Q3_END, [Sleeve("S1", "A-1", value=opened, flows={D(2026, 8, 20): 1_000_000 * USD})])
    run = fee_run(h, schedules(flat(timing="advance", basis="period_end")), "2026Q3")
    # zero on 2026-06-30: billed from 2026-08-20 (42 days) on that day's value; its opening deposit is in it
    assert fee(run) == Decimal("1150.68")
    assert step_texts(run.invoice("A-1"), "flow") == []


def test_an_account_without_value_in_the_period_gets_no_invoice():
    run = fee_run(q3(Sleeve("S1", "A-1", value=0), Sleeve("S2", "A-2", value=1_000 * USD)),
                  schedules(flat()), "2026Q3")
    assert [i.account_id for i in run.invoices] == ["A-2"]


# ---------------------------------------------------------------- managers and payees


MANAGERS = """
[schedules.s]
timing = "arrears"
basis = "period_end"
day_count = "act/365"
[schedules.s.platform]
rate = "0.10%"
[schedules.s.manager.by_manager]
Acme = { rate = "0.40%" }
Beacon = { rate = "0.30%" }
[schedules.s.manager.by_model]
"INC-1" = { rate = "0.20%" }
"""


def test_a_manager_fee_applies_only_to_the_sleeves_following_its_models():
    run = fee_run(q3(Sleeve("S1", "A-1", value=600_000 * USD, manager="Acme", model_id="GRO"),
                     Sleeve("S2", "A-1", value=400_000 * USD, manager="Beacon", model_id="VAL"),
                     Sleeve("S3", "A-1", value=200_000 * USD, manager=None, model_id=None, target_kind="custom"),
                     Sleeve("S4", "A-1", value=100_000 * USD, manager="Acme", model_id="INC-1")),
                  schedules(MANAGERS), "2026Q3")
    invoice = run.invoice("A-1")
    # platform on all 1,300,000: 1,300 × 92/365 = 119,600/365 = 327.6712... -> 327.67
    # Acme on S1 600,000 × 0.40% = 2,400/yr × 92/365 = 604.9315... -> 604.93
    # Beacon on S2 400,000 × 0.30% = 1,200/yr × 92/365 = 302.4657... -> 302.47
    # INC-1 (by model, before Acme) on S4 100,000 × 0.20% = 200/yr × 92/365 = 50.4109... -> 50.41 (to Acme)
    # S3 follows no model: no manager fee
    assert invoice.totals == {"platform": Decimal("327.67"), "manager": Decimal("957.81"), "advisor": Decimal("0.00")}
    assert [(c.payee.value, c.recipient, c.amount) for c in invoice.charges] == [
        ("platform", None, Decimal("327.67")), ("manager", "Acme", Decimal("604.93")),
        ("manager", "Beacon", Decimal("302.47")), ("manager", "Acme", Decimal("50.41"))]
    assert invoice.total == Decimal("1285.48")


# ---------------------------------------------------------------- output and errors


def test_invoice_json_has_string_decimals_and_every_step():
    run = fee_run(q3(Sleeve("S1", "A-1", value=1_500_000 * USD)), schedules(TIERS.format(kind="tiered")), "2026Q3")
    data = json.loads(json.dumps(run.as_json()))
    assert data["total"] == "3150.69" and data["totals"] == {"platform": "3150.69", "manager": "0.00",
                                                             "advisor": "0.00"}
    invoice = data["invoices"][0]
    assert list(invoice) == ["account_id", "household_id", "schedule", "period", "start", "end", "billed_from",
                             "billed_to", "billed_days", "year_days", "charges", "totals", "total", "steps"]
    assert [s["kind"] for s in invoice["steps"]] == ["days", "value", "billable", "tier", "tier", "fee", "total"]
    assert invoice["steps"][3] == {"kind": "tier", "payee": "platform", "recipient": None,
                                   "text": "platform tier 1: 1,000,000.00 × 1.00% × 92/365 = 2,520.55",
                                   "amount": "2520.55",
                                   "values": {"tier": "1", "kind": "tiered", "balance": "1000000.00", "rate": "0.01",
                                              "days": "92", "year_days": "365"}}
    assert all(s["kind"] in STEP_KINDS for s in invoice["steps"])


def test_a_history_too_short_for_advance_billing_is_an_error():
    h = q3(Sleeve("S1", "A-1", value=1_000 * USD, holdings={"LEGACY": 1}))
    body = flat(timing="advance", basis="average_daily_balance")
    with pytest.raises(DataError, match=r"covers 2026-07-01..2026-09-30; .* needs 2026-04-01..2026-06-30"):
        fee_run(h, schedules(body), "2026Q3")
    assert required_dates(schedules(body), "2026Q3") == (D(2026, 4, 1), Q3_END)


def test_advance_period_end_may_use_the_opening_value():
    h = q3(Sleeve("S1", "A-1", value=2_000_000 * USD, opening=1_000_000 * USD))
    run = fee_run(h, schedules(flat(timing="advance", basis="period_end")), "2026Q3")
    assert fee(run) == Decimal("2520.55")


@pytest.mark.parametrize(("text", "start", "end", "label"), [
    ("2026Q3", D(2026, 7, 1), D(2026, 9, 30), "2026Q3"),
    ("2026-q1", D(2026, 1, 1), D(2026, 3, 31), "2026Q1"),
    ("2024Q1", D(2024, 1, 1), D(2024, 3, 31), "2024Q1"),
    ("2026-07", D(2026, 7, 1), D(2026, 7, 31), "2026-07"),
    ("2024-02", D(2024, 2, 1), D(2024, 2, 29), "2024-02"),
])
def test_parse_period(text, start, end, label):
    assert parse_period(text) == (start, end, label)


@pytest.mark.parametrize("text", ["2026Q5", "2026-13", "Q3 2026", "2026", ""])
def test_parse_period_refuses_other_text(text):
    with pytest.raises(DataError, match="2026Q3 or a month such as 2026-07"):
        parse_period(text)


def test_previous_periods():
    assert parse_period("2026Q1").previous().label == "2025Q4"
    assert parse_period("2026-01").previous().label == "2025-12"


@pytest.mark.parametrize(("value", "expected"), [
    (Fraction(5, 1000), "0.00"), (Fraction(15, 1000), "0.02"), (Fraction(25, 1000), "0.02"),
    (Fraction(-25, 1000), "-0.02"), (Fraction(251, 10000), "0.03"), (Fraction(920000, 365), "2520.55"),
])
def test_round_cents_is_half_even(value, expected):
    assert round_cents(value) == Decimal(expected)


# ---------------------------------------------------------------- invariants


MONEY_STEPS = ("tier", "share", "flow", "minimum")


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["tiered", "cliff"]), aggregate=st.sampled_from(["account", "household"]),
       timing=st.sampled_from(["advance", "arrears"]), basis=st.sampled_from(["average_daily_balance", "period_end"]),
       levels=st.lists(st.tuples(st.integers(0, 91), st.integers(0, 3_000_000 * USD)), min_size=1, max_size=4),
       other=st.integers(0, 3_000_000 * USD), flow=st.integers(-500_000 * USD, 500_000 * USD))
def test_every_invoice_adds_up(kind, aggregate, timing, basis, levels, other, flow):
    body = f"""
[schedules.s]
timing = "{timing}"
basis = "{basis}"
day_count = "act/365"
aggregate = "{aggregate}"
[schedules.s.platform]
kind = "{kind}"
tiers = [{{ up_to = 1_000_000, rate = "1%" }}, {{ up_to = 2_000_000, rate = "0.5%" }}, {{ rate = "0.25%" }}]
minimum = 500
[schedules.s.advisor]
rate = "0.30%"
"""
    start = D(2026, 4, 1)
    changes = {Q3_START + dt.timedelta(days=day): cents for day, cents in levels}
    value = steps_from(start, {start: other, **changes}, Q3_END)
    flow_day = Q3_START + dt.timedelta(days=levels[0][0])
    h = history(start, Q3_END, [Sleeve("S1", "A-1", "HH-1", value=value, flows={flow_day: flow}),
                                Sleeve("S2", "A-2", "HH-1", value=other)])
    run = fee_run(h, schedules(body), "2026Q3")
    for invoice in run.invoices:
        fees = {s.payee: s.amount for s in invoice.steps if s.kind == "fee"}
        assert invoice.totals == {**{"platform": Decimal("0.00"), "manager": Decimal("0.00"),
                                     "advisor": Decimal("0.00")}, **fees}
        assert invoice.total == sum(fees.values(), Decimal(0)) and invoice.total >= 0
        for payee, amount in fees.items():
            steps = [s for s in invoice.steps if s.payee == payee and s.kind in MONEY_STEPS + ("floor",)]
            if any(s.kind == "floor" for s in steps):
                continue
            lines = [s.amount for s in steps if s.kind == ("share" if aggregate == "household" else "tier")]
            lines += [s.amount for s in steps if s.kind in ("flow", "minimum")]
            assert amount == sum(lines, Decimal(0)), invoice.render()
            assert amount == amount.quantize(Decimal("0.01"))


def test_credits_larger_than_the_fee_leave_a_fee_of_zero():
    value = steps_from(D(2026, 6, 1), {D(2026, 6, 1): 100_000 * USD, Q3_START: 150_000 * USD, D(2026, 7, 2): 0}, Q3_END)
    h = history(D(2026, 6, 1), Q3_END, [Sleeve("S1", "A-1", value=value, flows={
        Q3_START: 50_000 * USD,  # under the threshold: ignored
        D(2026, 7, 2): -150_000 * USD})])
    run = fee_run(h, schedules(flat(timing="advance", basis="period_end", extra="flow_threshold = 100_000")),
                  "2026Q3")
    # 100,000 × 1% × 92/365 = 92,000/365 = 252.05 ; withdrawal: -150,000 × 1% × 91/365 = -136,500/365 = -373.97
    # 252.05 - 373.97 = -121.92: the fee is 0
    assert step_texts(run.invoice("A-1"), "floor") == [
        "advisor: withdrawals credited more than the fee (-121.92); the fee is 0.00"]
    assert fee(run) == Decimal("0.00")
