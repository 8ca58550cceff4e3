"""``smartx init``: create a firm database."""

from __future__ import annotations

import click

from ..migrations import applied
from ..store import Store
from . import Env, cli, pass_env


@cli.command(name="init")
@pass_env
def setup_init(env: Env) -> None:
    """Create the firm database at --db (or bring an existing one up to date)."""
    existed = env.db_path.exists()
    store = Store.create(env.db_path)
    with store.transaction():
        store.audit("database.init", str(env.db_path), existed=existed)
    state = "is up to date" if existed else "created"
    click.echo(f"{env.db_path} {state} (schema: {len(applied(store.db))} migrations)")
    if not existed:
        click.echo("Next: smartx import book DIR   (see docs/book-format.md)")
