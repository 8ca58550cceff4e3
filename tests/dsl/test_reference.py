"""The compiled policy evaluator agrees with the plain reference evaluator, row by row.

Random books (a few securities, accounts, sleeves with and without models, held and target-only
holdings, lots around anniversaries and 29 February, zero-cost lots, empty sleeves) meet random
valid policies built from the language's types and grains; every decision must be the same.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartx_engine.book import Book
from smartx_engine.dsl.compile import compile_policy
from smartx_engine.dsl.frame import Frame
from smartx_engine.dsl.functions import PolicyFunction
from smartx_engine.dsl.parser import parse_file
from smartx_engine.dsl.policyset import check_sources
from smartx_engine.dsl.reference import decisions_of, differences, evaluate, evaluate_reference
from smartx_engine.dsl.reference_fields import Scope, long_term_from, sleeve_rows
from smartx_engine.dsl.schema import FIELDS, USD, Grain
from smartx_engine.dsl.validate import validate

RULES = Path(__file__).parents[2] / "rules"
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- random books

SECURITIES = [("AAPL", "us_equity"), ("BND", "fixed_income"), ("CVX", "us_equity"), ("VTI", "us_equity"),
              ("VXUS", "intl_equity"), ("XOM", "energy")]
PRICES = [0.5, 1.0, 10.0, 25.25, 70.0, 100.0, 199.99, 333.33]
REGISTRATIONS = ["taxable", "joint", "trust", "ira", "roth", "rollover_ira", "401k"]
MODELS = ["BAL-60-40", "GRO-80-20", "INC"]
AS_OF = [dt.date(2025, 2, 28), dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2024, 2, 29), dt.date(2026, 12, 21),
         dt.date(2026, 1, 1), dt.date(2028, 2, 29), dt.date(2029, 3, 1), dt.date(2026, 11, 20), dt.date(2025, 12, 31)]


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@st.composite
def acquired_dates(draw, as_of: dt.date) -> dt.date:
    how = draw(st.sampled_from(["anniversary", "leap", "days"]))
    if how == "anniversary":  # a year before, give or take two days
        return _year_before(as_of) + dt.timedelta(days=draw(st.integers(-2, 2)))
    if how == "leap":  # 29 February of a recent leap year, or a day next to it
        leap = draw(st.sampled_from([y for y in range(as_of.year - 4, as_of.year + 1) if calendar.isleap(y)]))
        return dt.date(leap, 2, 29) + dt.timedelta(days=draw(st.sampled_from([0, 0, -1, 1])))
    return as_of - dt.timedelta(days=draw(st.sampled_from([-5, 0, 1, 29, 30, 31, 200, 365, 366, 367, 1000])))


@st.composite
def books(draw, max_sleeves: int = 4) -> Book:
    as_of = draw(st.sampled_from(AS_OF))
    chosen = draw(st.lists(st.sampled_from(SECURITIES), min_size=1, max_size=5, unique=True))
    securities = [(symbol, asset_class, draw(st.sampled_from(PRICES))) for symbol, asset_class in chosen]
    price = {s: p for s, _, p in securities}
    accounts = [(f"A{i}", draw(st.sampled_from(REGISTRATIONS)), draw(st.sampled_from(["schwab", "fidelity"])),
                 draw(st.sampled_from(["H1", "H2"])), 0.37, 0.2) for i in range(draw(st.integers(1, 3)))]
    models = {}
    for model in draw(st.lists(st.sampled_from(MODELS), max_size=2, unique=True)):
        symbols = draw(st.lists(st.sampled_from([s for s, _, _ in securities]), max_size=4, unique=True))
        weights = {s: draw(st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.25, 0.4, 0.6])) for s in symbols}
        weights["$CASH"] = draw(st.sampled_from([0.0, 0.02, 0.05]))
        models[model] = weights
    sleeves, positions, lots, model_changes, kinds = [], [], [], {}, {}
    for i in range(draw(st.integers(0, max_sleeves))):
        sleeve = f"S{i}"
        model = draw(st.sampled_from([None, *models]))
        if model:  # what its target is made of (the weights are its model's either way)
            kinds[sleeve] = draw(st.sampled_from(["model", "blend", "custom"]))
        if model and draw(st.booleans()):  # a newer version of its model since its last rebalance
            model_changes[sleeve] = (f"{model} v1 → v2", draw(st.sampled_from([0.0, 0.004, 0.005, 0.006, 0.05])))
        sleeves.append((sleeve, draw(st.sampled_from(accounts))[0], model, None,
                        draw(st.sampled_from([0.0, 0.0, 100.0, 2500.5, 10000.0, 150000.0]))))
        for symbol in draw(st.lists(st.sampled_from(list(price)), max_size=4, unique=True)):
            n_lots = draw(st.sampled_from([0, 1, 1, 2, 2, 3]))
            quantity = cost = 0.0
            for _ in range(n_lots):
                q = draw(st.sampled_from([1.0, 5.0, 10.0, 33.5, 100.0, 2000.0]))
                c = draw(st.sampled_from([0.0, 1.0, 0.5, 0.9, 0.95, 1.05, 1.5, 3.0])) * q * price[symbol]
                lots.append((f"L{len(lots)}", sleeve, symbol, q, c, draw(acquired_dates(as_of))))
                quantity, cost = quantity + q, cost + c
            if n_lots == 0:  # a position without lots, perhaps an empty one
                quantity = draw(st.sampled_from([0.0, 10.0, 250.0]))
                cost = quantity * price[symbol]
            positions.append((sleeve, symbol, quantity, cost))
    return Book.assemble(as_of=as_of, securities=securities, accounts=accounts, sleeves=sleeves, models=models,
                         positions=positions, lots=lots, model_changes=model_changes, target_kinds=kinds)


# ---------------------------------------------------------------- random expressions, typed and at a grain
# Each strategy returns (text, grain): the grain of the finest field outside an aggregate.

def _fields(kind: str, unit: str | None, max_grain: Grain) -> list[tuple[str, Grain]]:
    return [(f"{g}.{n}", spec.grain) for (g, n), spec in FIELDS.items()
            if spec.type.kind == kind and spec.type.unit == unit and spec.grain <= max_grain]


NUMBER_LITERALS = {
    "ratio": ["0%", "1%", "2.5%", "5%", "10%", "25%", "60%", "100%", "300 bps", "50 bps"],
    "usd": ["0 USD", "100 USD", "1000 USD", "2500.5 USD", "10000 USD", "100000 USD"],
    "days": ["0 days", "1 days", "30 days", "365 days", "366 days"],
    None: ["0", "1", "2", "3", "12", "20", "2026", "0.5"],
}
STRING_LITERALS = {
    "sleeve.id": ["S0", "S1", ""], "sleeve.model": [*MODELS, "", "NONE"],
    "sleeve.target_kind": ["model", "blend", "custom", ""],
    "account.id": ["A0", "A1", "A9"], "account.registration": [*REGISTRATIONS, "hsa"],
    "account.tax_treatment": ["taxable", "tax_deferred", "tax_exempt"],
    "account.custodian": ["schwab", "fidelity", "vanguard"], "account.household": ["H1", "H2", ""],
    "holding.symbol": [s for s, _ in SECURITIES] + ["ZZZ"],
    "holding.asset_class": ["us_equity", "fixed_income", "intl_equity", "energy", "crypto"],
    "lot.term": ["short", "long", "medium"],
}
DATE_LITERALS = ["2024-02-29", "2025-02-28", "2025-03-01", "2026-01-01", "2026-12-20"]
COMPARISONS = ["==", "!=", "<", "<=", ">", ">="]


def _merge(*grains: Grain) -> Grain:
    return max(grains, default=Grain.SCALAR)


@st.composite
def numbers(draw, unit: str | None, context: Grain, max_grain: Grain, depth: int, aggregates: bool):
    """A number in ``unit`` evaluable per ``context`` row (fields up to ``max_grain``)."""
    fields = _fields("number", unit, max_grain)
    choices = ["literal", "field", "field"] if fields else ["literal"]
    if depth > 0:
        choices += ["add", "scale", "negate", "abs", "units"]
        if aggregates and context < Grain.LOT:
            choices += ["aggregate"]
    how = draw(st.sampled_from(choices))
    if how == "literal":
        return draw(st.sampled_from(NUMBER_LITERALS[unit])), Grain.SCALAR
    if how == "field":
        return draw(st.sampled_from(fields))
    sub = lambda u=unit, g=max_grain: numbers(u, context, g, depth - 1, aggregates)
    if how == "add":
        (a, ga), (b, gb) = draw(sub()), draw(sub())
        return f"({a} {draw(st.sampled_from('+-'))} {b})", _merge(ga, gb)
    if how == "scale":
        a, ga = draw(sub())
        return f"({a} {draw(st.sampled_from('*/'))} {draw(st.sampled_from(['2', '0.5', '0', '3']))})", ga
    if how == "negate":
        a, ga = draw(sub())
        return f"-{a}", ga
    if how == "abs":
        a, ga = draw(sub())
        return f"abs({a})", ga
    if how == "units":  # arithmetic that changes units
        if unit == "ratio":
            (a, ga), (b, gb) = draw(sub("usd")), draw(sub("usd"))
            return f"({a} / {b})", _merge(ga, gb)
        if unit == "usd":
            (a, ga), (b, gb) = draw(sub("ratio")), draw(sub("usd"))
            return f"({a} * {b})", _merge(ga, gb)
        (a, ga), (b, gb) = draw(sub("ratio")), draw(sub("ratio"))
        return f"({a} / {b})", _merge(ga, gb)
    # an aggregate over the holdings or lots of each row of ``context``
    finer = draw(st.sampled_from([g for g in (Grain.HOLDING, Grain.LOT) if g > context]))
    if unit is None and draw(st.booleans()):
        inner, grain = draw(conditions(Grain.LOT, finer, depth - 1, aggregates=False))
        name = "count"
    else:
        inner, grain = draw(numbers(unit, Grain.LOT, finer, depth - 1, aggregates=False))
        name = draw(st.sampled_from(["sum", "max", "min"]))
    if grain <= context:  # the argument must be per holding or lot
        fine, grain = draw(st.sampled_from([f for f in _fields("number", unit, finer) if f[1] > context]))
        inner = fine if name != "count" else f"{fine} > {draw(st.sampled_from(NUMBER_LITERALS[unit]))}"
    return f"{name}({inner})", context


@st.composite
def conditions(draw, context: Grain, max_grain: Grain, depth: int, aggregates: bool = True):
    """A condition evaluable per ``context`` row (fields up to ``max_grain``)."""
    choices = ["compare", "compare", "string", "membership", "date", "bool"]
    if depth > 0:
        choices += ["and", "or", "not"]
        if aggregates and context < Grain.LOT:
            choices += ["any_all", "any_all"]
    how = draw(st.sampled_from(choices))
    if how == "compare":
        unit = draw(st.sampled_from(["ratio", "usd", "days", None]))
        if unit == "days" and max_grain < Grain.LOT:
            unit = "ratio"
        (a, ga), (b, gb) = (draw(numbers(unit, context, max_grain, depth, aggregates)) for _ in range(2))
        return f"{a} {draw(st.sampled_from(COMPARISONS))} {b}", _merge(ga, gb)
    strings = [(f, g) for f, g in _fields("string", None, max_grain) if g > Grain.SCALAR]
    if how == "string":
        name, grain = draw(st.sampled_from(strings))
        op = draw(st.sampled_from(["==", "!="]))
        if draw(st.integers(0, 4)) == 0:  # two fields
            other, other_grain = draw(st.sampled_from(strings))
            return f"{name} {op} {other}", _merge(grain, other_grain)
        value = draw(st.sampled_from(STRING_LITERALS[name]))
        return (f'{name} {op} "{value}"' if draw(st.booleans()) else f'"{value}" {op} {name}'), grain
    if how == "membership":
        if draw(st.booleans()):
            name, grain = draw(st.sampled_from(strings))
            items = draw(st.lists(st.sampled_from(STRING_LITERALS[name]), max_size=3, unique=True))
            listed = ", ".join(f'"{i}"' for i in items)
        else:
            unit = draw(st.sampled_from(["ratio", None]))
            name, grain = draw(st.sampled_from(_fields("number", unit, max_grain)))
            items = draw(st.lists(st.sampled_from(NUMBER_LITERALS[unit]), min_size=1, max_size=3, unique=True))
            listed = ", ".join(items)
        return f"{name} {draw(st.sampled_from(['in', 'not in']))} [{listed}]", grain
    if how == "date":
        left, grain = ("lot.acquired", Grain.LOT) if max_grain == Grain.LOT else ("today.date", Grain.SCALAR)
        right = draw(st.sampled_from([f'"{d}"' for d in DATE_LITERALS] + ["today.date"]))
        return f"{left} {draw(st.sampled_from(COMPARISONS))} {right}", grain
    if how == "bool":
        if max_grain >= Grain.HOLDING and draw(st.booleans()):
            return "holding.in_model", Grain.HOLDING
        if max_grain >= Grain.SLEEVE and draw(st.booleans()):
            return "sleeve.model_changed", Grain.SLEEVE
        return draw(st.sampled_from(["true", "false"])), Grain.SCALAR
    sub = lambda: conditions(context, max_grain, depth - 1, aggregates)
    if how == "not":
        a, ga = draw(sub())
        return f"not ({a})", ga
    if how in ("and", "or"):
        parts = draw(st.lists(sub(), min_size=2, max_size=3))
        return f" {how} ".join(f"({p})" for p, _ in parts), _merge(*(g for _, g in parts))
    finer = draw(st.sampled_from([g for g in (Grain.HOLDING, Grain.LOT) if g > context]))
    inner, grain = draw(conditions(Grain.LOT, finer, depth - 1, aggregates=False))
    if grain <= context:
        fine, _ = draw(st.sampled_from([f for f in _fields("number", "usd", finer) if f[1] > context]))
        inner, grain = f"({inner}) and {fine} > 0 USD", finer
    return f"{draw(st.sampled_from(['any', 'all']))}({inner})", context


def condition_at(grain: Grain, depth: int = 2):
    return conditions(grain, grain, depth).map(lambda pair: pair[0])


@st.composite
def band_for(draw) -> str:
    """A band's `for`: none, one condition, or several joined by `and` (its specificity)."""
    parts = draw(st.lists(condition_at(Grain.HOLDING, 1), max_size=3))
    if not parts:
        return ""
    if len(parts) == 3 and draw(st.booleans()):  # parentheses do not change the count
        return f" for ({parts[0]} and {parts[1]}) and {parts[2]}"
    return " for " + " and ".join(f"({p})" for p in parts)


