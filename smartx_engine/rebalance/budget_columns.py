"""Gain budgets over columns: the trims of :mod:`.budget` for every account over its budget at once.

The same semantics (docs/tax.md, "Gain budgets") on a run's proposals as columns, in integer cents
and millionths of a share:

- each account's gain sells are ordered by estimated tax per dollar sold in floats; sells whose
  float keys are too close to tell apart for sure are ordered by :func:`.budget.cost_per_dollar`
  itself (exact Decimals), ties by proposal order;
- the sells kept in full before the first that does not fit are found by a cumulative sum; the
  rest are walked in rounds, the next sell of every account at a time;
- a sell is cut as :func:`.budget.most_within` cuts it, over the lots its relief takes: every
  prefix's quantity and gain are cumulative sums, the candidates are floored to the share step in
  integers (equal to the floors of its Decimal ones: see :func:`_floor_steps`), and a candidate's
  exact relief (its last lot partly, basis and proceeds rounded half-even) is checked;
- the buys of a sleeve whose sells were cut are scaled down as :func:`.budget.rescale_buys` does.

What those integers do not cover is left to :mod:`.budget`'s objects: the caller marks the
accounts with a room in fractions of a cent, a sell of named lots at a gain, or amounts past the
bounds of :func:`regular_sells`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_CEILING, Decimal

import attrs
import numpy as np

from ..book import Book
from ..fixedpoint import MONEY, QUANTITY
from .budget import BOUGHT_LESS, SleeveCash, Staged, budget_changes, cost_per_dollar, cut_note, scaled_down
from .details import joined_runs, rows_of_each, spans
from .proposals import Proposals, ReliefColumns, value_cents

#: bounds within which the integer floors equal those of Decimal arithmetic (28 digits): a lot's
#: gain or a sleeve's buys under 10**11 cents, a sell or a buy under 10**9 shares
MAX_CENTS = 10 ** 11
MAX_E6 = 10 ** 15

#: the cash the buys of each of some sleeves (by id) may use
CashOf = Callable[[Sequence[str]], list[SleeveCash]]


@attrs.frozen(eq=False)
class Accounts:
    """The accounts over their budget, by number (what :attr:`Sells.account` indexes)."""

    ids: list[str]
    budget: list[Decimal]
    realized: list[Decimal]
    rates: list[tuple[Decimal, Decimal]]  # (short-term, long-term)

    def room(self) -> list[Decimal]:
        return [b - r for b, r in zip(self.budget, self.realized)]


@attrs.frozen(eq=False)
class Sells:
    """The sells of accounts over budget: grouped by account, in proposal order within each."""

    row: np.ndarray          # int64: the row in the proposals
    account: np.ndarray      # int64: the account's number in :class:`Accounts`
    price_e6: np.ndarray     # int64: the price its lots are relieved at
    step_e6: np.ndarray      # int64: its share step
    whole_e6: np.ndarray     # int64: the whole of the last lot its relief takes (it may take part of it)
    whole_basis: np.ndarray  # int64: that lot's basis in cents

    def take(self, rows: np.ndarray) -> Sells:
        return Sells(*(getattr(self, f.name)[rows] for f in attrs.fields(Sells)))


@attrs.frozen(eq=False)
class Cuts:
    """What gain budgets change in a run's proposals: rows, their new quantities (0: dropped), the
    note each adds, and the lots each cut sell now relieves (by proposal row)."""

    row: np.ndarray          # int64
    quantity_e6: np.ndarray  # int64
    notes: list[str]
    lots: ReliefColumns

    @classmethod
    def of_changes(cls, changes: Mapping[int, Staged | None]) -> Cuts:
        """The changes :func:`.budget.budget_changes` makes, as cuts."""
        items = sorted(changes.items())
        return cls(np.array([row for row, _ in items], dtype=np.int64),
                   np.array([QUANTITY.to_int(s[0].quantity) if s else 0 for _, s in items], dtype=np.int64),
                   [s[0].reasons[-1] if s else "" for _, s in items],
                   ReliefColumns.of((row, r) for row, s in items if s for r in s[1]))

    @classmethod
    def concat(cls, parts: Sequence[Cuts]) -> Cuts:
        return cls(np.concatenate([p.row for p in parts]), np.concatenate([p.quantity_e6 for p in parts]),
                   [n for p in parts for n in p.notes], ReliefColumns.concat([p.lots for p in parts]))

    def applied(self, proposals: Proposals) -> tuple[Proposals, np.ndarray]:
        """The proposals with these changes made, and which of their rows are kept (the dropped are not)."""
        quantity = proposals.quantity_e6.copy()
        quantity[self.row] = self.quantity_e6
        changed = np.zeros(len(proposals), dtype=bool)
        changed[self.row] = True
        rows = np.flatnonzero(~changed | (quantity != 0))
        new_row = np.full(len(proposals), -1, dtype=np.int64)
        new_row[rows] = np.arange(len(rows))
        lots, new = proposals.lots, self.lots.grouped()
        kept = np.flatnonzero(~changed[lots.trade])  # the lots of the rows not changed, then the cut sells' new lots
        source = np.empty(len(kept) + len(new), dtype=np.int64)  # in trade order: each new one among the kept
        source[np.arange(len(kept)) + np.searchsorted(new.trade, lots.trade[kept])] = kept
        source[np.arange(len(new)) + np.searchsorted(lots.trade[kept], new.trade)] = len(lots) + np.arange(len(new))
        merged = ReliefColumns.concat([lots, new])
        result = attrs.evolve(proposals, quantity_e6=quantity, lots=ReliefColumns.empty()).with_notes(
            {r: [n] for r, n, q in zip(self.row.tolist(), self.notes, self.quantity_e6.tolist()) if q})
        result = result.take(rows) if len(rows) < len(proposals) else result
        return attrs.evolve(result, lots=merged.select(source, new_row[merged.trade[source]])), rows


def budget_cuts(proposals: Proposals, accounts: Accounts, sells: Sells, regular: np.ndarray,
                staged: Mapping[int, Staged], cash_of: CashOf) -> Cuts:
    """Every account's sells trimmed to its budget and its cut sleeves' buys rescaled: over columns
    for the ``regular`` accounts, with :func:`.budget.budget_changes` (``staged``: the rows as
    objects, made when read) for the others."""
    ours = regular[sells.account]
    cut = trim(proposals, sells.take(np.flatnonzero(ours)), accounts)
    bounds = np.searchsorted(sells.account, np.arange(len(regular) + 1))
    of_account = {int(a): sells.row[bounds[a]:bounds[a + 1]].tolist() for a in np.flatnonzero(~regular)}
    trades_of = _rows_of_sleeve(proposals)
    changes = budget_changes(staged, {accounts.ids[a]: rows for a, rows in of_account.items()}, trades_of,
                             {accounts.ids[a]: accounts.budget[a] for a in of_account},
                             {accounts.ids[a]: accounts.realized[a] for a in of_account},
                             {accounts.ids[a]: accounts.rates[a] for a in of_account}, lambda s: cash_of([s])[0])
    return Cuts.concat([cut, rescale(proposals, cut, cash_of), Cuts.of_changes(changes)])


def _rows_of_sleeve(proposals: Proposals) -> Callable[[str], list[int]]:
    """The rows of a sleeve's trades, by its id (found by one stable sort when first asked)."""
    @functools.cache
    def index() -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        rows = np.argsort(proposals.sleeve, kind="stable")
        return (rows, np.searchsorted(proposals.sleeve[rows], np.arange(len(proposals.sleeves) + 1)),
                {str(s): c for c, s in enumerate(proposals.sleeves)})

    def rows_of(sleeve_id: str) -> list[int]:
        rows, bounds, codes = index()
        return rows[bounds[codes[sleeve_id]]:bounds[codes[sleeve_id] + 1]].tolist()
    return rows_of


