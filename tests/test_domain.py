import datetime as dt
from decimal import Decimal

import pytest

from smartx_engine.domain import (
    Account, CashBalance, Lot, ModelVersion, ModelWeight, Order, Registration, Security, Sleeve,
    TaxTreatment, Term, Trade, Transaction,
)


def account(**changes):
    values = dict(account_id="A-1", name="Jane", custodian="schwab", household_id="H-1",
                  registration="taxable", st_tax_rate="0.37", lt_tax_rate="0.20")
    return Account(**{**values, **changes})


def lot(**changes):
    values = dict(lot_id="L-1", account_id="A-1", sleeve_id="S-1", symbol="VTI", quantity="10",
                  cost_basis="2000.00", acquired=dt.date(2024, 1, 5))
    return Lot(**{**values, **changes})


def test_registrations_decide_tax_treatment():
    assert account().tax_treatment is TaxTreatment.TAXABLE
    assert account(registration="ira").tax_treatment is TaxTreatment.TAX_DEFERRED
    assert account(registration="roth").tax_treatment is TaxTreatment.TAX_EXEMPT
    assert Registration("401k").tax_treatment is TaxTreatment.TAX_DEFERRED


@pytest.mark.parametrize("changes, message", [
    ({"registration": "pension-ish"}, "is not a valid Registration"),
    ({"st_tax_rate": "1.2"}, "between 0 and 1"),
    ({"custodian": "Charles Schwab"}, "lower-case name"),
    ({"account_id": "has space"}, "not a valid id"),
])
def test_account_invariants(changes, message):
    with pytest.raises(ValueError, match=message):
        account(**changes)


@pytest.mark.parametrize("changes, message", [
    ({"quantity": "0"}, "greater than zero"),
    ({"quantity": "-1"}, "greater than zero"),
    ({"quantity": "1.0000001"}, "more than 6 decimal places"),
    ({"cost_basis": "-5"}, "must not be negative"),
    ({"cost_basis": "1.001"}, "more than 2 decimal places"),
    ({"symbol": "vti"}, "not a valid symbol"),
])
def test_lot_invariants(changes, message):
    with pytest.raises(ValueError, match=message):
        lot(**changes)


def test_lot_dates_are_dates():
    assert lot(acquired="2024-01-05").acquired == dt.date(2024, 1, 5)
    with pytest.raises(TypeError):
        lot(acquired=dt.datetime(2024, 1, 5, 10, 0))


@pytest.mark.parametrize("acquired, sold, term", [
    (dt.date(2024, 1, 5), dt.date(2025, 1, 5), Term.SHORT),  # the anniversary itself is short-term
    (dt.date(2024, 1, 5), dt.date(2025, 1, 6), Term.LONG),   # the day after is long-term
    (dt.date(2024, 2, 29), dt.date(2025, 2, 28), Term.SHORT),
    (dt.date(2024, 2, 29), dt.date(2025, 3, 1), Term.LONG),
])
def test_holding_period_is_long_from_the_day_after_the_anniversary(acquired, sold, term):
    assert lot(acquired=acquired).term(sold) is term


def test_model_weights_must_sum_to_one_with_cash():
    model = ModelVersion("M", "1", [ModelWeight("VTI", "0.6"), ModelWeight("$CASH", "0.4")])
    assert model.cash_weight == Decimal("0.4")
    with pytest.raises(ValueError, match="sum to 0.9, not 1"):
        ModelVersion("M", "1", [ModelWeight("VTI", "0.6"), ModelWeight("BND", "0.3")])
    ModelVersion("M", "1", [ModelWeight("VTI", "0.3333333"), ModelWeight("BND", "0.6666667")])


def test_model_rejects_a_symbol_twice_and_weights_outside_zero_one():
    with pytest.raises(ValueError, match="twice"):
        ModelVersion("M", "1", [ModelWeight("VTI", "0.5"), ModelWeight("VTI", "0.5")])
    with pytest.raises(ValueError, match="between 0 and 1"):
        ModelWeight("VTI", "1.5")


def test_prices_are_never_negative_and_cash_may_hold_a_debit():
    assert CashBalance("A-1", "S-1", "-0.01").amount == Decimal("-0.01")  # a fill above its estimate
    with pytest.raises(ValueError, match="greater than zero"):
        Security("VTI", "Vanguard", "us_equity", "0")


def test_transaction_amount_sign_follows_its_type():
    Transaction("T1", "A-1", "S-1", "2024-01-05", "buy", "-100.00", "VTI", "1", "100")
    with pytest.raises(ValueError, match="amount of a buy must be negative"):
        Transaction("T1", "A-1", "S-1", "2024-01-05", "buy", "100.00", "VTI", "1", "100")
    with pytest.raises(ValueError, match="amount of a deposit must be positive"):
        Transaction("T1", "A-1", "S-1", "2024-01-05", "deposit", "-5.00")
    with pytest.raises(ValueError, match="needs a symbol"):
        Transaction("T1", "A-1", "S-1", "2024-01-05", "dividend", "5.00")
    with pytest.raises(ValueError, match="needs a quantity"):
        Transaction("T1", "A-1", "S-1", "2024-01-05", "sell", "5.00", "VTI")


def test_trade_value_is_rounded_to_the_cent():
    trade = Trade("T1", "R1", "A-1", "S-1", "VTI", "buy", "3", "312.455")
    assert trade.est_value == Decimal("937.36")
    assert trade.status == "proposed"


def test_order_never_fills_more_than_its_quantity():
    with pytest.raises(ValueError, match="cannot fill more"):
        Order("O1", "C1", "A-1", "VTI", "sell", "10", filled_quantity="11")


def test_values_are_frozen():
    with pytest.raises(AttributeError):
        Sleeve("S-1", "A-1").model_id = "M"
