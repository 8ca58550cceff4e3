"""Crossings noted over columns are :func:`net`'s (the former per-object code is the reference)."""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from smartx_engine.domain import Side, Trade
from smartx_engine.fixedpoint import PRICE, QUANTITY
from smartx_engine.rebalance.netting import net
from smartx_engine.rebalance.proposals import Proposals
from smartx_engine.rebalance.runs import with_crossings


@attrs.frozen
class Staged:
    trade_id: str
    account_id: str
    sleeve_id: str
    symbol: str
    side: Side
    quantity: Decimal
    est_price: Decimal


def reference_with_crossings(proposals: Proposals) -> Proposals:
    """The proposals with the crossings :func:`net` finds noted, every trade an object named ``P<row>``."""
    staged = [Staged(f"P{row}", str(proposals.accounts[proposals.account[row]]), proposals.sleeve_id(row),
                     str(proposals.symbols[proposals.symbol[row]]), Side.BUY if proposals.side[row] > 0 else Side.SELL,
                     QUANTITY.to_decimal(int(proposals.quantity_e6[row])),
                     PRICE.to_decimal(int(proposals.price_e6[row])))
              for row in range(len(proposals))]
    notes: dict[int, list[str]] = {}
    for c in net(staged).crossings:
        words = f"{c.quantity} shares cross inside {c.account_id} (lots move, no sale)"
        notes.setdefault(int(c.sell_trade_id[1:]), []).append(f"nets with {c.to_sleeve}'s buy: {words}")
        notes.setdefault(int(c.buy_trade_id[1:]), []).append(f"nets with {c.from_sleeve}'s sell: {words}")
    return proposals.with_notes(notes)


trades = st.lists(st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(["S1", "S2", "S10", "S9"]),
                            st.sampled_from(["X", "Y"]), st.sampled_from(["buy", "sell"]),
                            st.sampled_from(["1", "2.5", "3", "0.000001", "10", "7.25"])), max_size=40)


@settings(max_examples=300)
@given(trades)
def test_crossings_over_columns_are_nets(rows):
    proposals = Proposals.of_objects([
        (Trade(trade_id="T", run_id="R", account_id=a, sleeve_id=f"{a}-{s}", symbol=symbol, side=side,
               quantity=Decimal(q), est_price=Decimal("10"), reasons=("r",)), [], None)
        for a, s, symbol, side, q in rows])
    assert with_crossings(proposals).notes == reference_with_crossings(proposals).notes