@st.composite
def policy_bodies(draw) -> list[str]:
    lines = []
    if draw(st.booleans()):
        lines.append(f"applies to {draw(condition_at(Grain.SLEEVE))}")
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["absolute", "relative"]))
        limit = draw(st.sampled_from(["5%", "300 bps", "1%", "0.5%", "25%", "50%"]))
        lines.append(f"drift band {kind} {limit}{draw(band_for())}")
    for _ in range(draw(st.integers(0, 2))):
        lines.append(f"trigger when {draw(condition_at(Grain.SLEEVE))}")
    lines += draw(st.sampled_from([[], ["realign on model change"], ["realign on model change above 0.5%"]]))
    if draw(st.booleans()):
        low, target, high = sorted(draw(st.lists(st.sampled_from([0, 1, 2, 4, 10]), min_size=3, max_size=3)))
        lines.append(f"target cash {target}%" + draw(st.sampled_from(["", f" min {low}%"]))
                     + draw(st.sampled_from(["", f" max {high}%"])))
    avoid = draw(st.sampled_from(["none", "always", "when"]))
    if avoid != "none":
        lines.append("avoid short term gains" + (f" when {draw(condition_at(Grain.LOT))}" if avoid == "when" else ""))
    harvest = draw(st.sampled_from(["none", "never", "when"]))
    if harvest != "none":
        lines.append("harvest never" if harvest == "never" else f"harvest when {draw(condition_at(Grain.LOT))}")
    for i in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["skip", "hold", 'flag "look"', "sell to 10%", "sell to 5%", "require approval"]))
        grain = Grain.SLEEVE if action in ("skip", 'flag "look"', "require approval") else Grain.HOLDING
        lines.append(f'rule "r{i}" when {draw(condition_at(grain))} then {action}')
    return lines


