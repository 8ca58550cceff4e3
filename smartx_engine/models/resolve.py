"""Managers' identifiers resolved to the engine's symbols: a CUSIP through ``securities.cusip``,
a TICKER through ``securities.symbol``, the CASH line (identifier ``USD``) to ``$CASH``."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ..csvfiles import ParseError
from ..domain import CASH_SYMBOL, cusip
from ..errors import did_you_mean
from ..modelfeeds import IdentifierType, ModelLine
from ..store import Store

CASH_IDENTIFIER = "USD"


@attrs.frozen
class Catalog:
    """The engine's securities as model feeds name them."""

    symbols: frozenset[str]
    by_cusip: Mapping[str, str]  # CUSIP -> symbol

    @classmethod
    def from_store(cls, store: Store) -> Catalog:
        securities = store.securities()
        return cls(frozenset(s.symbol for s in securities), {s.cusip: s.symbol for s in securities if s.cusip})

    def resolve(self, line: ModelLine) -> str:
        """The symbol ``line`` names; :class:`ParseError` (with a hint) when the engine has none."""
        kind, value = IdentifierType(line.identifier_type), line.identifier
        if kind == IdentifierType.CASH:
            if value.upper() != CASH_IDENTIFIER:
                raise ParseError(f"a CASH line's identifier is {CASH_IDENTIFIER}, not {value!r}")
            return CASH_SYMBOL
        if kind == IdentifierType.TICKER:
            if value in self.symbols:
                return value
            raise ParseError(f"unknown ticker {value!r}", hint=did_you_mean(value, self.symbols)
                             or "add the security to securities.csv (with its cusip) and import the book")
        try:
            cusip(value)
        except ValueError as exc:
            raise ParseError(str(exc)) from None
        if value in self.by_cusip:
            return self.by_cusip[value]
        raise ParseError(f"unknown CUSIP {value!r}" + (f" ({line.ticker})" if line.ticker else ""),
                         hint=self._cusip_hint(value, line.ticker))

    def _cusip_hint(self, value: str, ticker: str | None) -> str:
        if ticker in self.symbols:
            known = [c for c, s in self.by_cusip.items() if s == ticker]
            if known:
                return (f"the engine knows {ticker} by the CUSIP {known[0]}; if {ticker} is now {value}, give it"
                        " this cusip in securities.csv and import the book")
            return (f"the engine knows {ticker} without a CUSIP; give {ticker} the cusip {value} in"
                    " securities.csv and import the book")
        return did_you_mean(value, self.by_cusip) or "add the security to securities.csv with this cusip"
