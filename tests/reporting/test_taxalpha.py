"""Tax alpha: harvested losses at the account's rates, and the chosen lots against FIFO."""

import datetime as dt
from decimal import Decimal

from smartx_engine.domain import Term
from smartx_engine.reporting.taxalpha import tax_alpha
from smartx_engine.tax.ledger import ClosedLot

from .test_tax_report import trade

D = dt.date


def test_harvesting_and_lot_selection_are_priced_at_the_accounts_rates(history_store):
    # A-1 (short-term 35%, long-term 15%) also holds 10 AAA bought in 2025 at 50
    history_store.db.execute("insert into lots (lot_id, account_id, sleeve_id, symbol, quantity_e6, cost_basis_cents,"
                             " acquired) values ('L-LO', 'A-1', 'A-1-CORE', 'AAA', 10000000, 50000, '2025-01-02')")
    trade(history_store, "T-00000001", "to target 60.00%")
    trade(history_store, "T-00000002", "harvest: realises a loss of 200.00 USD")
    with history_store.transaction():
        history_store.add_realized([
            # 10 AAA sold at 110 from a lot bought in January at 120: -100 short-term
            ClosedLot("T-00000001-F1", "L-HI", "A-1", "A-1-CORE", "AAA", D(2026, 1, 2), D(2026, 1, 2), D(2026, 3, 2),
                      Decimal(10), Decimal("1100.00"), Decimal("1200.00"), Term.SHORT),
            # the harvest: 10 BBB sold at 80 from a lot bought at 100: -200 short-term, 50 of it disallowed
            ClosedLot("T-00000002-F1", "L-H2", "A-1", "A-1-CORE", "BBB", D(2026, 1, 5), D(2026, 1, 5), D(2026, 3, 3),
                      Decimal(10), Decimal("800.00"), Decimal("1000.00"), Term.SHORT, Decimal("50.00")),
        ])
    alpha = tax_alpha(history_store, ["A-1", "A-2"], D(2026, 1, 1), D(2026, 12, 31))
    a1 = alpha["A-1"]
    assert a1.harvested_losses == Decimal("-150.00")  # -200 + 50 disallowed
    assert a1.harvesting == Decimal("52.50")  # 150 x 35%
    # AAA: FIFO would have sold L-LO (2025, 50 a share): +600 long-term x 15% = 90 of tax; the chosen lot
    # lost 100 short-term: -35. Saved 125.
    # BBB: FIFO would have sold L-2 (5 Jan, lot id before L-H2; 50 a share): +300 short-term x 35% = 105;
    # the chosen lot: -200 x 35% = -70. Saved 175.
    assert a1.lot_selection == Decimal("300.00") and a1.sales_compared == 2
    assert a1.total == Decimal("352.50") and "first in, first out" in " ".join(a1.assumptions)
    assert alpha["A-2"].total == 0  # an IRA
    assert tax_alpha(history_store, ["A-1"], D(2026, 4, 1), D(2026, 12, 31))["A-1"].sales_compared == 0
