"""The Schwab custodian adapter: the engine's custodian contract over the Schwab Trader API.

``SchwabCustodian`` is what the plugin registers (``register_custodians``):

* ``accounts()``: every linked account with its cash and positions (the retail API has no lots);
* ``transactions()``: TRADE, DIVIDEND_OR_INTEREST and cash movements, mapped to the engine's
  transaction types (see :func:`transaction`; the others are skipped);
* ``submit()``: one market DAY order per request; it never raises once an order may have left:
  an order whose answer was lost is reported PENDING, a refusal REJECTED;
* ``track()``: ``get_order`` for acknowledged orders; the others are matched by their fields and
  time window (Schwab carries no client order id; see :meth:`SchwabCustodian.track`);
* ``cancel()``: ``cancel_order``, then the order's report.

Settings (``plugin_settings("schwab")``: the config file's ``[schwab]`` table, overridden by
``SMARTX_SCHWAB_*``): ``app_key``, ``app_secret``, ``token_file``, ``base_url`` and optionally
``orders_per_minute``. Nothing is read (settings, token file, network) before the first call
that needs it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from smartx_engine import (
    CustodianAccount, CustodianError, CustodianPosition, CustodianTransaction, Execution, FeeDebit, FeeFile,
    OrderReport, OrderRequest, OrderStatus, SandboxSession, Side, TransactionType, fee_file_csv, plugin_settings,
)

from .answers import OrderState, TransactionRecord, TransferItem, equity_order
from .client import OrderOutcomeUnknown, SchwabClient, SchwabRefused

#: US equities trade on New York dates: a Schwab time (UTC) is read as a New York date
MARKET_TZ = ZoneInfo("America/New_York")
#: an order found by matching may have been entered this long before the engine recorded it (clock skew)
MATCH_SKEW = dt.timedelta(minutes=5)
#: ... and up to this long after now (the custodian's clock ahead of ours)
MATCH_AHEAD = dt.timedelta(days=1)
#: transactions are asked for in windows this long (Schwab: at most a year and 3000 rows a request)
TRANSACTION_CHUNK = dt.timedelta(days=90)
MAX_TRANSACTION_ROWS = 3000
#: Schwab lists orders over at most a year: older ones cannot be matched
MAX_LISTING = dt.timedelta(days=364)
PRICE_UNIT = Decimal("0.000001")  # the engine's price precision
#: the callback URL the sandbox's login is made with (the sandbox accepts any)
SANDBOX_REDIRECT = "https://127.0.0.1/callback"

#: Schwab order statuses (spec ``apiOrderStatus``) that end an order; every other one is open
DONE_STATUSES = {"FILLED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELLED, "EXPIRED": OrderStatus.CANCELLED,
                 "REPLACED": OrderStatus.CANCELLED, "REJECTED": OrderStatus.REJECTED}

#: Schwab transaction types whose cash effect is a deposit (positive) or a withdrawal (negative)
CASH_MOVEMENTS = ("ACH_RECEIPT", "ACH_DISBURSEMENT", "CASH_RECEIPT", "CASH_DISBURSEMENT", "ELECTRONIC_FUND",
                  "WIRE_IN", "WIRE_OUT", "JOURNAL")
#: the types asked for; RECEIVE_AND_DELIVER, MEMORANDUM, MARGIN_CALL, MONEY_MARKET and SMA_ADJUSTMENT are not
MAPPED_TYPES = ("TRADE", "DIVIDEND_OR_INTEREST", *CASH_MOVEMENTS)

_SIDE_INSTRUCTION = {Side.BUY: "BUY", Side.SELL: "SELL"}


class AccountNotLinked(CustodianError):
    """The account number is not among those the Schwab login can see."""


def market_date(moment: str) -> dt.date:
    """The New York date of a Schwab time such as ``2026-01-05T14:30:01+0000``."""
    try:
        parsed = dt.datetime.fromisoformat(moment)
    except ValueError:
        raise CustodianError(f"Schwab sent a time that is not ISO 8601: {moment!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(MARKET_TZ).date()


def _entered(state: OrderState) -> dt.datetime | None:
    if not state.entered_time:
        return None
    try:
        moment = dt.datetime.fromisoformat(state.entered_time)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def report(client_order_id: str, state: OrderState) -> OrderReport:
    """The engine's report of a Schwab order (see the README's status table)."""
    executions = tuple(
        Execution(execution_id=f"{e.activity_id if e.activity_id is not None else 'leg'}-{e.leg_id}",
                  quantity=e.quantity, price=e.price, on=market_date(e.time))
        for e in state.executions)
    status = DONE_STATUSES.get(state.status)
    if status is None:  # WORKING, QUEUED, ACCEPTED, NEW, PENDING_*, AWAITING_*, UNKNOWN: still open
        status = OrderStatus.PARTIALLY_FILLED if state.filled_quantity > 0 else OrderStatus.SUBMITTED
    message = state.status_description
    if status == OrderStatus.REJECTED and not message:
        message = "rejected by Schwab (no statusDescription given)"
    return OrderReport(client_order_id=client_order_id, custodian_order_id=str(state.order_id), status=status,
                       executions=executions, message=message)


def _security_leg(record: TransactionRecord) -> TransferItem | None:
    """The transaction's security leg: the first item that is neither a fee nor currency."""
    return next((i for i in record.items if i.fee_type is None and i.asset_type != "CURRENCY"
                 and not i.symbol.startswith("CURRENCY_")), None)


