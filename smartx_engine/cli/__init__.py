"""The ``smartx`` command line: a root group with a sub-group per noun.

Domain errors become messages here and only here (exit 1); usage errors exit 2.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import attrs
import click

from ..errors import SmartxError
from ..store import Store


@attrs.define
class Env:
    """What every command needs: where the database and the policies are."""

    db_path: Path
    rules_dir: Path
    _store: Store | None = None

    def store(self) -> Store:
        """The firm's database (opened once, on first use)."""
        if self._store is None:
            self._store = Store.open(self.db_path)
        return self._store


pass_env = click.make_pass_decorator(Env)


class SmartxGroup(click.Group):
    """The root group: adds plugin commands before parsing; turns domain errors into messages."""

    _plugins_added = False

    def _add_plugin_commands(self) -> None:
        if not SmartxGroup._plugins_added:
            SmartxGroup._plugins_added = True
            from ..plugins import get_plugin_manager

            get_plugin_manager().hook.register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._add_plugin_commands()
        return super().get_command(ctx, name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except SmartxError as exc:
            click.secho(f"Error: {exc}", err=True, fg="red")
            sys.exit(1)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            click.secho(f"Error: the database is busy ({exc}); another smartx command holds it, try again",
                        err=True, fg="red")
            sys.exit(1)


@click.group(cls=SmartxGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="smartx-engine", prog_name="smartx")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default="smartx.db",
              envvar="SMARTX_DB", show_default=True, show_envvar=True, help="The firm's SQLite database.")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path), default="rules",
              envvar="SMARTX_RULES", show_default=True, show_envvar=True, help="Directory of policy files.")
@click.pass_context
def cli(ctx: click.Context, db_path: Path, rules_dir: Path) -> None:
    """smartx: run a turnkey asset management desk from the command line.

    \b
    Start here:
      smartx demo                     build and explore a demo firm
      smartx init                     create an empty firm database
      smartx import book DIR          load accounts, sleeves, models and lots from CSV files
      smartx accounts list            see what was loaded

    Every listing takes --json. Exit codes: 0 ok, 1 a data or user error, 2 a usage error.
    """
    ctx.obj = Env(db_path, rules_dir)


def main() -> None:
    cli(prog_name="smartx")


from . import (  # noqa: E402,F401  (registers commands)
    accounts, book, cash, custodians, demo, models, orders, plugins, policy, rebalance, report, settings, setup, sleeves,
    tax, transition,
)
