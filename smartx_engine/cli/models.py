"""``smartx models``: target models and their versions."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

import click

from ..domain import CASH_SYMBOL
from ..valuation import value_sleeves
from . import Env, cli, pass_env
from .output import emit, json_option, money, percent, print_table


@cli.group(name="models")
def models_group() -> None:
    """List and inspect target models (every version is kept)."""


@models_group.command(name="list")
@json_option
@pass_env
def models_list(env: Env, as_json: bool) -> None:
    """Every model: latest version, asset-class mix, and the sleeves and assets following it."""
    store = env.store()
    classes = {s.symbol: s.asset_class for s in store.securities()}
    following = Counter()
    assets = defaultdict(lambda: Decimal("0.00"))
    for value in value_sleeves(store):
        if value.sleeve.model_id:
            following[value.sleeve.model_id] += 1
            assets[value.sleeve.model_id] += value.total_value
    data = []
    for model_id in store.model_ids():
        versions = store.model_versions(model_id)
        latest = store.model_version(model_id)
        mix = defaultdict(lambda: Decimal(0))
        for w in latest.weights:
            mix["cash" if w.symbol == CASH_SYMBOL else classes[w.symbol]] += w.weight
        data.append({
            "model_id": model_id, "version": latest.version, "versions": versions,
            "securities": sum(1 for w in latest.weights if w.symbol != CASH_SYMBOL),
            "cash_weight": latest.cash_weight, "asset_classes": dict(sorted(mix.items())),
            "sleeves": following[model_id], "assets": assets[model_id],
        })

    def human() -> None:
        print_table("Models", ["model", "version", "versions", "securities", "mix", "sleeves", "assets"],
                    [(m["model_id"], m["version"], len(m["versions"]), m["securities"],
                      ", ".join(f"{k} {percent(v)}" for k, v in m["asset_classes"].items()),
                      m["sleeves"], money(m["assets"])) for m in data],
                    numeric=["versions", "securities", "sleeves", "assets"], empty="no models")

    emit(as_json, data, human)


@models_group.command(name="show")
@click.argument("model_id")
@click.option("--version", help="A specific version (default: the latest).")
@json_option
@pass_env
def models_show(env: Env, model_id: str, version: str | None, as_json: bool) -> None:
    """One model version: every security with its weight."""
    store = env.store()
    model = store.model_version(model_id, version)
    securities = {s.symbol: s for s in store.securities()}
    rows = [{"symbol": w.symbol,
             "name": "Cash" if w.symbol == CASH_SYMBOL else securities[w.symbol].name,
             "asset_class": "cash" if w.symbol == CASH_SYMBOL else securities[w.symbol].asset_class,
             "weight": w.weight}
            for w in sorted(model.weights, key=lambda w: (-w.weight, w.symbol))]
    data = {"model_id": model.model_id, "version": model.version,
            "versions": store.model_versions(model_id), "weights": rows}

    def human() -> None:
        print_table(f"{model.model_id} version {model.version}", ["symbol", "name", "asset class", "weight"],
                    [(r["symbol"], r["name"], r["asset_class"], percent(r["weight"])) for r in rows],
                    numeric=["weight"])

    emit(as_json, data, human)