@st.composite
def policies(draw):
    """A valid policy, sometimes extending a parent (so statement order comes from resolution)."""
    body = "\n".join(f"  {line}" for line in draw(policy_bodies()))
    text = f'policy "p" {{\n{body}\n}}\n'
    if draw(st.booleans()):
        parent = "\n".join(f"  {line}" for line in draw(policy_bodies()))
        text = f'policy "parent" {{\n{parent}\n}}\n' + text.replace('policy "p"', 'policy "p" extends "parent"')
    _, checked = check_sources([("random.policy", text)], functions={})
    assert not checked.errors, text + "\n".join(d.render() for d in checked.errors)
    return checked.policies["p"], text


@st.composite
def template_policies(draw):
    """Policies from templates aimed at the rules that random policies rarely pin down: overlapping
    bands (specificity and ties), lot terms around anniversaries, aggregates and sleeve counts."""
    lines = []
    atoms = ["holding.in_model", "holding.weight > 0%", "holding.target >= 0%", "holding.quantity > 0",
             'holding.asset_class != "energy"', "sleeve.cash >= 0 USD", "true", 'account.tax_treatment == "taxable"',
             "any(lot.gain > 0 USD)", "holding.lots >= 1"]
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["absolute", "relative"]))
        parts = draw(st.lists(st.sampled_from(atoms), max_size=3))
        where = ""
        if len(parts) == 3 and draw(st.booleans()):
            where = f" for ({parts[0]} and {parts[1]}) and {parts[2]}"
        elif parts:
            where = " for " + " and ".join(parts)
        lines.append(f"drift band {kind} {i + 1}{draw(st.sampled_from(['', '0']))} bps{where}")
    lot_conditions = ['lot.term == "long"', 'lot.term == "short"', "lot.days_to_long_term <= 1 days",
                      "lot.days_to_long_term == 0", "lot.age_days >= 365 days", "lot.age_days <= 366 days",
                      "lot.gain_pct > 50%", "lot.gain_pct == 0%", "lot.loss_pct >= 5%", 'lot.acquired == "2024-02-29"',
                      'lot.acquired < "2024-03-01"', "lot.loss >= 100 USD", "lot.gain_pct < 0%"]
    if draw(st.booleans()):
        lines.append("avoid short term gains" + draw(st.sampled_from(["", " when " + draw(st.sampled_from(lot_conditions))])))
    lines.append("harvest when " + " or ".join(draw(st.lists(st.sampled_from(lot_conditions), min_size=1, max_size=2))))
    sleeve_conditions = ["sleeve.holdings >= 2", "sleeve.holdings == count(holding.quantity > 0)",
                         "count(holding.in_model) > sleeve.holdings", "max(lot.gain_pct) > 100%",
                         "min(lot.gain_pct) <= 0%", "max(holding.quantity / 0) > 0", "min(holding.value / 0 USD) < 1%",
                         "sum(lot.loss) > 0 USD", "max(holding.drift_rel) > 10000%", "min(holding.drift_rel) < 1%",
                         'any(lot.term == "long" and lot.gain > 0 USD)', "all(lot.days_to_long_term > 0)",
                         "count(lot.loss_pct > 0%) >= 2", "sleeve.max_drift > 5%", "sleeve.drift < 2%",
                         'sleeve.model == ""', "sleeve.cash_weight >= sleeve.cash_target",
                         "sum(holding.value) + sleeve.cash == sleeve.value", "sleeve.model_changed",
                         "sleeve.model_move > 0.5%",
                         'not sleeve.model_changed and sleeve.model != ""']
    for i in range(draw(st.integers(0, 3))):
        lines.append(f'trigger when {draw(st.sampled_from(sleeve_conditions))}')
    for i in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["skip", 'flag "look"', "require approval"]))
        lines.append(f'rule "s{i}" when {draw(st.sampled_from(sleeve_conditions))} then {action}')
    holding_conditions = ["holding.weight > 5%", "any(lot.gain_pct > 20%)", "all(lot.term == \"long\")",
                          "count(lot.quantity > 0) >= 2", "max(lot.age_days) > 366 days", "holding.drift_rel > 50%",
                          "min(lot.days_to_long_term) <= 1 days", "not holding.in_model"]
    for i in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["hold", "sell to 10%", "sell to 1%"]))
        lines.append(f'rule "h{i}" when {draw(st.sampled_from(holding_conditions))} then {action}')
    text = 'policy "t" {\n' + "\n".join(f"  {line}" for line in lines) + "\n}\n"
    _, checked = check_sources([("template.policy", text)], functions={})
    assert not checked.errors, text + "\n".join(d.render() for d in checked.errors)
    return checked.policies["t"], text


