"""Custodians seen from the engine: the registered adapters, sync, links and reconciliation breaks.

- :mod:`.registry`: ``custodians(name=None)``, the adapters plugins register;
- :mod:`.sync`: ``sync(store, adapters, as_of=...)`` fetches each custodian's accounts,
  positions, lots, cash and transactions into the store and reconciles them;
- :mod:`.reconcile`: the breaks between the engine's book and the custodian's
  (``blocked_accounts``, ``acknowledge``, ``stored_breaks``);
- :mod:`.links`: ``link_account``, an account's number at its custodian;
- :mod:`.history`: ``rebuild_lots`` and ``onboard``, an account's lots rebuilt from the custodian's
  transactions (custodians that report no lots).

See docs/custodians.md.
"""

from .history import RebuiltLots, onboard, rebuild_lots
from .links import link_account
from .reconcile import Break, ReconcileResult, acknowledge, blocked_accounts, reconcile, stored_breaks
from .registry import custodians
from .sync import CustodianSync, SyncResult, last_syncs, sync

__all__ = [
    "Break", "CustodianSync", "RebuiltLots", "ReconcileResult", "SyncResult", "acknowledge", "blocked_accounts",
    "custodians", "last_syncs", "link_account", "onboard", "rebuild_lots", "reconcile", "stored_breaks", "sync",
]
