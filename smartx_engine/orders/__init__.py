"""The order lifecycle: approved trades become orders, sent exactly once, tracked until filled.

- :mod:`.plan`: net approved trades per account (crossings inside accounts), optional blocks,
  client order ids, all recorded as ``pending`` before anything is sent;
- :mod:`.submit`: reconcile what an earlier run left pending, then send;
- :mod:`.tracking`: custodians' reports applied (statuses, executions, cancels);
- :mod:`.fills`: one execution applied to lots, cash and realised gains in one transaction;
- :mod:`.records`: stored orders as rows, requests and JSON.

Statuses (docs/custodians.md has the diagram): ``pending`` → ``submitted`` → ``partially_filled``
→ ``filled``; ``submitted``/``partially_filled`` → ``cancelled``; ``pending``/``submitted`` →
``rejected``.
"""

from .plan import record_orders
from .records import order_json, order_rows
from .submit import Submission, submit
from .tracking import Tracked, apply_report, cancel_order, sync_orders

__all__ = ["Submission", "Tracked", "apply_report", "cancel_order", "order_json", "order_rows",
           "record_orders", "submit", "sync_orders"]
