"""``smartx models``: target models, their feeds and every version kept."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import click

from ..domain import CASH_SYMBOL
from ..errors import DataError
from ..migrations import BOOK_EFFECTIVE_DATE
from ..models import (
    FeedSync, Outcome, VersionRecord, diff_versions, effective_version, history, model_feeds, pending_versions,
    sync_models, version_record, version_status,
)
from ..store import Store
from ..valuation import value_sleeves
from . import Env, cli, pass_env
from .output import emit, json_option, money, percent, print_table
from .progress import progress_bar

AS_OF = click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                     help="Which versions are in force and pending as of this day (default: today).")


@cli.group(name="models")
def models_group() -> None:
    """Target models: sync them from managers' feeds, list, inspect and compare their versions.

    Every version of a model is kept. Each has an effective date: the version in force on a day
    is the latest one effective on or before it; later ones are pending. Versions from the CSV
    book are in force at once. See docs/models.md.

    \b
    A day at the desk:
      smartx models sync                       fetch new versions from every model feed
      smartx models list                       the marketplace: managers, versions, followers
      smartx models show GROWTH-60-40          the version in force, with bands and identifiers
      smartx models diff GROWTH-60-40 V1 V2    what moved between two versions
    """


# ---------------------------------------------------------------- sync


@models_group.command(name="sync", short_help="Fetch new model versions from the feeds.")
@click.option("--feed", "name", help="Only this feed (default: every registered one).")
@json_option
@pass_env
def models_sync(env: Env, name: str | None, as_json: bool) -> None:
    """Fetch new model versions from managers' feeds, check each, and keep the good ones.

    Each version a feed offers is checked against the database: its securities known (by CUSIP,
    else ticker), weights from 0 to 1 summing to 1 with cash, bands around them, a newer
    effective date than the version held, a DELTA built on the version held. A good version is
    stored whole, in one transaction; a bad one is rejected whole, with every problem named by
    file (or URL), line and field, and the manager is told (when the feed takes
    acknowledgements). Versions already held are skipped, so syncing again is harmless.

    Exits 1 when a version was rejected or a feed could not be read; the other feeds and versions
    are still synced. Without --feed, feeds that say they are not configured are skipped.

    \b
    Examples:
      smartx models sync
      smartx models sync --feed files --json
    """
    store = env.store()
    feeds = model_feeds(name)
    if name is None:
        for idle in sorted(n for n, feed in feeds.items() if getattr(feed, "configured", True) is False):
            del feeds[idle]
            click.secho(f"note: the feed {idle} is not configured, so it was not synced (see docs/models.md)",
                        fg="yellow", err=True)
    if not feeds:
        emit(as_json, [], lambda: click.echo("no model feed to sync: install a model-feed plugin and configure it"
                                             " (see `smartx plugins list` and docs/models.md)"))
        return
    with progress_bar() as report:
        result = sync_models(store, feeds, progress=report)
    data = [_feed_json(f) for f in result.feeds]

    def human() -> None:
        print_table("Model sync", ["feed", "accepted", "skipped", "rejected", "result"],
                    [(f.feed, len(f.accepted), len(f.skipped), len(f.rejected),
                      "failed" if f.error else "rejections" if f.rejected else "ok") for f in result.feeds],
                    numeric=["accepted", "skipped", "rejected"])
        for f in result.feeds:
            for o in f.accepted:
                click.echo(f"{f.feed}: {o.model_id} {o.version} accepted, effective {o.effective_date}")

    emit(as_json, data, human)
    for f in result.feeds:
        for o in f.outcomes:
            if o.acknowledge_error:
                click.secho(f"warning: {f.feed} was not told that {o.model_id} {o.version} was {o.verdict}:"
                            f" {o.acknowledge_error}", fg="yellow", err=True)
    if not result.ok:
        raise DataError(_failure_message(result.feeds))


def _failure_message(feeds: tuple[FeedSync, ...]) -> str:
    parts = []
    rejected = [(f.feed, o) for f in feeds for o in f.rejected]
    if rejected:
        count = f"{len(rejected)} model version{'s' * (len(rejected) != 1)} {'was' if len(rejected) == 1 else 'were'}"
        parts.append(f"{count} rejected, and nothing of {'it' if len(rejected) == 1 else 'them'} was stored;"
                     " ask the manager for a corrected version:")
        parts += [f"{feed}: {o.model_id} version {o.version}:\n{o.message}" for feed, o in rejected]
    parts += [f.error for f in feeds if f.error]
    return "\n".join(parts)


def _outcome_json(o: Outcome) -> dict[str, Any]:
    data = {"model_id": o.model_id, "version": o.version, "effective_date": o.effective_date, "source": o.source}
    if o.problems:
        data["line"] = o.line
        data["problems"] = [{"file": p.file, "line": p.line, "field": p.field, "message": p.message, "hint": p.hint}
                            for p in o.problems]
        data["message"] = o.message
    return data


def _feed_json(f: FeedSync) -> dict[str, Any]:
    return {"feed": f.feed, "error": f.error, "accepted": [_outcome_json(o) for o in f.accepted],
            "skipped": [_outcome_json(o) for o in f.skipped], "rejected": [_outcome_json(o) for o in f.rejected],
            "acknowledge_errors": [{"model_id": o.model_id, "version": o.version, "error": o.acknowledge_error}
                                   for o in f.outcomes if o.acknowledge_error]}


# ---------------------------------------------------------------- list


@models_group.command(name="list", short_help="Every model: manager, versions, mix and followers.")
@AS_OF
@json_option
@pass_env
def models_list(env: Env, as_of: dt.datetime | None, as_json: bool) -> None:
    """The model marketplace: every model with its manager, the version in force (and any
    pending one), its asset-class mix, and the sleeves and assets following it.

    \b
    Examples:
      smartx models list
      smartx models list --as-of 2027-01-04 --json
    """
    store = env.store()
    day = _day(as_of)
    classes = {s.symbol: s.asset_class for s in store.securities()}
    following = Counter()
    assets = defaultdict(lambda: Decimal("0.00"))
    for value in value_sleeves(store):
        if value.sleeve.model_id:
            following[value.sleeve.model_id] += 1
            assets[value.sleeve.model_id] += value.total_value
    models = _model_rows(store)
    data = []
    for model_id in store.model_ids():
        versions = history(store, model_id)
        current = effective_version(store, model_id, day)
        lines = current.lines if current else ()
        mix = defaultdict(lambda: Decimal(0))
        for line in lines:
            mix["cash" if line.symbol == CASH_SYMBOL else classes[line.symbol]] += line.weight
        data.append({
            "model_id": model_id, **models[model_id],
            "version": current and current.version, "effective_date": current and current.effective_date,
            "feed": current and current.feed, "latest": versions[-1].version if versions else None,
            "pending": [_brief(r) for r in pending_versions(store, day, model_id)],
            "versions": [r.version for r in versions],
            "securities": sum(1 for line in lines if line.symbol != CASH_SYMBOL),
            "cash_weight": current and current.cash_weight, "asset_classes": dict(sorted(mix.items())),
            "sleeves": following[model_id], "assets": assets[model_id],
        })

    def human() -> None:
        print_table(f"Models as of {day}",
                    ["model", "manager", "version", "effective", "pending", "versions", "securities", "mix",
                     "sleeves", "assets"],
                    [(m["model_id"], m["manager"] or "-", m["version"] or "none yet", _effective(m["effective_date"]),
                      ", ".join(f"{p['version']} from {p['effective_date']}" for p in m["pending"]) or "-",
                      len(m["versions"]), m["securities"],
                      ", ".join(f"{k} {percent(v)}" for k, v in m["asset_classes"].items()),
                      m["sleeves"], money(m["assets"])) for m in data],
                    numeric=["versions", "securities", "sleeves", "assets"], empty="no models")

    emit(as_json, data, human)


# ---------------------------------------------------------------- show


@models_group.command(name="show", short_help="One model version: weights, bands, identifiers.")
@click.argument("model_id")
@click.option("--version", help="A specific version (default: the one in force, else the latest).")
@AS_OF
@json_option
@pass_env
def models_show(env: Env, model_id: str, version: str | None, as_of: dt.datetime | None, as_json: bool) -> None:
    """One model version: every security with its weight, its band (min and max weight, when the
    manager gives one) and the identifier the manager named it by; and where the version came
    from (its feed, FULL or DELTA, when it was published) and when it is effective.

    \b
    Examples:
      smartx models show GROWTH-60-40
      smartx models show GROWTH-60-40 --version 2024.01.15-1 --json
    """
    store = env.store()
    day = _day(as_of)
    current = effective_version(store, model_id, day) if version is None else None
    record = current or version_record(store, model_id, version)
    pending = pending_versions(store, day, model_id)
    securities = {s.symbol: s for s in store.securities()}
    rows = [{"symbol": line.symbol,
             "name": "Cash" if line.symbol == CASH_SYMBOL else securities[line.symbol].name,
             "asset_class": "cash" if line.symbol == CASH_SYMBOL else securities[line.symbol].asset_class,
             "weight": line.weight, "min_weight": line.min_weight, "max_weight": line.max_weight,
             "identifier_type": line.identifier_type, "identifier": line.identifier,
             "cusip": None if line.symbol == CASH_SYMBOL else securities[line.symbol].cusip}
            for line in sorted(record.lines, key=lambda x: (-x.weight, x.symbol))]
    status = version_status(store, record, day)
    data = {"model_id": record.model_id, **_model_rows(store)[record.model_id], "version": record.version,
            "status": status, "as_of": day, "effective_date": record.effective_date,
            "published_at": record.published_at, "received_at": record.received_at, "feed": record.feed,
            "change_type": record.change_type, "previous_version": record.previous_version,
            "versions": [r.version for r in history(store, model_id)], "pending": [_brief(r) for r in pending],
            "weights": rows}

    def human() -> None:
        click.echo(_provenance(data))
        table = [(r["symbol"], r["name"], r["asset_class"], percent(r["weight"]), _band(r),
                  f"{r['identifier_type']} {r['identifier']}" if r["identifier"] else r["cusip"] or "") for r in rows]
        shown = [i for i in range(6) if i < 4 or any(row[i] for row in table)]  # no empty band or identifier column
        print_table(f"{record.model_id} version {record.version}",
                    [("symbol", "name", "asset class", "weight", "band", "identifier")[i] for i in shown],
                    [[row[i] for i in shown] for row in table], numeric=["weight"])

    emit(as_json, data, human)


def _provenance(data: dict[str, Any]) -> str:
    """Who publishes the model, where this version came from, and when it is in force."""
    who = ", ".join(x for x in (data["name"], data["manager"] and f"managed by {data['manager']}") if x)
    source = (f"from feed {data['feed']} ({data['change_type']}"
              + (f" on {data['previous_version']}" if data["change_type"] == "DELTA" else "") + ")"
              + (f", published {data['published_at']:%Y-%m-%d %H:%M} UTC" if data["published_at"] else "")
              if data["feed"] else "from the CSV book")
    when = {"in_force": "in force", "pending": "pending", "superseded": "superseded"}[data["status"]]
    lines = [f"{data['model_id']}: {who}"] if who else []
    lines.append(f"version {data['version']} {source}; {when} as of {data['as_of']} (effective"
                 f" {_effective(data['effective_date'])})")
    if data["pending"]:
        lines.append("pending: " + ", ".join(f"{p['version']} from {p['effective_date']}" for p in data["pending"]))
    return "\n".join(lines)


def _band(row: dict[str, Any]) -> str:
    low, high = row["min_weight"], row["max_weight"]
    if low is None and high is None:
        return ""
    return f"{percent(low) if low is not None else '0.00%'} to {percent(high) if high is not None else '100.00%'}"


# ---------------------------------------------------------------- diff


@models_group.command(name="diff", short_help="What moved between two versions of a model.")
@click.argument("model_id")
@click.argument("old")
@click.argument("new")
@json_option
@pass_env
def models_diff(env: Env, model_id: str, old: str, new: str, as_json: bool) -> None:
    """Compare two versions of a model: per security (and cash) the old weight, the new weight
    and the change, which securities were added or removed, and the largest absolute move (the
    move a `realign on model change above X%` policy compares with X).

    \b
    Examples:
      smartx models diff GROWTH-60-40 2023.10.02-1 2024.01.15-1
      smartx models diff BAL-60-40 2025.1 2026.1 --json
    """
    store = env.store()
    before, after = version_record(store, model_id, old), version_record(store, model_id, new)
    diff = diff_versions(before, after)
    largest = diff.largest
    data = {"model_id": model_id, "old_version": old, "new_version": new,
            "old_effective_date": before.effective_date, "new_effective_date": after.effective_date,
            "changes": [{"symbol": c.symbol, "old_weight": c.old, "new_weight": c.new, "change": c.change,
                         "movement": c.movement} for c in diff.changes],
            "largest_move": largest and {"symbol": largest.symbol, "change": largest.change}}

    def human() -> None:
        print_table(f"{model_id}: {old} → {new}", ["symbol", "old weight", "new weight", "change", ""],
                    [(c.symbol, percent(c.old), percent(c.new), _signed(c.change),
                      "" if c.movement in ("changed", "unchanged") else c.movement) for c in diff.changes],
                    numeric=["old weight", "new weight", "change"])
        click.echo(f"largest move: {largest.symbol} {_signed(largest.change)}" if largest else "no weight moved")

    emit(as_json, data, human)


# ---------------------------------------------------------------- helpers


def _day(as_of: dt.datetime | None) -> dt.date:
    return as_of.date() if as_of else dt.date.today()


def _model_rows(store: Store) -> dict[str, dict[str, str | None]]:
    return {r["model_id"]: {"name": r["name"], "manager": r["manager"]}
            for r in store.db.query("select model_id, name, manager from models")}


def _brief(record: VersionRecord) -> dict[str, Any]:
    return {"version": record.version, "effective_date": record.effective_date}


def _effective(day: dt.date | None) -> str:
    if day is None:
        return "-"
    return "from the start" if day.isoformat() == BOOK_EFFECTIVE_DATE else day.isoformat()


def _signed(value: Decimal) -> str:
    return f"{value * 100:+.2f}%"
