"""The firm's fee schedules (``fees.toml`` in the rules directory): read, checked, typed.

The format is documented in docs/fees.md. :func:`load_schedules` reads a file and either returns
every schedule or raises one :class:`DataError` listing every problem, each located at the key
or value at fault (``fees.toml:12:8``) with a hint; nothing is half-loaded. Rates and money are
``Decimal``: TOML numbers are read exactly (``parse_float=Decimal``) and rates are written with
their unit (``"0.25%"``, ``"25bp"``), so that no rate is off by a factor of 100 unnoticed.
"""

from __future__ import annotations

import enum
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from ...domain import security_symbol
from ...errors import DataError, Diagnostic, did_you_mean, toml_diagnostic
from ...fixedpoint import MONEY
from .locate import Path as KeyPath
from .locate import Positions, locate


class Timing(enum.StrEnum):
    ADVANCE = "advance"  # bill at the start of the period, on the value before it
    ARREARS = "arrears"  # bill at the end of the period, on the value during it


class Basis(enum.StrEnum):
    PERIOD_END = "period_end"
    AVERAGE_DAILY_BALANCE = "average_daily_balance"


class DayCount(enum.StrEnum):
    ACT_365 = "act/365"  # days in the period / 365
    ACT_ACT = "act/act"  # days in the period / days in its year (366 in a leap year)


class Kind(enum.StrEnum):
    TIERED = "tiered"  # each slice of the balance at its tier's rate
    CLIFF = "cliff"  # the whole balance at the rate of the tier it falls in
    FLAT = "flat"  # one rate (written `rate = ...`)


class Aggregate(enum.StrEnum):
    ACCOUNT = "account"  # tiers are found on the account's own value
    HOUSEHOLD = "household"  # tiers are found on the household's total; each account pays its share


class Payee(enum.StrEnum):
    PLATFORM = "platform"
    MANAGER = "manager"
    ADVISOR = "advisor"


@attrs.frozen
class Tier:
    """A slice of assets up to ``up_to`` (inclusive; None: no upper bound) at an annual ``rate``."""

    up_to: Decimal | None
    rate: Decimal  # a fraction: "0.25%" is Decimal("0.0025")


@attrs.frozen
class Rates:
    """Annual rates and how they apply, with an optional annual minimum per account."""

    kind: Kind
    tiers: tuple[Tier, ...] = attrs.field(converter=tuple)
    minimum: Decimal | None = None


@attrs.frozen
class Component:
    """What one payee charges. A manager's component has rates per model id or per manager."""

    payee: Payee
    rates: Rates | None  # platform, advisor: the rates; manager: for models not matched below
    by_model: Mapping[str, Rates] = attrs.field(factory=dict)
    by_manager: Mapping[str, Rates] = attrs.field(factory=dict)


@attrs.frozen
class Exclusions:
    """Assets a schedule does not bill."""

    symbols: frozenset[str] = frozenset()  # securities, wherever held
    unmanaged: bool = False  # sleeves without a target
    sleeves: frozenset[str] = frozenset()  # sleeves by id


@attrs.frozen
class Schedule:
    name: str
    timing: Timing
    basis: Basis
    day_count: DayCount
    aggregate: Aggregate
    flow_threshold: Decimal  # advance billing: daily net flows below this (in absolute value) are ignored
    exclude: Exclusions
    components: tuple[Component, ...] = attrs.field(converter=tuple)
    description: str = ""


@attrs.frozen
class FeeSchedules:
    """Every schedule of a fee file and which account uses which."""

    file: str
    digest: str  # sha256 of the file's text, recorded with each fee run
    default: str
    schedules: Mapping[str, Schedule]
    accounts: Mapping[str, str] = attrs.field(factory=dict)  # account id -> schedule name
    households: Mapping[str, str] = attrs.field(factory=dict)  # household id -> schedule name

    def schedule_for(self, account_id: str, household_id: str) -> Schedule:
        """The account's schedule: its own assignment, else its household's, else the default."""
        name = self.accounts.get(account_id) or self.households.get(household_id) or self.default
        return self.schedules[name]


