"""``smartx settings``: the firm's switches (four-eyes approval ...)."""

from __future__ import annotations

import click

from .. import settings
from . import Env, cli, pass_env
from .output import emit, json_option, print_table

#: the known settings, listed under the help of the commands that take a KEY
KNOWN_HELP = "\b\nKnown settings:\n" + "\n".join(f"  {settings.describe(s)}" for s in settings.KNOWN.values())


@cli.group(name="settings", epilog=KNOWN_HELP)
def settings_group() -> None:
    """Firm settings: a few switches kept in the database, checked when set, audited.

    A setting not set has its default. Every change is written to the audit log with its
    actor (`SMARTX_ACTOR`, else the operating-system user).

    \b
    Examples:
      smartx settings list
      smartx settings set approvals.four_eyes true
      smartx settings unset approvals.four_eyes
    """


@settings_group.command(name="list")
@json_option
@pass_env
def settings_list(env: Env, as_json: bool) -> None:
    """Every known setting: its value, default, who set it and what it does.

    --json gives a list of {key, type, value, default, set, updated_by, help}.
    """
    rows = settings.current(env.store())

    def text(row: dict, field: str) -> str:
        return settings.KNOWN[row["key"]].kind.render(row[field])

    emit(as_json, rows, lambda: print_table(
        "Settings", ["setting", "value", "default", "set by", "what it does"],
        [(r["key"], text(r, "value"), text(r, "default"), r["updated_by"] or "-", r["help"]) for r in rows]))


@settings_group.command(name="set", epilog=KNOWN_HELP)
@click.argument("key")
@click.argument("value")
@pass_env
def settings_set(env: Env, key: str, value: str) -> None:
    """Set KEY to VALUE, checked against the setting's type (a bool takes true/false, yes/no,
    on/off or 1/0).

    \b
    Example (approvals then need a second person):
      smartx settings set approvals.four_eyes true
    """
    parsed = settings.set_value(env.store(), key, value)
    click.echo(f"{key} = {settings.KNOWN[key].kind.render(parsed)}")


@settings_group.command(name="unset", epilog=KNOWN_HELP)
@click.argument("key")
@pass_env
def settings_unset(env: Env, key: str) -> None:
    """Put KEY back to its default (audited).

    \b
    Example:
      smartx settings unset approvals.four_eyes
    """
    settings.unset(env.store(), key)
    setting = settings.KNOWN[key]
    click.echo(f"{key} is back to its default ({setting.kind.render(setting.default)})")