def regular_sells(proposals: Proposals, sells: Sells, named: np.ndarray) -> np.ndarray:
    """Per sell: whether the columns trim it as :mod:`.budget` would (``named``: it sells named lots, in
    an order of their own: only a loss sell of named lots is, as it is never cut; a gain sell needs
    the whole of its last lot, ``Sells.whole_e6``)."""
    lots = proposals.lots
    index, group, count = rows_of_each(lots.trade, sells.row)
    gains = lots.gain_cents[index]
    large = np.zeros(len(sells.row), dtype=bool)
    large[group[np.abs(gains) >= MAX_CENTS]] = True
    power = np.isin(sells.step_e6, 10 ** np.arange(QUANTITY.places + 1))
    gain = _sums(gains, group, len(sells.row))
    return (~large & power & (count > 0) & (proposals.quantity_e6[sells.row] < MAX_E6)
            & ((gain <= 0) | ((sells.whole_e6 > 0) & ~named)))


def trim(proposals: Proposals, sells: Sells, accounts: Accounts) -> Cuts:
    """The sells cut to their accounts' budgets: their new quantities, notes and lots."""
    lots = proposals.lots
    relief = _Relief(lots, sells)
    index, group, _ = spans(relief.first, relief.last)
    gain = _sums(lots.gain_cents[index], group, len(sells.row))  # of each sell in full
    selling = np.bincount(sells.account, minlength=len(accounts.ids)) > 0
    room = np.array([MONEY.to_int(r) if s else 0 for r, s in zip(accounts.room(), selling.tolist())], dtype=np.int64)
    room -= _sums(np.minimum(gain, 0), sells.account, len(room))  # losses make room (and gains of 0 take none)
    ordered = _gain_order(relief, gain, accounts)
    account, gains = sells.account[ordered], gain[ordered]
    count = np.bincount(account, minlength=len(room))
    start = np.cumsum(count) - count
    fits = _before(gains, count) + gains <= room[account]  # the cheapest, in full, while they fit: a prefix
    room -= _sums(np.where(fits, gains, 0), account, len(room))
    position, end = start + np.bincount(account, weights=fits, minlength=len(room)).astype(np.int64), start + count
    cut, quantity = [], []
    active = np.flatnonzero(position < end)
    while len(active):  # then one sell of every account at a time: kept if it fits, else cut to the room
        sell = ordered[position[active]]
        fit = gain[sell] <= room[active]
        room[active[fit]] -= gain[sell[fit]]
        short = np.flatnonzero(~fit)
        if len(short):
            most, realised = relief.most_within(sell[short], np.maximum(room[active[short]], 0))
            room[active[short]] -= realised
            cut.append(sell[short])
            quantity.append(most)
        position[active] += 1
        active = active[position[active] < end[active]]
    cut = np.concatenate(cut) if cut else np.empty(0, np.int64)
    quantity = np.concatenate(quantity) if quantity else np.empty(0, np.int64)
    order = np.argsort(sells.row[cut])
    cut, quantity = cut[order], quantity[order]
    rows = sells.row[cut]
    notes = [cut_note(QUANTITY.to_decimal(q), QUANTITY.to_decimal(of), accounts.budget[a], accounts.ids[a],
                      accounts.realized[a]) if q else ""
             for q, of, a in zip(quantity.tolist(), proposals.quantity_e6[rows].tolist(), sells.account[cut].tolist())]
    return Cuts(rows, quantity, notes, relief.columns(cut, quantity))