# ---------------------------------------------------------------- the file's keys

TOP_KEYS = ("default", "schedules", "assign")
ASSIGN_KEYS = ("accounts", "households")
SCHEDULE_KEYS = ("description", "timing", "basis", "day_count", "aggregate", "flow_threshold", "exclude",
                 *(p.value for p in Payee))
RATE_KEYS = ("kind", "tiers", "rate", "minimum")
MANAGER_KEYS = (*RATE_KEYS, "by_model", "by_manager")
TIER_KEYS = ("up_to", "rate")
EXCLUDE_KEYS = ("symbols", "unmanaged", "sleeves")
_RATE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(%|bps?)\s*$")
_BARE = re.compile(r"[A-Za-z0-9_-]+$")


def dotted(path: KeyPath) -> str:
    """A key path as a reader writes it: ``schedules.standard.platform.tiers[1].rate``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE.match(part) else f'"{part}"'
            text += f".{name}" if text else name
    return text


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {int: "a number", Decimal: "a number", str: "a string", list: "an array", dict: "a table"}.get(
        type(value), "a date" if hasattr(value, "isoformat") else type(value).__name__)


class _Reader:
    """Reads the parsed TOML value by value, recording a located diagnostic for each problem."""

    def __init__(self, file: str, positions: Positions):
        self.file, self.positions = file, positions
        self.diagnostics: list[Diagnostic] = []

    def error(self, path: KeyPath, message: str, hint: str | None = None, *, at_key: bool = False) -> None:
        span = self.positions.key(path) if at_key else self.positions.value(path)
        if span is None:
            self.diagnostics.append(Diagnostic(self.file, 1, None, message, hint=hint))
        else:
            self.diagnostics.append(Diagnostic(self.file, span.line, span.column, message, hint=hint,
                                               snippet=span.snippet, width=span.width))

    def table(self, data: Any, path: KeyPath, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict | None:
        """``data`` if it is a table; unknown keys and missing required keys are errors."""
        if not isinstance(data, dict):
            self.error(path, f"`{dotted(path)}` must be a table, not {_kind(data)}")
            return None
        for key in data:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or "allowed keys: " + ", ".join(allowed)
                where = f" in `{dotted(path)}`" if path else ""
                self.error(path + (key,), f"unknown key `{key}`{where}", hint, at_key=True)
        for key in required:
            if key not in data:
                what = f"`{dotted(path)}`" if path else "the file"
                self.error(path, f"{what} is missing `{key}`", at_key=True)
        return data

    def choice(self, data: dict, path: KeyPath, key: str, enum_type: type[enum.StrEnum],
               default: Any = None) -> Any:
        if key not in data:
            return default
        value, here = data[key], path + (key,)
        names = [e.value for e in enum_type]
        if not isinstance(value, str) or value not in names:
            hint = (did_you_mean(value, names) if isinstance(value, str) else None) or "one of: " + ", ".join(names)
            shown = f'"{value}"' if isinstance(value, str) else _kind(value)
            self.error(here, f"`{dotted(here)}` must be one of {', '.join(names)}, not {shown}", hint)
            return None
        return enum_type(value)

    def money(self, value: Any, path: KeyPath, *, positive: bool = False) -> Decimal | None:
        """A USD amount: a TOML integer or decimal, or a decimal string; at most 2 decimals."""
        amount = None
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            amount = Decimal(value)
        elif isinstance(value, str):
            try:
                amount = MONEY.parse(value.replace("_", ""))
            except ValueError:
                pass
        if amount is None:
            self.error(path, f"`{dotted(path)}` must be an amount in USD, not {_kind(value)}",
                       "write an amount such as 250 or 1_000_000 or 2500.50")
            return None
        try:
            MONEY.check(amount)
        except ValueError as exc:
            self.error(path, f"`{dotted(path)}`: {exc}", "money has at most 2 decimals (cents)")
            return None
        if amount < 0 or (positive and amount == 0):
            self.error(path, f"`{dotted(path)}` must be {'above' if positive else 'at least'} 0, not {amount}")
            return None
        return amount

    def rate(self, value: Any, path: KeyPath) -> Decimal | None:
        """An annual rate written with its unit: "0.25%" or "25bp"; the fraction (0.0025)."""
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            number = Decimal(value)
            hint = (f'write the unit: `"{number}%"` if you mean {number} percent, '
                    f'or `"{(number * 100).normalize():f}%"` if {number} is a fraction')
            self.error(path, f"`{dotted(path)}` needs a unit: a rate is a string such as \"0.25%\" or \"25bp\"", hint)
            return None
        found = _RATE.match(value) if isinstance(value, str) else None
        if found is None:
            self.error(path, f"`{dotted(path)}` must be a rate such as \"0.25%\" or \"25bp\", not "
                       + (f'"{value}"' if isinstance(value, str) else _kind(value)))
            return None
        number = Decimal(found.group(1))
        rate = number / 100 if found.group(2) == "%" else number / 10000
        if rate >= 1:
            self.error(path, f"`{dotted(path)}` is {value.strip()} a year, 100% or more",
                       "annual rates are small: 1% is \"1%\", a tenth of a percent is \"0.10%\" or \"10bp\"")
            return None
        return rate

    def boolean(self, data: dict, path: KeyPath, key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.error(path + (key,), f"`{dotted(path + (key,))}` must be true or false, not {_kind(value)}")
            return default
        return value

    def strings(self, data: dict, path: KeyPath, key: str, check: Callable[[str], str] | None = None) -> list[str]:
        value = data.get(key, [])
        here = path + (key,)
        if not isinstance(value, list):
            self.error(here, f"`{dotted(here)}` must be an array of strings, not {_kind(value)}")
            return []
        found = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                self.error(here + (i,), f"`{dotted(here + (i,))}` must be a non-empty string, not {_kind(item)}")
                continue
            if check is not None:
                try:
                    check(item)
                except ValueError as exc:
                    self.error(here + (i,), f"`{dotted(here + (i,))}`: {exc}")
                    continue
            found.append(item)
        return found

    # -------------------------------------------------------------- the parts of a schedule

    def rates(self, data: Any, path: KeyPath, allowed: tuple[str, ...] = RATE_KEYS,
              required: bool = True) -> Rates | None:
        data = self.table(data, path, allowed)
        if data is None:
            return None
        if "rate" not in data and "tiers" not in data:
            if required:
                self.error(path, f"`{dotted(path)}` is missing `tiers` (or `rate`, for one flat rate)", at_key=True)
            return None
        minimum = self.money(data["minimum"], path + ("minimum",), positive=True) if "minimum" in data else None
        if "rate" in data:
            if "tiers" in data:
                self.error(path + ("tiers",), f"`{dotted(path)}` has both `rate` and `tiers`",
                           "give `rate` for one flat rate, or `kind` and `tiers`", at_key=True)
                return None
            if "kind" in data:
                self.error(path + ("kind",),
                           f"`{dotted(path + ('kind',))}` goes with `tiers`, not with one flat `rate`",
                           'for breakpoints write `kind = "tiered"` or `"cliff"` and `tiers = [...]`', at_key=True)
            rate = self.rate(data["rate"], path + ("rate",))
            return None if rate is None else Rates(Kind.FLAT, (Tier(None, rate),), minimum)
        kind = None
        if "kind" not in data:
            self.error(path, f"`{dotted(path)}` is missing `kind`",
                       'say how the tiers apply: `kind = "tiered"` (each slice at its rate) or '
                       '`kind = "cliff"` (the whole balance at the rate of its tier)', at_key=True)
        elif data["kind"] == Kind.FLAT.value:
            self.error(path + ("kind",), f'`{dotted(path + ("kind",))}` = "flat" is written `rate = "..."`',
                       'use `kind = "tiered"` or `"cliff"` with `tiers`, or one `rate` without `kind`')
        else:
            kind = self.choice(data, path, "kind", Kind)
        tiers = self.tiers(data["tiers"], path + ("tiers",))
        if kind is None or tiers is None:
            return None
        return Rates(kind, tiers, minimum)

    def tiers(self, value: Any, path: KeyPath) -> tuple[Tier, ...] | None:
        if not isinstance(value, list) or not value:
            self.error(path, f"`{dotted(path)}` must be a non-empty array of tiers such as "
                       '{ up_to = 1_000_000, rate = "1%" }, not ' + ("an empty array" if value == [] else _kind(value)))
            return None
        tiers, ok, previous = [], True, None
        for i, item in enumerate(value):
            here = path + (i,)
            data = self.table(item, here, TIER_KEYS, required=("rate",))
            if data is None:
                ok = False
                continue
            last = i == len(value) - 1
            up_to = None
            if "up_to" in data:
                up_to = self.money(data["up_to"], here + ("up_to",), positive=True)
                if up_to is None:
                    ok = False
                elif last:
                    self.error(here + ("up_to",), f"the last tier `{dotted(here)}` has an `up_to`",
                               "leave `up_to` out of the last tier: it covers everything above the previous one",
                               at_key=True)
                    ok = False
                elif previous is not None and up_to <= previous:
                    self.error(here + ("up_to",), f"`{dotted(here + ('up_to',))}` is {up_to:,}, not above the "
                               f"previous tier's {previous:,}", "tiers go up: each `up_to` above the one before")
                    ok = False
                previous = up_to if up_to is not None else previous
            elif not last:
                self.error(here, f"tier `{dotted(here)}` is missing `up_to`",
                           "every tier but the last gives its upper breakpoint, e.g. `up_to = 1_000_000`",
                           at_key=True)
                ok = False
            rate = self.rate(data["rate"], here + ("rate",)) if "rate" in data else None
            ok = ok and rate is not None
            if ok:
                tiers.append(Tier(up_to, rate))
        return tuple(tiers) if ok else None

    def component(self, data: Any, path: KeyPath, payee: Payee) -> Component | None:
        if payee is not Payee.MANAGER:
            rates = self.rates(data, path)
            return None if rates is None else Component(payee, rates)
        table = self.table(data, path, MANAGER_KEYS)
        if table is None:
            return None
        rates = self.rates({k: v for k, v in table.items() if k in RATE_KEYS}, path, required=False)
        if "minimum" in table and "rate" not in table and "tiers" not in table:
            self.error(path + ("minimum",), f"`{dotted(path + ('minimum',))}` goes with rates for every model",
                       "put the minimum in each `by_model` or `by_manager` entry it applies to", at_key=True)
        parts = {}
        for key in ("by_model", "by_manager"):
            entries = self.table(table.get(key, {}), path + (key,), tuple(table.get(key, {}))) or {}
            parts[key] = {name: r for name, spec in entries.items()
                          if (r := self.rates(spec, path + (key, name))) is not None}
        if not any(k in table for k in ("by_model", "by_manager", "rate", "tiers")):
            self.error(path, f"`{dotted(path)}` has no rates",
                       "give `by_model` or `by_manager` rates, or `rate`/`tiers` for every model", at_key=True)
            return None
        return Component(payee, rates, parts["by_model"], parts["by_manager"])

    def schedule(self, name: str, data: Any) -> Schedule | None:
        path: KeyPath = ("schedules", name)
        data = self.table(data, path, SCHEDULE_KEYS, required=("timing", "basis", "day_count"))
        if data is None:
            return None
        timing = self.choice(data, path, "timing", Timing)
        basis = self.choice(data, path, "basis", Basis)
        day_count = self.choice(data, path, "day_count", DayCount)
        aggregate = self.choice(data, path, "aggregate", Aggregate, Aggregate.ACCOUNT)
        threshold = Decimal("0.00")
        if "flow_threshold" in data:
            threshold = self.money(data["flow_threshold"], path + ("flow_threshold",))
            if timing is Timing.ARREARS:
                self.error(path + ("flow_threshold",), "`flow_threshold` applies to advance billing only",
                           "billing in arrears already sees every flow in the value it bills; remove it",
                           at_key=True)
        exclude = Exclusions()
        if "exclude" in data:
            table = self.table(data["exclude"], path + ("exclude",), EXCLUDE_KEYS)
            if table is not None:
                here = path + ("exclude",)
                exclude = Exclusions(frozenset(self.strings(table, here, "symbols", security_symbol)),
                                     self.boolean(table, here, "unmanaged", False),
                                     frozenset(self.strings(table, here, "sleeves")))
        description = data.get("description", "")
        if not isinstance(description, str):
            self.error(path + ("description",), f"`{dotted(path + ('description',))}` must be a string")
        components, ok = [], True
        for payee in Payee:
            if payee.value in data:
                component = self.component(data[payee.value], path + (payee.value,), payee)
                ok = ok and component is not None
                if component is not None:
                    components.append(component)
        if not any(p.value in data for p in Payee):
            self.error(path, f"schedule `{name}` charges nothing",
                       "give at least one of [schedules.NAME.platform], .manager or .advisor", at_key=True)
            ok = False
        if not ok or None in (timing, basis, day_count, aggregate, threshold):
            return None
        return Schedule(name, timing, basis, day_count, aggregate, threshold, exclude, components,
                        description if isinstance(description, str) else "")

    def schedule_name(self, value: Any, path: KeyPath, names: list[str]) -> str | None:
        if isinstance(value, str) and value in names:
            return value
        if not isinstance(value, str):
            self.error(path, f"`{dotted(path)}` must name a schedule, not {_kind(value)}")
        else:
            self.error(path, f"`{dotted(path)}`: no schedule named \"{value}\"",
                       did_you_mean(value, names) or "schedules: " + ", ".join(names))
        return None


# ---------------------------------------------------------------- loading


def load_schedules(path: Path, display: str | None = None) -> FeeSchedules:
    """The fee schedules of ``path``; DataError with every problem located when it is not right."""
    display = display or str(path)
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{display}: cannot read the fee schedules ({exc})") from None
    return parse_schedules(source, display)


def parse_schedules(source: str, file: str = "fees.toml") -> FeeSchedules:
    """The fee schedules written in ``source`` (the text of ``file``)."""
    try:
        data = tomllib.loads(source, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{file}: not valid TOML, no fee schedule was loaded",
                        [toml_diagnostic(file, source, exc)]) from None
    reader = _Reader(file, locate(source))
    top = reader.table(data, (), TOP_KEYS, required=("default", "schedules"))
    schedules: dict[str, Schedule] = {}
    default, accounts, households = None, {}, {}
    if top is not None and "schedules" in top:
        table = reader.table(top["schedules"], ("schedules",), tuple(top["schedules"])
                             if isinstance(top["schedules"], dict) else ())
        if table == {}:
            reader.error(("schedules",), "`schedules` is empty", "add a schedule: [schedules.standard]",
                         at_key=True)
        for name, spec in (table or {}).items():
            if (schedule := reader.schedule(name, spec)) is not None:
                schedules[name] = schedule
        names = list(table or {})
        if "default" in top:
            default = reader.schedule_name(top["default"], ("default",), names)
        assign = reader.table(top.get("assign", {}), ("assign",), ASSIGN_KEYS) or {}
        for key, target in (("accounts", accounts), ("households", households)):
            entries = reader.table(assign.get(key, {}), ("assign", key), tuple(assign.get(key, {}))) or {}
            for owner, value in entries.items():
                if (name := reader.schedule_name(value, ("assign", key, owner), names)) is not None:
                    target[owner] = name
    if reader.diagnostics:
        count = len(reader.diagnostics)
        shown = sorted(reader.diagnostics, key=lambda d: (d.line, d.column or 0))
        raise DataError(f"{file}: {count} problem{'s' * (count != 1)} found, no fee schedule was loaded", shown)
    return FeeSchedules(file, hashlib.sha256(source.encode()).hexdigest(), default, schedules, accounts, households)


