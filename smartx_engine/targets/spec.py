"""What a sleeve's target is made of, and an account's restrictions: values, and the operator's text for them.

A target is a model (its version in effect), a blend of models (``GRO-80-20:0.6,INC-30-70:0.4``:
weights above 0 summing to exactly 1) or a custom allocation (``VTI:0.58,BND:0.4,$CASH:0.02``:
weights from 0 to 1 summing to exactly 1, cash included). A restriction of an account excludes a
security from its sleeves' targets or substitutes another security for it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from decimal import Decimal

import attrs

from ..domain import CASH_SYMBOL, ModelWeight, identifier, security_symbol, symbol
from ..errors import TargetError
from ..fixedpoint import WEIGHT


class TargetKind(enum.StrEnum):
    MODEL = "model"
    BLEND = "blend"
    CUSTOM = "custom"


def weight_text(weight: Decimal) -> str:
    """A weight as the shortest exact decimal text (``0.6``, ``0.0125``)."""
    return f"{weight.normalize():f}"


def percent_text(weight: Decimal) -> str:
    """A weight as a percentage with no needless zeros (``60%``, ``33.5%``)."""
    return f"{weight_text(weight * 100)}%"


@attrs.frozen
class BlendComponent:
    """One model of a blend and its share of the sleeve."""

    model_id: str
    weight: Decimal

    def __str__(self) -> str:
        return f"{self.model_id}:{weight_text(self.weight)}"


CUSTOM_LABEL = "(custom)"


@attrs.frozen(cache_hash=True)
class TargetSpec:
    """A sleeve's target before the account's restrictions. Build with :meth:`model`, :meth:`blend`,
    :meth:`custom`, or parse the operator's text with :func:`parse_blend` and :func:`parse_allocation`."""

    kind: TargetKind
    components: tuple[BlendComponent, ...] = ()  # model: one, weight 1; blend: two or more
    allocation: tuple[ModelWeight, ...] = ()     # custom: the symbols ($CASH included) and weights

    @classmethod
    def model(cls, model_id: str) -> TargetSpec:
        return cls(TargetKind.MODEL, (BlendComponent(_id(model_id, "model"), Decimal(1)),))

    @classmethod
    def blend(cls, components: Sequence[BlendComponent]) -> TargetSpec:
        """A blend; refuses fewer than two models, a model twice, a weight not above 0, and weights not summing to 1."""
        components = tuple(components)
        if len(components) < 2:
            only = f"; for one model use --model {components[0].model_id}" if components else ""
            raise TargetError(f"a blend needs two models or more{only}")
        seen: set[str] = set()
        for c in components:
            _id(c.model_id, "model")
            _fits(c.weight, f"the weight of {c.model_id}")
            if c.weight <= 0 or c.weight > 1:
                raise TargetError(f"the weight of {c.model_id} in a blend must be above 0 and at most 1, not "
                                  f"{weight_text(c.weight)}")
            if c.model_id in seen:
                raise TargetError(f"model {c.model_id} is twice in the blend")
            seen.add(c.model_id)
        _sums_to_one([c.weight for c in components], "the blend's weights")
        return cls(TargetKind.BLEND, components)

    @classmethod
    def custom(cls, weights: Sequence[ModelWeight]) -> TargetSpec:
        """A custom allocation, in symbol order; refuses no symbol, a symbol twice and weights not summing to 1."""
        weights = tuple(sorted(weights, key=lambda w: w.symbol))
        if not weights:
            raise TargetError("a custom allocation needs at least one symbol")
        symbols = [w.symbol for w in weights]
        if twice := sorted({s for s in symbols if symbols.count(s) > 1}):
            raise TargetError(f"{', '.join(twice)} is twice in the allocation")
        _sums_to_one([w.weight for w in weights], "the allocation's weights ($CASH included)")
        return cls(TargetKind.CUSTOM, allocation=weights)

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(c.model_id for c in self.components)

    @property
    def label(self) -> str:
        """What ``sleeve.model`` is in policies: the model id; a blend as written for ``--blend``
        (``GRO-80-20:0.6,INC-30-70:0.4``); ``(custom)`` for a custom allocation. Model ids have
        neither commas nor parentheses, so a label never names another model."""
        if self.kind is TargetKind.MODEL:
            return self.components[0].model_id
        if self.kind is TargetKind.BLEND:
            return ",".join(map(str, self.components))
        return CUSTOM_LABEL

    def as_json(self) -> dict:
        data: dict = {"kind": str(self.kind), "label": self.label}
        if self.kind is TargetKind.MODEL:
            data["model_id"] = self.components[0].model_id
        elif self.kind is TargetKind.BLEND:
            data["components"] = [{"model_id": c.model_id, "weight": weight_text(c.weight)} for c in self.components]
        else:
            data["allocation"] = [{"symbol": w.symbol, "weight": weight_text(w.weight)} for w in self.allocation]
        return data