def _gain_order(relief: _Relief, gain: np.ndarray, accounts: Accounts) -> np.ndarray:
    """The sells at a gain, by account, the least estimated tax per dollar sold first (ties: proposal order)."""
    lots, sells = relief.lots, relief.sells
    gainful = np.flatnonzero(gain > 0)
    index, group, count = spans(relief.first[gainful], relief.last[gainful])
    account = sells.account[gainful]
    rates = np.array([[float(r) for r in pair] for pair in accounts.rates] or np.empty((0, 2)))
    terms = lots.gain_cents[index] * rates[account[group], lots.long_term[index].astype(np.int64)]
    proceeds = _sums(lots.proceeds_cents[index], group, len(gainful)).astype(float)
    key = np.bincount(group, terms, minlength=len(gainful)) / proceeds
    # what the float sums may be off by: a few units in the last place of each term, and of the rates
    slack = np.bincount(group, np.abs(terms), minlength=len(gainful)) / proceeds * (count + 4) * 4.5e-16
    order = np.lexsort((gainful, key, account))
    near = (account[order[1:]] == account[order[:-1]]) & (key[order[1:]] - key[order[:-1]]
                                                          <= slack[order[1:]] + slack[order[:-1]])
    for first, last in joined_runs(near):  # too close for floats: ordered by the exact key
        members = order[first:last]
        exact = [cost_per_dollar(lots.reliefs(relief.first[s], relief.last[s]), accounts.rates[account[i]])
                 for i, s in zip(members.tolist(), gainful[members].tolist())]
        order[first:last] = members[sorted(range(len(members)), key=lambda m: (exact[m], members[m]))]
    return gainful[order]