# ---------------------------------------------------------------- the property


def assert_agree(policy, book: Book, text: str = "", functions=None) -> None:
    compiled = compile_policy(policy, functions)
    actual = decisions_of(compiled.evaluate(book), compiled.selects(Frame(book)))
    expected = evaluate_reference(policy, book, functions)
    found = differences(expected, actual)
    assert not found, f"{text}\nreference != compiled:\n" + "\n".join(found)


@PROPERTY
@given(policy=policies(), book=books())
def test_compiled_policies_agree_with_the_reference(policy, book):
    resolved, text = policy
    assert_agree(resolved, book, text)


@PROPERTY
@given(policy=template_policies(), book=books())
def test_template_policies_agree_with_the_reference(policy, book):
    resolved, text = policy
    assert_agree(resolved, book, text)


@pytest.fixture(scope="module")
def balanced():
    checked = validate([parse_file(RULES / "balanced.policy")])
    assert not checked.errors
    return checked.policies


@PROPERTY
@given(book=books(max_sleeves=6))
def test_the_balanced_rules_agree_with_the_reference(balanced, book):
    for policy in balanced.values():
        assert_agree(policy, book)


def test_policy_functions_agree_with_the_reference():
    lots_of_10k = PolicyFunction(name="round_lots", params=(USD,), returns=USD,
                                 implementation=lambda value: np.floor(value / 10_000) * 10_000)
    text = ('policy "p" {\n  trigger when round_lots(sleeve.invested) >= 20000 USD\n'
            '  drift band absolute 1% for round_lots(holding.value) > 0 USD\n}\n')
    _, checked = check_sources([("f.policy", text)], functions={"round_lots": lots_of_10k})
    book = one_sleeve(cash=0.0, positions=[("S", "VTI", 250.0, 20000.0), ("S", "BND", 50.0, 2000.0)])
    assert_agree(checked.policies["p"], book, functions={"round_lots": lots_of_10k})
    assert evaluate_reference(checked.policies["p"], book, {"round_lots": lots_of_10k})[0].triggers == (True,)