class RestrictionKind(enum.StrEnum):
    EXCLUDE = "exclude"
    SUBSTITUTE = "substitute"


@attrs.frozen
class Restriction:
    """An account's restriction on one security: excluded from its sleeves' targets, or replaced by another."""

    account_id: str
    symbol: str
    kind: RestrictionKind
    replacement: str | None = None
    note: str | None = None

    def __attrs_post_init__(self) -> None:
        _id(self.account_id, "account")
        _security(self.symbol)
        if self.kind is RestrictionKind.SUBSTITUTE:
            if self.replacement is None:
                raise TargetError(f"a substitution of {self.symbol} needs a replacement")
            _security(self.replacement)
            if self.replacement == self.symbol:
                raise TargetError(f"{self.symbol} cannot substitute for itself")
        elif self.replacement is not None:
            raise TargetError(f"an exclusion of {self.symbol} has no replacement")

    @classmethod
    def from_row(cls, row: dict) -> Restriction:
        return cls(row["account_id"], row["symbol"], RestrictionKind(row["kind"]), row["replacement"], row["note"])

    def __str__(self) -> str:
        if self.kind is RestrictionKind.EXCLUDE:
            return f"{self.symbol} excluded"
        return f"{self.symbol} → {self.replacement}"

    def as_json(self) -> dict:
        return {"account_id": self.account_id, "symbol": self.symbol, "kind": str(self.kind),
                "replacement": self.replacement, "note": self.note}


# ---------------------------------------------------------------- the operator's text


def _pairs(text: str, what: str, example: str) -> list[tuple[str, Decimal]]:
    """``NAME:WEIGHT,NAME:WEIGHT ...`` as (name, weight) pairs, each weight checked against the WEIGHT scale."""
    pairs = []
    for item in text.split(","):
        name, colon, number = (part.strip() for part in item.strip().partition(":"))
        if not item.strip():
            raise TargetError(f"an empty item in {what} {text!r}; write it as {example}")
        if not colon:
            raise TargetError(f"{item.strip()!r} in {what} has no weight; write it as {example}")
        if not name:
            hint = (" (did the shell expand $CASH? put the whole allocation in single quotes)"
                    if what == "the allocation" else "")
            raise TargetError(f"a weight {number} with no name in {what} {text!r}{hint}")
        try:
            weight = WEIGHT.parse(number)
        except ValueError as exc:
            raise TargetError(f"the weight of {name} in {what}: {exc}") from None
        pairs.append((name, weight))
    return pairs


def parse_blend(text: str) -> TargetSpec:
    """``GRO-80-20:0.6,INC-30-70:0.4`` as a blend (see :meth:`TargetSpec.blend`)."""
    return TargetSpec.blend([BlendComponent(name, weight)
                             for name, weight in _pairs(text, "the blend", "MODEL:WEIGHT,MODEL:WEIGHT")])


def parse_allocation(text: str) -> TargetSpec:
    """``VTI:0.58,BND:0.4,$CASH:0.02`` as a custom allocation (see :meth:`TargetSpec.custom`)."""
    weights = []
    for name, weight in _pairs(text, "the allocation", "SYMBOL:WEIGHT,...,$CASH:WEIGHT"):
        try:
            weights.append(ModelWeight(symbol(name), weight))
        except ValueError as exc:
            raise TargetError(f"{name} in the allocation: {exc}") from None
    return TargetSpec.custom(weights)


def parse_substitution(text: str, account_id: str, note: str | None = None) -> Restriction:
    """``SYMBOL=REPLACEMENT`` as a substitution of ``account_id``."""
    original, equals, replacement = (part.strip() for part in text.partition("="))
    if not (equals and original and replacement):
        raise TargetError(f"write a substitution as SYMBOL=REPLACEMENT (VTI=ESGV), not {text!r}")
    return Restriction(account_id, original, RestrictionKind.SUBSTITUTE, replacement, note)


def _id(value: str, kind: str) -> str:
    try:
        return identifier(value)
    except ValueError as exc:
        raise TargetError(f"{kind} id: {exc}") from None


def _security(value: str) -> str:
    if value == CASH_SYMBOL:
        raise TargetError("$CASH is not a security: restrict securities only (a target's cash weight stays)")
    try:
        return security_symbol(value)
    except ValueError as exc:
        raise TargetError(str(exc)) from None


def _fits(weight: Decimal, what: str) -> None:
    try:
        WEIGHT.check(weight)
    except ValueError as exc:
        raise TargetError(f"{what}: {exc}") from None


def _sums_to_one(weights: Sequence[Decimal], what: str) -> None:
    total = sum(weights, Decimal(0))
    if total != 1:
        raise TargetError(f"{what} sum to {weight_text(total)}, not exactly 1")
