"""Why a sleeve is (or is not) rebalanced: the policy that applied, every band, trigger and rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ast, fmt
from .compile import PolicyEvaluation
from .frame import Categorical, Frame
from .policyset import BookEvaluation
from .schema import FIELDS, Grain


def _number(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def _where(statement: ast.Statement, path: str) -> str:
    return f"{path}:{statement.span.line}"


def _fields_of(node: ast.Expr) -> list[ast.Field]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Field)]


def _sleeve_values(frame: Frame, node: ast.Expr, row: int) -> dict[str, Any]:
    """The sleeve-level and run-level fields a condition reads, with their values for one sleeve."""
    values = {}
    for field in _fields_of(node):
        spec = FIELDS.get((field.grain, field.name))
        if spec is None or spec.grain > Grain.SLEEVE:
            continue
        column = frame.column(field.grain, field.name)
        value = column if spec.grain == Grain.SCALAR else (
            column.take(np.array([row])) if isinstance(column, Categorical) else column[row])
        if isinstance(value, Categorical):
            value = value.strings()[0]
        elif isinstance(value, np.datetime64):
            value = str(value)
        elif isinstance(value, np.bool_ | bool):
            value = bool(value)
        else:
            value = _number(value)
        values[f"{field.grain}.{field.name}"] = value
    return values


def explain_sleeve(evaluation: BookEvaluation, sleeve: int) -> dict[str, Any]:
    """A JSON-ready account of every decision the policy made for one sleeve."""
    book = evaluation.book
    sleeve_id = book.sleeve_ids[sleeve]
    resolution = evaluation.resolution
    found = evaluation.of_sleeve(sleeve)
    if found is None:
        return {"sleeve_id": sleeve_id, "policy": None, "problem": f"sleeve {sleeve_id} "
                + resolution.problems[sleeve], "triggered": False, "reasons": []}
    result, row = found
    policy = result.policy.resolved
    how = ("assigned to the sleeve" if resolution.assigned[sleeve]
           else f"selected by `{fmt.statement(policy.first(ast.Applies))}`")
    frame = Frame(result.book)
    holdings = _holdings(result, frame, row, policy.path)
    triggers = [{"statement": fmt.statement(t), "at": _where(t, policy.path), "fired": bool(mask[row]),
                 "values": _sleeve_values(frame, t.condition, row)} for t, mask in result.triggers]
    rules = _rules(result, frame, row, policy.path)
    settings = result.policy.settings
    cash = {"weight": _number(frame.column("sleeve", "cash_weight")[row]), "target": settings.cash_target,
            "min": settings.cash_min, "max": settings.cash_max,
            "below_min": bool(result.cash_low[row]), "above_max": bool(result.cash_high[row])}
    reasons = [f"{h['symbol']} out of band: {h['out_of_band']}" for h in holdings if h["out_of_band"]]
    reasons += [f"trigger `{t['statement']}`" for t in triggers if t["fired"]]
    model_change = _model_change(result, row)
    reasons += [f"model change {model_change['change']}: realign to target"] if model_change["realign"] else []
    reasons += [f"cash {cash['weight']:.2%} below the minimum {settings.cash_min:.2%}"] if cash["below_min"] else []
    reasons += [f"cash {cash['weight']:.2%} above the maximum {settings.cash_max:.2%}"] if cash["above_max"] else []
    reasons += [f"rule {r['name']!r}: sell {', '.join(r['holdings'])} to {r['action'].split()[-1]}"
                for r in rules if r["fired"] and r["action"].startswith("sell to")]
    skipped = bool(result.skip[row])
    return {
        "sleeve_id": sleeve_id, "policy": policy.name, "policy_version": policy.version,
        "policy_path": policy.path, "lineage": list(policy.lineage), "resolved_by": how,
        "triggered": bool(result.triggered[row]), "skipped": skipped,
        "reasons": reasons if not skipped else [f"rule {r['name']!r}: skip" for r in rules
                                                if r["fired"] and r["action"] == "skip"],
        "flags": result.flags(row), "require_approval": bool(result.require_approval[row]),
        "cash": cash, "holdings": holdings, "triggers": triggers, "model_change": model_change, "rules": rules,
        "lots": _lots(result, frame, row),
    }


def _model_change(result: PolicyEvaluation, row: int) -> dict[str, Any]:
    """The sleeve's model change since its last rebalance (``change`` empty when none) and its realignment."""
    book, statement = result.book, result.policy.resolved.first(ast.Realign)
    return {"change": book.sleeve_model_change[row] or None, "largest_move": _number(book.sleeve_model_move[row]),
            "statement": fmt.statement(statement) if statement else None, "realign": bool(result.realign[row])}


def _band_text(result: PolicyEvaluation, index: int) -> str | None:
    return fmt.statement(result.policy.bands[index].statement) if index >= 0 else None


def _holdings(result: PolicyEvaluation, frame: Frame, row: int, path: str) -> list[dict[str, Any]]:
    book = result.book
    rows = np.flatnonzero(book.holding_sleeve == row)
    symbols = frame.column("holding", "symbol").strings()
    weight, target = frame.column("holding", "weight"), frame.column("holding", "target")
    drift_rel = frame.column("holding", "drift_rel")
    holdings, sell_to = [], result.sell_to
    for h in rows:
        out = [kind for kind, mask in (("absolute", result.out_abs), ("relative", result.out_rel)) if mask[h]]
        holdings.append({
            "symbol": symbols[h], "weight": _number(weight[h]), "target": _number(target[h]),
            "drift": _number(weight[h] - target[h]), "drift_rel": _number(drift_rel[h]),
            "absolute_band": _number(result.limit_abs[h]), "absolute_band_from": _band_text(result, result.band_abs[h]),
            "relative_band": _number(result.limit_rel[h]), "relative_band_from": _band_text(result, result.band_rel[h]),
            "out_of_band": " and ".join(out) if out else None,
            "hold": bool(result.hold[h]), "sell_to": _number(sell_to[h]),
        })
    return holdings


def _rules(result: PolicyEvaluation, frame: Frame, row: int, path: str) -> list[dict[str, Any]]:
    book = result.book
    symbols = frame.column("holding", "symbol").strings()
    rules = []
    for rule, mask in result.rules:
        entry = {"name": rule.name.value, "at": _where(rule, path), "action": fmt.action(rule.action)}
        if len(mask) == book.n_sleeves:
            entry.update(fired=bool(mask[row]), values=_sleeve_values(frame, rule.condition, row))
        else:
            hits = [str(symbols[h]) for h in np.flatnonzero((book.holding_sleeve == row) & mask)]
            entry.update(fired=bool(hits), holdings=hits)
        rules.append(entry)
    return rules


def _lots(result: PolicyEvaluation, frame: Frame, row: int) -> dict[str, list[str]]:
    book = result.book
    mine = book.lot_sleeve == row
    return {"harvest": [str(i) for i in book.lot_id_texts(mine & result.harvest)],
            "avoid_short_term_gain": [str(i) for i in book.lot_id_texts(mine & result.avoid_short_term)]}
