"""The plugin manager: built-in plugins plus the ``smartx`` entry-point group, loaded lazily, once.

``SMARTX_LOAD_PLUGINS`` restricts which installed plugins load: a comma-separated list of entry-point
or distribution names (empty: none). Built-in plugins always load, registered exactly like
third-party ones.
"""

from __future__ import annotations

import importlib
import os
from importlib import metadata
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import NotFoundError, PluginError, did_you_mean

ENTRY_POINT_GROUP = "smartx"
DEFAULT_PLUGINS = ("smartx_engine.builtin.csv_book", "smartx_engine.builtin.client_report",
                   "smartx_engine.builtin.executors")

pm = pluggy.PluginManager("smartx")
pm.add_hookspecs(hookspecs)

_loaded = False
_distributions: dict[str, metadata.Distribution] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The plugin manager with every plugin loaded (on the first successful call only)."""
    global _loaded
    if not _loaded:
        try:
            for module in DEFAULT_PLUGINS:
                pm.register(importlib.import_module(module), name=module)
            _load_entry_points(_allowed_names())
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            _unload_all()
            raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from None
        except BaseException:
            _unload_all()
            raise
        _loaded = True
    return pm


def _unload_all() -> None:
    """Leave no half-loaded state behind a failed load."""
    for name, plugin in list(pm.list_name_plugin()):
        pm.unregister(plugin, name=name)
    _distributions.clear()


def _allowed_names() -> set[str] | None:
    value = os.environ.get("SMARTX_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _load_entry_points(allowed: set[str] | None) -> None:
    entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    if allowed is not None:
        known = {ep.name for ep in entry_points} | {ep.dist.name for ep in entry_points if ep.dist}
        if missing := sorted(allowed - known):
            raise PluginError(
                f"SMARTX_LOAD_PLUGINS names {', '.join(missing)}, which no installed plugin provides"
                f" (installed: {', '.join(sorted(known)) or 'none'})"
            )
    for ep in sorted(entry_points, key=lambda ep: ep.name):
        dist_name = ep.dist.name if ep.dist else None
        if allowed is not None and ep.name not in allowed and dist_name not in allowed:
            continue
        if ep.name in _distributions or pm.has_plugin(ep.name):
            other = _distributions.get(ep.name)
            raise PluginError(
                f"two plugins are named {ep.name!r}: from {other.name if other else 'smartx-engine'}"
                f" and from {dist_name}; uninstall one of them"
            )
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not look like an engine bug
            raise PluginError(f"plugin {ep.name!r} ({dist_name}) failed to load: {exc}") from exc
        pm.register(plugin, name=ep.name)
        if ep.dist:
            _distributions[ep.name] = ep.dist


@attrs.frozen
class PluginInfo:
    name: str
    version: str
    distribution: str
    hooks: tuple[str, ...]


def plugin_infos() -> list[PluginInfo]:
    """Name, version, distribution and implemented hooks of every loaded plugin."""
    manager = get_plugin_manager()
    engine = metadata.distribution("smartx-engine")
    infos = []
    for name, plugin in manager.list_name_plugin():
        dist = _distributions.get(name, engine)
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or ())
        infos.append(PluginInfo(name, dist.version, dist.name, tuple(hooks)))
    return sorted(infos, key=lambda info: info.name)


def registered(hook_name: str, kind: str) -> dict[str, Any]:
    """Call the register hook ``hook_name`` of every plugin; the registered things by name.

    Each registered thing must have a ``name``; two plugins registering one name is refused.
    """
    manager = get_plugin_manager()
    items: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for impl in getattr(manager.hook, hook_name).get_hookimpls():  # in registration order
        def register(item: Any, _owner: str = impl.plugin_name) -> None:
            name = getattr(item, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin {_owner!r} registered a {kind} without a name")
            if name in items:
                raise PluginError(
                    f"the {kind} {name!r} is registered twice: by {owners[name]!r} and by {_owner!r}"
                )
            items[name], owners[name] = item, _owner

        impl.function(**{"register": register} if impl.argnames else {})
    return items


def chosen(items: dict[str, Any], name: str | None, kind: str, plugin_kind: str) -> dict[str, Any]:
    """``items`` sorted by name; with ``name``, only that one (NotFoundError, with a hint, when absent)."""
    if name is None:
        return dict(sorted(items.items()))
    if name not in items:
        hint = did_you_mean(name, items)
        known = ", ".join(sorted(items)) or f"none; install a {plugin_kind} plugin (see `smartx plugins list`)"
        raise NotFoundError(f"no {kind} named {name!r}" + (f"; {hint}" if hint else "") + f" (registered: {known})")
    return {name: items[name]}


def call_event(hook_name: str, **kwargs: Any) -> None:
    """Notify every plugin of an event."""
    getattr(get_plugin_manager().hook, hook_name)(**kwargs)
