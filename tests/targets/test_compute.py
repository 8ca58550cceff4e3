"""Effective targets: blends, custom allocations, substitutions, exclusions, exact sums and provenance."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartx_engine.domain import ModelVersion, ModelWeight
from smartx_engine.errors import TargetError
from smartx_engine.fixedpoint import WEIGHT, apportion
from smartx_engine.targets import (
    Restriction, RestrictionKind, TargetSpec, effective_target, parse_allocation, parse_blend,
)

GRO = ModelVersion("GRO-80-20", "2026.1", [ModelWeight("VTI", "0.6"), ModelWeight("VEA", "0.19"),
                                           ModelWeight("BND", "0.19"), ModelWeight("$CASH", "0.02")])
INC = ModelVersion("INC-30-70", "2025.2", [ModelWeight("VTI", "0.25"), ModelWeight("BND", "0.7"),
                                           ModelWeight("$CASH", "0.05")])
VERSIONS = {"GRO-80-20": GRO, "INC-30-70": INC}


def exclude(symbol):
    return Restriction("A-1", symbol, RestrictionKind.EXCLUDE)


def substitute(symbol, replacement):
    return Restriction("A-1", symbol, RestrictionKind.SUBSTITUTE, replacement)


def weights(target):
    return {w.symbol: w.weight for w in target.weights}


def test_a_model_target_is_its_version_weights_exactly():
    target = effective_target(TargetSpec.model("GRO-80-20"), VERSIONS)
    assert weights(target) == {"$CASH": Decimal("0.02"), "BND": Decimal("0.19"), "VEA": Decimal("0.19"),
                               "VTI": Decimal("0.6")}
    assert target.label == "GRO-80-20" and target.version == "2026.1" and target.note == ""
    assert [(s.kind, s.model_id, s.version, s.model_weight) for s in target.weights[-1].sources] == [
        ("model", "GRO-80-20", "2026.1", Decimal("0.6"))]


def test_a_blend_is_the_weighted_sum_of_its_models_cash_included():
    target = effective_target(parse_blend("GRO-80-20:0.6,INC-30-70:0.4"), VERSIONS)
    assert weights(target) == {"$CASH": Decimal("0.032"), "BND": Decimal("0.394"), "VEA": Decimal("0.114"),
                               "VTI": Decimal("0.46")}
    assert target.label == "GRO-80-20:0.6,INC-30-70:0.4" and target.version is None
    vti = next(w for w in target.weights if w.symbol == "VTI")
    assert [(s.model_id, s.blend_weight, s.model_weight, s.weight) for s in vti.sources] == [
        ("GRO-80-20", Decimal("0.6"), Decimal("0.6"), Decimal("0.36")),
        ("INC-30-70", Decimal("0.4"), Decimal("0.25"), Decimal("0.1"))]
    assert target.note == "blend: 60% GRO-80-20 v2026.1, 40% INC-30-70 v2025.2"


def test_a_custom_allocation_is_its_own_weights():
    target = effective_target(parse_allocation("VTI:0.58,BND:0.40,$CASH:0.02"), VERSIONS)
    assert weights(target) == {"$CASH": Decimal("0.02"), "BND": Decimal("0.4"), "VTI": Decimal("0.58")}
    assert target.versions == () and target.note == "custom allocation" and target.label == "(custom)"
    assert {s.kind for w in target.weights for s in w.sources} == {"custom"}


def test_a_substitution_moves_the_whole_weight_to_the_replacement():
    target = effective_target(TargetSpec.model("GRO-80-20"), VERSIONS, [substitute("VTI", "ESGV")])
    assert weights(target) == {"$CASH": Decimal("0.02"), "BND": Decimal("0.19"), "ESGV": Decimal("0.6"),
                               "VEA": Decimal("0.19")}
    (esgv,) = [w for w in target.weights if w.symbol == "ESGV"]
    assert [(s.kind, s.symbol, s.weight) for s in esgv.sources] == [("substitute", "VTI", Decimal("0.6"))]
    assert [(r.symbol, r.weight) for r in target.removed] == [("VTI", Decimal("0.6"))]
    assert target.note == "model GRO-80-20 v2026.1; VTI → ESGV"


def test_a_substitution_into_a_held_symbol_adds_to_its_weight():
    target = effective_target(TargetSpec.model("GRO-80-20"), VERSIONS, [substitute("VEA", "BND")])
    assert weights(target)["BND"] == Decimal("0.38") and "VEA" not in weights(target)


def test_an_exclusion_is_redistributed_pro_rata_over_the_other_securities_not_cash():
    target = effective_target(TargetSpec.model("GRO-80-20"), VERSIONS, [exclude("VTI")])
    # 0.6 over BND 0.19 and VEA 0.19: 0.3 each; cash stays 0.02
    assert weights(target) == {"$CASH": Decimal("0.02"), "BND": Decimal("0.49"), "VEA": Decimal("0.49")}
    bnd = next(w for w in target.weights if w.symbol == "BND")
    assert [(s.kind, s.symbol, s.weight) for s in bnd.sources][-1] == ("redistributed", "VTI", Decimal("0.3"))
    assert target.note == "model GRO-80-20 v2026.1; VTI excluded → redistributed"


def test_blended_targets_sum_to_1_exactly_after_restrictions():
    target = effective_target(parse_blend("GRO-80-20:0.3333333333,INC-30-70:0.6666666667"), VERSIONS,
                              [exclude("BND"), substitute("VEA", "ESGD")])
    assert sum(weights(target).values()) == 1
    assert all(w == w.quantize(WEIGHT.unit) and w >= 0 for w in weights(target).values())
    # BND's weight went to VTI and ESGD (VEA's replacement), in proportion 0.3666.. : 0.0633..
    assert set(weights(target)) == {"$CASH", "ESGD", "VTI"}


def test_largest_remainder_rounding_gives_the_leftover_units_to_the_largest_remainders():
    # thirds: 0.3333333333 each, one unit left, to the first (ties go to the earlier part)
    assert apportion(Decimal(1), [Fraction(1, 3)] * 3, WEIGHT.unit) == [
        Decimal("0.3333333334"), Decimal("0.3333333333"), Decimal("0.3333333333")]
    target = effective_target(parse_allocation("AAA:0.25,BBB:0.25,CCC:0.25,DDD:0.25"), {}, [exclude("DDD")])
    assert weights(target) == {"AAA": Decimal("0.3333333334"), "BBB": Decimal("0.3333333333"),
                               "CCC": Decimal("0.3333333333")}


def test_a_model_summing_to_1_within_the_tolerance_is_scaled_to_exactly_1():
    loose = ModelVersion("L", "1", [ModelWeight("VTI", "0.6"), ModelWeight("BND", "0.3999995")])
    target = effective_target(TargetSpec.model("L"), {"L": loose})
    assert sum(weights(target).values()) == 1
    assert weights(target) == {"BND": Decimal("0.3999997000"), "VTI": Decimal("0.6000003000")}  # / 0.9999995


def test_excluding_every_security_is_refused():
    with pytest.raises(TargetError, match="exclude every security of the target"):
        effective_target(parse_allocation("VTI:0.98,$CASH:0.02"), {}, [exclude("VTI")])
    with pytest.raises(TargetError, match="exclude every security"):
        effective_target(TargetSpec.model("INC-30-70"), VERSIONS, [exclude("VTI"), exclude("BND")])


def test_restrictions_on_symbols_outside_the_target_change_nothing():
    target = effective_target(TargetSpec.model("INC-30-70"), VERSIONS, [exclude("XOM"), substitute("VEA", "ESGD")])
    assert weights(target) == {"$CASH": Decimal("0.05"), "BND": Decimal("0.7"), "VTI": Decimal("0.25")}
    assert target.removed == () and target.note == ""


def test_a_replacement_that_is_itself_restricted_is_refused():
    with pytest.raises(TargetError, match="a replacement cannot be restricted itself"):
        effective_target(TargetSpec.model("GRO-80-20"), VERSIONS, [substitute("VTI", "ESGV"), exclude("ESGV")])


def test_a_model_without_a_version_is_refused():
    with pytest.raises(TargetError, match="model NOPE has no version"):
        effective_target(parse_blend("NOPE:0.5,GRO-80-20:0.5"), VERSIONS)


@pytest.mark.parametrize("text, message", [
    ("GRO-80-20:1", "a blend needs two models or more; for one model use --model GRO-80-20"),
    ("GRO-80-20:0.6,INC-30-70:0.3", "the blend's weights sum to 0.9, not exactly 1"),
    ("GRO-80-20:0.6,GRO-80-20:0.4", "model GRO-80-20 is twice in the blend"),
    ("GRO-80-20:0,INC-30-70:1", "must be above 0 and at most 1, not 0"),
    ("GRO-80-20:0.5,INC-30-70", "'INC-30-70' in the blend has no weight"),
    ("GRO-80-20:0.5,INC-30-70:0.50000000001", "more than 10 decimal places"),
    ("GRO-80-20:0.5,INC-30-70:half", "expected a number"),
    ("GRO 80:0.5,INC-30-70:0.5", "not a valid id"),
    ("GRO-80-20:0.5,,INC-30-70:0.5", "an empty item"),
])
def test_bad_blends_are_refused_with_a_clear_message(text, message):
    with pytest.raises(TargetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_blend(text)


@pytest.mark.parametrize("text, message", [
    ("VTI:0.58,BND:0.40", "sum to 0.98, not exactly 1"),
    ("VTI:0.58,BND:0.40,:0.02", "did the shell expand $CASH"),
    ("VTI:0.5,VTI:0.5", "VTI is twice in the allocation"),
    ("vti:1", "not a valid symbol"),
    ("VTI:1.5,$CASH:-0.5", "between 0 and 1"),
])
def test_bad_allocations_are_refused_with_a_clear_message(text, message):
    with pytest.raises(TargetError, match=message.replace("$", r"\$")):
        parse_allocation(text)


# ---------------------------------------------------------------- properties

SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "$CASH"]


@st.composite
def unit_weights(draw, n, places=10, positive=False):
    """``n`` weights with at most ``places`` decimals summing to exactly 1."""
    units = 10 ** places
    cuts = sorted(draw(st.lists(st.integers(0, units), min_size=n - 1, max_size=n - 1)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, units])]
    if positive and any(p == 0 for p in parts):
        parts = [p + 1 for p in parts]
        parts[parts.index(max(parts))] -= n
    return [Decimal(p).scaleb(-places) for p in parts]


@st.composite
def models(draw):
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
    return symbols, draw(unit_weights(len(symbols), places=draw(st.integers(1, 10))))


@st.composite
def scenarios(draw):
    n = draw(st.integers(2, 4))
    versions = {}
    for i in range(n):
        symbols, ws = draw(models())
        versions[f"M{i}"] = ModelVersion(f"M{i}", "1", [ModelWeight(s, w) for s, w in zip(symbols, ws)])
    blend = draw(unit_weights(n, places=draw(st.integers(1, 10)), positive=True))
    restricted = draw(st.lists(st.sampled_from(SYMBOLS[:-1]), max_size=6, unique=True))
    free = [s for s in ["RRR", "SSS", *SYMBOLS[:-1]] if s not in restricted]
    restrictions = []
    for symbol in restricted:
        if draw(st.booleans()):
            restrictions.append(exclude(symbol))
        else:
            restrictions.append(substitute(symbol, draw(st.sampled_from(free))))
    return versions, [f"M{i}:{w:f}" for i, w in enumerate(blend)], restrictions


def plain_target(versions, blend, restrictions):
    """The documented rule written plainly in fractions: the oracle of effective_target."""
    raw = {}
    for item in blend:
        model_id, weight = item.split(":")
        for line in versions[model_id].weights:
            raw[line.symbol] = raw.get(line.symbol, 0) + Fraction(weight) * Fraction(line.weight)
    for r in restrictions:
        if r.kind is RestrictionKind.SUBSTITUTE and r.symbol in raw:
            raw[r.replacement] = raw.get(r.replacement, 0) + raw.pop(r.symbol)
    gone = sum((raw.pop(r.symbol) for r in restrictions if r.kind is RestrictionKind.EXCLUDE and r.symbol in raw),
               Fraction(0))
    others = {s: w for s, w in raw.items() if s != "$CASH" and w > 0}
    if gone and not others:
        return None
    for s, w in others.items():
        raw[s] += gone * w / sum(others.values())
    return {s: w / sum(raw.values()) for s, w in raw.items()}


@given(scenarios())
def test_random_blends_with_restrictions_sum_to_exactly_1_and_follow_the_rule(scenario):
    versions, blend, restrictions = scenario
    expected = plain_target(versions, blend, restrictions)
    if expected is None:
        with pytest.raises(TargetError, match="exclude every security"):
            effective_target(parse_blend(",".join(blend)), versions, restrictions)
        return
    target = effective_target(parse_blend(",".join(blend)), versions, restrictions)
    found = weights(target)
    assert sum(found.values()) == 1
    assert all(w >= 0 and w == w.quantize(WEIGHT.unit) for w in found.values())
    assert set(found) == set(expected)
    assert all(abs(Fraction(found[s]) - expected[s]) < Fraction(1, 10 ** 10) for s in found)  # within one unit
    restricted = {r.symbol for r in restrictions}
    assert not restricted & set(found)
    for w in target.weights:  # each weight is its sources' sum, to the rounding
        assert abs(sum(s.weight for s in w.sources) - w.weight) <= len(w.sources) * WEIGHT.unit
