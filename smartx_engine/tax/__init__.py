"""Tax management, the public API (see docs/tax.md).

- :mod:`.relief`: which lots a sell relieves (FIFO, LIFO, HIFO, LOFO, MIN_TAX, SPECIFIC);
- :mod:`.wash`: wash sales across a household's accounts;
- :mod:`.ledger`: lots and realised sales rebuilt from a transaction history;
- :mod:`.reports`: open lots and realised sales as the CLI and reports read them.

The public names are re-exported here, one line per module.
"""

from .ledger import ClosedLot, HistoryError, Ledger, rebuild
from .relief import Method, OpenLot, Relief, relief_order, relieve
from .wash import Acquisition, LossSale, WashAdjustment, blocked_buys, identical_groups, recent_purchases, wash_sales

__all__ = [
    "ClosedLot", "HistoryError", "Ledger", "rebuild",
    "Method", "OpenLot", "Relief", "relief_order", "relieve",
    "Acquisition", "LossSale", "WashAdjustment", "blocked_buys", "identical_groups", "recent_purchases", "wash_sales",
]
