"""A sleeve's effective target: its model, blend or custom allocation, with the account's restrictions
applied, exactly, every weight with where it came from (docs/models.md, "UMA construction").

1. **Base weights.** A model: its version's weights. A blend: per symbol (``$CASH`` included), the
   sum over its models of blend weight x model weight. A custom allocation: its own weights.
2. **Substitutions** (``VTI → ESGV``): a substituted symbol's whole weight moves to its replacement
   (added to the replacement's own weight, if it has one).
3. **Exclusions**: an excluded symbol leaves the target, and its weight is shared among the
   remaining securities (not cash) **pro rata to their weights** after step 2. A target whose
   excluded weight has no security left to go to is refused.
4. **Exact to 1.** The weights are computed as exact fractions, then scaled to sum to 1 (a model
   version may sum to 1 within 0.000001) and rounded to the WEIGHT scale (10 decimals) by largest
   remainder (ties to the symbol that sorts first, ``$CASH`` before securities): they sum to exactly 1
   and none is negative. Each source's share is shown rounded half-even to 10 decimals. Weights
   are written as their shortest exact decimal text (``0.42``, not ``0.4200000000``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from ..domain import CASH_SYMBOL, ModelVersion
from ..errors import TargetError
from ..fixedpoint import WEIGHT, apportion
from .spec import Restriction, RestrictionKind, TargetKind, TargetSpec, percent_text, weight_text


def to_weight(value: Fraction) -> Decimal:
    """An exact fraction rounded half-even to the WEIGHT scale."""
    return Decimal(round(value * 10 ** WEIGHT.places)).scaleb(-WEIGHT.places)


@attrs.frozen
class Source:
    """Where part of a target weight came from."""

    kind: str  # model | blend | custom | substitute | redistributed
    weight: Decimal  # its share of the weight, to the WEIGHT scale
    model_id: str | None = None
    version: str | None = None
    blend_weight: Decimal | None = None  # blend: the model's share of the sleeve
    model_weight: Decimal | None = None  # model, blend: the symbol's weight in the model version
    symbol: str | None = None            # substitute: the symbol replaced; redistributed: the symbol excluded

    def __str__(self) -> str:
        if self.kind == "model":
            return f"model {self.model_id} v{self.version}"
        if self.kind == "blend":
            return (f"{percent_text(self.blend_weight)} x {percent_text(self.model_weight)} "
                    f"in {self.model_id} v{self.version}")
        if self.kind == "custom":
            return "custom allocation"
        if self.kind == "substitute":
            return f"in place of {self.symbol}"
        return f"redistributed from excluded {self.symbol}"

    def as_json(self) -> dict[str, Any]:
        data = {"kind": self.kind, "weight": weight_text(self.weight)}
        for key in ("model_id", "version", "symbol"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        for key in ("blend_weight", "model_weight"):
            if getattr(self, key) is not None:
                data[key] = weight_text(getattr(self, key))
        return data


@attrs.frozen
class TargetWeight:
    """One symbol's effective weight (exact, at the WEIGHT scale) and its sources."""

    symbol: str
    weight: Decimal
    sources: tuple[Source, ...]


@attrs.frozen
class Removed:
    """A symbol an account restriction took out of the target, with the weight it had there."""

    symbol: str
    weight: Decimal
    restriction: Restriction


@attrs.frozen
class EffectiveTarget:
    """A sleeve's target after the account's restrictions: weights summing to exactly 1, ``$CASH`` included."""

    spec: TargetSpec
    versions: tuple[tuple[str, str], ...]  # (model id, version) of each model used
    weights: tuple[TargetWeight, ...]      # in symbol order
    removed: tuple[Removed, ...] = ()

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def version(self) -> str | None:
        """The version of a model target (None for a blend or a custom allocation)."""
        return self.versions[0][1] if self.spec.kind is TargetKind.MODEL else None

    def as_dict(self) -> dict[str, Decimal]:
        return {w.symbol: w.weight for w in self.weights}

    @property
    def cash_weight(self) -> Decimal:
        return self.as_dict().get(CASH_SYMBOL, Decimal(0).quantize(WEIGHT.unit))

    @property
    def note(self) -> str:
        """Where the target came from, in a few words, when it is more than one model's weights
        (``blend: 60% GRO-80-20 v2026.1, 40% INC-30-70 v2025.2; VTI excluded → redistributed``); else ""."""
        versions = dict(self.versions)
        restricted = [f"{r.symbol} excluded → redistributed" if r.restriction.kind is RestrictionKind.EXCLUDE
                      else f"{r.symbol} → {r.restriction.replacement}" for r in self.removed]
        if self.spec.kind is TargetKind.BLEND:
            head = "blend: " + ", ".join(f"{percent_text(c.weight)} {c.model_id} v{versions[c.model_id]}"
                                         for c in self.spec.components)
        elif self.spec.kind is TargetKind.CUSTOM:
            head = "custom allocation"
        elif restricted:
            head = f"model {self.label} v{self.version}"
        else:
            return ""
        return "; ".join([head, *restricted])

    def as_json(self) -> dict[str, Any]:
        return {
            **self.spec.as_json(),
            "models": [{"model_id": m, "version": v} for m, v in self.versions],
            "weights": [{"symbol": w.symbol, "weight": weight_text(w.weight),
                         "sources": [s.as_json() for s in w.sources]} for w in self.weights],
            "removed": [{"symbol": r.symbol, "weight": weight_text(r.weight), **{
                k: v for k, v in r.restriction.as_json().items() if k != "account_id"}} for r in self.removed],
            "total": weight_text(sum((w.weight for w in self.weights), Decimal(0))),
        }


