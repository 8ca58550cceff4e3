"""``smartx settings``: the firm's switches (four-eyes approval ...)."""

from __future__ import annotations

import click

from .. import settings
from . import Env, cli, pass_env
from .output import emit, json_option, print_table


@cli.group(name="settings")
def settings_group() -> None:
    """Firm settings, kept in the database and audited.

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
    """Every setting with its value and what it does."""
    rows = settings.current(env.store())
    emit(as_json, rows, lambda: print_table(
        "Settings", ["setting", "value", "default", "set by", "what it does"],
        [(r["key"], str(r["value"]).lower(), str(r["default"]).lower(), r["updated_by"] or "-", r["help"])
         for r in rows]))


@settings_group.command(name="set")
@click.argument("key")
@click.argument("value")
@pass_env
def settings_set(env: Env, key: str, value: str) -> None:
    """Set KEY to VALUE (checked against the setting's type)."""
    parsed = settings.set_value(env.store(), key, value)
    click.echo(f"{key} = {str(parsed).lower()}")


@settings_group.command(name="unset")
@click.argument("key")
@pass_env
def settings_unset(env: Env, key: str) -> None:
    """Put KEY back to its default."""
    settings.unset(env.store(), key)
    click.echo(f"{key} is back to its default ({str(settings.KNOWN[key].default).lower()})")
