"""The fee schedule file (fees.toml): what it means, and the located errors a bad one gets."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from smartx_engine.errors import DataError
from smartx_engine.reporting.fees import (Aggregate, Basis, DayCount, Kind, Payee, Tier, Timing, load_schedules,
                                          parse_schedules)
from smartx_engine.reporting.fees.locate import locate

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
default = "s"
[schedules.s]
timing = "arrears"
basis = "average_daily_balance"
day_count = "act/365"
[schedules.s.advisor]
rate = "1%"
"""


def problems(source: str) -> list[tuple[int, int | None, str, str | None]]:
    """(line, column, message, hint) of each problem of ``source``, in file order."""
    with pytest.raises(DataError) as caught:
        parse_schedules(source)
    assert "no fee schedule was loaded" in str(caught.value)
    return [(d.line, d.column, d.message, d.hint) for d in caught.value.diagnostics]


def docs_block(after: str, language: str) -> str:
    """The first ``language`` code block of docs/fees.md after the line ``after``."""
    text = (ROOT / "docs" / "fees.md").read_text(encoding="utf-8")
    start = text.index(after)
    found = re.search(rf"```{language}\n(.*?)```", text[start:], re.S)
    return found.group(1)


# ---------------------------------------------------------------- what a file means


def test_the_firm_example_loads_and_is_the_one_in_the_docs():
    source = (ROOT / "rules" / "fees.toml").read_text(encoding="utf-8")
    assert docs_block("## The schedule file", "toml") == source
    schedules = load_schedules(ROOT / "rules" / "fees.toml")
    standard, family = schedules.schedules["standard"], schedules.schedules["family-office"]
    assert (standard.timing, standard.basis, standard.day_count, standard.aggregate) == (
        Timing.ARREARS, Basis.AVERAGE_DAILY_BALANCE, DayCount.ACT_365, Aggregate.HOUSEHOLD)
    assert (family.timing, family.basis, family.day_count, family.flow_threshold) == (
        Timing.ADVANCE, Basis.PERIOD_END, DayCount.ACT_ACT, Decimal("100000"))
    platform, manager, advisor = standard.components
    assert platform.payee is Payee.PLATFORM and platform.rates.kind is Kind.TIERED
    assert platform.rates.tiers == (Tier(Decimal("1000000"), Decimal("0.001")), Tier(Decimal("5000000"),
                                    Decimal("0.0008")), Tier(None, Decimal("0.0005")))
    assert platform.rates.minimum == Decimal("250")
    assert manager.rates.tiers == (Tier(None, Decimal("0.003")),)
    assert manager.by_manager["Acme Asset Mgmt"].kind is Kind.CLIFF
    assert manager.by_model["INC-30-70"].tiers[0].rate == Decimal("0.002")
    assert advisor.rates.minimum == Decimal("1000")
    assert standard.exclude.symbols == {"AAPL", "MSFT"} and standard.exclude.unmanaged
    assert family.exclude.sleeves == {"S-1001-LEGACY"} and not family.exclude.unmanaged
    assert len(schedules.digest) == 64


def test_which_schedule_an_account_uses():
    schedules = load_schedules(ROOT / "rules" / "fees.toml")
    assert schedules.schedule_for("A-9", "HH-CHEN").name == "family-office"  # its household's
    assert schedules.schedule_for("SCH-1003", "HH-CHEN").name == "standard"  # its own, before its household's
    assert schedules.schedule_for("A-9", "HH-OTHER").name == "standard"  # the default


def test_rates_are_exact_decimals_in_percent_or_basis_points():
    source = GOOD.replace('rate = "1%"', 'kind = "tiered"\ntiers = [{ up_to = 1_000_000.50, rate = "0.125%" }, '
                                         '{ up_to = "2000000", rate = "7.5bp" }, { rate = "0%" }]')
    rates = parse_schedules(source).schedules["s"].components[0].rates
    assert rates.tiers == (Tier(Decimal("1000000.50"), Decimal("0.00125")), Tier(Decimal("2000000"),
                           Decimal("0.00075")), Tier(None, Decimal("0")))
    assert all(type(t.rate) is Decimal for t in rates.tiers)