class _Relief:
    """The lots the sells relieve in full (rows of the proposals' lots, in relief order) and what
    relieving a part of each takes: the lots in the same order, the last one partly."""

    def __init__(self, lots: ReliefColumns, sells: Sells):
        self.lots, self.sells = lots, sells
        self.first, self.last = np.searchsorted(lots.trade, [sells.row, sells.row + 1])

    def taken(self, sells: np.ndarray, quantity: np.ndarray) -> tuple[np.ndarray, ...]:
        """For relieving ``quantity`` of each of ``sells``: the lot rows (and which sell each is of), the
        shares taken of each, the shares and gain of the sell's lots before it, its basis and proceeds."""
        lots, s = self.lots, self.sells
        index, group, count = spans(self.first[sells], self.last[sells])
        full = lots.quantity_e6[index]
        before = _before(full, count)
        taken = np.clip(quantity[group] - before, 0, full)
        last = index == self.last[sells][group] - 1  # the last lot of the full relief may be a part of a lot
        whole = np.where(last, s.whole_e6[sells][group], full)
        whole_basis = np.where(last, s.whole_basis[sells][group], lots.basis_cents[index])
        basis = np.where(taken == whole, whole_basis, _half_even(whole_basis, taken, whole))
        return index, group, taken, before, basis, value_cents(taken, s.price_e6[sells][group])

    def gain(self, sells: np.ndarray, quantity: np.ndarray) -> np.ndarray:
        """The gain (cents) of relieving ``quantity`` of each of ``sells``."""
        _, group, _, _, basis, proceeds = self.taken(sells, quantity)
        return _sums(proceeds - basis, group, len(sells))

    def columns(self, sells: np.ndarray, quantity: np.ndarray) -> ReliefColumns:
        """The lots relieving ``quantity`` of each of ``sells`` takes, by proposal row."""
        index, group, taken, _, basis, proceeds = self.taken(sells, quantity)
        used = taken > 0
        lots, index = self.lots, index[used]
        return ReliefColumns(self.sells.row[sells][group[used]], lots.lot_id[index], taken[used], basis[used],
                             lots.acquired[index], lots.long_term[index], proceeds[used])

    def most_within(self, sells: np.ndarray, room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`.budget.most_within` of each of ``sells`` (at most its whole quantity, in share steps,
        realising at most ``room`` cents), and the gain of that part."""
        lots = self.lots
        index, group, count = spans(self.first[sells], self.last[sells])
        quantity, gain = lots.quantity_e6[index], lots.gain_cents[index]
        taken, before = _before(quantity, count), _before(gain, count)
        step, fits = self.sells.step_e6[sells][group], room[group]
        whole = before + gain <= fits  # the whole of this lot fits
        candidate = np.where(whole, (taken + quantity) // step * step, 0)
        part = np.flatnonzero(~whole & (gain > 0) & (before <= fits))  # part of a gain lot fits
        candidate[part] = _floor_steps(taken[part], quantity[part], fits[part] - before[part], gain[part], step[part])
        most = np.zeros(len(sells), dtype=np.int64)
        np.maximum.at(most, group, candidate)
        realised = self.gain(sells, most)
        over = np.flatnonzero((most > 0) & (realised > room))
        while len(over):  # the rounding of the cents: a step less
            most[over] -= self.sells.step_e6[sells[over]]
            realised[over] = self.gain(sells[over], most[over])
            over = over[(most[over] > 0) & (realised[over] > room[over])]
        return most, realised


def _floor_steps(taken: np.ndarray, quantity: np.ndarray, room: np.ndarray, gain: np.ndarray,
                 step: np.ndarray) -> np.ndarray:
    """``taken + quantity x room / gain`` rounded down to a multiple of ``step``, exactly.

    :func:`.budget.most_within` computes it in Decimals (28 digits, the quotient rounded). Both
    floors agree: within :data:`MAX_E6` and :data:`MAX_CENTS` the product is exact, the roundings
    move the value by less than 10**-18 shares, and a value that is not a multiple of the step is
    at least ``1 / (gain x 10**6)`` shares (10**-17) from one; one that is, is exact in Decimals too."""
    if len(gain) and max(int(taken.max()) + int(quantity.max()), int(step.max())) * int(gain.max()) >= 2 ** 62:
        taken, quantity, room, gain, step = (a.astype(object) for a in (taken, quantity, room, gain, step))
    return ((taken * gain + quantity * room) // (gain * step) * step).astype(np.int64)


def _half_even(a: np.ndarray, b: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``a x b / d`` rounded half to even, exactly (non-negative; Python integers where int64 would overflow)."""
    if len(a) and int(a.max()) * int(b.max()) >= 2 ** 62:
        a, b, d = (x.astype(object) for x in (a, b, d))
    quotient, remainder = a * b // d, a * b % d
    return (quotient + ((2 * remainder > d) | ((2 * remainder == d) & (quotient % 2 == 1)))).astype(np.int64)


def rescale(proposals: Proposals, cut: Cuts, cash_of: CashOf) -> Cuts:
    """The buys of the sleeves whose sells were cut, scaled down together to the cash they have left
    (:func:`.budget.rescale_buys`)."""
    sleeves = np.unique(proposals.sleeve[cut.row])
    rows = np.flatnonzero(np.isin(proposals.sleeve, sleeves))
    quantity = proposals.quantity_e6[rows].copy()
    quantity[np.searchsorted(rows, cut.row)] = cut.quantity_e6
    sleeve = np.searchsorted(sleeves, proposals.sleeve[rows])
    value, buying = value_cents(quantity, proposals.price_e6[rows]), proposals.side[rows] > 0
    proceeds = _sums(np.where(buying, 0, value), sleeve, len(sleeves))
    wanted = _sums(np.where(buying, value, 0), sleeve, len(sleeves))
    cash = cash_of(np.asarray(proposals.sleeves[sleeves], dtype=str))
    available = np.maximum(np.array([MONEY.to_int(c.cash) - MONEY.to_int(c.floor) for c in cash], dtype=np.int64)
                           + proceeds, 0)
    buys = np.flatnonzero(buying & (wanted > available)[sleeve])
    if not len(buys):
        return Cuts(np.empty(0, np.int64), np.empty(0, np.int64), [], ReliefColumns.empty())
    step = np.array([QUANTITY.to_int(c.step) for c in cash], dtype=np.int64)[sleeve[buys]]
    smallest = np.array([int((c.min_trade * 100).to_integral_value(ROUND_CEILING)) for c in cash])[sleeve[buys]]
    have, want, before = available[sleeve[buys]], wanted[sleeve[buys]], quantity[buys]
    numerator, denominator = _products(before, have), want * step
    scaled = (numerator // denominator * step).astype(np.int64)
    # where the floor of the Decimal quotient may differ (an exact multiple of the step, or past
    # the bounds: see _floor_steps), the Decimals themselves
    for i in np.flatnonzero(((numerator % denominator == 0) & (numerator > 0)) | (want >= MAX_CENTS)
                            | (before >= MAX_E6 // 100)).tolist():
        scaled[i] = QUANTITY.to_int(scaled_down(QUANTITY.to_decimal(int(before[i])), MONEY.to_decimal(int(have[i])),
                                                MONEY.to_decimal(int(want[i])), QUANTITY.to_decimal(int(step[i]))))
    after = np.where((scaled > 0) & (value_cents(scaled, proposals.price_e6[rows[buys]]) >= smallest), scaled, 0)
    changed = after != before
    return Cuts(rows[buys[changed]], after[changed], [BOUGHT_LESS if q else "" for q in after[changed].tolist()],
                ReliefColumns.empty())


def _products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a x b`` exactly: int64, or Python integers where that would overflow."""
    if len(a) and int(np.abs(a).max()) * int(np.abs(b).max()) >= 2 ** 62:
        return a.astype(object) * b.astype(object)
    return a * b


def whole_lots(book: Book, holdings: np.ndarray, lot_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The quantity (millionths) and basis (cents) of the lots of the book named by (holding, lot id),
    as relief reads them (0 and 0 for a lot not found)."""
    index, group, _ = rows_of_each(book.lot_holding, holdings)
    match = np.flatnonzero(book.lot_id_texts(index) == np.asarray(lot_ids, dtype=str)[group])
    lot = np.full(len(lot_ids), -1, dtype=np.int64)
    lot[group[match]] = index[match]
    quantity = np.where(lot >= 0, np.rint(book.lot_quantity[lot] * 10 ** QUANTITY.places), 0).astype(np.int64)
    basis = np.where(lot >= 0, np.rint(book.lot_cost[lot] * 10 ** MONEY.places), 0).astype(np.int64)
    return quantity, basis


def _before(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Within consecutive groups of ``count`` items: the sum of the group's items before each."""
    total = np.cumsum(values)
    return total - values - np.repeat(np.r_[0, total][np.cumsum(count) - count], count)


def _sums(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """The exact (int64) sum of ``values`` of each group ``0..n-1``."""
    sums = np.zeros(n, dtype=np.int64)
    np.add.at(sums, group, values)
    return sums
