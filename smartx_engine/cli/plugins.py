"""``smartx plugins``: what extends this installation."""

from __future__ import annotations

from ..plugins import plugin_infos
from . import cli
from .output import emit, json_option, print_table


@cli.group(name="plugins")
def plugins_group() -> None:
    """Installed plugins (built-in ones included). Restrict them with SMARTX_LOAD_PLUGINS."""


@plugins_group.command(name="list")
@json_option
def plugins_list(as_json: bool) -> None:
    """Every loaded plugin: name, version, distribution and the hooks it implements."""
    infos = plugin_infos()
    emit(as_json, infos, lambda: print_table(
        "Plugins", ["name", "version", "distribution", "hooks"],
        [(i.name, i.version, i.distribution, ", ".join(i.hooks) or "-") for i in infos]))