def test_defaults():
    schedule = parse_schedules(GOOD).schedules["s"]
    assert schedule.aggregate is Aggregate.ACCOUNT and schedule.flow_threshold == 0
    assert schedule.exclude.symbols == frozenset() and not schedule.exclude.unmanaged


# ---------------------------------------------------------------- bad files: located, with hints


DOCS_BAD = """\
default = "standard"

[schedules.standard]
timming = "arrears"
timing = "arrears"
basis = "average_daily_balance"
day_count = "act/365"

[schedules.standard.platform]
kind = "tiered"
tiers = [
  { up_to = 1_000_000, rate = 0.10 },
  { rate = "0.05%" },
]

[schedules.standard.advisor]
rate = "0.75%"

[schedules.other]
timing = "advance"
basis = "period_end"
day_count = "act/act"
advisor = { rate = "1%" }
[assign.households]
HH-CHEN = "standart"
"""


def test_the_error_report_in_the_docs_is_what_a_bad_file_gets():
    with pytest.raises(DataError) as caught:
        parse_schedules(DOCS_BAD, "rules/fees.toml")
    assert str(caught.value) + "\n" == docs_block("### Errors", "")


def test_unknown_keys_get_did_you_mean_at_the_key():
    assert problems(GOOD.replace("timing", "timming", 1) + "\n[schedules.s.advisr]\nrate = \"1%\"\n") == [
        (2, 12, "`schedules.s` is missing `timing`", None),
        (3, 1, "unknown key `timming` in `schedules.s`", "did you mean `timing`?"),
        (9, 14, "unknown key `advisr` in `schedules.s`", "did you mean `advisor`?"),
    ]


def test_a_top_level_unknown_key_lists_the_allowed_ones():
    assert problems("zzz = 1\n" + GOOD) == [
        (1, 1, "unknown key `zzz`", "allowed keys: default, schedules, assign")]


def test_enumerations_get_did_you_mean_at_the_value():
    source = GOOD.replace('"arrears"', '"advanced"').replace('"act/365"', '"act/356"')
    assert problems(source) == [
        (3, 10, '`schedules.s.timing` must be one of advance, arrears, not "advanced"', "did you mean `advance`?"),
        (5, 13, '`schedules.s.day_count` must be one of act/365, act/act, not "act/356"', "did you mean `act/365`?"),
    ]


def test_unknown_schedule_names_get_did_you_mean():
    source = GOOD.replace('default = "s"', 'default = "standard"') + '[assign.accounts]\nA-1 = "ss"\nA-2 = 3\n'
    assert problems(source) == [
        (1, 11, '`default`: no schedule named "standard"', "schedules: s"),
        (9, 7, '`assign.accounts.A-1`: no schedule named "ss"', "did you mean `s`?"),
        (10, 7, "`assign.accounts.A-2` must name a schedule, not a number", None),
    ]


def test_a_rate_without_its_unit_is_refused_with_both_readings():
    assert problems(GOOD.replace('rate = "1%"', "rate = 0.25")) == [
        (7, 8, '`schedules.s.advisor.rate` needs a unit: a rate is a string such as "0.25%" or "25bp"',
         'write the unit: `"0.25%"` if you mean 0.25 percent, or `"25%"` if 0.25 is a fraction')]


def test_bad_rates_and_amounts():
    source = GOOD.replace('rate = "1%"', 'rate = "150%"\nminimum = 12.345')
    source = source.replace("[schedules.s.advisor]", '[schedules.s.platform]\nrate = "ten"\nminimum = -5\n'
                                                     '[schedules.s.advisor]')
    assert problems(source) == [
        (7, 8, '`schedules.s.platform.rate` must be a rate such as "0.25%" or "25bp", not "ten"', None),
        (8, 11, "`schedules.s.platform.minimum` must be above 0, not -5", None),
        (10, 8, "`schedules.s.advisor.rate` is 150% a year, 100% or more",
         'annual rates are small: 1% is "1%", a tenth of a percent is "0.10%" or "10bp"'),
        (11, 11, "`schedules.s.advisor.minimum`: 12.345 has more than 2 decimal places, the precision of a money "
                 "amount", "money has at most 2 decimals (cents)"),
    ]