# ---------------------------------------------------------------- regressions: where the engine once parted from the docs


_SIMPLE = {"as_of": dt.date(2026, 6, 30), "securities": [("VTI", "us_equity", 0.1)],
           "accounts": [("A", "taxable", "schwab", "H", 0.3, 0.15)], "models": {}}
REGRESSIONS = {
    # name: (what went wrong, policy body, book)
    "today_date_literal": (
        "today.date (a scalar) compared with a \"YYYY-MM-DD\" literal raised UFuncTypeError",
        'trigger when today.date >= "2026-01-01"',
        lambda: Book.assemble(**_SIMPLE, sleeves=[("S", "A", None, None, 1.0)], positions=[], lots=[])),
    "in_empty_string": (
        '`sleeve.model in [""]` was false for a sleeve without a model, though `sleeve.model == ""` is true',
        'trigger when sleeve.model in [""]',
        lambda: Book.assemble(**_SIMPLE, sleeves=[("S", "A", None, None, 1.0)], positions=[], lots=[])),
    "signed_zero_loss": (
        "a lot without gain had a loss of -0.0, so dividing by lot.loss gave -inf, not inf",
        'rule "r" when any(lot.cost / lot.loss > 0%) then flag "x"',
        lambda: Book.assemble(**_SIMPLE, sleeves=[("S", "A", None, None, 1.0)], positions=[("S", "VTI", 3.0, 0.3)],
                              lots=[("L", "S", "VTI", 3.0, 3.0 * 0.1, dt.date(2026, 1, 1))])),
    "invested_by_difference": (
        "sleeve.invested was (holdings + cash) - cash, not always the sum of the holdings' values",
        "trigger when sleeve.invested == sum(holding.value)",
        lambda: Book.assemble(**_SIMPLE, sleeves=[("S", "A", None, None, 0.2)], positions=[("S", "VTI", 1.0, 0.1)],
                              lots=[])),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_the_engine_follows_the_documentation(name):
    _, body, book = REGRESSIONS[name]
    _, checked = check_sources([("regression.policy", f'policy "p" {{\n  {body}\n}}\n')], functions={})
    assert_agree(checked.policies["p"], book())


def test_lists_are_not_compared_with_equals():
    _, checked = check_sources([("lists.policy", 'policy "p" {\n  trigger when [1, 2] == [1, 2]\n}\n')], functions={})
    assert checked.errors


# ---------------------------------------------------------------- the reference by hand


def one_sleeve(as_of=dt.date(2026, 6, 30), model="M", cash=1000.0, positions=(), lots=(), weights=None):
    securities = [("BND", "fixed_income", 50.0), ("VTI", "us_equity", 100.0), ("XOM", "energy", 10.0)]
    models = {"M": weights if weights is not None else {"VTI": 0.6, "BND": 0.3, "XOM": 0.0, "$CASH": 0.1}}
    return Book.assemble(as_of=as_of, securities=securities, accounts=[("A", "roth", "schwab", "H", 0.37, 0.2)],
                         sleeves=[("S", "A", model, None, cash)], models=models if model else {},
                         positions=list(positions), lots=list(lots))


def policy_of(body: str):
    _, checked = check_sources([("hand.policy", f'policy "p" {{\n{body}\n}}\n')], functions={})
    assert not checked.errors, [d.render() for d in checked.errors]
    return checked.policies["p"]


def value_of(expr: str, book: Book, holding: int | None = None, lot: int | None = None):
    """The reference's value of a condition for the first sleeve, at one of its holdings or lots."""
    if lot is not None:
        text = f"harvest when {expr}"
    else:
        text = f'rule "x" when {expr} then hold' if holding is not None else f"trigger when {expr}"
    condition = policy_of(text).statements[0].condition
    sleeve = sleeve_rows(book)[0]
    scope = Scope(book.as_of, sleeve)
    if holding is not None:
        scope = scope.at_holding(sleeve.holdings[holding])
    if lot is not None:
        scope = scope.at_lot(scope.holding, scope.holding.lots[lot])
    return evaluate(condition, scope)


def test_a_sale_is_long_term_from_the_day_after_the_anniversary():
    assert long_term_from(dt.date(2023, 2, 14)) == dt.date(2024, 2, 15)
    assert long_term_from(dt.date(2024, 2, 29)) == dt.date(2025, 3, 1)  # anniversary 28 Feb
    assert long_term_from(dt.date(2023, 12, 31)) == dt.date(2025, 1, 1)


def test_weights_and_drift_by_hand():
    # VTI 60 x 100 = 6000, BND 40 x 50 = 2000, cash 2000: value 10,000
    book = one_sleeve(cash=2000.0, positions=[("S", "VTI", 60.0, 5000.0), ("S", "BND", 40.0, 2100.0)])
    sleeve = sleeve_rows(book)[0]
    assert [h.symbol for h in sleeve.holdings] == ["BND", "VTI", "XOM"]  # XOM: target only (0)
    rule = policy_of("rule \"x\" when holding.weight > 0% then hold").statements[0].condition
    assert [evaluate(rule, Scope(book.as_of, sleeve, h)) for h in sleeve.holdings] == [True, True, False]
    decision = evaluate_reference(policy_of("drift band absolute 5%\ndrift band relative 25%"), book)[0]
    # BND 20% vs 30%: |drift| 10 points, 33% relative: out of both; VTI 60% vs 60%: in; XOM 0 vs 0: in
    assert [(h.out_abs, h.out_rel) for h in decision.holdings] == [(True, True), (False, False), (False, False)]
    assert decision.triggered
    # half of (|20-30| + |60-60| + |0-0| + |20-10| cash) = 10 points
    assert math.isclose(sleeve_field_value("sleeve.drift", book), 0.10)


def sleeve_field_value(name: str, book: Book):
    resolved = policy_of(f"trigger when {name} > 0%")
    return evaluate(resolved.statements[0].condition.left, Scope(book.as_of, sleeve_rows(book)[0]))


def test_a_held_security_with_target_zero_is_infinitely_off_relative_target():
    book = one_sleeve(positions=[("S", "XOM", 10.0, 100.0)])
    decision = evaluate_reference(policy_of("drift band relative 1000%"), book)[0]
    xom = decision.holdings[-1]
    assert xom.symbol == "XOM" and xom.out_rel and not xom.out_abs


def test_max_over_no_rows_is_none_and_compares_false():
    book = one_sleeve(model=None, positions=[])  # an empty sleeve: no holdings, no lots
    assert value_of("max(holding.weight) > -100%", book) is False
    assert value_of("max(holding.weight) <= 100%", book) is False
    assert value_of("not (min(lot.gain) > 0 USD)", book) is True
    assert value_of("sum(holding.value) == 0 USD", book) is True
    assert value_of("all(holding.in_model) and not any(holding.in_model)", book) is True
    assert value_of('sleeve.model == ""', book) is True


def test_the_most_specific_band_wins_and_ties_go_to_the_later():
    book = one_sleeve(cash=2000.0, positions=[("S", "VTI", 60.0, 5000.0), ("S", "BND", 40.0, 2100.0)])
    policy = policy_of(
        "drift band absolute 5%\n"
        'drift band absolute 4% for holding.symbol == "BND" and holding.in_model\n'
        'drift band absolute 3% for holding.asset_class == "fixed_income" and holding.target > 0%\n'
        'drift band absolute 2% for holding.symbol == "BND"')
    bnd, vti, _ = evaluate_reference(policy, book)[0].holdings
    assert (bnd.band_abs, bnd.limit_abs) == (2, 0.03)  # two conditions beat one; the later of two
    assert (vti.band_abs, vti.limit_abs) == (0, 0.05)
    assert math.isnan(evaluate_reference(policy_of("drift band relative 5%"), book)[0].holdings[0].limit_abs)


def test_parentheses_do_not_change_how_specific_a_band_is():
    book = one_sleeve(cash=2000.0, positions=[("S", "VTI", 60.0, 5000.0), ("S", "BND", 40.0, 2100.0)])
    policy = policy_of("drift band absolute 4% for (holding.in_model and holding.target > 0%) and holding.weight > 0%\n"
                       "drift band absolute 3% for holding.in_model and holding.target > 0%")
    bnd = evaluate_reference(policy, book)[0].holdings[0]
    assert (bnd.band_abs, bnd.limit_abs) == (0, 0.04)  # three conditions beat two, however grouped


def test_sell_to_takes_the_lowest_cap_above_which_the_weight_is():
    book = one_sleeve(cash=2000.0, positions=[("S", "VTI", 60.0, 5000.0), ("S", "BND", 40.0, 2100.0)])
    policy = policy_of('rule "a" when holding.weight > 15% then sell to 50%\n'
                       'rule "b" when holding.weight > 15% then sell to 30%')
    bnd, vti, _ = evaluate_reference(policy, book)[0].holdings
    assert math.isnan(bnd.sell_to)  # 20%: both rules match, but it is under both caps
    assert vti.sell_to == 0.3


def test_harvest_and_short_term_gains_per_lot():
    as_of = dt.date(2025, 2, 28)
    lots = [("L1", "S", "VTI", 10.0, 2000.0, dt.date(2024, 2, 29)),   # a loss, short-term until 1 March
            ("L2", "S", "VTI", 10.0, 500.0, dt.date(2024, 2, 27)),    # a gain, long-term from today
            ("L3", "S", "VTI", 10.0, 0.0, dt.date(2024, 12, 1))]      # a gift at no cost: a short gain
    book = one_sleeve(as_of=as_of, positions=[("S", "VTI", 30.0, 2500.0)], lots=lots)
    policy = policy_of("avoid short term gains\nharvest when lot.loss_pct >= 50%")
    lot_decisions = {lot.lot_id: lot for h in evaluate_reference(policy, book)[0].holdings for lot in h.lots}
    assert {i: (d.harvest, d.avoid_short_term) for i, d in lot_decisions.items()} == {
        "L1": (True, False), "L2": (False, False), "L3": (False, True)}
    # VTI's lots by date: L2, L1, L3
    assert value_of('lot.term == "long" and lot.days_to_long_term == 0', book, holding=1, lot=0) is True
    assert value_of('lot.term == "short" and lot.days_to_long_term == 1', book, holding=1, lot=1) is True
    assert value_of("lot.gain_pct == 0%", book, holding=1, lot=2) is True  # no cost: 0, not infinite
