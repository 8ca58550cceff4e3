"""Columns of a :class:`~smartx_engine.book.Book` as the policy language sees them.

Each field of :mod:`schema` is one numpy column at its grain, computed on first use. Strings are
:class:`Categorical` (codes and a vocabulary), dates ``datetime64[D]``, numbers float64 in their
unit (ratios as fractions, USD in dollars, days as counts).
"""

from __future__ import annotations

from functools import cached_property

import attrs
import numpy as np

from ..book import TARGET_KINDS, Book, tax_treatment_codes
from .schema import Grain


@attrs.frozen(eq=False)
class Categorical:
    """String values as integer codes into a vocabulary (-1: no value)."""

    codes: np.ndarray
    vocab: np.ndarray

    def code_of(self, value: str) -> int:
        """The code of ``value``: -1 for "" (no value), -2 (matching nothing) when not in the vocabulary."""
        found = np.flatnonzero(self.vocab == value)
        return int(found[0]) if len(found) else (-1 if value == "" else -2)

    def take(self, index: np.ndarray) -> Categorical:
        return Categorical(self.codes[index], self.vocab)

    def strings(self) -> np.ndarray:
        values = np.append(self.vocab, "").astype(object)
        return values[self.codes]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / denominator


class Frame:
    """The evaluation context of one book: sizes, owner indices, and every field's column."""

    def __init__(self, book: Book):
        self.book = book
        self.size = {Grain.SCALAR: 1, Grain.SLEEVE: book.n_sleeves, Grain.HOLDING: book.n_holdings,
                     Grain.LOT: book.n_lots}
        self._columns: dict[tuple[str, str], object] = {}

    # ------------------------------------------------------------------ joining grains

    def owner(self, finer: Grain, coarser: Grain) -> np.ndarray:
        """For each row at ``finer``, the index of the row at ``coarser`` it belongs to."""
        if (finer, coarser) == (Grain.HOLDING, Grain.SLEEVE):
            return self.book.holding_sleeve
        if (finer, coarser) == (Grain.LOT, Grain.SLEEVE):
            return self.lot_sleeve
        if (finer, coarser) == (Grain.LOT, Grain.HOLDING):
            return self.book.lot_holding
        raise ValueError(f"no owner from {finer.noun} to {coarser.noun}")

    def broadcast(self, value, grain: Grain, to: Grain):
        """``value`` (at ``grain``) repeated onto the rows of the finer grain ``to``."""
        if grain == to or grain == Grain.SCALAR:
            return value
        index = self.owner(to, grain)
        return value.take(index) if isinstance(value, Categorical) else value[index]

    def counts(self, finer: Grain, coarser: Grain) -> np.ndarray:
        return np.bincount(self.owner(finer, coarser), minlength=self.size[coarser])

    def reduce(self, how: str, values: np.ndarray, finer: Grain, coarser: Grain) -> np.ndarray:
        """Aggregate rows of ``finer`` into each row of ``coarser`` (rows are sorted by owner)."""
        owner, n = self.owner(finer, coarser), self.size[coarser]
        if how == "any":
            result = np.zeros(n, dtype=bool)
            result[owner[values]] = True
            return result
        if how == "all":
            result = np.ones(n, dtype=bool)
            result[owner[~values]] = False
            return result
        if how == "count":
            return np.bincount(owner[values], minlength=n).astype(np.float64)
        if how == "sum":
            return np.bincount(owner, weights=values, minlength=n)
        counts = np.bincount(owner, minlength=n)
        present = np.flatnonzero(counts)
        result = np.full(n, np.nan)
        if len(present):
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[present]
            ufunc = np.maximum if how == "max" else np.minimum
            result[present] = ufunc.reduceat(values, starts)
        return result

    @cached_property
    def lot_sleeve(self) -> np.ndarray:
        return self.book.lot_sleeve

    # ------------------------------------------------------------------ fields

    def column(self, grain: str, name: str):
        key = (grain, name)
        if key not in self._columns:
            self._columns[key] = getattr(self, f"_{grain}_{name}")()
        return self._columns[key]

    # today (scalars)
    def _today_date(self):
        return np.datetime64(self.book.as_of, "D")

    def _today_year(self):
        return float(self.book.as_of.year)

    def _today_quarter(self):
        return float((self.book.as_of.month - 1) // 3 + 1)

    def _today_month(self):
        return float(self.book.as_of.month)

    def _today_day(self):
        return float(self.book.as_of.day)

    def _today_weekday(self):
        return float(self.book.as_of.isoweekday())

    # holdings
    @cached_property
    def price(self) -> np.ndarray:
        return self.book.symbol_price[self.book.holding_symbol]

    @cached_property
    def value(self) -> np.ndarray:
        return self.book.holding_quantity * self.price

    @cached_property
    def invested(self) -> np.ndarray:
        return self.reduce("sum", self.value, Grain.HOLDING, Grain.SLEEVE)

    @cached_property
    def sleeve_value(self) -> np.ndarray:
        return self.invested + self.book.sleeve_cash

    @cached_property
    def weight(self) -> np.ndarray:
        return _ratio(self.value, self.sleeve_value[self.book.holding_sleeve])

    @cached_property
    def drift_abs(self) -> np.ndarray:
        return np.abs(self.weight - self.book.holding_target)

    def _holding_symbol(self):
        return Categorical(self.book.holding_symbol, self.book.symbols)

    def _holding_asset_class(self):
        return Categorical(self.book.symbol_asset_class[self.book.holding_symbol], self.book.asset_classes)

    def _holding_weight(self):
        return self.weight

    def _holding_target(self):
        return self.book.holding_target

    def _holding_drift(self):
        return self.weight - self.book.holding_target

    def _holding_drift_abs(self):
        return self.drift_abs

    def _holding_drift_rel(self):
        target = self.book.holding_target  # NaN without a model: no relative drift at all
        relative = _ratio(self.drift_abs, target)  # x / 0 is inf: held but not targeted
        relative[(target == 0) & ~(self.weight > 0)] = 0.0  # not targeted and not held (or no value)
        return relative

    def _holding_value(self):
        return self.value

    def _holding_quantity(self):
        return self.book.holding_quantity

    def _holding_price(self):
        return self.price

    def _holding_cost(self):
        return self.book.holding_cost

    def _holding_unrealized_gain(self):
        return self.value - self.book.holding_cost

    def _holding_in_model(self):
        return self.book.holding_in_model

    def _holding_lots(self):
        return self.counts(Grain.LOT, Grain.HOLDING).astype(np.float64)

    # sleeves
    def _sleeve_id(self):
        return Categorical(np.arange(self.book.n_sleeves, dtype=np.int32), self.book.sleeve_ids)

    def _sleeve_model(self):
        return Categorical(self.book.sleeve_model, self.book.models)

    def _sleeve_target_kind(self):
        return Categorical(self.book.sleeve_target_kind, np.array(TARGET_KINDS, dtype=object))

    def _sleeve_value(self):
        return self.sleeve_value

    def _sleeve_invested(self):
        return self.invested

    def _sleeve_cash(self):
        return self.book.sleeve_cash

    def _sleeve_cash_weight(self):
        return _ratio(self.book.sleeve_cash, self.sleeve_value)

    def _sleeve_cash_target(self):
        return self.book.sleeve_cash_target

    def _sleeve_holdings(self):
        return self.reduce("count", self.book.holding_quantity > 0, Grain.HOLDING, Grain.SLEEVE)

    def _sleeve_drift(self):
        securities = self.reduce("sum", np.nan_to_num(self.drift_abs), Grain.HOLDING, Grain.SLEEVE)
        cash = np.abs(self._sleeve_cash_weight() - self.book.sleeve_cash_target)
        return 0.5 * (securities + cash)

    def _sleeve_max_drift(self):
        return self.reduce("max", self.drift_abs, Grain.HOLDING, Grain.SLEEVE)

    def _sleeve_model_changed(self):
        return self.book.sleeve_model_changed

    def _sleeve_model_move(self):
        return self.book.sleeve_model_move

    # accounts, at sleeve grain
    def _account(self, codes: np.ndarray, vocab: np.ndarray) -> Categorical:
        return Categorical(codes[self.book.sleeve_account], vocab)

    def _account_id(self):
        return self._account(np.arange(len(self.book.account_ids), dtype=np.int32), self.book.account_ids)

    def _account_registration(self):
        return self._account(self.book.account_registration, self.book.registrations)

    def _account_tax_treatment(self):
        return Categorical(*tax_treatment_codes(self.book, sleeves=True))  # not every account's first

    def _account_custodian(self):
        return self._account(self.book.account_custodian, self.book.custodians)

    def _account_household(self):
        return self._account(self.book.account_household, self.book.households)

    def _account_st_tax_rate(self):
        return self.book.account_st_rate[self.book.sleeve_account]

    def _account_lt_tax_rate(self):
        return self.book.account_lt_rate[self.book.sleeve_account]

    # lots
    @cached_property
    def lot_value(self) -> np.ndarray:
        return self.book.lot_quantity * self.price[self.book.lot_holding]

    @cached_property
    def long_term_from(self) -> np.ndarray:
        """The first day a sale of each lot is long-term: the day after the anniversary (29 Feb -> 28 Feb).

        Worked out once per distinct day in the range of acquisition dates, then looked up.
        """
        acquired = self.book.lot_acquired.view(np.int64)
        if not len(acquired):
            return self.book.lot_acquired.copy()
        first = acquired.min()
        days = np.arange(first, acquired.max() + 1).astype("datetime64[D]")
        month = days.astype("datetime64[M]")
        day = (days - month.astype("datetime64[D]")).astype(np.int64)
        next_year = month + 12
        days_in_month = ((next_year + 1).astype("datetime64[D]") - next_year.astype("datetime64[D]")).astype(np.int64)
        table = next_year.astype("datetime64[D]") + np.minimum(day, days_in_month - 1) + 1
        return table[acquired - first]

    @cached_property
    def lot_gain(self) -> np.ndarray:
        return self.lot_value - self.book.lot_cost

    def _lot_quantity(self):
        return self.book.lot_quantity

    def _lot_cost(self):
        return self.book.lot_cost

    def _lot_value(self):
        return self.lot_value

    def _lot_acquired(self):
        return self.book.lot_acquired

    def _lot_age_days(self):
        return (self._today_date() - self.book.lot_acquired).view(np.int64).astype(np.float64)

    def _lot_days_to_long_term(self):
        today = self._today_date().astype(np.int64)
        days = np.subtract(self.long_term_from.view(np.int64), today, dtype=np.float64)
        return np.maximum(days, 0.0, out=days)

    @cached_property
    def short_term(self) -> np.ndarray:
        """Whether a sale today would be short-term."""
        return self.long_term_from > self._today_date()

    def _lot_term(self):
        long = np.logical_not(self.short_term).view(np.int8)  # 0 short, 1 long
        return Categorical(long, np.array(["short", "long"], dtype=object))

    def _lot_gain(self):
        return self.lot_gain

    @cached_property
    def lot_loss(self) -> np.ndarray:
        loss = np.negative(self.lot_gain)
        np.maximum(loss, 0.0, out=loss)
        loss += 0.0  # -0.0 + 0.0 is +0.0: a lot without gain has no loss, not a negative zero
        return loss

    def _lot_loss(self):
        return self.lot_loss

    def _per_cost(self, amount: np.ndarray) -> np.ndarray:
        """``amount / cost`` per lot; 0 for a lot that cost nothing."""
        cost = self.book.lot_cost
        ratio = _ratio(amount, cost)
        free = cost == 0
        if free.any():
            ratio[free] = 0.0
        return ratio

    def _lot_gain_pct(self):
        return self._per_cost(self.lot_gain)

    def _lot_loss_pct(self):
        return self._per_cost(self.lot_loss)
