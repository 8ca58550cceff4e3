"""What policies can talk about: types and units, grains, fields, aggregates and enumerations.

A *grain* is the level an expression is evaluated at: one value for the whole run (``today``),
one per sleeve (``sleeve.*`` and ``account.*``), one per holding, one per lot. Coarser values
broadcast to finer rows; finer values reach a coarser clause only through an aggregate.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs


class Grain(enum.IntEnum):
    SCALAR = 0
    SLEEVE = 1
    HOLDING = 2
    LOT = 3

    @property
    def noun(self) -> str:
        return {0: "run", 1: "sleeve", 2: "holding", 3: "lot"}[self.value]


@attrs.frozen
class Type:
    """``number`` (with a unit: ratio, usd, days, or none), ``bool``, ``string``, ``date`` or ``list``."""

    kind: str
    unit: str | None = None
    item: Type | None = None

    def __str__(self) -> str:
        if self.kind == "number":
            return {"ratio": "a percentage", "usd": "an amount in USD", "days": "a number of days",
                    None: "a plain number"}[self.unit]
        if self.kind == "list":
            return f"a list of {self.item.plural}" if self.item else "a list"
        return {"bool": "a condition", "string": "a string", "date": "a date"}[self.kind]

    @property
    def plural(self) -> str:
        if self.kind == "number":
            return {"ratio": "percentages", "usd": "amounts in USD", "days": "numbers of days",
                    None: "plain numbers"}[self.unit]
        return {"bool": "conditions", "string": "strings", "date": "dates", "list": "lists"}[self.kind]


RATIO = Type("number", "ratio")
USD = Type("number", "usd")
DAYS = Type("number", "days")
PLAIN = Type("number")
BOOL = Type("bool")
STRING = Type("string")
DATE = Type("date")

#: the unit a literal suffix gives, and the factor from the written number to the stored value
UNITS = {"%": (RATIO, Decimal("0.01")), "bps": (RATIO, Decimal("0.0001")), "USD": (USD, Decimal(1)),
         "days": (DAYS, Decimal(1)), None: (PLAIN, Decimal(1))}


@attrs.frozen
class FieldSpec:
    grain: Grain
    type: Type
    doc: str


_GRAINS = {"today": Grain.SCALAR, "sleeve": Grain.SLEEVE, "account": Grain.SLEEVE,
           "holding": Grain.HOLDING, "lot": Grain.LOT}


def _fields(grain_name: str, **specs: tuple[Type, str]) -> dict[tuple[str, str], FieldSpec]:
    return {(grain_name, name): FieldSpec(_GRAINS[grain_name], type_, doc) for name, (type_, doc) in specs.items()}


FIELDS: dict[tuple[str, str], FieldSpec] = {
    **_fields(
        "today",
        date=(DATE, "the run's as-of date"),
        year=(PLAIN, "its year"),
        quarter=(PLAIN, "its quarter, 1 to 4"),
        month=(PLAIN, "its month, 1 to 12"),
        day=(PLAIN, "its day of the month"),
        weekday=(PLAIN, "its day of the week, 1 (Monday) to 7 (Sunday)"),
    ),
    **_fields(
        "sleeve",
        id=(STRING, "the sleeve id"),
        model=(STRING, "the target model id, a blend's label or (custom) (empty when the sleeve has no target)"),
        target_kind=(STRING, "model, blend or custom: what its target is made of (empty without a target)"),
        value=(USD, "total value: holdings at current prices plus cash"),
        invested=(USD, "value of the holdings"),
        cash=(USD, "cash"),
        cash_weight=(RATIO, "cash / value"),
        cash_target=(RATIO, "the target model's cash weight"),
        holdings=(PLAIN, "number of securities held"),
        drift=(RATIO, "total drift: half the sum of |weight - target| over securities and cash"),
        max_drift=(RATIO, "the largest |weight - target| of any security"),
        model_changed=(BOOL, "its model has a newer version than the one it was last rebalanced to"),
        model_move=(RATIO, "the largest |weight change| of any security or cash between the model version it "
                           "was last rebalanced to and its current one (0 when unchanged)"),
    ),
    **_fields(
        "account",
        id=(STRING, "the account id"),
        registration=(STRING, "taxable, joint, trust, ira, roth, rollover_ira ..."),
        tax_treatment=(STRING, "taxable, tax_deferred or tax_exempt"),
        custodian=(STRING, "the custodian's name, e.g. schwab"),
        household=(STRING, "the household id"),
        st_tax_rate=(RATIO, "short-term capital gains rate"),
        lt_tax_rate=(RATIO, "long-term capital gains rate"),
    ),
    **_fields(
        "holding",
        symbol=(STRING, "the security's symbol"),
        asset_class=(STRING, "the security's asset class, e.g. us_equity"),
        weight=(RATIO, "value / sleeve value"),
        target=(RATIO, "the model's weight (0 when held but not in the model)"),
        drift=(RATIO, "weight - target (negative when under target)"),
        drift_abs=(RATIO, "|weight - target|"),
        drift_rel=(RATIO, "|weight - target| / target (infinite when the target is 0 and it is held)"),
        value=(USD, "quantity x price"),
        quantity=(PLAIN, "shares held"),
        price=(USD, "current price"),
        cost=(USD, "cost basis of its lots"),
        unrealized_gain=(USD, "value - cost (negative for a loss)"),
        in_model=(BOOL, "whether the model holds it"),
        lots=(PLAIN, "number of lots"),
    ),
    **_fields(
        "lot",
        quantity=(PLAIN, "shares in the lot"),
        cost=(USD, "cost basis"),
        value=(USD, "quantity x current price"),
        acquired=(DATE, "acquisition date"),
        age_days=(DAYS, "days held as of today"),
        days_to_long_term=(DAYS, "days until a sale is long-term (0 once it is)"),
        term=(STRING, "short or long: the term of a sale today"),
        gain=(USD, "value - cost (negative for a loss)"),
        loss=(USD, "the loss as a positive amount (0 for a gain)"),
        gain_pct=(RATIO, "gain / cost"),
        loss_pct=(RATIO, "loss / cost (0 for a gain)"),
    ),
}
GRAIN_NAMES = sorted(_GRAINS)

#: aggregate -> (argument kind, result type; None: the argument's type)
AGGREGATES = {
    "any": ("bool", BOOL, "whether any row is true"),
    "all": ("bool", BOOL, "whether every row is true (true when there are none)"),
    "count": ("bool", PLAIN, "how many rows are true"),
    "sum": ("number", None, "the total over the rows (0 when there are none)"),
    "max": ("number", None, "the largest value (none when there are no rows: comparisons are false)"),
    "min": ("number", None, "the smallest value (none when there are no rows: comparisons are false)"),
}
#: built-in element-wise functions: name -> documentation
FUNCTIONS = {"abs": "the absolute value of a number, in its unit"}

BAND_KINDS = ("absolute", "relative")
REBALANCE_MODES = ("target", "band")
SHARE_MODES = ("whole", "fractional")
LOT_METHODS = ("FIFO", "LIFO", "HIFO", "LOFO", "MIN_TAX")
BUDGET_PERIODS = ("year",)
WASH_SCOPES = ("household", "account")
RESTRICT_SIDES = ("buy", "sell")