def transaction(record: TransactionRecord) -> CustodianTransaction | None:
    """One Schwab transaction as the engine's, or None when it maps to none of its types.

    * ``TRADE``: BUY when the security leg's ``amount`` is positive, SELL when negative; quantity
      and price from that leg, amount the ``netAmount`` (fees included);
    * ``DIVIDEND_OR_INTEREST``: DIVIDEND of the security leg's symbol when the amount is positive;
      a negative one (margin interest, ADR fees, foreign tax withheld) is a FEE; interest with no
      security leg (on cash) is skipped: the engine's dividends need a security;
    * ``ACH_*``, ``CASH_*``, ``ELECTRONIC_FUND``, ``WIRE_*``, ``JOURNAL``: DEPOSIT when cash comes
      in, WITHDRAWAL when it goes out, FEE when it goes out and every item is a fee;
    * skipped: zero amounts, statuses other than VALID, trades without a security leg, and every
      other type (``RECEIVE_AND_DELIVER``, ``MEMORANDUM``, ``MARGIN_CALL``, ``MONEY_MARKET``,
      ``SMA_ADJUSTMENT``).
    """
    if record.status not in (None, "VALID"):
        return None
    amount = record.net_amount
    base: dict[str, Any] = dict(transaction_id=str(record.activity_id),
                                date=market_date(record.trade_date or record.time), amount=amount,
                                order_id=None if record.order_id is None else str(record.order_id))
    leg = _security_leg(record)
    if record.type == "TRADE":
        if leg is None or not leg.amount:
            return None
        price = leg.price if leg.price is not None else abs(leg.cost / leg.amount)
        return CustodianTransaction(type=TransactionType.BUY if leg.amount > 0 else TransactionType.SELL,
                                    symbol=leg.symbol, quantity=abs(leg.amount),
                                    price=price.quantize(PRICE_UNIT, ROUND_HALF_EVEN), **base)
    if not amount:
        return None
    if record.type == "DIVIDEND_OR_INTEREST":
        if amount < 0:
            return CustodianTransaction(type=TransactionType.FEE, **base)
        if leg is None:
            return None
        return CustodianTransaction(type=TransactionType.DIVIDEND, symbol=leg.symbol, **base)
    if record.type in CASH_MOVEMENTS:
        if amount > 0:
            return CustodianTransaction(type=TransactionType.DEPOSIT, **base)
        fee = bool(record.items) and all(i.fee_type is not None for i in record.items)
        return CustodianTransaction(type=TransactionType.FEE if fee else TransactionType.WITHDRAWAL, **base)
    return None