def test_tiers_must_go_up_and_end_unbounded():
    source = GOOD.replace('rate = "1%"', 'kind = "tiered"\ntiers = [\n  { up_to = 500_000, rate = "1%" },\n'
                                         '  { rate = "0.8%" },\n  { up_to = 400_000, rate = "0.5%" },\n'
                                         '  { up_to = 900_000, rate = "0.4%" },\n]')
    assert problems(source) == [
        (10, 3, "tier `schedules.s.advisor.tiers[1]` is missing `up_to`",
         "every tier but the last gives its upper breakpoint, e.g. `up_to = 1_000_000`"),
        (11, 13, "`schedules.s.advisor.tiers[2].up_to` is 400,000, not above the previous tier's 500,000",
         "tiers go up: each `up_to` above the one before"),
        (12, 5, "the last tier `schedules.s.advisor.tiers[3]` has an `up_to`",
         "leave `up_to` out of the last tier: it covers everything above the previous one"),
    ]


def test_tiers_must_say_tiered_or_cliff():
    found = problems(GOOD.replace('rate = "1%"', 'tiers = [{ up_to = 1, rate = "1%" }, { rate = "0.5%" }]'))
    assert found == [(6, 14, "`schedules.s.advisor` is missing `kind`",
                      'say how the tiers apply: `kind = "tiered"` (each slice at its rate) or `kind = "cliff"` '
                      '(the whole balance at the rate of its tier)')]
    found = problems(GOOD.replace('rate = "1%"', 'kind = "tierd"\ntiers = [{ rate = "1%" }]'))
    assert found == [(7, 8, '`schedules.s.advisor.kind` must be one of tiered, cliff, flat, not "tierd"',
                      "did you mean `tiered`?")]


def test_flow_threshold_is_for_advance_billing():
    assert problems(GOOD.replace('day_count = "act/365"', 'day_count = "act/365"\nflow_threshold = 1000')) == [
        (6, 1, "`flow_threshold` applies to advance billing only",
         "billing in arrears already sees every flow in the value it bills; remove it")]


def test_exclusions_are_checked():
    source = GOOD.replace('day_count = "act/365"',
                          'day_count = "act/365"\nexclude = { symbols = ["vti", 3], unmanaged = "yes", tickers = [] }')
    assert problems(source) == [
        (6, 24, "`schedules.s.exclude.symbols[0]`: 'vti' is not a valid symbol (upper-case letters, digits, . / -)",
         None),
        (6, 31, "`schedules.s.exclude.symbols[1]` must be a non-empty string, not a number", None),
        (6, 47, "`schedules.s.exclude.unmanaged` must be true or false, not a string", None),
        (6, 54, "unknown key `tickers` in `schedules.s.exclude`", "allowed keys: symbols, unmanaged, sleeves"),
    ]


def test_a_schedule_must_charge_something():
    assert problems(GOOD.replace('[schedules.s.advisor]\nrate = "1%"\n', "")) == [
        (2, 12, "schedule `s` charges nothing",
         "give at least one of [schedules.NAME.platform], .manager or .advisor")]


def test_invalid_toml_is_located():
    with pytest.raises(DataError) as caught:
        parse_schedules(GOOD.replace('basis = "average_daily_balance"', "basis = average"), "rules/fees.toml")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == ("rules/fees.toml", 4, 9)
    assert str(caught.value).startswith("rules/fees.toml: not valid TOML")


def test_a_file_that_cannot_be_read(tmp_path):
    with pytest.raises(DataError, match="cannot read the fee schedules"):
        load_schedules(tmp_path / "fees.toml")


def test_locate_follows_arrays_of_tables_dotted_keys_and_multiline_arrays():
    source = ('[[a]]\nx = 1\n[[a]]\nx = "two"\n[[a.b]]\ny.z = [\n  1,\n  { w = \'q\' },\n]\n'
              '"quoted key" = """multi\nline""" # c\n')
    positions = locate(source)
    assert (positions.values[("a", 1, "x")].line, positions.values[("a", 1, "x")].column) == (4, 5)
    assert positions.keys[("a", 1, "b", 0, "y", "z")].line == 6
    assert (positions.values[("a", 1, "b", 0, "y", "z", 1, "w")].line,
            positions.values[("a", 1, "b", 0, "y", "z", 1, "w")].column) == (8, 9)
    assert positions.keys[("a", 1, "b", 0, "quoted key")].line == 10
