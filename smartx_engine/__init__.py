"""smartx-engine: an open-source turnkey asset management engine.

The public API, for plugins and scripts. Anything not named here is internal.
"""

from importlib.metadata import PackageNotFoundError, version

from .bookdata import BookData, ImportSummary
from .config import plugin_settings
from .csvfiles import CsvFile, CsvRow, Diagnostics
from .custody import (
    Custodian, CustodianAccount, CustodianLot, CustodianPosition, CustodianTransaction, Execution, FeeDebit, FeeFile,
    LotInstruction, OrderOutcomeUnknown, OrderReport, OrderRequest, SandboxSession, allocate_pro_rata, fee_file_csv,
)
from .domain import (
    CASH_SYMBOL, Account, CashBalance, Household, Lot, ModelVersion, ModelWeight, Order, OrderStatus,
    PricePoint, Registration, Security, Side, Sleeve, TaxTreatment, Term, Trade, TradeStatus,
    Transaction, TransactionType,
)
from .dsl.functions import PolicyFunction
from .dsl.schema import BOOL, DATE, DAYS, PLAIN, RATIO, STRING, USD
from .errors import (
    ConflictError, CustodianError, DataError, Diagnostic, NotFoundError, PluginError, PolicyError,
    SmartxError,
)
from .fixedpoint import MONEY, PRICE, QUANTITY, round_money
from .hookspecs import hookimpl
from .modelfeeds import (
    ChangeType, FeedSandboxSession, IdentifierType, LineAction, ModelDelivery, ModelFeed, ModelLine,
)
from .store import Store

try:
    __version__ = version("smartx-engine")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Custodian", "CustodianAccount", "CustodianLot", "CustodianPosition", "CustodianTransaction", "Execution",
    "FeeDebit", "FeeFile", "LotInstruction", "OrderOutcomeUnknown", "OrderReport", "OrderRequest", "SandboxSession",
    "allocate_pro_rata", "fee_file_csv",
    "plugin_settings",
    "ChangeType", "FeedSandboxSession", "IdentifierType", "LineAction", "ModelDelivery", "ModelFeed", "ModelLine",
    "BOOL", "DATE", "DAYS", "PLAIN", "RATIO", "STRING", "USD", "PolicyFunction",
    "CASH_SYMBOL", "MONEY", "PRICE", "QUANTITY", "Account", "BookData", "CashBalance", "ConflictError",
    "CsvFile", "CsvRow", "CustodianError", "DataError", "Diagnostic", "Diagnostics", "Household",
    "ImportSummary", "Lot", "ModelVersion", "ModelWeight", "NotFoundError", "Order", "OrderStatus",
    "PluginError", "PolicyError", "PricePoint", "Registration", "Security", "Side", "Sleeve",
    "SmartxError", "Store", "TaxTreatment", "Term", "Trade", "TradeStatus", "Transaction",
    "TransactionType", "__version__", "hookimpl", "round_money",
]
