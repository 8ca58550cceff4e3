"""The lots held on a past day: today's, plus what later sales took from them."""

import datetime as dt
from decimal import Decimal

from smartx_engine.domain import Term
from smartx_engine.reporting.lots import lots_on
from smartx_engine.tax.ledger import ClosedLot

D = dt.date


def test_lots_are_rolled_back_through_later_sales(history_store):
    with history_store.transaction():
        history_store.add_realized([
            # 10 of L-1's 50 AAA sold on 10 Feb (L-1 keeps 40, cost 100 a share)
            ClosedLot("S-1", "L-1", "A-1", "A-1-CORE", "AAA", D(2026, 1, 2), D(2026, 1, 2), D(2026, 2, 10),
                      Decimal(10), Decimal("1100.00"), Decimal("1000.00"), Term.SHORT),
            # a lot closed since: 5 BBB bought 3 Jan, sold 15 Feb
            ClosedLot("S-2", "L-9", "A-1", "A-1-CORE", "BBB", D(2026, 1, 3), D(2026, 1, 3), D(2026, 2, 15),
                      Decimal(5), Decimal("240.00"), Decimal("250.00"), Term.SHORT),
        ])
    held = {lot.lot_id: (lot.quantity, lot.cost_basis) for lot in lots_on(history_store, ["A-1-CORE"], D(2026, 2, 1))}
    assert held == {"L-1": (Decimal(50), Decimal("5000.00")), "L-2": (Decimal(40), Decimal("2000.00")),
                    "L-9": (Decimal(5), Decimal("250.00"))}
    assert {lot.lot_id for lot in lots_on(history_store, ["A-1-CORE"], D(2026, 1, 2))} == {"L-1"}
    assert {lot.lot_id: lot.quantity for lot in lots_on(history_store, ["A-1-CORE"], D(2026, 2, 10))} == {
        "L-1": Decimal(40), "L-2": Decimal(40), "L-9": Decimal(5)}  # the sale of the 10th is done by its end
    just_before = lots_on(history_store, ["A-1-CORE"], D(2026, 2, 10), before=("2026-02-10", "S-1"))
    assert {lot.lot_id: lot.quantity for lot in just_before}["L-1"] == Decimal(50)
    assert lots_on(history_store, ["A-2-CORE"], D(2026, 1, 4)) == []