def check_restrictions(restrictions: Iterable[Restriction]) -> None:
    """Refuse a set of one account's restrictions that chains: a replacement that is itself restricted."""
    by_symbol = {r.symbol: r for r in restrictions}
    for r in by_symbol.values():
        if r.kind is RestrictionKind.SUBSTITUTE and r.replacement in by_symbol:
            other = by_symbol[r.replacement]
            raise TargetError(f"{r.symbol} → {r.replacement}, but {other}; a replacement cannot be restricted itself")


@attrs.define
class _Weights:
    """Exact parts of each symbol's weight, each with the source it came from (its weight unset)."""

    parts: dict[str, list[tuple[Fraction, dict[str, Any]]]] = attrs.field(factory=dict)

    def add(self, to: str, amount: Fraction, **source: Any) -> None:
        self.parts.setdefault(to, []).append((amount, source))

    def total(self, symbol: str) -> Fraction:
        return sum((amount for amount, _ in self.parts[symbol]), Fraction(0))

    def take(self, symbol: str) -> Fraction:
        total = self.total(symbol)
        del self.parts[symbol]
        return total


def effective_target(spec: TargetSpec, versions: Mapping[str, ModelVersion],
                     restrictions: Sequence[Restriction] = ()) -> EffectiveTarget:
    """The effective target of ``spec`` with the models' ``versions`` in effect and one account's restrictions."""
    check_restrictions(restrictions)
    weights = _base(spec, versions)
    removed: list[tuple[str, Fraction, Restriction]] = []
    for r in sorted(restrictions, key=lambda r: r.symbol):
        if r.kind is RestrictionKind.SUBSTITUTE and r.symbol in weights.parts:
            amount = weights.take(r.symbol)
            removed.append((r.symbol, amount, r))
            weights.add(r.replacement, amount, kind="substitute", symbol=r.symbol)
    excluded = [(r.symbol, weights.take(r.symbol), r) for r in sorted(restrictions, key=lambda r: r.symbol)
                if r.kind is RestrictionKind.EXCLUDE and r.symbol in weights.parts]
    _redistribute(weights, [(symbol, amount) for symbol, amount, _ in excluded])
    removed += excluded
    symbols = sorted(weights.parts)
    totals = [weights.total(s) for s in symbols]
    whole = sum(totals, Fraction(0))
    final = apportion(Decimal(1), totals, WEIGHT.unit)
    return EffectiveTarget(
        spec=spec,
        versions=tuple((m, versions[m].version) for m in spec.model_ids),
        weights=tuple(TargetWeight(s, w, tuple(Source(weight=to_weight(amount / whole), **source)
                                                for amount, source in weights.parts[s]))
                      for s, w in zip(symbols, final)),
        removed=tuple(Removed(s, to_weight(amount / whole), r) for s, amount, r in sorted(removed, key=lambda x: x[0])),
    )


def _base(spec: TargetSpec, versions: Mapping[str, ModelVersion]) -> _Weights:
    """Step 1: the weights of the model, the blend or the custom allocation, exactly."""
    weights = _Weights()
    if spec.kind is TargetKind.CUSTOM:
        for line in spec.allocation:
            weights.add(line.symbol, Fraction(line.weight), kind="custom")
        return weights
    for component in spec.components:
        model = versions.get(component.model_id)
        if model is None:
            raise TargetError(f"model {component.model_id} has no version to target")
        for line in model.weights:
            if spec.kind is TargetKind.MODEL:
                weights.add(line.symbol, Fraction(line.weight), kind="model", model_id=model.model_id,
                            version=model.version, model_weight=line.weight)
            else:
                weights.add(line.symbol, Fraction(component.weight) * Fraction(line.weight), kind="blend",
                            model_id=model.model_id, version=model.version, blend_weight=component.weight,
                            model_weight=line.weight)
    return weights


def _redistribute(weights: _Weights, excluded: Sequence[tuple[str, Fraction]]) -> None:
    """Step 3: each excluded weight shared among the remaining securities, pro rata to their weights."""
    if not any(amount > 0 for _, amount in excluded):
        return
    receivers = {s: weights.total(s) for s in sorted(weights.parts) if s != CASH_SYMBOL}
    receivers = {s: w for s, w in receivers.items() if w > 0}
    whole = sum(receivers.values(), Fraction(0))
    if not receivers:
        raise TargetError(f"the account's restrictions exclude every security of the target "
                          f"({', '.join(s for s, _ in excluded)} excluded): the excluded weight has nowhere to go")
    for symbol, amount in excluded:
        if amount > 0:
            for receiver, weight in receivers.items():
                weights.add(receiver, amount * weight / whole, kind="redistributed", symbol=symbol)