class SchwabCustodian:
    """The Schwab adapter (see the module docstring).

    ``SchwabCustodian(client)`` uses a :class:`SchwabClient` (or a function that makes one, called
    on first use); :meth:`from_settings` makes it from ``plugin_settings("schwab")``.
    ``now`` is the clock of the matching window (UTC).
    """

    name = "schwab"
    supports_blocks = False

    def __init__(self, client: SchwabClient | Callable[[], SchwabClient], *,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)):
        if isinstance(client, SchwabClient):
            self._client: SchwabClient | None = client
            self._make_client: Callable[[], SchwabClient] | None = None
        else:
            self._client, self._make_client = None, client
        self._now = now
        self._hashes: dict[str, str] = {}
        #: Schwab order id -> the client order id this adapter placed it for (this process only)
        self._placed: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Mapping[str, str] | None = None, *,
                      environ: Mapping[str, str] | None = None, **client_options: Any) -> SchwabCustodian:
        """An adapter whose client is made on first use from ``settings`` (default: read then,
        from ``plugin_settings("schwab", environ)``); ``client_options`` go to :class:`SchwabClient`."""
        def make() -> SchwabClient:
            chosen = plugin_settings("schwab", environ) if settings is None else settings
            return SchwabClient.from_settings(chosen, **client_options)

        return cls(make)

    def __repr__(self) -> str:
        where = self._client.base_url if self._client is not None else "not connected yet"
        return f"SchwabCustodian({where})"

    @property
    def client(self) -> SchwabClient:
        """The Schwab client, made on first use."""
        if self._client is None:
            assert self._make_client is not None
            self._client = self._make_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def fee_deduction_file(self, debits: Sequence[FeeDebit], as_of: dt.date) -> FeeFile:
        """The file asking Schwab to debit advisory fees. Schwab gives its billing-file layout to
        partners only (specs/schwab.md), so this is the engine's generic layout until it is known."""
        return fee_file_csv(self.name, debits, as_of)

    @contextlib.contextmanager
    def sandbox(self, seed: Mapping[str, Any], directory: Path) -> Iterator[SandboxSession]:
        """A :class:`SchwabSandbox` serving ``seed`` (the contract seed shape), logged in already.

        The token file is written in ``directory`` (0600); the session's environment is the
        ``SMARTX_SCHWAB_*`` variables that point this plugin at the sandbox. Orders fill at once.
        """
        from .sandbox import SchwabSandbox

        with SchwabSandbox.from_contract_seed(seed, epoch=dt.datetime.now(dt.UTC)) as server:
            token_file = Path(directory) / "schwab-token.json"
            with SchwabClient(server.base_url, app_key=server.app_key, app_secret=server.app_secret,
                              token_path=token_file) as client:
                client.exchange_code(server.authorization_code, SANDBOX_REDIRECT)
            yield SandboxSession(
                environment={"SMARTX_SCHWAB_BASE_URL": server.base_url, "SMARTX_SCHWAB_APP_KEY": server.app_key,
                             "SMARTX_SCHWAB_APP_SECRET": server.app_secret,
                             "SMARTX_SCHWAB_TOKEN_FILE": str(token_file)},
                settle=lambda trade_date: None)

    def _hash(self, account_number: str) -> str:
        """The account's ``hashValue`` (Schwab's calls take it, never the number)."""
        if account_number not in self._hashes:
            self._hashes = {a.account_number: a.hash_value for a in self.client.account_numbers()}
        try:
            return self._hashes[account_number]
        except KeyError:
            raise AccountNotLinked(f"Schwab account {account_number} is not linked to this Schwab login "
                                   f"(linked: {', '.join(sorted(self._hashes)) or 'none'})") from None

    # -- reading -----------------------------------------------------------------------------------

    def accounts(self) -> list[CustodianAccount]:
        result = []
        for detail in self.client.accounts():
            positions = []
            for p in detail.positions:
                price = None
                if p.market_value is not None and p.quantity:
                    price = (p.market_value / p.quantity).quantize(PRICE_UNIT, ROUND_HALF_EVEN)
                positions.append(CustodianPosition(p.symbol, p.quantity, price))
            result.append(CustodianAccount(number=detail.account_number, cash=detail.balances.cash,
                                           positions=positions, lots=None, registration=None))
        return result

    def transactions(self, account_number: str, start: dt.date, end: dt.date) -> list[CustodianTransaction]:
        """Transactions traded from ``start`` to ``end`` (New York dates, both included)."""
        account_hash = self._hash(account_number)
        found: dict[str, CustodianTransaction] = {}
        first = start
        while first <= end:  # Schwab answers at most a year, and at most 3000 rows, per request
            last = min(end, first + TRANSACTION_CHUNK - dt.timedelta(days=1))
            for record in self._records(account_hash, first, last):
                mapped = transaction(record)
                if mapped is not None and start <= mapped.date <= end:
                    found.setdefault(mapped.transaction_id, mapped)
            first = last + dt.timedelta(days=1)
        return list(found.values())

    def _records(self, account_hash: str, first: dt.date, last: dt.date) -> list[TransactionRecord]:
        """The records of New York days ``first`` to ``last``; a full page is split in halves."""
        since = dt.datetime.combine(first, dt.time(), MARKET_TZ)
        until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), MARKET_TZ) - dt.timedelta(milliseconds=1)
        records = self.client.transactions(account_hash, since, until, types=MAPPED_TYPES)
        if len(records) < MAX_TRANSACTION_ROWS:
            return records
        if first == last:
            raise CustodianError(f"Schwab returned {len(records)} transactions for {first}, its maximum: "
                                 f"some may be missing")
        middle = first + (last - first) // 2
        return self._records(account_hash, first, middle) + self._records(account_hash, middle + dt.timedelta(days=1),
                                                                          last)

    # -- orders ------------------------------------------------------------------------------------

    def submit(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        """Place each order (market, DAY); never raises once an order may have left.

        SUBMITTED with Schwab's order id when acknowledged; REJECTED on a definite refusal (an
        HTTP 4xx, a fractional or non-positive quantity, an account not linked); PENDING with no
        order id when the order may or may not have arrived: ``track`` it before sending it again.
        """
        return [self._submit(order) for order in orders]

    def _submit(self, order: OrderRequest) -> OrderReport:
        def answer(status: OrderStatus, message: str | None = None, order_id: str | None = None) -> OrderReport:
            return OrderReport(client_order_id=order.client_order_id, custodian_order_id=order_id,
                               status=status, message=message)

        quantity = order.quantity
        if quantity <= 0 or quantity != quantity.to_integral_value():
            return answer(OrderStatus.REJECTED, f"Schwab equity orders take a positive whole number of shares, "
                                                f"not {quantity} (nothing was sent)")
        try:
            account_hash = self._hash(order.account_number)
        except (AccountNotLinked, SchwabRefused) as exc:
            return answer(OrderStatus.REJECTED, f"{exc} (nothing was sent)")
        except CustodianError as exc:
            return answer(OrderStatus.PENDING, f"not sent: {exc}; track it before sending it again")
        wire = equity_order(order.symbol, _SIDE_INSTRUCTION[order.side], quantity)
        try:
            order_id = str(self.client.place_order(account_hash, wire))
        except OrderOutcomeUnknown as exc:
            return answer(OrderStatus.PENDING, f"outcome unknown: {exc}")
        except SchwabRefused as exc:
            return answer(OrderStatus.REJECTED, str(exc))
        except CustodianError as exc:  # retries exhausted, token trouble, a 201 without an order id
            return answer(OrderStatus.PENDING, f"not acknowledged: {exc}; track it before sending it again")
        self._placed[order_id] = order.client_order_id
        return answer(OrderStatus.SUBMITTED, order_id=order_id)

    def track(self, orders: Sequence[OrderRequest]) -> dict[str, OrderReport | None]:
        """What Schwab knows of each order; None for an order it never received.

        An order with ``custodian_order_id`` is read with ``get_order``. One without (the engine
        crashed, or the answer was lost) is matched: Schwab carries no client order id, so the
        account's orders entered from ``placed_at`` - 5 minutes to now + 1 day are listed, and the
        earliest one with the same symbol, instruction and quantity, entered at or after
        ``placed_at`` - 5 minutes, that no other order claims is taken. Claimed are the orders of
        this call that carry a ``custodian_order_id``, those matched earlier in this call (orders
        are matched in ``placed_at`` order), and those this adapter placed for another client
        order id. Pass every order of an account that may be in flight in one call.
        """
        results: dict[str, OrderReport | None] = {}
        claimed = {o.custodian_order_id: o.client_order_id for o in orders if o.custodian_order_id}
        for order in orders:
            if order.custodian_order_id:
                state = self.client.get_order(self._hash(order.account_number), _order_id(order))
                results[order.client_order_id] = report(order.client_order_id, state)
        unacknowledged = sorted((o for o in orders if not o.custodian_order_id), key=lambda o: o.placed_at)
        listed: dict[str, list[OrderState]] = {}
        for account in dict.fromkeys(o.account_number for o in unacknowledged):
            mine = [o for o in unacknowledged if o.account_number == account]
            now = self._now()
            start = max(min(_utc(o.placed_at) for o in mine) - MATCH_SKEW, now - MAX_LISTING)
            states = self.client.orders(self._hash(account), start, now + MATCH_AHEAD)
            listed[account] = sorted((s for s in states if _entered(s) is not None),
                                     key=lambda s: (_entered(s), s.order_id))
        for order in unacknowledged:
            found = self._match(order, listed[order.account_number], claimed)
            if found is not None:
                claimed[str(found.order_id)] = order.client_order_id
            results[order.client_order_id] = None if found is None else report(order.client_order_id, found)
        return {o.client_order_id: results[o.client_order_id] for o in orders}

    def _match(self, order: OrderRequest, states: Iterable[OrderState],
               claimed: Mapping[str, str]) -> OrderState | None:
        earliest = _utc(order.placed_at) - MATCH_SKEW
        for state in states:
            order_id = str(state.order_id)
            owner = claimed.get(order_id, self._placed.get(order_id))
            if owner is not None and owner != order.client_order_id:
                continue
            if (state.symbol == order.symbol and state.instruction == _SIDE_INSTRUCTION[order.side]
                    and state.quantity == order.quantity and _entered(state) >= earliest):
                return state
        return None

    def cancel(self, order: OrderRequest) -> OrderReport:
        """Ask Schwab to cancel the order; its report after the request.

        An order without ``custodian_order_id`` is matched first (as ``track`` does); one Schwab
        never received is a :class:`CustodianError`. An order Schwab will not cancel because it is
        no longer open (filled, already cancelled) gets its current report, with Schwab's message.
        """
        if not order.custodian_order_id:
            found = self.track([order])[order.client_order_id]
            if found is None:
                raise CustodianError(f"order {order.client_order_id} ({order.side.value} {order.quantity} "
                                     f"{order.symbol} in {order.account_number}) never reached Schwab: "
                                     f"nothing to cancel")
            order_id = found.custodian_order_id
        else:
            order_id = str(_order_id(order))
        account_hash = self._hash(order.account_number)
        try:
            self.client.cancel_order(account_hash, int(order_id))
        except SchwabRefused as exc:
            current = report(order.client_order_id, self.client.get_order(account_hash, int(order_id)))
            if current.status in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED):
                raise
            return OrderReport(current.client_order_id, current.custodian_order_id, current.status,
                               current.executions, f"not cancelled: {exc}")
        return report(order.client_order_id, self.client.get_order(account_hash, int(order_id)))


def _order_id(order: OrderRequest) -> int:
    try:
        return int(order.custodian_order_id or "")
    except ValueError:
        raise CustodianError(f"order {order.client_order_id}: {order.custodian_order_id!r} is not a Schwab "
                             f"order id (Schwab's are numbers)") from None


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
