"""Wash sales: which losses a household may not deduct, and which lots take them instead.

A pure module: it reads loss sales and acquisitions and says how they match. It writes nothing
and adjusts no lot; the caller (:mod:`smartx_engine.tax.ledger`, the rebalancer) applies the
:class:`WashAdjustment` values. docs/tax.md, "Wash sales", states the same rules with a worked
example.

Sources: 26 U.S.C. §1091 (disallowance, §1091(a); basis, §1091(d)); 26 CFR §1.1091-1 (the 61-day
period, the matching order, examples 1 to 3) and §1.1091-2 (basis examples); 26 U.S.C. §1223(3)
(holding period); Rev. Rul. 56-602 (shares of the lot sold are not its replacement); Rev. Rul.
2008-5 (replacement in an IRA or Roth IRA); IRS Publication 550, "Wash Sales".

Rules, as this module applies them:

1. **What is washed.** A :class:`LossSale` is one leg of a sale (the shares of one lot) at a loss
   in a taxable account. Gains are never wash sales (§1091 disallows losses only); callers pass
   losses only, and only of taxable accounts (in an IRA there is no loss to disallow).
2. **Replacement shares** (§1091(a), §1.1091-1(a), (f)) are shares acquired (by purchase or a
   fully taxable exchange) of a substantially identical security within ``window_days`` (30)
   days before or after the sale date, both ends included: the 61-day period. The day of the
   sale itself is in it. "Substantially identical" is the ``identical`` function: by default only
   the same symbol; :func:`identical_groups` builds one from the policy's groups of symbols.
3. **In any account of the household.** The caller passes the acquisitions of every account of
   the taxpayer, spouse included (Pub. 550): taxable accounts, IRAs and Roth IRAs alike.
4. **Not the shares sold.** An acquisition is never a replacement for:

   - the lot the shares were sold from (``LossSale.lot_id``), even for the shares of it still
     held: selling part of a lot bought less than 30 days before is a bona fide reduction of the
     holding, not a wash (Rev. Rul. 56-602);
   - shares that the given loss sales sell on or before the sale's date, by any leg: shares sold
     together with (or before) the sold shares did not replace them. The module knows days, not
     times of day, so two loss sales on one day count as sold together. Shares sold at a *gain*
     are not known here: a lot partly sold at a gain still counts whole.

   Shares acquired before the sold shares were, but within the 61 days, do count: the primary
   texts say "has acquired ... within a period beginning 30 days before", nothing more.
5. **Order** (§1.1091-1(b), (c), (d)). Loss sales are processed in the order they happened: by
   ``sold`` date, then (the order within a day being unknown) by the sold shares' ``acquired``
   date, earliest first, as §1.1091-1(b) prescribes, then by ``sale_id``. For each sale,
   replacement shares are matched in the order they were acquired (``acquired``, then
   ``lot_id``), beginning with the earliest.
6. **Each replacement share washes one loss share** (§1.1091-1(e)): a share whose acquisition
   made a loss nondeductible is disregarded for every later loss. When fewer replacement shares
   remain than were sold, only the matched shares' loss is disallowed (§1.1091-1(c)); the rest
   of the loss stands. Shares of a replacement lot later sold at a loss are taken first from
   those already used as replacements (they carry the added basis).
7. **Amounts.** The loss of the matched shares is ``loss x matched / sold quantity``, to the
   cent, half-even. The parts of one sale are rounded cumulatively: part *k* is
   ``round(loss x (m1 + ... + mk) / Q) - round(loss x (m1 + ... + m(k-1)) / Q)``, so the parts
   add up exactly to the rounded share of the loss matched (the whole loss when every sold share
   is matched), and each part is within a cent of its exact share.
8. **Basis and holding period** (§1091(d), §1.1091-2, §1223(3)). The disallowed loss is added
   to the replacement lot's basis (``basis_added``), and the sold shares' holding period is
   tacked on: the replacement's holding period starts ``holding_days_added`` days before its
   ``acquired`` date. For a replacement bought after the sale (the usual case) that is the whole
   period the sold shares were held, ``(sold - acquired).days``: bought 2026-01-12, sold at a
   loss 2026-01-20 (8 days), replaced 2026-02-02, the replacement's period starts 2026-01-25.
   §1223(3) says the sold shares' period is *included* in the replacement's, so where the two
   overlap (a replacement bought before the sale) it is not counted twice: the days added are
   ``(min(sold, replacement acquired) - acquired).days``, never negative, and the replacement's
   period then starts when the sold shares' did (or its own, if earlier).
9. **IRA and Roth IRA** (Rev. Rul. 2008-5; Pub. 550: "except in (4) above"). A replacement in a
   tax-deferred or tax-exempt account disallows the loss for good: ``permanent``, no basis added,
   no holding period tacked. It still uses up the replacement shares. The ruling names IRAs and
   Roth IRAs; the module applies it to every account whose treatment is not taxable (401(k),
   HSA, 529 ...), the cautious reading. A caller that takes another view leaves those
   acquisitions out.

For proposals, :func:`blocked_buys` says which symbols a purchase would wash (a harvest's
symbol stays blocked for the window) and :func:`recent_purchases` how many shares bought in the
last 30 days would wash a harvest made now.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..domain import TaxTreatment, identifier, security_symbol
from ..fixedpoint import MONEY, QUANTITY, round_money, to_decimal

__all__ = [
    "Acquisition", "LossSale", "WashAdjustment", "WINDOW_DAYS", "blocked_buys", "identical_groups",
    "recent_purchases", "same_symbol", "wash_sales",
]

#: Days before and after a loss sale in which an acquisition washes it (the 61-day period).
WINDOW_DAYS = 30

Identical = Callable[[str], frozenset[str]]


# ---------------------------------------------------------------- validators


def _id(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    identifier(value)


def _security(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    security_symbol(value)


def _day(instance: Any, attribute: attrs.Attribute, value: dt.date) -> None:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"{attribute.name} must be a date, got {value!r}")


def _positive(scale):
    def check(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
        if value <= 0:
            raise ValueError(f"{attribute.name} must be greater than zero, got {value}")
        scale.check(value)

    return check


def _non_negative(instance: Any, attribute: attrs.Attribute, value: Decimal | int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


# ---------------------------------------------------------------- values


@attrs.frozen
class LossSale:
    """One leg of a sale at a loss in a taxable account: the shares sold from one lot."""

    sale_id: str = attrs.field(validator=_id)        # unique per leg, e.g. f"{transaction_id}:{lot_id}"
    account_id: str = attrs.field(validator=_id)
    symbol: str = attrs.field(validator=_security)
    sold: dt.date = attrs.field(validator=_day)
    quantity: Decimal = attrs.field(converter=to_decimal, validator=_positive(QUANTITY))  # shares sold
    loss: Decimal = attrs.field(converter=to_decimal, validator=_positive(MONEY))  # USD, basis - proceeds
    acquired: dt.date = attrs.field(validator=_day)  # the sold shares' holding period start
    lot_id: str = attrs.field(validator=_id)         # the lot sold; never its own replacement

    def __attrs_post_init__(self) -> None:
        if self.acquired > self.sold:
            raise ValueError(f"sale {self.sale_id}: shares acquired {self.acquired} cannot be sold {self.sold}")


@attrs.frozen
class Acquisition:
    """Shares acquired (a buy: a lot opened) in any account of the household."""

    lot_id: str = attrs.field(validator=_id)
    account_id: str = attrs.field(validator=_id)
    symbol: str = attrs.field(validator=_security)
    acquired: dt.date = attrs.field(validator=_day)
    quantity: Decimal = attrs.field(converter=to_decimal, validator=_positive(QUANTITY))
    treatment: TaxTreatment = attrs.field(converter=TaxTreatment)  # of its account


@attrs.frozen
class WashAdjustment:
    """Part of a loss sale washed by part of a replacement lot."""

    sale_id: str
    replacement_lot_id: str
    replacement_account_id: str
    quantity: Decimal            # shares matched
    disallowed: Decimal = attrs.field(validator=_non_negative)  # USD of loss disallowed (rule 7)
    permanent: bool  # replacement in an IRA or Roth: lost for good, no basis added
    basis_added: Decimal = attrs.field(validator=_non_negative)  # to the replacement's basis
    holding_days_added: int = attrs.field(validator=_non_negative)  # tacked on its holding period


# ---------------------------------------------------------------- substantially identical


def same_symbol(symbol: str) -> frozenset[str]:
    """The default: a security is substantially identical only to itself."""
    return frozenset((symbol,))


def identical_groups(groups: Iterable[Iterable[str]]) -> Identical:
    """A function from a symbol to its group of substantially identical symbols.

    A symbol in no group is identical to itself alone. A symbol may be in one group only (two
    groups sharing a symbol would make "identical" depend on the order): ValueError otherwise.
    """
    group_of: dict[str, frozenset[str]] = {}
    for group in groups:
        members = frozenset(security_symbol(s) for s in group)
        for symbol in sorted(members):
            if symbol in group_of and group_of[symbol] != members:
                raise ValueError(f"{symbol} is in two groups of identical symbols: "
                                 f"{sorted(group_of[symbol])} and {sorted(members)}")
            group_of[symbol] = members

    def identical(symbol: str) -> frozenset[str]:
        return group_of.get(symbol) or frozenset((symbol,))

    return identical


# ---------------------------------------------------------------- matching


@attrs.frozen
class _Match:
    sale: Any            # a LossSale (or the probe of recent_purchases)
    acquisition: Acquisition
    quantity: Decimal


def _sale_order(sale: LossSale) -> tuple:
    return (sale.sold, sale.acquired, sale.sale_id)


def _check_unique(sales: Sequence[LossSale], acquisitions: Sequence[Acquisition]) -> None:
    for label, ids in (("sale_id", [s.sale_id for s in sales]), ("lot_id", [a.lot_id for a in acquisitions])):
        seen: set[str] = set()
        for key in ids:
            if key in seen:
                raise ValueError(f"two {'loss sales' if label == 'sale_id' else 'acquisitions'} have the {label} {key!r}")
            seen.add(key)


def _match(ordered: Sequence[Any], acquisitions: Sequence[Acquisition], identical: Identical,
           window_days: int) -> Iterator[_Match]:
    """Match the sales, in the order given, with replacement shares (module rules 2 to 6)."""
    if window_days < 0:
        raise ValueError(f"window_days must not be negative, got {window_days}")
    window = dt.timedelta(days=window_days)
    candidates = sorted(acquisitions, key=lambda a: (a.acquired, a.lot_id))
    unused: dict[str, Decimal] = {a.lot_id: a.quantity for a in candidates}  # held, never a replacement
    used: dict[str, Decimal] = defaultdict(Decimal)                          # held, already a replacement
    dispositions = sorted((s for s in ordered if s.lot_id in unused), key=lambda s: s.sold)
    applied = 0
    for sale in ordered:
        # shares sold on or before this sale's day are not there to replace it (rule 4)
        while applied < len(dispositions) and dispositions[applied].sold <= sale.sold:
            gone = dispositions[applied]
            from_used = min(gone.quantity, used[gone.lot_id])
            used[gone.lot_id] -= from_used
            unused[gone.lot_id] = max(Decimal(0), unused[gone.lot_id] - (gone.quantity - from_used))
            applied += 1
        group = identical(sale.symbol)
        remaining = sale.quantity
        for acquisition in candidates:
            if remaining <= 0:
                break
            if (acquisition.lot_id == sale.lot_id or acquisition.symbol not in group
                    or abs(acquisition.acquired - sale.sold) > window or unused[acquisition.lot_id] <= 0):
                continue
            quantity = min(remaining, unused[acquisition.lot_id])
            unused[acquisition.lot_id] -= quantity
            used[acquisition.lot_id] += quantity
            remaining -= quantity
            yield _Match(sale, acquisition, quantity)


def _tacked_days(sale: LossSale, replacement: Acquisition) -> int:
    """Days of the sold shares' holding period not already in the replacement's own (rule 8)."""
    return max(0, (min(sale.sold, replacement.acquired) - sale.acquired).days)


def _share(loss: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    with decimal.localcontext() as context:
        context.prec = 60
        return round_money(loss * part / whole)


def wash_sales(sales: Sequence[LossSale], acquisitions: Sequence[Acquisition], *,
               identical: Identical = same_symbol, window_days: int = WINDOW_DAYS) -> list[WashAdjustment]:
    """The wash-sale adjustments of a household's loss sales, in the order they are applied.

    ``sales`` are the household's loss legs in taxable accounts; ``acquisitions`` every lot opened
    in any of its accounts (the module docstring gives the rules). The result is independent of
    the order of the inputs; ``sale_id`` and acquisition ``lot_id`` must be unique (ValueError).
    A sale with no adjustment keeps its whole loss; the allowed loss of a sale is its ``loss``
    less the ``disallowed`` of its adjustments.
    """
    _check_unique(sales, acquisitions)
    ordered = sorted(sales, key=_sale_order)
    adjustments: list[WashAdjustment] = []
    matched: dict[str, Decimal] = defaultdict(Decimal)
    for m in _match(ordered, acquisitions, identical, window_days):
        sale = m.sale
        before = matched[sale.sale_id]
        matched[sale.sale_id] = before + m.quantity
        disallowed = (_share(sale.loss, matched[sale.sale_id], sale.quantity)
                      - _share(sale.loss, before, sale.quantity))
        permanent = m.acquisition.treatment != TaxTreatment.TAXABLE
        adjustments.append(WashAdjustment(
            sale_id=sale.sale_id, replacement_lot_id=m.acquisition.lot_id,
            replacement_account_id=m.acquisition.account_id, quantity=m.quantity, disallowed=disallowed,
            permanent=permanent, basis_added=Decimal("0.00") if permanent else disallowed,
            holding_days_added=0 if permanent else _tacked_days(sale, m.acquisition),
        ))
    return adjustments


# ---------------------------------------------------------------- proposals


def blocked_buys(loss_sales: Sequence[LossSale], on: dt.date, identical: Identical = same_symbol,
                 window_days: int = WINDOW_DAYS, *,
                 acquisitions: Sequence[Acquisition] = ()) -> dict[str, dt.date]:
    """Symbols a purchase on ``on`` would wash, each with the last day it stays blocked.

    A loss sale blocks its symbol and every symbol identical to it from its day through
    ``sold + window_days`` (a purchase the day after is free), while some of its shares are not
    yet replaced. Only sales on or before ``on`` count. ``acquisitions`` (bought on or before
    ``on``) are matched first, by :func:`wash_sales`: a sale they already replace in full blocks
    nothing. Without them every loss sale of the last ``window_days`` days blocks.
    """
    past = [s for s in loss_sales if s.sold <= on]
    bought = [a for a in acquisitions if a.acquired <= on]
    matched: dict[str, Decimal] = defaultdict(Decimal)
    for adjustment in wash_sales(past, bought, identical=identical, window_days=window_days):
        matched[adjustment.sale_id] += adjustment.quantity
    blocked: dict[str, dt.date] = {}
    for sale in past:
        until = sale.sold + dt.timedelta(days=window_days)
        if until < on or matched[sale.sale_id] >= sale.quantity:
            continue
        for symbol in identical(sale.symbol):
            blocked[symbol] = max(until, blocked.get(symbol, until))
    return dict(sorted(blocked.items()))


@attrs.frozen
class _Probe:
    """A harvest of any size on a day, for :func:`recent_purchases`."""

    symbol: str
    sold: dt.date
    quantity: Decimal = Decimal("Infinity")
    sale_id: str = ""
    lot_id: str = ""
    acquired: dt.date = dt.date.min


def recent_purchases(acquisitions: Sequence[Acquisition], symbol: str, on: dt.date,
                     identical: Identical = same_symbol, window_days: int = WINDOW_DAYS, *,
                     loss_sales: Sequence[LossSale] = (), exclude_lots: Iterable[str] = ()) -> Decimal:
    """Shares of ``symbol`` (or identical) bought in the ``window_days`` days up to ``on``.

    These are the shares that would wash a loss sale of ``symbol`` made on ``on``: a harvest of
    more shares than this keeps the loss on the rest. ``exclude_lots`` are the lots the harvest
    itself sells (never their own replacement); ``loss_sales`` (on or before ``on``) are the
    household's earlier losses, which use up replacement shares first (§1.1091-1(e)) and whose
    sold shares replace nothing.
    """
    excluded = set(exclude_lots)
    bought = [a for a in acquisitions if a.acquired <= on and a.lot_id not in excluded]
    past = [s for s in loss_sales if s.sold <= on]
    _check_unique(past, bought)
    ordered = [*sorted(past, key=_sale_order), _Probe(symbol, on)]
    total = Decimal(0)
    for m in _match(ordered, bought, identical, window_days):
        if isinstance(m.sale, _Probe):
            total += m.quantity
    return total
